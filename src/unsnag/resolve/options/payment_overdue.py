"""Options for ``payment.overdue``: an invoice is unpaid past its due date plus grace.

The dunning ladder a collections team runs, by days past due at the case's last signal:

- ``send_dunning``: 0.9 up to :data:`REMIND_DAYS` past due (0.1 less for a customer who
  paid more than a quarter of their settled invoices late), 0.6 up to
  :data:`CALL_DAYS`, 0.35 beyond; 0.2 for a disputed invoice (dunning what the customer
  disputes sours the dispute).
- ``notify`` collections: 0.3 up to :data:`REMIND_DAYS`, 0.7 up to :data:`CALL_DAYS`
  (call the customer), 0.8 beyond (escalate: credit hold, agency).
- A disputed invoice: ``notify`` billing to settle the dispute first (0.7).

Amount and revenue protected: the open balance.
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import (
    as_of,
    day,
    days_between,
    grounded,
    money,
    rank,
    tell,
    unknown,
)
from unsnag.resolve.options.credit_hold import LATE_SHARE, score
from unsnag.state.model import State

REMIND_DAYS = 30.0
CALL_DAYS = 60.0


def ladder(days: float, late_share: float) -> tuple[float, float, str]:
    """(dunning confidence, collections confidence, what collections should do)."""
    if days <= REMIND_DAYS:
        return (0.8 if late_share > LATE_SHARE else 0.9), 0.3, "follow up"
    if days <= CALL_DAYS:
        return 0.6, 0.7, "call the customer"
    return 0.35, 0.8, "escalate: credit hold or agency"


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    invoice = state.invoices.get(case.key)
    if invoice is None:
        return unknown(case, "invoice", case.key, "invoice.issued")
    now = as_of(case)
    balance = invoice.balance()
    due = invoice.due_date or now
    days = max(days_between(due, now), 0.0)
    customer = state.customers.get(invoice.customer_id)
    history = score(state, customer, now) if customer is not None else None
    late_share = history.late_share if history else 0.0
    dun, collect, what = ladder(days, late_share)
    facts = [
        f"{invoice.invoice_id} ({invoice.order_id}) for {invoice.customer_id}: "
        f"{money(balance)} of {money(invoice.amount)} open, {days:.0f} d past due {day(due)}",
    ]
    if invoice.payments:
        facts.append(f"paid so far: {money(sum(a for _, a in invoice.payments))}")
    if history is not None and history.paid:
        facts.append(f"history: {history.paid - history.late} of {history.paid} paid on time")
    effect = Effect(balance, 0.0, 0.0)
    found: list[Option] = []
    if invoice.disputed_at is not None:
        dun = 0.2
        facts.append(f"disputed {day(invoice.disputed_at)}")
        subject = f"{invoice.invoice_id}: settle the dispute before dunning"
        found.append(tell("billing", subject, (), confidence=0.7, amount=balance))
    found.append(
        Option(
            action="send_dunning",
            params={"invoice_id": invoice.invoice_id},
            summary=f"remind {invoice.customer_id} of {invoice.invoice_id}: "
            f"{money(balance)}, {days:.0f} d past due",
            effect=effect,
            confidence=dun,
            amount=balance,
        )
    )
    subject = f"{invoice.invoice_id} ({money(balance)}, {days:.0f} d late): {what}"
    found.append(
        tell("collections", subject, (), confidence=collect, effect=effect, amount=balance)
    )
    return rank(grounded(found, facts))
