"""Options for ``invoice.hold``: shipped but not invoiced in time, or an invoice disputed.

Not invoiced (root cause ``not_invoiced``, key the order):

- ``issue_invoice``: 0.9 when every line has shipped, 0.7 when some have not (the
  invoice covers what shipped), 0.1 for a cancelled order. Amount and revenue protected:
  the shipped value (the case's).

Disputed (key the invoice; the amount disputed is the case's value at risk):

- ``issue_credit_memo`` for the disputed amount (at most what the invoice leaves to
  credit), with the confidence of the evidence for it (see ``_evidence``: 0.85 an
  overcharge against contract, 0.8 a return of the same value, 0.7 a small amount, else
  0.4). Effect: the rest of the invoice collectable, at the cost of the credit.
- ``request_info`` to the customer for proof (POD, photos, their price): 0.55.

``notify`` billing (0.3) closes both lists.
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import (
    ask,
    creditable,
    day,
    grounded,
    money,
    num,
    order_of,
    rank,
    tell,
    unknown,
)
from unsnag.resolve.options._evidence import explain
from unsnag.state.model import Invoice, Order, State


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    invoice = None if case.root_cause == "not_invoiced" else state.invoices.get(case.key)
    if invoice is not None:
        return _disputed(case, state, invoice)
    if case.root_cause == "disputed":
        return unknown(case, "invoice", case.key, "invoice.issued")
    order = order_of(case, state)
    if order is None:
        return unknown(case, "order", case.subject, "order.created")
    return _not_invoiced(case, order)


def _not_invoiced(case: Case, order: Order) -> list[Option]:
    unshipped = [ln for ln in order.lines.values() if ln.shipped < ln.qty]
    confidence = 0.1 if order.status == "cancelled" else 0.7 if unshipped else 0.9
    value = case.impact.revenue_at_risk or order.value
    facts = [
        f"{order.order_id} for {order.customer_id}: {money(order.value)}, status "
        f"{order.status}, shipments {', '.join(order.shipment_ids) or 'none'}, no invoice",
    ]
    if unshipped:
        facts.append(
            "not shipped in full: "
            + ", ".join(f"line {ln.line_id} {num(ln.shipped)}/{num(ln.qty)}" for ln in unshipped)
        )
    found = [
        Option(
            action="issue_invoice",
            params={"order_id": order.order_id},
            summary=f"invoice {order.order_id} for the {money(value)} shipped",
            effect=Effect(value, 0.0, 0.0),
            confidence=confidence,
            amount=value,
        ),
        tell(case.owner_team, f"{order.order_id}: shipped, not invoiced", ()),
    ]
    return rank(grounded(found, facts))


def _disputed(case: Case, state: State, invoice: Invoice) -> list[Option]:
    order = state.orders.get(invoice.order_id)
    disputed = case.impact.revenue_at_risk or invoice.balance()
    room = max(creditable(invoice), 0.0)
    amount = min(disputed, room)
    why = explain(state, order, invoice, disputed)
    facts = [
        f"{invoice.invoice_id} ({invoice.order_id}): {money(invoice.amount)}, balance "
        f"{money(invoice.balance())}, due {day(invoice.due_date)}, disputed "
        f"{day(invoice.disputed_at)}: {money(disputed)}",
        why.fact,
    ]
    found = [
        Option(
            action="issue_credit_memo",
            params={
                "invoice_id": invoice.invoice_id,
                "amount": round(amount, 2),
                "reason": "dispute",
            },
            summary=f"credit the disputed {money(amount)} on {invoice.invoice_id}",
            effect=Effect(max(invoice.balance() - amount, 0.0), amount, 0.0),
            confidence=why.confidence if amount > 0 else 0.05,
            amount=amount,
        ),
        ask(
            "customer",
            f"please send what supports the {money(disputed)} disputed on {invoice.invoice_id}"
            " (POD, photos, the price you expected)",
            (),
            confidence=0.55,
            invoice_id=invoice.invoice_id,
        ),
        tell(case.owner_team, f"{invoice.invoice_id}: {case.summary}", ()),
    ]
    return rank(grounded(found, facts))
