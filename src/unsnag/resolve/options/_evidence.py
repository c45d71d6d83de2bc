"""What can explain money a customer holds back (a dispute, a short pay): the evidence
the finance computers weigh before crediting it.

An amount is *explained* when, within :data:`MATCH_SHARE` of it:

- the order was priced over the customer's contract (Σ (price - contract) x qty over the
  lines priced above it) — confidence 0.85;
- a return of the order is worth it (an RMA's value) — 0.8.

(A delivery discrepancy is a case, not state; the return that usually follows one is.)

Otherwise an amount of at most :data:`SMALL_SHARE` of the invoice is *small*: cheaper to
credit than to investigate — 0.7.
"""

from __future__ import annotations

from dataclasses import dataclass

from unsnag.resolve.options._common import money, pct
from unsnag.state.model import Invoice, Order, State

MATCH_SHARE = 0.05
SMALL_SHARE = 0.02


@dataclass(frozen=True, slots=True)
class Explanation:
    fact: str
    confidence: float


def overcharge(state: State, order: Order) -> float:
    total = 0.0
    for line in order.lines.values():
        contract = state.contract_price(order.customer_id, line.sku, order.created_at)
        if contract is not None and line.unit_price > contract + 0.005:
            total += (line.unit_price - contract) * line.qty
    return total


def close(a: float, b: float) -> bool:
    return b > 0 and abs(a - b) <= MATCH_SHARE * b


def explain(state: State, order: Order | None, invoice: Invoice, amount: float) -> Explanation:
    if order is not None:
        over = overcharge(state, order)
        if close(over, amount):
            fact = f"{order.order_id} was priced {money(over)} over contract"
            return Explanation(fact, 0.85)
        for rma_id in state.returns_by_order.get(order.order_id, ()):
            rma = state.returns.get(rma_id)
            if rma is not None and close(rma.value, amount):
                fact = f"return {rma.rma_id} of {order.order_id} is worth {money(rma.value)}"
                return Explanation(fact, 0.8)
    share = amount / invoice.amount if invoice.amount > 0 else 1.0
    if share <= SMALL_SHARE:
        fact = f"{money(amount)} is {pct(share)} of {invoice.invoice_id}: cheaper to credit"
        return Explanation(fact, 0.7)
    fact = f"nothing on file explains {money(amount)} ({pct(share)} of {invoice.invoice_id})"
    return Explanation(fact, 0.4)
