"""shipment.failed — a delivery failed or the carrier rejected the shipment.

Opens on ``shipment.failed`` (root cause its ``reason``: ``address``, ``refused``,
``no_access``, ``damaged``, ``lost``) and on ``carrier.rejected`` (root cause
``carrier_rejected:<reason>``; a rejection carrying only a ``shipment_id`` is mapped to
its order through the shipment). One case per order's failing delivery (key and subject
the order id): a rejection followed by a failed delivery of the re-planned shipment
updates the same case.

Look-alikes ignored: a new ``shipment.created`` for the order is only a plan and does not
resolve anything; a shipment of the order that was already under way before the failure
and is delivered afterwards does not fix the failed delivery either.

Resolved when the order's goods move again after the (latest) failure: a
``shipment.dispatched`` of a shipment of the order after it, or a ``shipment.delivered``
of a shipment created or dispatched after it (or of the failed shipment itself, delivered
on a later attempt). Cancelled with its order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from unsnag.detect.base import Detector, Output, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Shipment, State

_NOT_A_WORD = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """``Service unavailable`` -> ``service_unavailable``."""
    return _NOT_A_WORD.sub("_", text.strip().lower()).strip("_")


class ShipmentFailed(Detector):
    rule = "shipment-failed"
    case_type = "shipment.failed"
    events = frozenset(
        {
            "shipment.failed",
            "carrier.rejected",
            "shipment.dispatched",
            "shipment.delivered",
            "order.cancelled",
        }
    )
    config_name = "shipment_failed"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        # order_id -> (time of the latest failure, ids of the shipments that failed)
        self.memory["failing"] = {}

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        if event.type == "order.cancelled":
            self.memory["failing"].pop(event.data.order_id, None)
            return
        d = event.data
        if event.type in ("shipment.dispatched", "shipment.delivered"):
            shipment = state.shipments.get(d.shipment_id)
            if shipment is not None:
                yield from self._moved(event, shipment)
            return
        shipment = state.shipments.get(d.shipment_id) if d.shipment_id else None
        rejected = event.type == "carrier.rejected"
        order_id = (d.order_id if rejected else None) or (shipment.order_id if shipment else None)
        if order_id is None:
            return
        reason = d.reason
        carrier = d.carrier if rejected else None
        carrier = carrier or (shipment.carrier if shipment else None)
        what = shipment.shipment_id if shipment else order_id
        if event.type == "shipment.failed":
            root_cause = slug(reason) if reason else "failed"
            summary = f"delivery of {what} failed: {reason or 'no reason given'}"
            if carrier:
                summary += f" ({carrier})"
        else:
            root_cause = f"carrier_rejected:{slug(reason)}" if reason else "carrier_rejected"
            summary = f"{carrier or 'carrier'} rejected {what}: {reason or 'no reason given'}"
        self._remember(order_id, event.time, shipment)
        order = state.orders.get(order_id)
        lines = list(shipment.line_qty) if shipment else None
        yield self.signal(
            order_id,
            order_id,
            event.time,
            refs=refs(
                order_id=order_id,
                shipment_id=shipment.shipment_id if shipment else None,
                carrier=carrier,
                node_id=shipment.node_id if shipment else None,
            ),
            impact=order_impact(state, order, lines),
            root_cause=root_cause,
            summary=summary,
        )

    def _remember(self, order_id: str, when: datetime, shipment: Shipment | None) -> None:
        failing: dict[str, tuple[datetime, tuple[str, ...]]] = self.memory["failing"]
        since, shipment_ids = failing.get(order_id, (when, ()))
        if shipment is not None and shipment.shipment_id not in shipment_ids:
            shipment_ids = (*shipment_ids, shipment.shipment_id)
        failing[order_id] = (max(since, when), shipment_ids)

    def _moved(self, event: Event, shipment: Shipment) -> Iterable[Output]:
        failing: dict[str, tuple[datetime, tuple[str, ...]]] = self.memory["failing"]
        entry = failing.get(shipment.order_id)
        if entry is None:
            return
        since, failed_ids = entry
        if event.type == "shipment.dispatched":
            if event.time <= since:
                return
            carrier = f" by {shipment.carrier}" if shipment.carrier else ""
            reason = f"{shipment.shipment_id} dispatched{carrier}"
            moment = event.time
        else:
            moment = shipment.delivered_at or event.time
            fresh = shipment.created_at > since or (
                shipment.dispatched_at is not None and shipment.dispatched_at > since
            )
            if moment <= since or not (fresh or shipment.shipment_id in failed_ids):
                return
            reason = f"{shipment.shipment_id} delivered"
        del failing[shipment.order_id]
        yield self.clear(shipment.order_id, moment, reason)


DETECTOR = ShipmentFailed
