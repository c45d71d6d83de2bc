"""Options for ``delivery.discrepancy``: goods arrived damaged, short or wrong.

The value at risk is the case's (Σ qty x unit price of what was wrong); the kinds are
its root cause (``damaged``, ``short``, ``wrong_item``, joined with ``+``).

- ``issue_credit_memo`` on the order's invoice with the most left to credit, for the
  value at risk (at most what the invoice leaves to credit). Confidence by the weakest
  kind: 0.85 for ``short`` and 0.8 for ``damaged`` (noted on the proof of delivery),
  0.6 for ``wrong_item`` (a reship is the usual fix); 0.2 less when the invoice cannot
  absorb the whole value. Effect: the rest of the invoice stays collectable (no short pay
  or deduction) at the cost of the credit.
- Reship (``partial_ship`` of the missing quantity of the line) from the shipment's DC
  when the case names one line and the DC holds it: 0.75 when the ERP and the WMS both
  show enough, 0.5 on one view, 0.3 when they disagree; 0.7 at most for ``wrong_item``.
  Effect: the value at risk protected, :data:`RESHIP_FREIGHT_PCT` of it in freight.
- Not invoiced yet: ``recheck`` in :data:`RECHECK_HOURS` business hours (0.82 — above a
  reship, because a credit on the coming invoice is the usual fix), and ``notify``
  billing to invoice only what arrived in good order (0.5).
- ``notify`` customer service (0.3), always last.
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import (
    as_of,
    creditable,
    grounded,
    invoice_to_credit,
    money,
    num,
    rank,
    refs,
    tell,
    unknown,
)
from unsnag.resolve.options._stock import stock_at
from unsnag.state.model import Invoice, Order, Shipment, State

RESHIP_FREIGHT_PCT = 0.05
RECHECK_HOURS = 4.0
RECHECK_CONFIDENCE = 0.82
CREDIT_CONFIDENCE = {"short": 0.85, "damaged": 0.8, "wrong_item": 0.6}
RESHIP_CONFIDENCE = {"both": 0.75, "one": 0.5, "disagree": 0.3}


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    shipment = state.shipments.get(case.key)
    if shipment is None:
        return unknown(case, "shipment", case.key, "shipment.created")
    order = state.orders.get(shipment.order_id)
    if order is None:
        return unknown(case, "order", shipment.order_id, "order.created")
    kinds = [k for k in (case.root_cause or "").split("+") if k]
    value = case.impact.revenue_at_risk
    invoice = invoice_to_credit(state, order)
    facts = [
        f"{shipment.shipment_id} of {order.order_id} delivered with "
        f"{', '.join(kinds) or 'a discrepancy'}: {money(value)} at risk",
    ]
    found: list[Option] = []
    if invoice is not None:
        found.append(_credit(invoice, kinds, value))
        facts.append(
            f"{invoice.invoice_id}: {money(invoice.amount)}, balance {money(invoice.balance())},"
            f" {money(creditable(invoice))} left to credit"
        )
    else:
        subject = f"{order.order_id}: invoice only what arrived in good order ({money(value)} off)"
        found.append(tell("billing", subject, (), confidence=0.5))
        facts.append(f"{order.order_id} is not invoiced yet")
        found.append(_recheck(order))
    found.extend(_reship(case, state, order, shipment, kinds, value))
    found.append(tell(case.owner_team, f"{order.order_id}: {case.summary}", ()))
    return rank(grounded(found, facts))


def _recheck(order: Order) -> Option:
    """Not invoiced yet: a credit memo needs the invoice, which usually follows the
    delivery within hours, so look again before reshipping anything."""
    return Option(
        action="recheck",
        params={"hours": RECHECK_HOURS, "waiting_for": "invoice.issued"},
        summary=f"{order.order_id} is not invoiced yet: credit once it is "
        f"(look again in {RECHECK_HOURS:g} business hours)",
        confidence=RECHECK_CONFIDENCE,
    )


def _credit(invoice: Invoice, kinds: list[str], value: float) -> Option:
    room = max(creditable(invoice), 0.0)
    amount = min(value, room)
    confidence = min((CREDIT_CONFIDENCE.get(k, 0.5) for k in kinds), default=0.5)
    if value > room + 0.005:
        confidence -= 0.2
    rest = max(invoice.balance() - amount, 0.0)
    return Option(
        action="issue_credit_memo",
        params={
            "invoice_id": invoice.invoice_id,
            "amount": round(amount, 2),
            "reason": "+".join(kinds) or "delivery discrepancy",
        },
        summary=(
            f"credit {money(amount)} on {invoice.invoice_id} for goods delivered "
            f"{' and '.join(k.replace('_', ' ') for k in kinds) or 'wrong'}"
        ),
        effect=Effect(rest, amount, 0.0),
        confidence=max(confidence, 0.05),
        amount=amount,
    )


def _reship(
    case: Case, state: State, order: Order, shipment: Shipment, kinds: list[str], value: float
) -> list[Option]:
    line_ids = refs(case, "line_id")
    line = order.lines.get(line_ids[0]) if len(line_ids) == 1 else None
    if line is None or shipment.node_id is None or line.unit_price <= 0 or value <= 0:
        return []
    qty = round(value / line.unit_price, 6)
    stock = stock_at(state, shipment.node_id, line.sku, as_of(case))
    evidence = stock.evidence(qty)
    if evidence is None:
        return []
    confidence = RESHIP_CONFIDENCE[evidence]
    if "wrong_item" in kinds:
        confidence = min(confidence, 0.7)
    freight = RESHIP_FREIGHT_PCT * value
    return [
        Option(
            action="partial_ship",
            params={"order_id": order.order_id, "line_id": line.line_id, "qty": qty},
            summary=(
                f"reship {num(qty)} of {line.sku} to {order.customer_id} from "
                f"{shipment.node_id} (~{money(freight)} freight) instead of crediting"
            ),
            effect=Effect(value, freight, 0.0),
            facts=(stock.describe(),),
            confidence=confidence,
            amount=value,
        )
    ]
