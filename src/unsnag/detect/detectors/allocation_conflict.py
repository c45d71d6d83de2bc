"""allocation.conflict — scarce stock at one node is contested by several open orders.

Remembers, per node+SKU, the open shortfalls reported by ``allocation.failed`` (the same
shortfall as allocation.shortage: available under requested, or a failure without
quantities). Opens (or updates) a case keyed ``node_id/sku`` when shortfalls of at least
``detectors.allocation_conflict.min_orders`` DISTINCT orders, each reported within
``window_hours`` of the latest failure on that node+SKU, are open at once; refs name every
order involved and the revenue at risk is the value of all the shortfalls.
Look-alikes: one order short on two lines of the same SKU is one order, not a conflict;
a retry artefact (``qty_available >= qty_requested``) is no shortfall; shortfalls at other
nodes or of other SKUs do not add up.
Resolved when the open shortfalls drop below ``min_orders`` orders: lines reserved in
full (``allocation.reserved``), shipped in full, or their orders cancelled, or the other
shortfalls lapse (none reported again within ``window_hours``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from unsnag.detect.base import Detector, Impact, Output
from unsnag.detect.detectors.allocation_shortage import ALLOCATION_EVENTS, shortfall
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import Line, State

# memory["short"][node/sku][order/line] = (reported at, qty short, order id, value short)
Shortfall = tuple[datetime, float, str, float]


class AllocationConflict(Detector):
    rule = "allocation-conflict"
    case_type = "allocation.conflict"
    events = ALLOCATION_EVENTS
    config_name = "allocation_conflict"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.memory["short"] = {}  # node/sku -> {order/line -> Shortfall}
        self.memory["where"] = {}  # order/line -> [node/sku, ...]
        self.memory["open"] = {}  # node/sku -> True while its case is open

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        if event.type == "allocation.failed":
            yield from self._failed(event, state)
        elif event.type == "allocation.reserved":
            line = self._line(state, event.data.order_id, event.data.line_id)
            if line is not None and line.reserved >= line.qty:
                key = f"{event.data.order_id}/{event.data.line_id}"
                yield from self._drop([key], event.time, "reserved")
        elif event.type == "order.cancelled":
            order = state.orders.get(event.data.order_id)
            if order is not None:
                keys = [f"{order.order_id}/{line_id}" for line_id in order.lines]
                yield from self._drop(keys, event.time, "cancelled")
        else:
            shipment = state.shipments.get(event.data.shipment_id)
            order = state.orders.get(shipment.order_id) if shipment else None
            if shipment is None or order is None:
                return
            keys = [
                f"{order.order_id}/{line_id}"
                for line_id in shipment.line_qty
                if (line := order.lines.get(line_id)) is not None and line.shipped >= line.qty
            ]
            yield from self._drop(keys, event.time, "shipped")

    def _line(self, state: State, order_id: str, line_id: str) -> Line | None:
        order = state.orders.get(order_id)
        return order.lines.get(line_id) if order else None

    def _failed(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        order = state.orders.get(d.order_id)
        line = order.lines.get(d.line_id) if order else None
        if order is not None and order.status == "cancelled":
            return
        if line is not None and line.reserved >= line.qty:
            return
        node = d.node_id or (line.node_id if line else None)
        sku = d.sku or (line.sku if line else None)
        missing = shortfall(d.qty_requested, d.qty_available, line)
        if missing is None or node is None or sku is None:
            return
        stock_key = f"{node}/{sku}"
        line_key = f"{d.order_id}/{d.line_id}"
        shorts: dict[str, Shortfall] = self.memory["short"].setdefault(stock_key, {})
        horizon = event.time - timedelta(hours=self.cfg.window_hours)
        for stale in [k for k, s in shorts.items() if s[0] < horizon]:
            self._forget(stock_key, stale)
        value = missing * line.unit_price if line is not None else 0.0
        shorts[line_key] = (event.time, missing, d.order_id, value)
        where: list[str] = self.memory["where"].setdefault(line_key, [])
        if stock_key not in where:
            where.append(stock_key)
        orders = {s[2] for s in shorts.values()}
        if len(orders) >= self.cfg.min_orders:
            self.memory["open"][stock_key] = True
            yield self._signal(stock_key, node, sku, shorts, event.time, state)
        elif self.memory["open"].pop(stock_key, None):
            yield self.clear(
                stock_key,
                event.time,
                f"contention lapsed: no other order short within {self.cfg.window_hours:g} h",
            )

    def _signal(
        self,
        stock_key: str,
        node: str,
        sku: str,
        shorts: dict[str, Shortfall],
        when: datetime,
        state: State,
    ) -> Output:
        by_order: dict[str, float] = {}
        for _, missing, order_id, _ in shorts.values():
            by_order[order_id] = by_order.get(order_id, 0.0) + missing
        order_ids = sorted(by_order)
        return self.signal(
            stock_key,
            stock_key,
            when,
            refs=(
                ("node_id", node),
                *(("order_id", order_id) for order_id in order_ids),
                ("sku", sku),
            ),
            impact=self._impact(order_ids, shorts, state),
            root_cause="contested_stock",
            summary=(
                f"{len(order_ids)} orders short on {sku} at {node}: "
                + ", ".join(f"{oid} ({by_order[oid]:g})" for oid in order_ids)
            ),
        )

    def _impact(self, order_ids: list[str], shorts: dict[str, Shortfall], state: State) -> Impact:
        """Value of every shortfall; the best-tier customer and the earliest promise."""
        scores = self.policy.priority.tier_scores
        best: tuple[float, str] | None = None
        promises = []
        for order_id in order_ids:
            order = state.orders.get(order_id)
            if order is None:
                continue
            rank = scores.get(state.tier_of(order.customer_id) or "unknown", 0.0)
            if best is None or rank > best[0]:
                best = (rank, order.customer_id)
            if order.promise is not None:
                promises.append(order.promise)
        return Impact(
            revenue_at_risk=sum(s[3] for s in shorts.values()),
            customer_id=best[1] if best else None,
            promise_at=min(promises) if promises else None,
        )

    def _forget(self, stock_key: str, line_key: str) -> None:
        self.memory["short"].get(stock_key, {}).pop(line_key, None)
        where = self.memory["where"].get(line_key)
        if where is not None and stock_key in where:
            where.remove(stock_key)
            if not where:
                del self.memory["where"][line_key]

    def _drop(self, line_keys: list[str], when: datetime, how: str) -> Iterable[Output]:
        """Forget shortfalls that are gone; resolve conflicts left with too few orders."""
        touched: list[str] = []
        for line_key in line_keys:
            for stock_key in list(self.memory["where"].get(line_key, ())):
                self._forget(stock_key, line_key)
                if stock_key not in touched:
                    touched.append(stock_key)
        for stock_key in touched:
            shorts = self.memory["short"].get(stock_key, {})
            orders = sorted({s[2] for s in shorts.values()})
            if not shorts:
                self.memory["short"].pop(stock_key, None)
            if len(orders) < self.cfg.min_orders and self.memory["open"].pop(stock_key, None):
                left = f"only {', '.join(orders)} still short" if orders else "no order short"
                yield self.clear(stock_key, when, f"lines {how}: {left}")


DETECTOR = AllocationConflict
