"""cash.unapplied — a remittance cannot be matched to open invoices, or it short-pays.

On ``remittance.received`` the payer's references are parsed (see ``_remittance_refs``:
``INV-1234``, ``Inv# 1234``, ``INV1234/SO99``, ``inv 1234, 1235``, order and PO numbers)
and matched to the customer's open invoices (without a ``customer_id``: to any open
invoice, by reference only). A remittance is compared with what is still *expected* on
its invoices: their open balances less the cash that earlier remittances, matched to them
but not yet applied, will pay (cash application often waits while a short pay is looked
into, so the balance of a short pay can arrive before either payment is applied). The
case, keyed and subjected by ``remittance_id``, opens when:

- nothing matches (root_cause ``no_match``; at risk: the whole amount);
- the amount still expected on the matched invoices exceeds amount + declared deductions
  by more than ``detectors.cash_unapplied.short_pay_tolerance`` (``short_pay``, or
  ``deduction`` when deductions were declared, their reasons in the summary; at risk: the
  short amount);
- the amount + deductions exceed what is still expected by more than
  ``amount_tolerance`` (``over_pay``; at risk: the excess).

Look-alikes it deliberately ignores: references written any which way (``Inv# 1234``,
``INV1234/SO99``) whose matched balances equal amount + deductions; a remittance
without a usable reference that equals what is still expected on exactly one open
invoice of its customer (applied by amount); a short-pay within ``short_pay_tolerance``;
the balance of a short pay, sent before the short pay was applied, that equals what the
short pay left open. A reference must point at one open invoice (or one order's), and a
bare short number (``99``) only matches an invoice by its digits when the amount matches
too.
Resolved when ``payment.applied`` events carrying the ``remittance_id`` add up to the
amount, or — for a short-pay — when credit memos, other payments or a later remittance
(``shortfall paid by …``) settle the matched invoices down to what the remittance still
has to apply. A matched remittance's cash stays expected on its invoices until
``payment.applied`` events carrying its id apply it, or the invoice is settled.

Cash in advance of billing (an EDI 820 naming an invoice not posted yet, or paying an
order by its order or PO number): a ``no_match`` remittance is kept, indexed by customer
and by the normalised forms of its references, and assessed again, by the same rules, when
an ``invoice.issued`` of that customer or naming those references arrives. If it now
adds up on that invoice, the case is resolved at the invoice's event time (``matched to
INV-… issued later``); if it now short- or over-pays it, the same case stays open and
follows that invoice (a credit memo or later cash can then settle it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from unsnag.detect.base import Detector, Impact, Output
from unsnag.detect.detectors._remittance_refs import (
    Candidate,
    Ref,
    core,
    match,
    normalise,
    parse,
)
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Invoice, State

OPEN_BALANCE = 0.005  # as State.open_invoices_of

# what is wrong with a remittance: matched invoices, customer, root cause, at risk, summary
Problem = tuple[tuple[str, ...], str | None, str, float, str]
# the invoices a remittance was matched to, each with the amount still expected on it
Matched = list[tuple[str, float]]


class CashUnapplied(Detector):
    rule = "cash-unapplied"
    case_type = "cash.unapplied"
    events = frozenset(
        {"invoice.issued", "remittance.received", "payment.applied", "credit_memo.issued"}
    )
    config_name = "cash_unapplied"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        # normalised id / digits core of an open invoice, its order or its PO -> invoice ids
        self.memory["by_norm"] = {}
        self.memory["by_core"] = {}
        # customer id -> {open invoice id: the normalised ids it is indexed under}
        self.memory["open_of"] = {}
        self.memory["seen"] = {}  # remittance id -> True once evaluated
        self.memory["open"] = {}  # remittance id -> matched invoice ids, while a case is open
        self.memory["by_invoice"] = {}  # invoice id -> remittance ids with an open case
        # cash received but not yet applied: invoice id -> {remittance id: amount it will
        # pay on that invoice}, and remittance id -> the invoice ids it is pending on
        self.memory["pending"] = {}
        self.memory["pending_of"] = {}

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        if event.type == "remittance.received":
            yield from self._received(event, state)
            return
        invoice_id: str | None = d.invoice_id
        if invoice_id:
            self._track_open(state, invoice_id)
        if event.type == "invoice.issued":
            if invoice_id:
                yield from self._issued(invoice_id, event, state)
        elif event.type == "payment.applied":
            rid: str | None = d.remittance_id
            if rid:
                self._applied(state, rid, invoice_id, d.amount)
            waiting = self.memory["by_invoice"].get(invoice_id)
            if waiting:
                rids = sorted({rid, *waiting} if rid else set(waiting))
            elif rid:
                rids = [rid]
            else:
                return
            open_: dict[str, list[str]] = self.memory["open"]
            for rid in rids:
                if rid in open_:  # else there is nothing to check
                    yield from self._check_settled(rid, event, state)
        elif invoice_id:  # credit_memo.issued
            waiting = self.memory["by_invoice"].get(invoice_id)
            if waiting:
                for rid in sorted(waiting):
                    yield from self._check_settled(rid, event, state)

    # --- indexes: invoices by their ids' forms, and each customer's open invoices ------

    def _track_open(self, state: State, invoice_id: str) -> None:
        """Keep an open invoice in the indexes, and a settled one out of them."""
        invoice = state.invoices.get(invoice_id)
        if invoice is None:
            return
        # the same id, as the state holds it: the indexes hold (and find) that very string
        invoice_id = invoice.invoice_id
        memory = self.memory
        open_of: dict[str, dict[str, list[str]]] = memory["open_of"]
        customer_id = invoice.customer_id
        mine = open_of.get(customer_id, {})
        is_open = invoice.balance() > OPEN_BALANCE
        if is_open == (invoice_id in mine):
            return
        by_norm: dict[str, list[str]] = memory["by_norm"]
        by_core: dict[str, list[str]] = memory["by_core"]
        if is_open:
            order = state.orders.get(invoice.order_id)
            norms = {normalise(invoice.invoice_id), normalise(invoice.order_id)}
            if order is not None and order.po_number:
                norms.add(normalise(order.po_number))
            norms.discard("")
            keys = sorted(norms)
            open_of.setdefault(customer_id, mine)[invoice_id] = keys
            for norm in keys:
                _add(by_norm, norm, invoice_id)
                digits = core(norm)
                if digits:
                    _add(by_core, digits, invoice_id)
            return
        keys = mine.pop(invoice_id)
        if not mine:
            del open_of[customer_id]
        self._settled(invoice_id)
        for norm in keys:
            _discard(by_norm, norm, invoice_id)
            digits = core(norm)
            if digits:
                _discard(by_core, digits, invoice_id)

    def _by_amount(self, state: State, customer_id: str, expected: float) -> Matched:
        """The customer's open invoices on which what is still expected equals ``expected``,
        up to two (in no particular order: only a single one is of use)."""
        tol = self.cfg.amount_tolerance
        invoices = state.invoices
        pending = self._pending()
        exact: Matched = []
        for invoice_id in self.memory["open_of"].get(customer_id, ()):
            invoice = invoices[invoice_id]
            balance = invoice.balance()
            if invoice_id in pending:
                balance = self._expected(invoice, balance=balance)
            if abs(balance - expected) <= tol:
                exact.append((invoice_id, balance))
                if len(exact) > 1:
                    break
        return exact

    def _indexed(
        self, state: State, refs: Iterable[Ref], customer_id: str | None
    ) -> list[tuple[Invoice, float]]:
        """The open invoices (of the customer, if named) any reference could point at,
        each with its open balance."""
        by_norm: dict[str, list[str]] = self.memory["by_norm"]
        by_core: dict[str, list[str]] = self.memory["by_core"]
        invoices = state.invoices
        found: dict[str, tuple[Invoice, float] | None] = {}
        for ref in refs:
            for bucket in (by_norm.get(ref.norm), by_core.get(ref.core)):
                if not bucket:
                    continue
                for invoice_id in bucket:
                    if invoice_id in found:
                        continue
                    hit = None
                    invoice = invoices.get(invoice_id)
                    if invoice is not None and (
                        customer_id is None or invoice.customer_id == customer_id
                    ):
                        balance = invoice.balance()
                        if balance > OPEN_BALANCE:
                            hit = (invoice, balance)
                    found[invoice_id] = hit
        if len(found) == 1:
            return [hit for hit in found.values() if hit is not None]
        return [hit for i in sorted(found) if (hit := found[i]) is not None]

    # --- cash received, not yet applied -------------------------------------------------

    def _pending(self) -> dict[str, dict[str, float]]:
        pending: dict[str, dict[str, float]] = self.memory.setdefault("pending", {})
        return pending

    def _pending_of(self) -> dict[str, list[str]]:
        pending_of: dict[str, list[str]] = self.memory.setdefault("pending_of", {})
        return pending_of

    def _expected(
        self, invoice: Invoice, but: str | None = None, balance: float | None = None
    ) -> float:
        """An invoice's open balance (``balance``, if known already) less what pending
        remittances (but one) will pay."""
        if balance is None:
            balance = invoice.balance()
        mine = self._pending().get(invoice.invoice_id)
        if not mine:  # nothing pending: balance - min(0, max(balance, 0.0)) is balance
            return balance
        others = sum(amount for rid, amount in mine.items() if rid != but)
        return balance - min(others, max(balance, 0.0))

    def _pending_from(self, invoice_ids: Iterable[str], but: str) -> list[str]:
        pending = self._pending()
        return sorted({rid for i in invoice_ids for rid in pending.get(i, ()) if rid != but})

    def _expect(self, rid: str, amount: float, matched: Matched) -> None:
        """Hold a matched remittance's cash against its invoices until it is applied."""
        pending, pending_of = self._pending(), self._pending_of()
        tol = self.cfg.amount_tolerance
        left = amount
        for invoice_id, expected in matched:
            share = min(left, expected)
            if share <= tol:
                continue
            pending.setdefault(invoice_id, {})[rid] = share
            pending_of.setdefault(rid, []).append(invoice_id)
            left -= share

    def _forget(self, rid: str) -> None:
        pending = self._pending()
        for invoice_id in self._pending_of().pop(rid, ()):
            _drop(pending, invoice_id, rid)

    def _applied(self, state: State, rid: str, invoice_id: str | None, amount: float) -> None:
        """Cash of a pending remittance was applied: expect that much less from it."""
        pending, pending_of = self._pending(), self._pending_of()
        invoice_ids = pending_of.get(rid)
        if not invoice_ids:
            return
        remittance = state.remittances.get(rid)
        tol = self.cfg.amount_tolerance
        unapplied = remittance.amount - remittance.applied_total if remittance else 0.0
        if unapplied <= tol:
            self._forget(rid)
            return
        mine = pending.get(invoice_id or "", {})
        if rid in mine:
            mine[rid] = max(mine[rid] - amount, 0.0)
        # never expect more from a remittance than it still has to apply
        excess = sum(pending[i][rid] for i in invoice_ids) - unapplied
        for i in reversed(invoice_ids):
            cut = min(max(excess, 0.0), pending[i][rid])
            pending[i][rid] -= cut
            excess -= cut
        for i in list(invoice_ids):
            if pending[i][rid] <= tol:
                _drop(pending, i, rid)
                invoice_ids.remove(i)
        if not invoice_ids:
            del pending_of[rid]

    def _settled(self, invoice_id: str) -> None:
        """A settled invoice expects nothing more."""
        pending_of = self._pending_of()
        waiting = self._pending().pop(invoice_id, None)
        if waiting:
            for rid in waiting:
                _discard(pending_of, rid, invoice_id)

    # --- a remittance arrives -----------------------------------------------------------

    def _received(self, event: Event, state: State) -> Iterable[Output]:
        memory = self.memory
        rid: str = event.data.remittance_id
        seen: dict[str, bool] = memory["seen"]
        if rid in seen and rid not in memory["open"]:
            return  # told again after it was applied or resolved
        seen[rid] = True
        self._forget(rid)  # told again: matched afresh
        rem = _record(event.data)
        problem, matched = self._assess(rid, rem, state)
        self._expect(rid, rem["amount"], matched)
        if problem is not None:
            yield self._open(rid, event.time, state, *problem)
            if problem[2] == "no_match":
                self._wait(rid, rem)
        elif rid in memory["open"]:  # told again, and now it adds up
            yield from self._close(rid, event, "remittance now matches its invoices")
        # it may pay what an earlier short pay on the same invoices left open
        by_invoice: dict[str, list[str]] = memory["by_invoice"]
        earlier: set[str] = set()
        for invoice_id, _ in matched:
            for other in by_invoice.get(invoice_id, ()):
                if other != rid:
                    earlier.add(other)
        for other in sorted(earlier):
            yield from self._check_settled(other, event, state, f"shortfall paid by {rid}")

    def _assess(
        self, rid: str, rem: dict[str, Any], state: State
    ) -> tuple[Problem | None, Matched]:
        """What is wrong with a remittance (invoices, customer, root, at risk, summary),
        and the invoices it pays with what is still expected on each."""
        cfg = self.cfg
        amount: float = rem["amount"]
        deductions: list[tuple[float, str | None]] = []
        if rem["deductions"]:
            deductions = [(a, why) for a, why in rem["deductions"]]
            expected = amount + sum(a for a, _ in deductions)
        else:
            expected = amount + 0  # as amount + sum(()), to the bit
        refs_ = parse(rem["references"])
        customer_id: str | None = rem["customer_id"]
        # every invoice a reference can match shares a normalised id or digits core with it
        invoices = self._indexed(state, refs_, customer_id) if refs_ else []
        # balances less what remittances received before this one will pay once applied
        pending = self._pending()
        candidates = [
            Candidate(
                inv.invoice_id,
                inv.order_id,
                _po_of(state, inv),
                self._expected(inv, balance=balance) if inv.invoice_id in pending else balance,
            )
            for inv, balance in invoices
        ]
        matched = match(refs_, candidates, expected, cfg.amount_tolerance, cfg.min_reference_digits)
        if not matched:
            if customer_id:
                exact = self._by_amount(state, customer_id, expected)
                if len(exact) == 1:
                    return None, exact  # applied by amount
            payer = customer_id or "an unknown payer"
            written = _written(rem["references"])
            summary = f"{_money(amount)} from {payer}: no open invoice matches {written}"
            return ((), customer_id, "no_match", amount, summary), []
        paid = [(c.invoice_id, c.balance) for c in matched]
        balances = sum(c.balance for c in matched)
        gap = balances - expected
        if -cfg.amount_tolerance <= gap <= cfg.short_pay_tolerance:
            return None, paid  # adds up (the common case: no summary to write)
        ids = tuple(c.invoice_id for c in matched)
        customer_id = customer_id or next(
            inv.customer_id for inv, _ in invoices if inv.invoice_id in ids
        )
        what = f"pays {_money(amount)} against {_money(balances)} open on {', '.join(ids)}"
        earlier = self._pending_from(ids, but=rid)
        if earlier:
            what = (
                f"pays {_money(amount)} against {_money(balances)} still expected on"
                f" {', '.join(ids)} after {', '.join(earlier)}"
            )
        if gap > cfg.short_pay_tolerance:
            short = balances - amount
            if not deductions:
                problem = ids, customer_id, "short_pay", short, f"{what} (short {_money(short)})"
                return problem, paid
            listed = "; ".join(f"{why or 'no reason given'} {_money(a)}" for a, why in deductions)
            what += f" (short {_money(short)}): deductions {listed}; {_money(gap)} unexplained"
            return (ids, customer_id, "deduction", short, what), paid
        if gap < -cfg.amount_tolerance:
            return (ids, customer_id, "over_pay", -gap, f"{what} (over {_money(-gap)})"), paid
        return None, paid

    def _open(
        self,
        rid: str,
        time: datetime,
        state: State,
        invoice_ids: tuple[str, ...],
        customer_id: str | None,
        root: str,
        at_risk: float,
        summary: str,
    ) -> Output:
        self._unwait(rid)
        previous: list[str] = self.memory["open"].get(rid, [])
        by_invoice: dict[str, list[str]] = self.memory["by_invoice"]
        for invoice_id in previous:
            _discard(by_invoice, invoice_id, rid)
        self.memory["open"][rid] = list(invoice_ids)
        for invoice_id in invoice_ids:
            by_invoice.setdefault(invoice_id, []).append(rid)
        pairs = [("remittance_id", rid)]
        if customer_id:
            pairs.append(("customer_id", customer_id))
        for invoice_id in invoice_ids:
            pairs.append(("invoice_id", invoice_id))
            invoice = state.invoices.get(invoice_id)
            if invoice is not None:
                pairs.append(("order_id", invoice.order_id))
        return self.signal(
            rid,
            rid,
            time,
            refs=tuple(sorted(set(pairs))),
            impact=Impact(revenue_at_risk=at_risk, customer_id=customer_id),
            root_cause=root,
            summary=summary,
        )

    # --- cash before its invoice --------------------------------------------------------

    def _waiting(self) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, list[str]]]:
        """Open ``no_match`` remittances (id -> record), and their ids by customer and by
        the normalised forms and digits cores of their references."""
        memory = self.memory
        return (
            memory.setdefault("no_match", {}),
            memory.setdefault("no_match_by_customer", {}),
            memory.setdefault("no_match_by_key", {}),
        )

    def _wait(self, rid: str, rem: dict[str, Any]) -> None:
        """Remember a remittance nothing matched, to try again when an invoice is issued."""
        records, by_customer, by_key = self._waiting()
        keys = sorted({k for ref in parse(rem["references"]) for k in (ref.norm, ref.core) if k})
        records[rid] = {**rem, "keys": keys}
        if rem["customer_id"]:
            _add(by_customer, rem["customer_id"], rid)
        for key in keys:
            _add(by_key, key, rid)

    def _unwait(self, rid: str) -> None:
        records, by_customer, by_key = self._waiting()
        rem = records.pop(rid, None)
        if rem is None:
            return
        if rem["customer_id"]:
            _discard(by_customer, rem["customer_id"], rid)
        for key in rem["keys"]:
            _discard(by_key, key, rid)

    def _issued(self, invoice_id: str, event: Event, state: State) -> Iterable[Output]:
        """An invoice was issued: the cash that arrived before it may pay it."""
        records, by_customer, by_key = self._waiting()
        invoice = state.invoices.get(invoice_id)
        if not records or invoice is None:
            return
        invoice_id = invoice.invoice_id
        if invoice_id not in self.memory["open_of"].get(invoice.customer_id, ()):
            return  # not open
        norms = {normalise(invoice_id), normalise(invoice.order_id)}
        po = _po_of(state, invoice)
        if po:
            norms.add(normalise(po))
        keys = {k for norm in norms for k in (norm, core(norm)) if k}
        named: set[str] = set()
        for key in keys:
            named.update(by_key.get(key, ()))
        # the customer's other waiting cash can only be paying this invoice by its amount
        balance = invoice.balance()
        tol = self.cfg.amount_tolerance
        by_amount = {
            rid
            for rid in by_customer.get(invoice.customer_id, ())
            if rid not in named and abs(_expected_cash(records[rid]) - balance) <= tol
        }
        for rid in sorted(named | by_amount):
            rem = records[rid]
            problem, matched = self._assess(rid, rem, state)
            if invoice_id not in {i for i, _ in matched}:
                continue  # still nothing, or something this invoice did not change
            self._expect(rid, rem["amount"], matched)
            if problem is None:
                ids = ", ".join(i for i, _ in matched)
                yield from self._close(rid, event, f"matched to {ids} issued later")
            else:  # matched, but short or over: the same case, now on its invoices
                yield self._open(rid, event.time, state, *problem)

    # --- resolution ---------------------------------------------------------------------

    def _check_settled(
        self, rid: str, event: Event, state: State, reason: str = "short-paid invoices settled"
    ) -> Iterable[Output]:
        invoice_ids: list[str] | None = self.memory["open"].get(rid)
        remittance = state.remittances.get(rid)
        if invoice_ids is None or remittance is None:
            return
        tol = self.cfg.amount_tolerance
        unapplied = remittance.amount - remittance.applied_total
        if unapplied <= tol:
            yield from self._close(rid, event, "cash applied in full")
            return
        invoices = [state.invoices[i] for i in invoice_ids if i in state.invoices]
        if not invoices:
            return
        # what is left to pay once other pending remittances are applied
        owed = sum(self._expected(inv, but=rid) for inv in invoices)
        if -tol <= owed - unapplied <= self.cfg.short_pay_tolerance:
            yield from self._close(rid, event, reason)

    def _close(self, rid: str, event: Event, reason: str) -> Iterable[Output]:
        self._unwait(rid)
        by_invoice: dict[str, list[str]] = self.memory["by_invoice"]
        for invoice_id in self.memory["open"].pop(rid, ()):
            _discard(by_invoice, invoice_id, rid)
        yield self.clear(rid, event.time, reason)


