"""credit.hold — an order is blocked by credit, and worse when picking already started.

A credit hold is ``order.held`` with hold_code ``credit`` or ``credit.hold_applied``
naming an ``order_id``.

- Picking already started on the order when the hold arrives: the case opens at once,
  boosted x1.5 (root_cause ``hold_after_pick``).
- Otherwise a timer is set at the hold time plus ``detectors.credit_hold.grace_minutes``;
  when it fires the case opens at the timer's time (root_cause ``credit_hold``) unless the
  hold was released by then, judged on the releases' event times. Picking that starts
  while the hold runs, within the grace, opens the case at once, boosted ("picking
  started during the hold"); picking started after the grace does not change the case.

Look-alikes: a routine hold released within the grace; a customer-level
``credit.hold_applied`` without an order; holds with other codes; a repeat notice of a
hold already running (one timer per hold); an order cancelled before the grace ended.
Resolved by ``order.released`` (hold_code ``credit`` or none) or ``credit.hold_released``
for the order; cancelled with its order. A hold found running at its due time but
released (or its order cancelled) later shows opened at the due time, then closed at the
release (cancellation) time, whether the timer fired live or at the end of a replay.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from unsnag.detect.base import Detector, Impact, Output, Timer, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import State

PICK_BOOST = 1.5
ALREADY_PICKING = "picking already started"
DURING_HOLD = "picking started during the hold"
PICKS = frozenset({"pick.confirmed", "pick.short"})


class CreditHold(Detector):
    rule = "credit-hold"
    case_type = "credit.hold"
    events = frozenset(
        {"order.held", "order.released", "credit.hold_applied", "credit.hold_released"} | PICKS
    )
    config_name = "credit_hold"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        # order id -> (began, reason, exposure, customer id) of its running credit hold
        self.memory["held"] = {}
        self.memory["pending"] = {}  # order id -> grace timers not fired yet
        self.memory["released"] = {}  # order id -> release times, while a timer is pending
        self.memory["opened"] = {}  # order id -> began of a hold whose case opened early

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        order_id = d.order_id
        if event.type in PICKS:
            yield from self._picked(event, state)
        elif event.type == "order.held":
            if d.hold_code == "credit":
                yield from self._held(event, state)
        elif event.type == "credit.hold_applied":
            if order_id:
                yield from self._held(event, state)
        elif event.type == "order.released":
            if d.hold_code in (None, "credit"):
                yield from self._released(order_id, event.time)
        elif order_id:  # credit.hold_released
            yield from self._released(order_id, event.time)

    def _held(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        order_id: str = d.order_id
        hold = (event.time, d.reason, getattr(d, "exposure", None), getattr(d, "customer_id", None))
        order = state.orders.get(order_id)
        held: dict[str, tuple[Any, ...]] = self.memory["held"]
        if order_id in held:  # the same hold told again (ERP and finance both say so)
            return
        held[order_id] = hold
        if order is not None and order.picking_started_at is not None:
            yield self._signal(state, order_id, event.time, hold, ALREADY_PICKING)
            return
        pending: dict[str, int] = self.memory["pending"]
        pending[order_id] = pending.get(order_id, 0) + 1
        yield self.timer(self._due(event.time), order_id, *hold)

    def _picked(self, event: Event, state: State) -> Iterable[Output]:
        order_id: str = event.data.order_id
        hold = self.memory["held"].get(order_id)
        order = state.orders.get(order_id)
        if hold is None or order is None or order.picking_started_at != event.time:
            return  # no running hold, or not the first pick
        if event.time >= self._due(hold[0]) or self.memory["opened"].get(order_id) == hold[0]:
            return  # past the grace the timer owns the case; or already opened
        self.memory["opened"][order_id] = hold[0]
        yield self._signal(state, order_id, event.time, hold, DURING_HOLD)

    def _released(self, order_id: str, when: datetime) -> Iterable[Output]:
        if self.memory["held"].pop(order_id, None) is None:
            return  # no credit hold running on the order
        if order_id in self.memory["pending"]:
            self.memory["released"].setdefault(order_id, []).append(when)
        yield self.clear(order_id, when, "credit hold released")

    def _due(self, began: datetime) -> datetime:
        return began + timedelta(minutes=self.cfg.grace_minutes)

    def fire(self, timer: Timer, state: State) -> Iterable[Output]:
        order_id = timer.key
        hold = timer.data
        began: datetime = hold[0]
        releases: list[datetime] = self.memory["released"].get(order_id, [])
        release = min((r for r in releases if r >= began), default=None)
        self._timer_done(order_id, release or began)
        if self.memory["opened"].get(order_id) == began:
            del self.memory["opened"][order_id]
            return  # picking during the grace opened this hold's case already
        if release is not None and release <= timer.at:
            return  # routine: released within the grace
        order = state.orders.get(order_id)
        cancelled = order.cancelled_at if order is not None else None
        if cancelled is not None and cancelled <= timer.at:
            return
        yield self._signal(state, order_id, timer.at, hold, None, grace=True)
        if release is not None and (cancelled is None or release <= cancelled):
            yield self.clear(order_id, release, "credit hold released")
        elif cancelled is not None:
            yield self.clear(order_id, cancelled, "order cancelled", status="cancelled")

    def _timer_done(self, order_id: str, used_up_to: datetime) -> None:
        """Forget releases no later timer can need (timers fire in hold order)."""
        pending: dict[str, int] = self.memory["pending"]
        left = pending.get(order_id, 1) - 1
        released: dict[str, list[datetime]] = self.memory["released"]
        if left <= 0:
            pending.pop(order_id, None)
            released.pop(order_id, None)
            return
        pending[order_id] = left
        if order_id in released:
            released[order_id] = [r for r in released[order_id] if r > used_up_to]

    def _signal(
        self,
        state: State,
        order_id: str,
        when: datetime,
        hold: tuple[Any, ...],
        picking: str | None,
        *,
        grace: bool = False,
    ) -> Output:
        _, reason, exposure, customer_id = hold
        order = state.orders.get(order_id)
        impact = (
            order_impact(state, order)
            if order is not None
            else Impact(revenue_at_risk=exposure or 0.0, customer_id=customer_id)
        )
        what = f"credit hold on {order_id}"
        if grace:
            what += f" not released within {self.cfg.grace_minutes:g} min"
        extra: dict[str, Any] = {}
        if picking is not None:
            extra = {"boost": PICK_BOOST, "boost_reason": picking}
            what += f", {picking}"
        details = [reason] if reason else []
        if exposure is not None:
            details.append(f"exposure {exposure:,.2f}")
        return self.signal(
            order_id,
            order_id,
            when,
            refs=refs(
                order_id=order_id,
                customer_id=order.customer_id if order is not None else customer_id,
            ),
            impact=impact,
            root_cause="hold_after_pick" if picking == ALREADY_PICKING else "credit_hold",
            summary=what + (f" ({'; '.join(details)})" if details else ""),
            **extra,
        )


DETECTOR = CreditHold
