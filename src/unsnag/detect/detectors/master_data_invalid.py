"""master_data.invalid — address, tax jurisdiction or other master data blocks the order.

Opens on ``order.validation_failed`` with check ``address``, ``tax`` or ``master_data``
(root_cause = the check). The key is the order id, the same key the policy rules
``ship-to-incomplete`` and ``edi-order-without-po`` use, so a rule and this detector
speaking of the same order update ONE case.
Look-alikes: check ``pricing`` (pricing.mismatch owns it); a ``carrier.rejected`` for an
address (shipment.failed owns it).
Resolved, for the checks this detector saw fail, by ``order.updated`` carrying a ship-to
with a postal code and a country (fixes address and tax; an incomplete one fixes
nothing), by ``order.released`` with hold_code ``master_data`` (or none),
or by the order moving on (``allocation.reserved``, ``pick.confirmed`` or
``shipment.created`` for it); cancelled with its order.
"""

from __future__ import annotations

from collections.abc import Iterable

from unsnag.detect.base import Detector, Output, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import State

CHECKS = frozenset({"address", "tax", "master_data"})
FIXED_BY_SHIP_TO = frozenset({"address", "tax"})
MOVING_ON = frozenset({"allocation.reserved", "pick.confirmed", "shipment.created"})


class MasterDataInvalid(Detector):
    rule = "master-data-invalid"
    case_type = "master_data.invalid"
    events = frozenset(
        {"order.validation_failed", "order.updated", "order.released", "order.cancelled"}
        | MOVING_ON
    )
    config_name = "master_data_invalid"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.memory["failing"] = {}  # order id -> [checks failing]

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        order_id: str = d.order_id
        failing: dict[str, list[str]] = self.memory["failing"]
        if event.type == "order.validation_failed":
            if d.check in CHECKS:
                checks = failing.setdefault(order_id, [])
                if d.check not in checks:
                    checks.append(d.check)
                order = state.orders.get(order_id)
                reason = f": {d.reason}" if d.reason else ""
                yield self.signal(
                    order_id,
                    order_id,
                    event.time,
                    refs=refs(order_id=order_id, customer_id=order.customer_id if order else None),
                    impact=order_impact(state, order),
                    root_cause=d.check,
                    summary=f"{d.check.replace('_', ' ')} check failed{reason}",
                )
            return
        if order_id not in failing:
            return
        if event.type == "order.cancelled":
            del failing[order_id]
        elif event.type == "order.updated":
            if d.ship_to is not None and d.ship_to.postal_code and d.ship_to.country:
                left = [check for check in failing[order_id] if check not in FIXED_BY_SHIP_TO]
                if left:
                    failing[order_id] = left
                else:
                    del failing[order_id]
                    yield self.clear(order_id, event.time, "ship-to corrected")
        elif event.type == "order.released":
            if d.hold_code in (None, "master_data"):
                del failing[order_id]
                yield self.clear(order_id, event.time, "master-data hold released")
        else:
            del failing[order_id]
            yield self.clear(order_id, event.time, f"order moved on ({event.type})")


DETECTOR = MasterDataInvalid
