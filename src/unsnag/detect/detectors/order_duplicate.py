"""order.duplicate — the same order arrived twice (EDI/API retry, resubmission, double entry).

Opens on ``order.created`` for an order id not seen before when an earlier order of the
same customer, not cancelled, has the same multiset of (sku, qty) lines and:

- the same ``po_number``, created within ``detectors.order_duplicate.window_hours``
  (root_cause ``edi_retry`` when the new order came by EDI, else ``resubmitted``); or
- neither order has a PO number, both came by the same channel and were created within
  ``no_po_window_minutes`` (root_cause ``double_entry``).

Key and subject are the NEWER order id; refs carry both ids (``order_id`` and
``original_order_id``), the PO number and the customer. When several earlier orders
match, the earliest is the original.
Look-alikes: the same event delivered twice (the engine drops it); the same order id
re-sent under a new event id (an update of that order); the same PO with different
lines (a change or a split); the same lines under different PO numbers; an original
that was cancelled; orders of different customers.
Resolved when either order is cancelled (the engine leaves duplicate cases open on
cancellation: cancelling the duplicate is the fix, recorded here).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from unsnag.detect.base import Detector, Output, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Order, State


def signature(order: Order) -> list[tuple[str, float]]:
    """The order's lines as a multiset of (sku, qty), line ids and prices aside."""
    return sorted((line.sku, line.qty) for line in order.lines.values())


def _span(delta: timedelta) -> str:
    minutes = abs(delta.total_seconds()) / 60
    if minutes < 120:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} d"


class OrderDuplicate(Detector):
    rule = "order-duplicate"
    case_type = "order.duplicate"
    events = frozenset({"order.created", "order.cancelled"})
    config_name = "order_duplicate"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.memory["seen"] = {}  # order id -> True once its first order.created was read
        self.memory["original_of"] = {}  # duplicate order id -> original order id
        self.memory["duplicates_of"] = {}  # original order id -> [duplicate order ids]

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        if event.type == "order.cancelled":
            yield from self._cancelled(event)
            return
        order_id: str = event.data.order_id
        seen: dict[str, bool] = self.memory["seen"]
        if order_id in seen:  # the same order re-sent: an update, not a new order
            return
        seen[order_id] = True
        order = state.orders.get(order_id)
        if order is None:
            return
        original = self._original(order, state)
        if original is None:
            return
        self.memory["original_of"][order_id] = original.order_id
        self.memory["duplicates_of"].setdefault(original.order_id, []).append(order_id)
        if order.po_number:
            cause = "edi_retry" if order.channel == "edi" else "resubmitted"
            same = f"PO {order.po_number}"
        else:
            cause = "double_entry"
            same = f"no PO, {order.channel or 'same channel'}"
        lines = len(order.lines)
        yield self.signal(
            order_id,
            order_id,
            event.time,
            refs=refs(
                order_id=order_id,
                original_order_id=original.order_id,
                po_number=order.po_number,
                customer_id=order.customer_id,
            ),
            impact=order_impact(state, order),
            root_cause=cause,
            summary=(
                f"{order_id} repeats {original.order_id} ({same}, {lines} identical "
                f"line{'s' if lines != 1 else ''}, "
                f"{_span(order.created_at - original.created_at)} apart)"
            ),
        )

    def _original(self, order: Order, state: State) -> Order | None:
        """The earliest live order this one repeats, if any."""
        if order.po_number:
            ids: Iterable[str] = state.orders_by_po.get((order.customer_id, order.po_number), ())
            window = timedelta(hours=self.cfg.window_hours)
        else:
            ids = state.recent_orders_without_po.get(order.customer_id, ())
            window = timedelta(minutes=self.cfg.no_po_window_minutes)
        lines = None
        best: Order | None = None
        no_po = not order.po_number
        for other_id in ids:
            other = state.orders.get(other_id)
            if other is None or other_id == order.order_id or other.status == "cancelled":
                continue
            if no_po and (other.po_number or other.channel != order.channel):
                continue
            if abs(order.created_at - other.created_at) > window:
                continue
            if best is not None and other.created_at >= best.created_at:
                continue
            lines = lines if lines is not None else signature(order)
            if signature(other) == lines:
                best = other
        return best

    def _cancelled(self, event: Event) -> Iterable[Output]:
        order_id: str = event.data.order_id
        original_of: dict[str, str] = self.memory["original_of"]
        duplicates_of: dict[str, list[str]] = self.memory["duplicates_of"]
        original = original_of.pop(order_id, None)
        if original is not None:
            siblings = duplicates_of.get(original, [])
            if order_id in siblings:
                siblings.remove(order_id)
            if not siblings:
                duplicates_of.pop(original, None)
            yield self.clear(order_id, event.time, "duplicate cancelled")
        for duplicate in duplicates_of.pop(order_id, []):
            original_of.pop(duplicate, None)
            yield self.clear(
                duplicate, event.time, f"original {order_id} cancelled; {duplicate} stands"
            )


DETECTOR = OrderDuplicate
