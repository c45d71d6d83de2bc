"""Options for ``order.duplicate``: the same order arrived twice.

The case's key is the newer order, ``refs.original_order_id`` the earlier one. Before
suppressing the newer one the two are compared again, now (an update may have changed
either): customer, PO number, lines as a multiset of (SKU, qty), prices and ship-to.

``cancel_order`` on the newer order. Confidence 0.95 when customer, PO number and lines
match exactly; 0.8 when the lines match and neither order has a PO number (a double
entry is likelier a repeat than a new order, but not certainly); 0.1 less for each of
different prices and a different ship-to; 0.35 when the lines no longer match, 0.1 for
another customer; 0.2 once the newer order has shipments (cancelling cannot stop goods
already on their way). Amount: the newer order's value; effect: that value kept from
being shipped, invoiced and disputed in error.

``request_info`` to the customer ("new order or a repeat?") follows: 0.6 when the lines
differ, else 0.5. ``notify`` customer service (0.3) closes the list.
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.detect.detectors.order_duplicate import signature
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import ask, grounded, money, rank, ref, tell, unknown
from unsnag.state.model import Order, State


def compare(newer: Order, original: Order) -> tuple[float, list[str]]:
    """(confidence that ``newer`` repeats ``original``, the facts of the comparison)."""
    facts: list[str] = []
    if newer.customer_id != original.customer_id:
        return 0.1, [f"customers differ: {newer.customer_id} vs {original.customer_id}"]
    if signature(newer) != signature(original):
        facts.append(f"lines differ now: {_lines(newer)} vs {_lines(original)}")
        return 0.35, facts
    facts.append(f"same lines: {_lines(newer)}")
    if newer.po_number and newer.po_number == original.po_number:
        confidence = 0.95
        facts.append(f"same PO {newer.po_number}")
    elif not newer.po_number and not original.po_number:
        confidence = 0.8
        facts.append("neither order has a PO number")
    else:
        confidence = 0.5
        facts.append(f"PO numbers differ: {newer.po_number} vs {original.po_number}")
    if _prices(newer) != _prices(original):
        confidence -= 0.1
        facts.append("unit prices differ")
    if (newer.ship_to or {}) != (original.ship_to or {}):
        confidence -= 0.1
        facts.append("ship-to differs")
    return confidence, facts


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    newer = state.orders.get(case.key) or state.orders.get(case.subject)
    if newer is None:
        return unknown(case, "order", case.key, "order.created")
    original_id = ref(case, "original_order_id")
    original = state.orders.get(original_id) if original_id else None
    if original is None:
        return unknown(case, "original order", original_id, "order.created")
    confidence, facts = compare(newer, original)
    lines_differ = any(f.startswith("lines differ") for f in facts)
    facts.insert(0, _pair(newer, original))
    if newer.po_number:
        same_po = state.orders_by_po.get((newer.customer_id, newer.po_number), [])
        listed = ", ".join(same_po)
        facts.append(f"orders of {newer.customer_id} under PO {newer.po_number}: {listed}")
    if newer.shipment_ids:
        confidence = min(confidence, 0.2)
        facts.append(f"{newer.order_id} already has shipments: {', '.join(newer.shipment_ids)}")
    question = (
        f"is {newer.order_id} (PO {newer.po_number or 'none'}) a new order, or a repeat of "
        f"{original.order_id}?"
    )
    found = [
        _cancel(newer, original, confidence),
        ask(
            "customer",
            question,
            (),
            confidence=0.6 if lines_differ else 0.5,
            order_id=newer.order_id,
        ),
        tell(case.owner_team, f"{newer.order_id} may repeat {original.order_id}", ()),
    ]
    return rank(grounded(found, facts))


def _pair(newer: Order, original: Order) -> str:
    return (
        f"{newer.order_id} ({newer.channel or 'unknown channel'}, "
        f"{newer.created_at:%Y-%m-%d %H:%M}Z, {money(newer.value)}) after "
        f"{original.order_id} ({original.created_at:%Y-%m-%d %H:%M}Z, status {original.status})"
    )


def _cancel(newer: Order, original: Order, confidence: float) -> Option:
    return Option(
        action="cancel_order",
        params={"order_id": newer.order_id, "reason": f"duplicate of {original.order_id}"},
        summary=(
            f"cancel {newer.order_id} ({money(newer.value)}) as a duplicate of {original.order_id}"
        ),
        effect=Effect(newer.value, 0.0, 0.0),
        confidence=confidence,
        amount=newer.value,
    )


def _lines(order: Order) -> str:
    return ", ".join(f"{qty:g} {sku}" for sku, qty in signature(order))


def _prices(order: Order) -> list[tuple[str, float, float]]:
    return sorted((ln.sku, ln.qty, ln.unit_price) for ln in order.lines.values())
