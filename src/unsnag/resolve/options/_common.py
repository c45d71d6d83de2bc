"""What every option computer shares: reading a case's refs, wording, ranking, and the
human fallbacks (ask an outside party, tell a team) for when the data runs out.

Pure: no I/O, no clock. "Now" for a computer is the case's last signal time
(:func:`as_of`), so the same case and state always give the same options.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.state.model import Invoice, Line, Order, State

OptionComputer = Callable[[Case, State, Policy], list[Option]]
"""``options(case, state, policy)``: the ways to resolve the case, best first."""

DAY_SECONDS = 86_400.0
OPEN_BALANCE = 0.005  # as State.open_invoices_of

# Confidence of the human fallbacks: they always work eventually, but slowly, so they
# rank under any automatic option the evidence supports.
ASK_CONFIDENCE = 0.5
TELL_CONFIDENCE = 0.3


# --- reading a case ---------------------------------------------------------------------


def ref(case: Case, name: str) -> str | None:
    """The case's (smallest, so deterministic) business key ``name``, if any."""
    values = case.refs.get(name)
    return min(values) if values else None


def refs(case: Case, name: str) -> list[str]:
    return sorted(case.refs.get(name, ()))


def as_of(case: Case) -> datetime:
    """The moment the computer reasons at: the case's latest signal."""
    return case.updated_at or case.opened_at


def order_of(case: Case, state: State) -> Order | None:
    order_id = ref(case, "order_id") or case.subject
    return state.orders.get(order_id)


def order_line(case: Case, state: State) -> tuple[Order, Line] | list[Option]:
    """The case's order and line, or the ``unknown`` options saying which is missing."""
    order = order_of(case, state)
    line = line_of(case, order)
    if order is None or line is None:
        what = "order" if order is None else "order line"
        return unknown(case, what, ref(case, "order_id") or case.subject, "order.created")
    return order, line


def line_of(case: Case, order: Order | None) -> Line | None:
    if order is None:
        return None
    line_id = ref(case, "line_id") or case.key.rpartition("/")[2]
    return order.lines.get(line_id)


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / DAY_SECONDS


def open_qty(line: Line) -> float:
    """What is left to ship of a line, in units."""
    return max(line.qty - line.shipped, 0.0)


def invoice_to_credit(state: State, order: Order | None) -> Invoice | None:
    """The order's invoice with the most left to credit (amount less credits so far)."""
    if order is None:
        return None
    best: Invoice | None = None
    for invoice_id in order.invoice_ids:
        invoice = state.invoices.get(invoice_id)
        if invoice is None:
            continue
        if best is None or creditable(invoice) > creditable(best):
            best = invoice
    return best


def creditable(invoice: Invoice) -> float:
    return invoice.amount - sum(amount for _, amount in invoice.credits)


# --- wording ------------------------------------------------------------------------


def money(amount: float) -> str:
    return f"{amount:,.2f}"


def num(qty: float) -> str:
    return f"{qty:g}"


def day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else "no date"


def pct(share: float) -> str:
    return f"{share * 100:.0f} %"


# --- building and ranking options ---------------------------------------------------------


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def rank(options: Iterable[Option]) -> list[Option]:
    """Best first: confidence, then net effect (revenue protected less cost), then days
    gained; the sort is stable, so a computer's own order breaks remaining ties."""

    def key(option: Option) -> tuple[float, float, float]:
        net = option.effect.revenue_protected - option.effect.cost
        return (-round(option.confidence, 3), -round(net, 2), -round(option.effect.days_gained, 2))

    return sorted(options, key=key)


def grounded(options: Iterable[Option], facts: Iterable[str]) -> list[Option]:
    """Put the case's own facts (the line, the order...) first on every option."""
    shared = tuple(facts)
    return [
        replace(o, facts=shared + tuple(f for f in o.facts if f not in shared)) for o in options
    ]


def ask(
    party: str,
    question: str,
    facts: Iterable[str],
    *,
    confidence: float = ASK_CONFIDENCE,
    effect: Effect | None = None,
    amount: float = 0.0,
    **params: object,
) -> Option:
    """``request_info``: ask a customer, supplier or carrier, and wait for the answer."""
    return Option(
        action="request_info",
        params={"party": party, "question": question, **params},
        summary=f"ask the {party}: {question}",
        effect=effect or Effect(),
        facts=tuple(facts),
        confidence=confidence,
        amount=amount,
    )


def tell(
    to: str,
    subject: str,
    facts: Iterable[str],
    *,
    confidence: float = TELL_CONFIDENCE,
    effect: Effect | None = None,
    amount: float = 0.0,
    **params: object,
) -> Option:
    """``notify``: hand the case to a person or team with what we know."""
    return Option(
        action="notify",
        params={"to": to, "subject": subject, **params},
        summary=f"tell {to}: {subject}",
        effect=effect or Effect(),
        facts=tuple(facts),
        confidence=confidence,
        amount=amount,
    )


def unknown(case: Case, what: str, key: str | None, seen: str) -> list[Option]:
    """The one option left when the record a case is about is missing from the state."""
    name = f"{what} {key}" if key else f"the {what}"
    fact = f"{name} is unknown to unsnag (no {seen} seen); options need it"
    subject = f"{case.subject}: {name} unknown, check the source system"
    return [tell(case.owner_team, subject, [fact, f"case: {case.summary}"], confidence=0.2)]
