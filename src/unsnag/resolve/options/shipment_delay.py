"""Options for ``shipment.delay``: a shipment will arrive, or did arrive, after its promise.

The promise is the shipment's ``promised_delivery_date``, else the order's requested
delivery date; lateness = ETA - promise.

- ``reroute`` to a faster carrier on the lane — one whose service level is faster than
  the current one (see ``_carriers``). Before dispatch, confidence 0.55 + 0.35 x min(1,
  shipments / 20) from the carrier's use on the lane; once dispatched, 0.3 (the goods
  must be recalled and re-tendered). Days gained: the service-level difference, at most
  the lateness. Cost: :data:`FASTER_SERVICE_PREMIUM_PCT` of the shipment's value (a
  faster service costs more; no rates are known). Amount: the value at risk.
- ``notify`` the customer of the new ETA: 0.8 when the carrier gave one, 0.5 otherwise.
- With no ETA past the promise (``missed_promise``): ``request_info`` to the carrier for
  the shipment's whereabouts (0.7).
- ``notify`` logistics (0.3), always last.
"""

from __future__ import annotations

from datetime import datetime

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._carriers import (
    lane_carriers,
    lane_facts,
    reroute_confidence,
    service_days,
    shipment_value,
)
from unsnag.resolve.options._common import (
    ask,
    days_between,
    grounded,
    money,
    rank,
    tell,
    unknown,
)
from unsnag.state.model import Shipment, State

FASTER_SERVICE_PREMIUM_PCT = 0.03
DISPATCHED_REROUTE_CONFIDENCE = 0.3


def _at(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}Z" if moment is not None else "unknown"


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    shipment = state.shipments.get(case.key)
    if shipment is None:
        return unknown(case, "shipment", case.key, "shipment.created")
    order = state.orders.get(shipment.order_id)
    promise = shipment.promised_delivery_date or (order.requested_delivery_date if order else None)
    eta = shipment.eta if shipment.eta is not None and shipment.delivered_at is None else None
    late = days_between(promise, eta) if promise and eta else None
    value = shipment_value(shipment, order) or case.impact.revenue_at_risk
    at_risk = case.impact.revenue_at_risk or value
    status = "dispatched" if shipment.dispatched_at is not None else "not dispatched yet"
    facts = [
        f"{shipment.shipment_id} of {shipment.order_id} ({money(value)}): "
        f"{shipment.carrier or 'carrier unknown'} {shipment.service or ''}".rstrip()
        + f", {status}, ETA {_at(eta)}, promise {_at(promise)}"
        + (f", {late * 24:.0f} h late" if late is not None else ""),
        lane_facts(state, shipment.node_id),
    ]
    found = _faster(state, shipment, late, value, at_risk)
    if eta is not None:
        subject = f"{shipment.order_id}: new delivery ETA {_at(eta)} (promised {_at(promise)})"
        found.append(tell("customer", subject, (), confidence=0.8, order_id=shipment.order_id))
    else:
        question = f"where is {shipment.shipment_id} and when will it be delivered?"
        found.append(
            ask(
                "carrier",
                question,
                (),
                confidence=0.7,
                shipment_id=shipment.shipment_id,
                carrier=shipment.carrier,
            )
        )
        subject = f"{shipment.order_id}: delivery later than promised {_at(promise)}"
        found.append(tell("customer", subject, (), confidence=0.5, order_id=shipment.order_id))
    found.append(tell(case.owner_team, f"{shipment.shipment_id}: {case.summary}", ()))
    return rank(grounded(found, facts))


def _faster(
    state: State, shipment: Shipment, late: float | None, value: float, at_risk: float
) -> list[Option]:
    now_days = service_days(state, shipment.carrier, shipment.service)
    if now_days is None or shipment.delivered_at is not None:
        return []
    exclude = {shipment.carrier} if shipment.carrier else set()
    dispatched = shipment.dispatched_at is not None
    found = []
    for carrier, count in lane_carriers(state, shipment.node_id, exclude):
        days = service_days(state, carrier)
        if days is None or days >= now_days:
            continue
        gained = now_days - days
        if late is not None and late > 0:
            gained = min(gained, late)
        confidence = DISPATCHED_REROUTE_CONFIDENCE if dispatched else reroute_confidence(count)
        cost = FASTER_SERVICE_PREMIUM_PCT * value
        found.append(
            Option(
                action="reroute",
                params={
                    "order_id": shipment.order_id,
                    "carrier": carrier,
                    "shipment_id": shipment.shipment_id,
                },
                summary=(
                    f"re-tender {shipment.shipment_id} to {carrier} "
                    f"({state.carrier_services.get(carrier)}, ~{now_days - days:g} d faster than "
                    f"{shipment.service}, ~{money(cost)} premium)"
                    + (" — already dispatched: recall first" if dispatched else "")
                ),
                effect=Effect(at_risk, cost, gained),
                confidence=confidence,
                amount=at_risk,
            )
        )
    return found
