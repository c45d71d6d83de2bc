"""Carriers on a lane, as the logistics option computers read them.

unsnag knows no freight rates. "Rate shopping" here means: the carriers that already
ship from the same node (``State.carriers_by_node``, counted on ``shipment.created``),
most used first — a carrier the shipper tenders to often has capacity and a contract
there. Confidence grows with that evidence: 0.55 + 0.35 x min(1, shipments /
:data:`LANE_EVIDENCE`), so 0.9 from 20 shipments on.

Speed is judged by service level (``State.carrier_services``, the latest service seen
per carrier) through :data:`SERVICE_DAYS`, an ordinal estimate of transit days; an
unknown service is not assumed faster or slower.
"""

from __future__ import annotations

from unsnag.resolve.options._common import clamp
from unsnag.state.model import Order, Shipment, State

LANE_EVIDENCE = 20

SERVICE_DAYS: dict[str, float] = {
    "same_day": 0.5,
    "overnight": 1.0,
    "next_day": 1.0,
    "express": 1.0,
    "priority": 1.0,
    "2day": 2.0,
    "two_day": 2.0,
    "ground": 3.0,
    "standard": 3.0,
    "economy": 4.0,
    "ltl": 4.0,
    "freight": 4.0,
}


def lane_carriers(state: State, node_id: str | None, exclude: set[str]) -> list[tuple[str, int]]:
    """(carrier, shipments from the node) for the other carriers, most used first."""
    seen = state.carriers_by_node.get(node_id, {}) if node_id else {}
    found = [(carrier, n) for carrier, n in seen.items() if carrier not in exclude]
    return sorted(found, key=lambda pair: (-pair[1], pair[0]))


def reroute_confidence(shipments: int) -> float:
    return clamp(0.55 + 0.35 * min(1.0, shipments / LANE_EVIDENCE))


def service_days(state: State, carrier: str | None, service: str | None = None) -> float | None:
    """Estimated transit days of a carrier's service (``service`` if given)."""
    name = service or (state.carrier_services.get(carrier) if carrier else None)
    return SERVICE_DAYS.get(name.lower()) if name else None


def lane_facts(state: State, node_id: str | None) -> str:
    seen = lane_carriers(state, node_id, set())
    if not seen:
        return f"no shipments from {node_id or 'an unknown node'} seen yet: no lane history"
    shown = ", ".join(
        f"{carrier} {n} ({state.carrier_services.get(carrier, 'service unknown')})"
        for carrier, n in seen
    )
    return f"carriers shipping from {node_id}: {shown}"


def shipment_value(shipment: Shipment, order: Order | None) -> float:
    if order is None:
        return 0.0
    value = 0.0
    for line_id, qty in shipment.line_qty.items():
        line = order.lines.get(line_id)
        if line is not None:
            value += (qty if qty is not None else line.qty) * line.unit_price
    return value
