"""Remittance references as payers write them: parse them, match them to open invoices.

Payers write invoice ids as they please: ``INV-1234``, ``Inv# 1234``, ``INV1234/SO99``,
``inv 1234, 1235``, ``1234``, or name the order (``SO99``, ``order 99``) or their own PO
(``PO 4500012345``). Both sides are normalised (upper case, letters and digits only) and
compared by the full normalised id and by the *digits core* (the digits, without leading
zeros: ``INV-0099`` -> ``99``).

Guards against false hits:

- a reference must point at exactly one open invoice (an order or PO reference: at the
  open invoices of exactly one order), else it is ambiguous and ignored;
- a bare number (no prefix, no keyword before it) whose core is shorter than
  ``min_digits`` (``99``) matches an invoice by its core only when that invoice's open
  balance also equals the amount paid;
- an exact match of a whole chunk (``2026/00123`` against invoice ``2026/00123``) wins
  over its slash-separated parts.

Pure: no state, no I/O; the detector hands in the open invoices as :class:`Candidate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["invoice", "order", "po", "bare"]

MIN_DIGITS = 4


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


INVOICE_WORDS = _words(
    "INV INVS INVOICE INVOICES INVNO INVNR INVNUM INVOICENO INVOICENR INVOICENUMBER"
    " BILL FACT FACTURA FACTURE RG RECHNUNG"
)
ORDER_WORDS = _words("SO SOS ORD ORDER ORDERS ORDNO ORDERNO ORDERNR SONO SALESORDER")
PO_WORDS = _words("PO POS PONO PONR PONUMBER PURCHASEORDER CUSTPO")

_CHUNKS = re.compile(r"[^\s,;]+")
_PARTS = re.compile(r"[/|&+]")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_NOT_DIGIT = re.compile(r"[^0-9]")
_MONEY = re.compile(r"^[$€£]?\d[\d.,']*[.,]\d{2}$")  # 240.00, $1.240,50: an amount
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def normalise(text: str) -> str:
    """Upper case, letters and digits only: ``Inv# 0099`` -> ``INV0099``."""
    upper = text.upper()
    # ids are mostly ASCII letters and digits, maybe with dashes: no regex for them
    if upper.isascii():
        if upper.isalnum():
            return upper
        plain = upper.replace("-", "")
        if plain.isalnum():
            return plain
    return _NOT_ALNUM.sub("", upper)


def core(text: str) -> str:
    """The digits of an id without leading zeros (``INV-0099`` -> ``99``); '' if none."""
    digits = text.lstrip(_LETTERS)  # ids are mostly upper case letters, then digits
    if not (digits.isascii() and digits.isdigit()):
        digits = _NOT_DIGIT.sub("", text)
    return digits.lstrip("0") or ("0" if digits else "")


@dataclass(frozen=True, slots=True)
class Ref:
    """One reference the payer wrote."""

    kind: Kind
    norm: str
    core: str
    chunk: int = 0  # which comma/space separated chunk it came from
    whole: bool = False  # the whole chunk of several slash-separated parts


@dataclass(frozen=True, slots=True)
class Candidate:
    """An open invoice a remittance may pay."""

    invoice_id: str
    order_id: str
    po_number: str | None
    balance: float


def _kind_of_word(word: str) -> Kind | None:
    if word in INVOICE_WORDS:
        return "invoice"
    if word in ORDER_WORDS:
        return "order"
    if word in PO_WORDS:
        return "po"
    return None


def _token_text(text: str | Iterable[str] | None) -> str:
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return " , ".join(text)


def parse(text: str | Iterable[str] | None) -> tuple[Ref, ...]:
    """Every reference in what the payer wrote, in order.

    A keyword (``inv``, ``SO``, ``order``, ``PO``...), alone or glued to a number
    (``INV1234``, ``SO99``), gives its kind to that number and to the bare numbers after
    it, until the next keyword. Words without digits are otherwise ignored.
    """
    out: list[Ref] = []
    context: Kind = "bare"
    previous = ""
    for chunk_no, chunk in enumerate(_CHUNKS.findall(_token_text(text))):
        found: list[Ref] = []
        for written in _PARTS.split(chunk):
            part = normalise(written)
            if not part:
                continue
            # a part holds no line break: _MONEY only matches one ending in [.,] and 2 digits
            if (
                context == "bare"
                and len(written) >= 4
                and written[-3] in ".,"
                and _MONEY.match(written)
            ):
                continue
            rest = part.lstrip(_LETTERS)
            if not rest:  # a word: maybe a keyword
                kind = _kind_of_word(part)
                if kind == "order" and previous == "PURCHASE":
                    kind = "po"
                if kind is not None:
                    context = kind
                previous = part
                continue
            previous = ""
            kind = context
            if len(rest) < len(part):  # a prefix glued on
                glued = _kind_of_word(part[: len(part) - len(rest)])
                kind = glued or "bare"
                context = glued or context
            found.append(Ref(kind, part, core(part), chunk_no))
        if len(found) > 1:
            whole = normalise(chunk)
            found.append(Ref("bare", whole, core(whole), chunk_no, whole=True))
        out.extend(found)
    return tuple(out)


