"""Options for ``shipment.failed``: a delivery failed or the carrier rejected the shipment.

What failed is the order's shipment with the latest failure (its carrier, its node);
the root cause (``address``, ``refused``, ``no_access``, ``damaged``, ``lost``,
``carrier_rejected:<reason>``) decides what helps:

- An address problem (``address``, or a rejection whose reason mentions the address):
  ``request_info`` to the customer with the ship-to on file (0.8), ``fix_master_data``
  (0.45). Another carrier would fail the same way, so no reroute.
- ``refused``: ``request_info`` to the customer — redeliver or cancel? (0.7).
- ``no_access``: ``request_info`` to the customer for a delivery window or access
  instructions (0.75).
- A rejection for another reason, ``damaged`` or ``lost``: ``reroute`` — tender the order
  to another carrier on the lane, most used first (see ``_carriers``: 0.55 + 0.35 x
  min(1, shipments / 20)). Effect: the value at risk protected; days gained the
  service-level difference with the failed carrier when both are known. For ``damaged``
  and ``lost`` also ``notify`` logistics to claim against the carrier (0.4).
- ``notify`` logistics (0.3), always last; it is the only option when no other carrier
  has been seen on the lane.

Amount: the value at risk (the failed shipment's lines).
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._carriers import (
    lane_carriers,
    lane_facts,
    reroute_confidence,
    service_days,
)
from unsnag.resolve.options._common import (
    ask,
    grounded,
    money,
    order_of,
    rank,
    ref,
    refs,
    tell,
    unknown,
)
from unsnag.state.model import Order, Shipment, State

MAX_REROUTES = 2
ASK_BY_CAUSE = {
    "refused": ("was the delivery of {order} refused on purpose: redeliver or cancel?", 0.7),
    "no_access": ("when and how can {order} be delivered (window, dock, access code)?", 0.75),
}


def failed_shipment(case: Case, state: State, order: Order) -> Shipment | None:
    ids = [*refs(case, "shipment_id"), *order.shipment_ids]
    shipments = [s for i in dict.fromkeys(ids) if (s := state.shipments.get(i)) is not None]
    failed = [s for s in shipments if s.failed_at is not None]
    if failed:
        return max(failed, key=lambda s: (s.failed_at, s.shipment_id))
    return shipments[-1] if shipments else None


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    order = order_of(case, state)
    if order is None:
        return unknown(case, "order", ref(case, "order_id") or case.subject, "order.created")
    shipment = failed_shipment(case, state, order)
    node = (shipment.node_id if shipment else None) or ref(case, "node_id")
    failed_by = set(refs(case, "carrier"))
    if shipment is not None and shipment.carrier:
        failed_by.add(shipment.carrier)
    cause = case.root_cause or "failed"
    at_risk = case.impact.revenue_at_risk or order.value
    effect = Effect(at_risk, 0.0, 0.0)
    what = shipment.shipment_id if shipment else order.order_id
    facts = [
        f"{what} of {order.order_id} ({money(at_risk)}) failed: {_words(cause)}"
        f" with {', '.join(sorted(failed_by)) or 'an unknown carrier'} from {node or '?'}",
        lane_facts(state, node),
    ]
    found: list[Option]
    if "address" in cause:
        found = _address(order, effect, at_risk)
    elif cause in ASK_BY_CAUSE:
        question, confidence = ASK_BY_CAUSE[cause]
        found = [
            ask(
                "customer",
                question.format(order=order.order_id),
                (),
                confidence=confidence,
                effect=effect,
                amount=at_risk,
                order_id=order.order_id,
            )
        ]
    else:
        found = _reroutes(state, order, shipment, node, failed_by, effect, at_risk)
        if cause in ("damaged", "lost"):
            claim = f"{what}: file a {cause} claim with {', '.join(sorted(failed_by))}"
            found.append(tell("logistics", claim, (), confidence=0.4))
    found.append(tell(case.owner_team, f"{order.order_id}: delivery failed ({cause})", ()))
    return rank(grounded(found, facts))


def _words(cause: str) -> str:
    """``carrier_rejected:service_unavailable`` -> ``carrier rejected (service unavailable)``."""
    head, _, detail = cause.partition(":")
    text = head.replace("_", " ")
    return f"{text} ({detail.replace('_', ' ')})" if detail else text


def _address(order: Order, effect: Effect, at_risk: float) -> list[Option]:
    ship_to = order.ship_to or {}
    written = ", ".join(str(v) for v in ship_to.values() if v) or "no ship-to on file"
    return [
        ask(
            "customer",
            f"please confirm the delivery address of {order.order_id} (on file: {written})",
            (),
            confidence=0.8,
            effect=effect,
            amount=at_risk,
            order_id=order.order_id,
        ),
        Option(
            action="fix_master_data",
            params={"order_id": order.order_id, "fields": ["ship_to"]},
            summary=f"correct the ship-to of {order.order_id} ({written})",
            effect=effect,
            confidence=0.45,
            amount=at_risk,
        ),
    ]


def _reroutes(
    state: State,
    order: Order,
    shipment: Shipment | None,
    node: str | None,
    failed_by: set[str],
    effect: Effect,
    at_risk: float,
) -> list[Option]:
    old_carrier = shipment.carrier if shipment else None
    old_days = service_days(state, old_carrier, shipment.service if shipment else None)
    found = []
    for carrier, count in lane_carriers(state, node, failed_by)[:MAX_REROUTES]:
        new_days = service_days(state, carrier)
        gained = old_days - new_days if old_days is not None and new_days is not None else 0.0
        service = state.carrier_services.get(carrier, "service unknown")
        params = {"order_id": order.order_id, "carrier": carrier}
        if shipment is not None:
            params["shipment_id"] = shipment.shipment_id
        found.append(
            Option(
                action="reroute",
                params=params,
                summary=(
                    f"tender {order.order_id} to {carrier} ({service}, {count} shipments "
                    f"from {node} so far) instead of {old_carrier or 'the failed carrier'}"
                ),
                effect=Effect(effect.revenue_protected, 0.0, gained),
                confidence=reroute_confidence(count),
                amount=at_risk,
            )
        )
    return found
