"""inventory.mismatch — the ERP and the WMS disagree on a node's stock beyond tolerance.

Opens on ``inventory.snapshot`` or ``inventory.adjusted`` when the latest ERP view and the
latest WMS view of the same node+SKU both exist, were taken within
``detectors.inventory_mismatch.max_skew_minutes`` of each other, and their on-hand differ
by more than ``abs_units`` AND by more than ``pct`` of the larger on-hand.
Look-alikes: a gap of at most ``abs_units`` (one unit by default) or within ``pct`` is
noise; views taken too far apart are no evidence either way (one of them is stale), and a
node+SKU only one system reports on has nothing to compare.
Resolved when a later comparison of fresh views is within tolerance. Revenue at risk is
the gap valued at the product's list price (its unit cost when it has no list price).
"""

from __future__ import annotations

from collections.abc import Iterable

from unsnag.detect.base import Detector, Impact, Output, refs
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.state.model import State


class InventoryMismatch(Detector):
    rule = "inventory-mismatch"
    case_type = "inventory.mismatch"
    events = frozenset({"inventory.snapshot", "inventory.adjusted"})
    config_name = "inventory_mismatch"

    def __init__(self, policy: Policy) -> None:
        super().__init__(policy)
        self.memory["open"] = {}  # node/sku -> True while a mismatch is signalled

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        views = state.stock.get((d.node_id, d.sku))
        erp = views.get("erp") if views else None
        wms = views.get("wms") if views else None
        if erp is None or wms is None:
            return
        skew = abs((erp.as_of - wms.as_of).total_seconds())
        if skew > self.cfg.max_skew_minutes * 60:
            return
        key = f"{d.node_id}/{d.sku}"
        gap = abs(erp.on_hand - wms.on_hand)
        base = max(abs(erp.on_hand), abs(wms.on_hand))
        if gap <= self.cfg.abs_units or gap <= self.cfg.pct * base:
            if self.memory["open"].pop(key, None):
                yield self.clear(key, event.time, "ERP and WMS agree again")
            return
        self.memory["open"][key] = True
        product = state.products.get(d.sku)
        price = None
        if product is not None:
            price = product.list_price if product.list_price is not None else product.unit_cost
        share = f", {gap / base * 100:.0f} %" if base > 0 else ""
        yield self.signal(
            key,
            key,
            event.time,
            refs=refs(node_id=d.node_id, sku=d.sku),
            impact=Impact(revenue_at_risk=gap * (price or 0.0)),
            summary=(
                f"ERP says {erp.on_hand:g}, WMS says {wms.on_hand:g} of {d.sku} "
                f"at {d.node_id} (gap {gap:g}{share})"
            ),
        )


DETECTOR = InventoryMismatch
