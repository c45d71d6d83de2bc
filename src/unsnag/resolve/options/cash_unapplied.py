"""Options for ``cash.unapplied``: a remittance cannot be matched, or it short-pays.

Short pay (root cause ``short_pay``, or ``deduction`` when the payer declared
deductions; the short amount is the case's value at risk), on the matched invoice with
the largest balance:

- ``write_off`` when the short amount is at most :data:`WRITE_OFF_THRESHOLD` (chasing it
  costs more than it brings): 0.9, 0.8 when the payer declared a deduction;
- else ``open_deduction`` with the customer for the short amount: 0.8;
- ``issue_credit_memo`` for it when the books explain it (see ``_evidence``: an
  overcharge against contract 0.85, a return of that value 0.8);
- ``apply_payment`` of what was paid to the invoice, so the rest is all that stays
  open: 0.6.

Over pay: ``apply_payment`` of each matched invoice's balance (0.8), and ``notify`` cash
application to hold the excess on account or refund it (0.5).

No match: the customer's open invoices are scored by amount (what the remittance
settles, amount + deductions, against each balance) and reference (a reference one typo
away from the invoice's number: one digit changed, or two neighbours swapped):

- ``apply_payment`` to a candidate: 0.9 amount exact (within ``amount_tolerance``) and
  reference near; 0.8 amount exact and the only such invoice; 0.45 exact among several;
  0.6 reference near and amount within :data:`NEAR_SHARE`; 0.45 reference near alone;
  0.4 amount within :data:`NEAR_SHARE` alone. Amount: what it applies.
- ``issue_invoice`` for an order the references name that shipped but has no invoice yet
  (cash before billing): 0.6.
- ``request_info`` to the customer: which invoices does it pay? (0.5).

``notify`` cash application (0.3) closes every list; it is the only option when the
payer is unknown.
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.detect.detectors._remittance_refs import core, normalise, parse
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import (
    OPEN_BALANCE,
    ask,
    day,
    grounded,
    money,
    rank,
    ref,
    refs,
    tell,
    unknown,
)
from unsnag.resolve.options._evidence import explain
from unsnag.state.model import Invoice, Remittance, State

WRITE_OFF_THRESHOLD = 25.0
"""Short pays up to this amount (in the invoice's currency) are written off."""
NEAR_SHARE = 0.02
MAX_CANDIDATES = 3


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    rem = state.remittances.get(case.key)
    if rem is None:
        return unknown(case, "remittance", case.key, "remittance.received")
    invoices = [inv for i in refs(case, "invoice_id") if (inv := state.invoices.get(i))]
    facts = [
        f"{rem.remittance_id} from {rem.customer_id or 'an unknown payer'} "
        f"{day(rem.received_at)}: {money(rem.amount)}, deductions {money(rem.deductions)}, "
        f"applied {money(rem.applied_total)}, references '{rem.references}'",
        *(
            f"{inv.invoice_id} ({inv.order_id}): {money(inv.amount)}, balance "
            f"{money(inv.balance())}, due {day(inv.due_date)}"
            for inv in invoices
        ),
    ]
    cause = case.root_cause or "no_match"
    if cause in ("short_pay", "deduction") and invoices:
        found = _short(case, state, rem, invoices, facts)
    elif cause == "over_pay" and invoices:
        found = _over(case, rem, invoices)
    else:
        found = _no_match(case, state, policy, rem, facts)
    found.append(tell(case.owner_team, f"{rem.remittance_id}: {case.summary}", ()))
    return rank(grounded(found, facts))


def _short(
    case: Case, state: State, rem: Remittance, invoices: list[Invoice], facts: list[str]
) -> list[Option]:
    short = case.impact.revenue_at_risk
    invoice = max(invoices, key=lambda inv: (inv.balance(), inv.invoice_id))
    facts.append(f"short {money(short)}; write-off threshold {money(WRITE_OFF_THRESHOLD)}")
    found = [_settle(rem, invoice, short, declared=case.root_cause == "deduction")]
    why = explain(state, state.orders.get(invoice.order_id), invoice, short)
    facts.append(why.fact)
    if why.confidence >= 0.8:
        found.append(
            Option(
                action="issue_credit_memo",
                params={
                    "invoice_id": invoice.invoice_id,
                    "amount": round(short, 2),
                    "reason": "short pay explained",
                },
                summary=f"credit the {money(short)} short on {invoice.invoice_id}: {why.fact}",
                effect=Effect(max(invoice.balance() - short, 0.0), short, 0.0),
                confidence=why.confidence,
                amount=short,
            )
        )
    found.append(_apply(rem, invoice, 0.6))
    return found


def _settle(rem: Remittance, invoice: Invoice, short: float, declared: bool) -> Option:
    """Write a small short off; open a deduction with the customer for a larger one."""
    if short <= WRITE_OFF_THRESHOLD:
        return Option(
            action="write_off",
            params={"invoice_id": invoice.invoice_id, "amount": round(short, 2)},
            summary=f"write off the {money(short)} short on {invoice.invoice_id} "
            f"(under the {money(WRITE_OFF_THRESHOLD)} threshold)",
            effect=Effect(max(invoice.balance() - short, 0.0), short, 0.0),
            confidence=0.8 if declared else 0.9,
            amount=short,
        )
    return Option(
        action="open_deduction",
        params={
            "remittance_id": rem.remittance_id,
            "amount": round(short, 2),
            "invoice_id": invoice.invoice_id,
        },
        summary=f"open a deduction with {rem.customer_id or 'the payer'} for the "
        f"{money(short)} short on {invoice.invoice_id}",
        effect=Effect(short, 0.0, 0.0),
        confidence=0.8,
        amount=short,
    )


def _apply(rem: Remittance, invoice: Invoice, confidence: float, why: str = "") -> Option:
    left = max(rem.amount - rem.applied_total, 0.0)
    amount = round(min(left, max(invoice.balance(), 0.0)), 2)
    return Option(
        action="apply_payment",
        params={
            "remittance_id": rem.remittance_id,
            "invoice_id": invoice.invoice_id,
            "amount": amount,
        },
        summary=f"apply {money(amount)} of {rem.remittance_id} to {invoice.invoice_id}"
        + (f" ({why})" if why else ""),
        effect=Effect(amount, 0.0, 0.0),
        confidence=confidence,
        amount=amount,
    )


def _over(case: Case, rem: Remittance, invoices: list[Invoice]) -> list[Option]:
    found = [_apply(rem, inv, 0.8, "its balance") for inv in invoices]
    excess = case.impact.revenue_at_risk
    subject = f"{rem.remittance_id}: {money(excess)} over: hold on account or refund"
    found.append(tell("cash_application", subject, (), confidence=0.5, amount=excess))
    return found


def near_typo(a: str, b: str) -> bool:
    """One digit changed, or two neighbouring digits swapped (not equal: that matched)."""
    if len(a) != len(b) or a == b or not a:
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diff) == 1:
        return True
    i, j = diff if len(diff) == 2 else (0, 0)
    return j == i + 1 and a[i] == b[j] and a[j] == b[i]