class _Norm:
    """A candidate's ids normalised, and their digits cores.

    The normalised invoice id is compared for nearly every reference; the rest only when
    it does not settle the question, so they are worked out when first asked for.
    """

    __slots__ = ("_rest", "cand", "inv")

    def __init__(self, cand: Candidate) -> None:
        self.cand = cand
        self.inv = normalise(cand.invoice_id)
        # inv_core, order, order_core, po, po_core
        self._rest: tuple[str, str, str, str, str] | None = None

    def _more(self) -> tuple[str, str, str, str, str]:
        rest = self._rest
        if rest is None:
            cand = self.cand
            order = normalise(cand.order_id)
            po = normalise(cand.po_number) if cand.po_number else ""
            rest = self._rest = (core(self.inv), order, core(order), po, core(po))
        return rest

    @property
    def inv_core(self) -> str:
        return self._more()[0]

    @property
    def order(self) -> str:
        return self._more()[1]

    @property
    def order_core(self) -> str:
        return self._more()[2]

    @property
    def po(self) -> str:
        return self._more()[3]

    @property
    def po_core(self) -> str:
        return self._more()[4]


Level = Literal["invoice", "order"]


def _one(level: Level, hits: list[_Norm]) -> tuple[Level, list[_Norm]]:
    """An invoice-level reference must name one invoice; an order-level one, one order."""
    if level == "invoice":
        return level, hits if len(hits) == 1 else []
    return level, hits if len({h.cand.order_id for h in hits}) == 1 else []


def _hits(
    ref: Ref, cands: Sequence[_Norm], expected: float, tolerance: float, min_digits: int
) -> tuple[Level, list[_Norm]]:
    """The candidates one reference points at ([] when it is ambiguous), and its level."""
    if ref.kind == "invoice":
        norm = ref.norm
        full = [c for c in cands if c.inv == norm]
        return _one("invoice", full or [c for c in cands if c.inv_core == ref.core])
    if ref.kind == "order":
        full = [c for c in cands if c.order == ref.norm]
        return _one("order", full or [c for c in cands if c.order_core == ref.core])
    if ref.kind == "po":
        full = [c for c in cands if c.po and c.po == ref.norm]
        return _one("order", full or [c for c in cands if c.po and c.po_core == ref.core])
    # bare: exactly an invoice id, else exactly an order id or PO, else an invoice's digits
    full = [c for c in cands if c.inv == ref.norm]
    if full or ref.whole:
        return _one("invoice", full)
    named = [c for c in cands if ref.norm in (c.order, c.po)]
    if named:
        return _one("order", named)
    strong = len(ref.core) >= min_digits
    return _one(
        "invoice",
        [
            c
            for c in cands
            if c.inv_core == ref.core and (strong or abs(c.cand.balance - expected) <= tolerance)
        ],
    )


def match(
    refs: Sequence[Ref],
    candidates: Sequence[Candidate],
    expected: float,
    tolerance: float = 0.01,
    min_digits: int = MIN_DIGITS,
) -> tuple[Candidate, ...]:
    """The open invoices the references point at (each once, in candidate order).

    ``expected`` is what the remittance settles (amount plus declared deductions); it
    only decides whether a short bare number may match an invoice by its digits. An
    order (or PO) reference adds that order's open invoices unless an invoice of the
    same order was named too (``INV1234/SO99`` pays INV1234, not all of SO99).
    """
    if not refs or not candidates:
        return ()
    cands = [_Norm(c) for c in candidates]
    chosen: set[str] = set()
    settled_chunks: set[int] = set()
    for ref in refs:
        if ref.whole:
            _, hit = _hits(ref, cands, expected, tolerance, min_digits)
            if hit:
                for h in hit:
                    chosen.add(h.cand.invoice_id)
                settled_chunks.add(ref.chunk)
    orders: list[list[_Norm]] = []
    for ref in refs:
        if ref.whole or ref.chunk in settled_chunks:
            continue
        level, hit = _hits(ref, cands, expected, tolerance, min_digits)
        if level == "order":
            orders.append(hit)
        else:
            for h in hit:
                chosen.add(h.cand.invoice_id)
    if orders:
        named_orders = {c.order_id for c in candidates if c.invoice_id in chosen}
        for hit in orders:
            if hit and hit[0].cand.order_id not in named_orders:
                for h in hit:
                    chosen.add(h.cand.invoice_id)
    return tuple([c for c in candidates if c.invoice_id in chosen])