def _add(index: dict[str, list[str]], key: str, value: str) -> None:
    bucket = index.get(key)
    if bucket is None:
        index[key] = [value]
    elif value not in bucket:
        bucket.append(value)


def _expected_cash(rem: dict[str, Any]) -> float:
    """What a waiting remittance settles: its amount plus the deductions it declares."""
    return float(rem["amount"]) + sum(float(a) for a, _ in rem["deductions"] or ())


def _discard(index: dict[str, list[str]], key: str, value: str) -> None:
    values = index.get(key)
    if values is None:
        return
    if len(values) == 1:  # the usual bucket: one invoice, or one remittance
        if values[0] == value:
            del index[key]
    elif value in values:
        values.remove(value)


def _drop(index: dict[str, dict[str, float]], key: str, inner: str) -> None:
    values = index.get(key)
    if values is not None:
        values.pop(inner, None)
        if not values:
            del index[key]


def _po_of(state: State, invoice: Invoice) -> str | None:
    order = state.orders.get(invoice.order_id)
    return order.po_number if order is not None else None


def _record(data: Any) -> dict[str, Any]:
    """What re-assessing a remittance needs, as plain data."""
    references: str | list[str] | None = data.references
    return {
        "customer_id": data.customer_id,
        "amount": data.amount,
        "deductions": [[x.amount, x.reason] for x in data.deductions or ()],
        "references": references
        if references is None or isinstance(references, str)
        else list(references),
    }


def _written(references: str | list[str] | None) -> str:
    if not references:
        return "(no reference)"
    text = references if isinstance(references, str) else ", ".join(references)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _money(amount: float) -> str:
    return f"{amount:,.2f}"


DETECTOR = CashUnapplied
