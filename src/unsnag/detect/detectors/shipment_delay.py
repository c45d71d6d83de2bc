"""shipment.delay — a shipment will arrive, or did arrive, after its promised delivery.

The promise of a shipment is its ``promised_delivery_date``, else its order's
``requested_delivery_date``; without either there is nothing to be late against. One case
per shipment (key ``shipment_id``, subject the order id).

Opens on ``shipment.delayed``, or ``shipment.dispatched`` carrying an ``eta``, whose ETA is
past the promise by more than ``detectors.shipment_delay.tolerance_hours`` (root cause the
event's ``reason``, else ``carrier_delay``). With ``missed_promise_check`` a timer at
promise + tolerance asks whether the shipment was delivered by then, judged from the
delivery's recorded time (``Shipment.delivered_at``), never from what was processed first:
if not, the case opens at that moment (root cause ``missed_promise``) and, when the
delivery came later, resolves at the delivery time. An event of the shipment at or after
that moment runs the same check first, so live ingest and batch replay give the same case.

Look-alikes ignored: an ETA that moves but stays inside the promise (plus tolerance) is
not a delay; a shipment delivered by the promise, failed or cancelled before it never
opens a missed-promise case.

Resolved by ``shipment.delivered`` ("delivered late by N h" / "delivered on time"), by an
ETA back inside the promise while the promise can still be kept (also when
``order.updated`` moves the requested delivery date), and — superseded — by
``shipment.failed``, which is the shipment.failed detector's business. Cancelled with
its order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from unsnag.detect.base import Detector, Impact, Output, Timer, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Order, Shipment, State

ETA_EVENTS = frozenset({"shipment.delayed", "shipment.dispatched"})
SUPERSEDED = "superseded: the delivery failed (a shipment.failed case)"


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _hours(delta: timedelta) -> str:
    return f"{round(delta.total_seconds() / 3600, 1):g} h"


def promise_of(shipment: Shipment, order: Order | None) -> datetime | None:
    """The delivery promise: the shipment's own, else the order's requested delivery."""
    if shipment.promised_delivery_date is not None:
        return shipment.promised_delivery_date
    return order.requested_delivery_date if order is not None else None


class ShipmentDelay(Detector):
    rule = "shipment-delay"
    case_type = "shipment.delay"
    events = frozenset(
        {
            "shipment.created",
            "shipment.dispatched",
            "shipment.delayed",
            "shipment.delivered",
            "shipment.failed",
            "order.updated",
            "order.cancelled",
        }
    )
    config_name = "shipment_delay"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        # shipment_id -> (deadline, judged): the missed-promise check of each shipment
        # still in flight. Entries go when the shipment is delivered or fails.
        self.memory["due"] = {}
        # shipment_ids this detector has said are late (so an ETA back inside needs a Clear)
        self.memory["late"] = {}
        self.tolerance = timedelta(hours=self.cfg.tolerance_hours)

    # --- events -----------------------------------------------------------------------

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        if event.type.startswith("order."):
            yield from self._order_changed(event, state)
            return
        shipment = state.shipments.get(event.data.shipment_id)
        if shipment is None:
            return
        order = state.orders.get(shipment.order_id)
        now = event.time
        if event.type == "shipment.delivered" and shipment.delivered_at is not None:
            now = max(now, shipment.delivered_at)
        yield from self._catch_up(state, shipment, order, now)
        if event.type == "shipment.delivered":
            yield from self._delivered(shipment, order)
        elif event.type == "shipment.failed":
            self._forget(shipment.shipment_id)
            yield self.clear(shipment.shipment_id, event.time, SUPERSEDED)
        else:
            if event.type in ETA_EVENTS and event.data.eta is not None:
                reason = event.data.reason if event.type == "shipment.delayed" else None
                yield from self._eta(state, shipment, order, now, reason)
            yield from self._arm(state, shipment, order, now)

    def _order_changed(self, event: Event, state: State) -> Iterable[Output]:
        order = state.orders.get(event.data.order_id)
        if order is None:
            return
        moved = event.type == "order.updated" and event.data.requested_delivery_date is not None
        for shipment_id in order.shipment_ids:
            shipment = state.shipments.get(shipment_id)
            if shipment is None:
                continue
            yield from self._catch_up(state, shipment, order, event.time)
            if event.type == "order.cancelled":
                self._forget(shipment_id)
            elif moved and shipment.promised_delivery_date is None:
                yield from self._eta(state, shipment, order, event.time, None)
                yield from self._arm(state, shipment, order, event.time)

    def _eta(
        self,
        state: State,
        shipment: Shipment,
        order: Order | None,
        now: datetime,
        reason: str | None,
    ) -> Iterable[Output]:
        promise = promise_of(shipment, order)
        eta = shipment.eta
        if promise is None or eta is None or self._finished(shipment):
            return
        if eta - promise > self.tolerance:
            self.memory["late"][shipment.shipment_id] = True
            yield self.signal(
                shipment.shipment_id,
                shipment.order_id,
                now,
                refs=self._refs(shipment),
                impact=self._impact(state, order, shipment, promise),
                root_cause=reason or "carrier_delay",
                summary=(
                    f"ETA {_at(eta)} is {_hours(eta - promise)} past the promised "
                    f"{_at(promise)} ({shipment.carrier or 'carrier'}, {reason or 'delayed'})"
                ),
            )
        elif now < promise + self.tolerance and self.memory["late"].pop(shipment.shipment_id, 0):
            yield self.clear(
                shipment.shipment_id, now, f"ETA {_at(eta)} back inside the promise {_at(promise)}"
            )

    def _delivered(self, shipment: Shipment, order: Order | None) -> Iterable[Output]:
        self._forget(shipment.shipment_id)
        delivered_at = shipment.delivered_at
        if delivered_at is None:  # pragma: no cover - the projector always sets it
            return
        yield self.clear(shipment.shipment_id, delivered_at, self._delivery_note(shipment, order))

    def _delivery_note(self, shipment: Shipment, order: Order | None) -> str:
        promise = promise_of(shipment, order)
        delivered_at = shipment.delivered_at
        if promise is None or delivered_at is None or delivered_at <= promise:
            return "delivered on time"
        return f"delivered late by {_hours(delivered_at - promise)}"

    # --- the missed-promise check -------------------------------------------------------

    def _arm(
        self, state: State, shipment: Shipment, order: Order | None, now: datetime
    ) -> Iterable[Output]:
        """Set (or move) the timer at promise + tolerance for a shipment in flight."""
        if not self.cfg.missed_promise_check or self._finished(shipment):
            return
        promise = promise_of(shipment, order)
        if promise is None:
            return
        deadline = promise + self.tolerance
        due: dict[str, tuple[datetime, bool]] = self.memory["due"]
        current = due.get(shipment.shipment_id)
        if current is not None and current[0] == deadline:
            return
        yield from self._catch_up(state, shipment, order, now)
        due[shipment.shipment_id] = (deadline, False)
        yield self.timer(deadline, shipment.shipment_id)

    def _catch_up(
        self, state: State, shipment: Shipment, order: Order | None, now: datetime
    ) -> Iterable[Output]:
        """Run a check that fell due at or before ``now`` before looking at a newer event."""
        current = self.memory["due"].get(shipment.shipment_id)
        if current is not None and not current[1] and current[0] <= now:
            yield from self._judge(state, shipment, order, current[0])

    def fire(self, timer: Timer, state: State) -> Iterable[Output]:
        current = self.memory["due"].get(timer.key)
        shipment = state.shipments.get(timer.key)
        if current is None or current != (timer.at, False) or shipment is None:
            return
        yield from self._judge(state, shipment, state.orders.get(shipment.order_id), timer.at)

    def _judge(
        self, state: State, shipment: Shipment, order: Order | None, deadline: datetime
    ) -> Iterable[Output]:
        """Was the shipment delivered by ``deadline``? Decided from recorded event times."""
        self.memory["due"][shipment.shipment_id] = (deadline, True)
        ends: list[tuple[datetime, str]] = []
        if shipment.delivered_at is not None:
            ends.append((shipment.delivered_at, "delivered"))
        if shipment.failed_at is not None:
            ends.append((shipment.failed_at, "failed"))
        if order is not None and order.cancelled_at is not None:
            ends.append((order.cancelled_at, "cancelled"))
        ends.sort()
        if ends and ends[0][0] <= deadline:
            return
        promise = deadline - self.tolerance
        self.memory["late"][shipment.shipment_id] = True
        yield self.signal(
            shipment.shipment_id,
            shipment.order_id,
            deadline,
            refs=self._refs(shipment),
            impact=self._impact(state, order, shipment, promise),
            root_cause="missed_promise",
            summary=f"not delivered by the promised {_at(promise)}",
        )
        if not ends:
            return
        self.memory["late"].pop(shipment.shipment_id, None)
        moment, what = ends[0]
        if what == "delivered":
            yield self.clear(shipment.shipment_id, moment, self._delivery_note(shipment, order))
        elif what == "failed":
            yield self.clear(shipment.shipment_id, moment, SUPERSEDED)
        else:
            yield self.clear(shipment.shipment_id, moment, "order cancelled", status="cancelled")

    # --- helpers ------------------------------------------------------------------------

    def _forget(self, shipment_id: str) -> None:
        self.memory["due"].pop(shipment_id, None)
        self.memory["late"].pop(shipment_id, None)

    @staticmethod
    def _finished(shipment: Shipment) -> bool:
        return shipment.delivered_at is not None or shipment.failed_at is not None

    @staticmethod
    def _refs(shipment: Shipment) -> tuple[tuple[str, str], ...]:
        return refs(
            order_id=shipment.order_id,
            shipment_id=shipment.shipment_id,
            node_id=shipment.node_id,
            carrier=shipment.carrier,
        )

    def _impact(
        self, state: State, order: Order | None, shipment: Shipment, promise: datetime
    ) -> Impact:
        lines = list(shipment.line_qty)
        qty = shipment.line_qty[lines[0]] if len(lines) == 1 else None
        return replace(order_impact(state, order, lines, qty), promise_at=promise)


DETECTOR = ShipmentDelay
