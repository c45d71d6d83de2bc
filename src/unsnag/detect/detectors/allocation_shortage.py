"""allocation.shortage — a committed order line cannot be filled from its node (backorder).

Opens on ``allocation.failed`` for an order line when ``qty_available`` is under
``qty_requested``, or when either is missing (a failure is a failure). The shortfall is
``qty_requested - qty_available`` (else what is left to reserve of the line) and is valued
at the line's unit price.
Look-alikes: an ``allocation.failed`` reporting ``qty_available >= qty_requested`` (a
retry artefact), a failure for a line that is already reserved in full, and a failure
for a cancelled order.
Resolved when ``allocation.reserved`` brings the line's reserved quantity up to the
ordered one, or the line ships in full; cancelled with its order.
A line that is also part of an allocation conflict keeps its own shortage case: that is
the order's view (what to tell this customer, when), while the allocation.conflict case
is the stock's view (who gets the scarce units).
"""

from __future__ import annotations

from collections.abc import Iterable

from unsnag.detect.base import Detector, Output, order_impact, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Line, State


def shortfall(
    qty_requested: float | None, qty_available: float | None, line: Line | None
) -> float | None:
    """What an ``allocation.failed`` leaves unfilled: None when it is no shortage at all.

    Both quantities reported and enough available is a retry artefact (None). A missing
    quantity falls back to what is left to reserve of the line; 0.0 means "short by an
    unknown quantity". Shared with allocation.conflict so both agree on a shortfall.
    """
    if qty_requested is not None and qty_available is not None:
        return qty_requested - max(qty_available, 0.0) if qty_available < qty_requested else None
    if qty_requested is None and line is not None:
        qty_requested = line.qty - line.reserved
    if qty_requested is None:
        return 0.0
    missing = qty_requested - max(qty_available or 0.0, 0.0)
    return missing if missing > 0 else max(qty_requested, 0.0)


# What makes a shortfall appear or go away; allocation.conflict reads the same.
ALLOCATION_EVENTS = frozenset(
    {
        "allocation.failed",
        "allocation.reserved",
        "shipment.dispatched",
        "shipment.delivered",
        "order.cancelled",
    }
)


class AllocationShortage(Detector):
    rule = "allocation-shortage"
    case_type = "allocation.shortage"
    events = ALLOCATION_EVENTS
    config_name = "allocation_shortage"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.memory["open"] = {}  # order/line -> True while a shortage is signalled

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        if event.type in ("shipment.dispatched", "shipment.delivered"):
            yield from self._shipped(event, state)
            return
        d = event.data
        order = state.orders.get(d.order_id)
        if event.type == "order.cancelled":  # the engine cancels the cases; forget them
            for line_id in order.lines if order else ():
                self.memory["open"].pop(f"{d.order_id}/{line_id}", None)
            return
        key = f"{d.order_id}/{d.line_id}"
        line = order.lines.get(d.line_id) if order else None
        if event.type == "allocation.reserved":
            if (
                line is not None
                and line.reserved >= line.qty
                and self.memory["open"].pop(key, None)
            ):
                yield self.clear(key, event.time, "line reserved in full")
            return
        if order is not None and order.status == "cancelled":
            return
        if line is not None and line.reserved >= line.qty:
            return
        missing = shortfall(d.qty_requested, d.qty_available, line)
        if missing is None:
            return
        sku = d.sku or (line.sku if line else None)
        node = d.node_id or (line.node_id if line else None)
        where = f" at {node}" if node else ""
        if d.qty_requested is not None and d.qty_available is not None:
            what = f"requested {d.qty_requested:g}, available {d.qty_available:g}"
        else:
            what = f"allocation failed ({d.reason})" if d.reason else "allocation failed"
        short = f": short {missing:g}" if missing else ""
        self.memory["open"][key] = True
        yield self.signal(
            key,
            d.order_id,
            event.time,
            refs=refs(order_id=d.order_id, line_id=d.line_id, node_id=node, sku=sku),
            impact=order_impact(state, order, [d.line_id], missing or None),
            root_cause=d.reason or None,
            summary=f"{what} of {sku or 'line ' + d.line_id}{where}{short}",
        )

    def _shipped(self, event: Event, state: State) -> Iterable[Output]:
        shipment = state.shipments.get(event.data.shipment_id)
        order = state.orders.get(shipment.order_id) if shipment else None
        if shipment is None or order is None:
            return
        for line_id in shipment.line_qty:
            line = order.lines.get(line_id)
            key = f"{order.order_id}/{line_id}"
            if line is not None and line.shipped >= line.qty and self.memory["open"].pop(key, None):
                yield self.clear(key, event.time, "line shipped in full")


DETECTOR = AllocationShortage
