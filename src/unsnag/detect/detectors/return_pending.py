"""return.pending — a return needs authorisation, or its credit is overdue.

One case per RMA (key ``rma_id``, subject the order id).

Opens on ``return.requested`` at once (root cause ``needs_authorisation``) unless the
return is routine: every line's reason is in ``auto_authorise_reasons`` and the return's
value (``Return.value``) is at most ``auto_authorise_max_value``. Whatever it was, a timer
is set at ``return.received`` + ``credit_within_hours``: when no credit memo was issued for
an invoice of the order by then (``Return.credited_at``, an event time), the case opens —
or the open one is updated — at that moment (root cause ``credit_overdue``); when the credit
came later, it then resolves at the credit's time. An event of the RMA's order at or after
that moment runs the same check first, so live ingest and batch replay agree.

Look-alikes ignored: a routine return (an unwanted, low-value one) credited in time never
opens a case; a credit issued before the goods came back counts as in time.

Resolved when a ``credit_memo.issued`` for an invoice of the order credits the return
(at the credit's event time). Cancelled with its order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from unsnag.detect.base import Detector, Impact, Output, Timer, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Return, State


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _hours(delta: timedelta) -> str:
    return f"{round(delta.total_seconds() / 3600, 1):g} h"


class ReturnPending(Detector):
    rule = "return-pending"
    case_type = "return.pending"
    events = frozenset(
        {"return.requested", "return.received", "credit_memo.issued", "order.cancelled"}
    )
    config_name = "return_pending"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        # rma_id -> (credit deadline, judged) for returns received and not yet credited
        self.memory["due"] = {}
        # rma_id -> the order line ids the return names (for the impact)
        self.memory["lines"] = {}

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        if event.type == "return.requested":
            yield from self._requested(event, state)
        elif event.type == "return.received":
            rma = state.returns.get(d.rma_id)
            if rma is not None and rma.received_at is not None and rma.credited_at is None:
                deadline = rma.received_at + timedelta(hours=self.cfg.credit_within_hours)
                due: dict[str, tuple[datetime, bool]] = self.memory["due"]
                if rma.rma_id not in due:
                    due[rma.rma_id] = (deadline, False)
                    yield self.timer(deadline, rma.rma_id)
        elif event.type == "credit_memo.issued":
            invoice = state.invoices.get(d.invoice_id) if d.invoice_id else None
            if invoice is not None:
                yield from self._credited(event, state, invoice.order_id)
        else:
            for rma_id in state.returns_by_order.get(d.order_id, ()):
                yield from self._catch_up(state, rma_id, event.time)
                self._forget(rma_id)

    def _requested(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        rma = state.returns.get(d.rma_id)
        if rma is None:  # pragma: no cover - the projector always records it
            return
        self.memory["lines"][rma.rma_id] = tuple(
            sorted({ln.line_id for ln in d.lines if ln.line_id})
        )
        auto = set(self.cfg.auto_authorise_reasons)
        odd = sorted({ln.reason or "no reason" for ln in d.lines if ln.reason not in auto})
        limit = self.cfg.auto_authorise_max_value
        if d.lines and not odd and rma.value <= limit:
            return  # routine: authorised by policy, only the credit clock matters
        why = []
        if odd or not d.lines:
            why.append(f"reason {', '.join(odd) or 'none given'}")
        if rma.value > limit:
            why.append(f"value {rma.value:,.2f} over the {limit:,.2f} auto-authorise limit")
        yield self.signal(
            rma.rma_id,
            rma.order_id,
            event.time,
            refs=refs(order_id=rma.order_id, rma_id=rma.rma_id),
            impact=self._impact(state, rma, None),
            root_cause="needs_authorisation",
            summary=f"{rma.rma_id} needs authorisation: {'; '.join(why)}",
        )

    def _credited(self, event: Event, state: State, order_id: str) -> Iterable[Output]:
        for rma_id in state.returns_by_order.get(order_id, ()):
            rma = state.returns.get(rma_id)
            if rma is None or rma.credited_at != event.time:
                continue
            yield from self._catch_up(state, rma_id, event.time)
            current = self.memory["due"].get(rma_id)
            self._forget(rma_id)
            note = self._credit_note(rma.credited_at, current[0] if current else None)
            yield self.clear(rma_id, rma.credited_at, note)

    def _forget(self, rma_id: str) -> None:
        self.memory["due"].pop(rma_id, None)
        self.memory["lines"].pop(rma_id, None)

    # --- the credit clock -------------------------------------------------------------

    def _catch_up(self, state: State, rma_id: str, now: datetime) -> Iterable[Output]:
        current = self.memory["due"].get(rma_id)
        rma = state.returns.get(rma_id)
        if rma is not None and current is not None and not current[1] and current[0] <= now:
            yield from self._judge(state, rma, current[0])

    def fire(self, timer: Timer, state: State) -> Iterable[Output]:
        rma = state.returns.get(timer.key)
        if rma is not None and self.memory["due"].get(timer.key) == (timer.at, False):
            yield from self._judge(state, rma, timer.at)

    def _judge(self, state: State, rma: Return, deadline: datetime) -> Iterable[Output]:
        """Was the return credited by ``deadline``? Decided from recorded event times."""
        self.memory["due"][rma.rma_id] = (deadline, True)
        order = state.orders.get(rma.order_id)
        cancelled_at = order.cancelled_at if order is not None else None
        if rma.credited_at is not None and rma.credited_at <= deadline:
            return
        if cancelled_at is not None and cancelled_at <= deadline:
            return
        received = f" received {_at(rma.received_at)}" if rma.received_at else ""
        yield self.signal(
            rma.rma_id,
            rma.order_id,
            deadline,
            refs=refs(order_id=rma.order_id, rma_id=rma.rma_id),
            impact=self._impact(state, rma, deadline),
            root_cause="credit_overdue",
            summary=f"{rma.rma_id}{received}: no credit within "
            f"{self.cfg.credit_within_hours:g} h, {rma.value:,.2f} owed",
        )
        if rma.credited_at is not None and (
            cancelled_at is None or rma.credited_at <= cancelled_at
        ):
            note = self._credit_note(rma.credited_at, deadline)
            yield self.clear(rma.rma_id, rma.credited_at, note)
        elif cancelled_at is not None:
            yield self.clear(rma.rma_id, cancelled_at, "order cancelled", status="cancelled")

    @staticmethod
    def _credit_note(credited_at: datetime, deadline: datetime | None) -> str:
        if deadline is None or credited_at <= deadline:
            return "credit memo issued"
        return f"credit memo issued {_hours(credited_at - deadline)} after the deadline"

    def _impact(self, state: State, rma: Return, deadline: datetime | None) -> Impact:
        order = state.orders.get(rma.order_id)
        lines = list(self.memory["lines"].get(rma.rma_id, ()))
        base = order_impact(state, order, lines or None)
        return Impact(
            revenue_at_risk=rma.value,
            margin_pct=base.margin_pct,
            customer_id=base.customer_id,
            promise_at=deadline,
        )


DETECTOR = ReturnPending
