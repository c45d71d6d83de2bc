"""Options for ``credit.hold``: an order is blocked by credit.

The customer is scored as a credit analyst would:

- *exposure* = open (uninvoiced) order value + open invoice balances, against the
  ``credit_limit`` of ``customer.upserted``;
- *overdue*: open invoices past their due date at the case's last signal;
- *history*: of the customer's settled invoices with a due date, the share paid late
  (last payment after the due date), counted once at least :data:`MIN_HISTORY` are settled.

``release_hold`` (amount: the order value; effect: the order value protected, a
:data:`CREDIT_REVIEW_DAYS` manual review saved) states its conditions in the summary.
Its confidence: 0.9 with exposure within the limit, 0.35 up to 110 % of it, 0.15 beyond,
0.4 when no limit is known; less 0.4 when an invoice is overdue (the release then waits
for it to be paid) and 0.1 when more than :data:`LATE_SHARE` of the history was paid late.

With overdue invoices, ``send_dunning`` on the oldest (0.55) makes room. ``notify``
finance closes the list: 0.6 when the exposure is over the limit (a limit or prepayment
decision only people take), else 0.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import (
    OPEN_BALANCE,
    as_of,
    clamp,
    day,
    days_between,
    grounded,
    money,
    order_of,
    pct,
    rank,
    ref,
    tell,
    unknown,
)
from unsnag.state.model import Customer, Invoice, State

CREDIT_REVIEW_DAYS = 1.0
MIN_HISTORY = 4
LATE_SHARE = 0.25
OVER_LIMIT_SOFT = 1.10


@dataclass(frozen=True, slots=True)
class Score:
    exposure: float
    limit: float | None
    overdue: list[Invoice]
    paid: int
    late: int

    @property
    def ratio(self) -> float | None:
        return self.exposure / self.limit if self.limit else None

    @property
    def late_share(self) -> float:
        return self.late / self.paid if self.paid >= MIN_HISTORY else 0.0


def score(state: State, customer: Customer, now: datetime) -> Score:
    open_balance = 0.0
    overdue: list[Invoice] = []
    paid = late = 0
    for invoice_id in state.invoices_by_customer.get(customer.customer_id, ()):
        invoice = state.invoices.get(invoice_id)
        if invoice is None:
            continue
        balance = invoice.balance()
        if balance > OPEN_BALANCE:
            open_balance += balance
            if invoice.due_date is not None and invoice.due_date < now:
                overdue.append(invoice)
        elif invoice.due_date is not None and invoice.payments:
            paid += 1
            late += max(t for t, _ in invoice.payments) > invoice.due_date
    overdue.sort(key=lambda inv: (inv.due_date or now, inv.invoice_id))
    exposure = customer.open_order_value + open_balance
    return Score(exposure, customer.credit_limit, overdue, paid, late)


def release_confidence(s: Score) -> float:
    ratio = s.ratio
    if ratio is None:
        base = 0.4
    elif ratio <= 1.0:
        base = 0.9
    else:
        base = 0.35 if ratio <= OVER_LIMIT_SOFT else 0.15
    if s.overdue:
        base -= 0.4
    if s.late_share > LATE_SHARE:
        base -= 0.1
    return clamp(base, 0.05, 1.0)


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    order = order_of(case, state)
    if order is None:
        return unknown(case, "order", ref(case, "order_id") or case.subject, "order.created")
    customer = state.customers.get(order.customer_id)
    if customer is None:
        return unknown(case, "customer", order.customer_id, "customer.upserted")
    now = as_of(case)
    s = score(state, customer, now)
    facts = _facts(s, customer, now)
    if case.root_cause == "hold_after_pick" or order.picking_started_at is not None:
        facts.append(f"picking started {day(order.picking_started_at)}: goods are staged")
    conditions = _conditions(s, now)
    found = [
        Option(
            action="release_hold",
            params={"order_id": order.order_id},
            summary=f"release {order.order_id} ({money(order.value)}): {conditions}",
            effect=Effect(order.value, 0.0, CREDIT_REVIEW_DAYS),
            confidence=release_confidence(s),
            amount=order.value,
        )
    ]
    if s.overdue:
        oldest = s.overdue[0]
        found.append(
            Option(
                action="send_dunning",
                params={"invoice_id": oldest.invoice_id},
                summary=(
                    f"remind {customer.customer_id} of {oldest.invoice_id} "
                    f"({money(oldest.balance())} due {day(oldest.due_date)}) to make room"
                ),
                effect=Effect(oldest.balance(), 0.0, 0.0),
                confidence=0.55,
                amount=oldest.balance(),
            )
        )
    over = s.ratio is not None and s.ratio > 1.0
    subject = f"{order.order_id}: credit decision for {customer.customer_id} ({conditions})"
    found.append(tell("finance", subject, (), confidence=0.6 if over else 0.3))
    return rank(grounded(found, facts))


def _facts(s: Score, customer: Customer, now: datetime) -> list[str]:
    limit = money(s.limit) if s.limit else "no credit limit on file"
    facts = [
        f"{customer.customer_id} ({customer.tier}): exposure {money(s.exposure)} "
        f"(open orders {money(customer.open_order_value)}, open invoices "
        f"{money(s.exposure - customer.open_order_value)}), limit {limit}",
    ]
    for invoice in s.overdue[:3]:
        late = days_between(invoice.due_date or now, now)
        facts.append(
            f"{invoice.invoice_id}: {money(invoice.balance())} open, {late:.0f} d past due "
            f"{day(invoice.due_date)}"
        )
    if s.paid:
        facts.append(f"history: {s.paid - s.late} of {s.paid} settled invoices paid on time")
    return facts


def _conditions(s: Score, now: datetime) -> str:
    ratio = s.ratio
    parts = [f"exposure {pct(ratio)} of limit" if ratio is not None else "no limit on file"]
    if s.overdue:
        first = s.overdue[0]
        parts.append(
            f"once {first.invoice_id} ({money(first.balance())}, "
            f"{days_between(first.due_date or now, now):.0f} d overdue) is paid"
        )
    else:
        parts.append("no invoice overdue")
    if s.paid:
        parts.append(f"{s.paid - s.late} of {s.paid} invoices paid on time")
    return ", ".join(parts)
