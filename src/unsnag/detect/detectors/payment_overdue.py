"""payment.overdue — an invoice is unpaid past its due date plus the policy's grace.

On ``invoice.issued`` with a ``due_date`` a timer is set at the due date plus
``detectors.payment_overdue.grace_days``. When it fires, the case opens at the timer's
time (subject the order id, key the invoice id; at risk: the open balance) if the
invoice's balance *as of that moment* — payments and credit memos counted by their event
times — is above ``balance_tolerance``. root_cause ``overdue``, or ``overdue_disputed``
when the invoice was disputed by then.
Look-alikes it deliberately ignores: an invoice paid in full early, or exactly at the due
date plus grace; a partial payment leaving at most ``balance_tolerance``; an invoice
without a due date; an invoice whose order was cancelled by then.
Resolved by the ``payment.applied`` / ``credit_memo.issued`` that brings the balance
within tolerance (a timer that finds the invoice settled only later shows the case
opened at the due time and resolved at the settling event's time); cancelled with its
order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from unsnag.detect.base import Detector, Impact, Output, Timer, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Invoice, State

SECONDS_PER_DAY = 86_400.0


class PaymentOverdue(Detector):
    rule = "payment-overdue"
    case_type = "payment.overdue"
    events = frozenset({"invoice.issued", "payment.applied", "credit_memo.issued"})
    config_name = "payment_overdue"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.memory["open"] = {}  # invoice id -> True while its overdue case is open

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        invoice_id: str | None = event.data.invoice_id
        invoice = state.invoices.get(invoice_id) if invoice_id else None
        if invoice is None:
            return
        if event.type == "invoice.issued":
            if invoice.due_date is not None:
                grace = timedelta(days=self.cfg.grace_days)
                yield self.timer(invoice.due_date + grace, invoice.invoice_id)
        elif (
            invoice.invoice_id in self.memory["open"]
            and invoice.balance() <= self.cfg.balance_tolerance
        ):
            del self.memory["open"][invoice.invoice_id]
            yield self.clear(invoice.invoice_id, event.time, _settled_by(event.type))

    def fire(self, timer: Timer, state: State) -> Iterable[Output]:
        invoice = state.invoices.get(timer.key)
        if invoice is None or invoice.due_date is None:
            return
        tol = self.cfg.balance_tolerance
        balance = invoice.balance(timer.at)
        if balance <= tol:
            return  # paid (or credited) in time
        order = state.orders.get(invoice.order_id)
        cancelled = order.cancelled_at if order is not None else None
        if cancelled is not None and cancelled <= timer.at:
            return
        yield self._signal(invoice, timer.at, balance)
        settled = _settled_at(invoice, timer.at, tol)
        if cancelled is not None and (settled is None or cancelled < settled[0]):
            yield self.clear(invoice.invoice_id, cancelled, "order cancelled", status="cancelled")
        elif settled is not None:
            yield self.clear(invoice.invoice_id, settled[0], settled[1])
        else:
            self.memory["open"][invoice.invoice_id] = True

    def _signal(self, invoice: Invoice, when: datetime, balance: float) -> Output:
        assert invoice.due_date is not None
        days = (when - invoice.due_date).total_seconds() / SECONDS_PER_DAY
        disputed = invoice.disputed_at is not None and invoice.disputed_at <= when
        summary = (
            f"{invoice.invoice_id} unpaid {days:g} days past due {invoice.due_date:%Y-%m-%d}: "
            f"{balance:,.2f} of {invoice.amount:,.2f} open"
        )
        if disputed:
            summary += " (disputed)"
        return self.signal(
            invoice.invoice_id,
            invoice.order_id,
            when,
            refs=refs(
                invoice_id=invoice.invoice_id,
                order_id=invoice.order_id,
                customer_id=invoice.customer_id,
            ),
            impact=Impact(revenue_at_risk=balance, customer_id=invoice.customer_id),
            root_cause="overdue_disputed" if disputed else "overdue",
            summary=summary,
        )


def _settled_at(invoice: Invoice, after: datetime, tol: float) -> tuple[datetime, str] | None:
    """When (after ``after``) payments and credits first bring the balance within ``tol``."""
    moves = sorted(
        [(t, a, "payment.applied") for t, a in invoice.payments]
        + [(t, a, "credit_memo.issued") for t, a in invoice.credits]
    )
    settled = 0.0
    for moment, amount, kind in moves:
        settled += amount
        if moment > after and invoice.amount - settled <= tol:
            return moment, _settled_by(kind)
    return None


def _settled_by(event_type: str) -> str:
    return "paid" if event_type == "payment.applied" else "settled by credit memo"


DETECTOR = PaymentOverdue