def candidate_confidence(exact: bool, unique: bool, near_ref: bool, near_amount: bool) -> float:
    if exact:
        return 0.9 if near_ref else (0.8 if unique else 0.45)
    if near_ref:
        return 0.6 if near_amount else 0.45
    return 0.4 if near_amount else 0.0


def _no_match(
    case: Case, state: State, policy: Policy, rem: Remittance, facts: list[str]
) -> list[Option]:
    customer_id = rem.customer_id or ref(case, "customer_id")
    if customer_id is None:
        facts.append("payer unknown: no customer to match against")
        return []
    tolerance = policy.detectors.cash_unapplied.amount_tolerance
    expected = rem.amount + rem.deductions
    cores = {r.core for r in parse(rem.references) if r.core}
    open_ = state.open_invoices_of(customer_id)
    facts.append(f"{customer_id} has {len(open_)} open invoices")
    exact = [inv for inv in open_ if abs(inv.balance() - expected) <= tolerance]
    scored: list[tuple[float, Invoice]] = []
    for inv in open_:
        balance = inv.balance()
        inv_core = core(normalise(inv.invoice_id))
        near_ref = any(near_typo(c, inv_core) for c in cores)
        near_amount = abs(balance - expected) <= NEAR_SHARE * max(expected, OPEN_BALANCE)
        confidence = candidate_confidence(inv in exact, len(exact) == 1, near_ref, near_amount)
        if confidence > 0:
            scored.append((confidence, inv))
    scored.sort(key=lambda pair: (-pair[0], pair[1].due_date or pair[1].issued_at))
    found = [
        _apply(rem, inv, confidence, f"balance {money(inv.balance())} vs {money(expected)}")
        for confidence, inv in scored[:MAX_CANDIDATES]
    ]
    found.extend(_bill_first(state, rem, customer_id))
    question = f"which invoices does {rem.remittance_id} ({money(rem.amount)}) pay?"
    found.append(
        ask("customer", question, (), remittance_id=rem.remittance_id, customer_id=customer_id)
    )
    return found


def _bill_first(state: State, rem: Remittance, customer_id: str) -> list[Option]:
    """Cash for an order that shipped but was never invoiced: invoice it."""
    found = []
    for token in dict.fromkeys(rem.references.replace(",", " ").split()):
        order = state.orders.get(token)
        if order is None or order.customer_id != customer_id or order.invoice_ids:
            continue
        if order.status != "shipped":
            continue
        found.append(
            Option(
                action="issue_invoice",
                params={"order_id": order.order_id},
                summary=f"invoice {order.order_id} ({money(order.value)}): "
                f"{rem.remittance_id} pays it before billing",
                effect=Effect(order.value, 0.0, 0.0),
                confidence=0.6,
                amount=order.value,
            )
        )
    return found
