"""Options for ``return.pending``: a return needs authorisation, or its credit is overdue.

- ``authorise_return`` while the goods are not back. Confidence by the reasons: 0.85
  when every line is ``damaged``, ``short`` or ``wrong_item`` (the distributor's fault),
  0.6 for ``unwanted`` (allowed by policy; only its value needs a look), 0.4 with no
  reason; at most 0.2 when no shipment of the order was delivered (nothing to return)
  and 0.3 when the return is worth more than the order. Effect: the rest of the order
  stays collectable, at the cost of the credit to come.
- ``request_info`` to the customer (reason, photos) when no reason was given or the
  reason is ``unwanted`` (0.5).
- ``issue_credit_memo`` once the goods are back (``return.received``) on the order's
  invoice with the most left to credit, for the return's value (at most that room): 0.9,
  0.2 less when the invoice cannot absorb it. No invoice: ``notify`` billing (0.5).
- ``notify`` returns (0.3), always last.

Amount: the return's value (the credit at stake).
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
    invoice_to_credit,
    money,
    rank,
    tell,
    unknown,
)
from unsnag.state.model import Order, Return, State

OUR_FAULT = frozenset({"damaged", "short", "wrong_item"})


def authorise_confidence(rma: Return, order: Order, delivered: bool) -> float:
    reasons = set(rma.reasons)
    if reasons and reasons <= OUR_FAULT:
        confidence = 0.85
    elif reasons:
        confidence = 0.6
    else:
        confidence = 0.4
    if not delivered:
        confidence = min(confidence, 0.2)
    if rma.value > order.value + 0.005:
        confidence = min(confidence, 0.3)
    return confidence


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    rma = state.returns.get(case.key)
    if rma is None:
        return unknown(case, "return", case.key, "return.requested")
    order = state.orders.get(rma.order_id)
    if order is None:
        return unknown(case, "order", rma.order_id, "order.created")
    delivered = any(
        s.delivered_at is not None
        for i in order.shipment_ids
        if (s := state.shipments.get(i)) is not None
    )
    facts = [
        f"{rma.rma_id} on {order.order_id}: {money(rma.value)} of {money(order.value)}, "
        f"reasons {', '.join(rma.reasons) or 'none given'}, requested {day(rma.requested_at)}, "
        + (f"received {day(rma.received_at)}" if rma.received_at else "not received yet"),
        f"{order.order_id} delivered" if delivered else f"no delivery of {order.order_id} seen",
    ]
    rest = max(order.value - rma.value, 0.0)
    found: list[Option] = []
    if rma.received_at is None:
        found.append(
            Option(
                action="authorise_return",
                params={"rma_id": rma.rma_id, "order_id": order.order_id},
                summary=f"authorise {rma.rma_id} ({money(rma.value)}, "
                f"{', '.join(rma.reasons) or 'no reason'})",
                effect=Effect(rest, rma.value, 0.0),
                confidence=authorise_confidence(rma, order, delivered),
                amount=rma.value,
            )
        )
        if not rma.reasons or "unwanted" in rma.reasons:
            question = f"why is {order.order_id} coming back ({rma.rma_id})? photos welcome"
            found.append(ask("customer", question, (), rma_id=rma.rma_id))
    else:
        found.append(_credit(state, order, rma, facts))
    found.append(tell(case.owner_team, f"{rma.rma_id}: {case.summary}", ()))
    return rank(grounded(found, facts))


def _credit(state: State, order: Order, rma: Return, facts: list[str]) -> Option:
    invoice = invoice_to_credit(state, order)
    if invoice is None:
        facts.append(f"{order.order_id} has no invoice to credit")
        subject = f"{rma.rma_id}: goods back, {order.order_id} has no invoice to credit"
        return tell("billing", subject, (), confidence=0.5, amount=rma.value)
    room = max(creditable(invoice), 0.0)
    amount = min(rma.value, room)
    facts.append(f"{invoice.invoice_id}: {money(room)} left to credit")
    return Option(
        action="issue_credit_memo",
        params={
            "invoice_id": invoice.invoice_id,
            "amount": round(amount, 2),
            "reason": f"return {rma.rma_id}",
        },
        summary=f"credit {money(amount)} on {invoice.invoice_id} for {rma.rma_id}",
        effect=Effect(max(invoice.balance() - amount, 0.0), amount, 0.0),
        confidence=0.9 if rma.value <= room + 0.005 else 0.7,
        amount=amount,
    )
