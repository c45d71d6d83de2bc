"""pick.short — the warehouse picked less than was allocated.

Opens on ``pick.short`` with ``qty_short`` at or above ``detectors.pick_short.min_qty``.
Look-alike: a ``pick.short`` that reports nothing short (a zero short) is a plain pick.
Resolved when the rest of the line is picked later (``pick.confirmed`` bringing the
picked quantity up to the ordered one) or the line ships in full; cancelled with its order.
"""

from __future__ import annotations

from collections.abc import Iterable

from unsnag.detect.base import Detector, Output, order_impact, refs
from unsnag.events import Event
from unsnag.state.model import State


class PickShort(Detector):
    rule = "pick-short"
    case_type = "pick.short"
    events = frozenset({"pick.short", "pick.confirmed", "shipment.dispatched"})
    config_name = "pick_short"

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        if event.type == "shipment.dispatched":
            yield from self._shipped(event, state)
            return
        d = event.data
        key = f"{d.order_id}/{d.line_id}"
        order = state.orders.get(d.order_id)
        line = order.lines.get(d.line_id) if order else None
        short: dict[str, bool] = self.memory.setdefault("short", {})
        if event.type == "pick.short" and d.qty_short >= self.cfg.min_qty:
            sku = d.sku or (line.sku if line else None)
            short[key] = True
            yield self.signal(
                key,
                d.order_id,
                event.time,
                refs=refs(order_id=d.order_id, line_id=d.line_id, node_id=d.node_id, sku=sku),
                impact=order_impact(state, order, [d.line_id], d.qty_short),
                summary=f"picked {d.qty_picked:g}, short {d.qty_short:g} of {sku} at {d.node_id}",
            )
        elif key in short and line is not None and line.picked >= line.qty:
            del short[key]
            yield self.clear(key, event.time, "rest of the line picked")

    def _shipped(self, event: Event, state: State) -> Iterable[Output]:
        short: dict[str, bool] = self.memory.setdefault("short", {})
        shipment = state.shipments.get(event.data.shipment_id)
        order = state.orders.get(shipment.order_id) if shipment else None
        if not short or shipment is None or order is None:
            return
        for line_id in shipment.line_qty:
            key = f"{order.order_id}/{line_id}"
            line = order.lines.get(line_id)
            if key in short and line is not None and line.shipped >= line.qty:
                del short[key]
                yield self.clear(key, event.time, "line shipped in full")


DETECTOR = PickShort
