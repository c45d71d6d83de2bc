"""pricing.mismatch — an order's price differs from contract or list, or sells under the floor.

Checks every line of the order on ``order.created`` and on ``order.updated`` carrying
lines, against the state after the update:

- a customer contract price valid at the order's creation time: off by more than
  ``max(contract_tolerance_abs, contract_tolerance_pct x contract)``, above or below
  (root_cause ``contract_price``);
- no valid contract: more than ``list_discount_max_pct`` under the product's list price
  (root_cause ``below_list``);
- independently, a margin ``(price - cost) / price`` under ``margin_floor_pct``, or a
  zero price on a costed product (root_cause ``margin_floor``).

One case per order (key = order id), its summary naming the offending lines. Also opens
on ``order.validation_failed`` with check ``pricing`` (root_cause ``erp_pricing_check``).
Look-alikes: a difference within tolerance (rounding), above or below the contract; an
expired or not-yet-valid contract (the list price applies instead); a product with no
list price or cost and no contract (nothing to compare); a cancelled order.
Resolved when an ``order.updated`` with lines leaves every line within tolerance, or
the ERP releases the order's pricing hold (``order.released`` with hold_code pricing).
"""

from __future__ import annotations

from collections.abc import Iterable

from unsnag.detect.base import Detector, Output, order_impact, refs
from unsnag.events import Event
from unsnag.state.model import Order, State

EPSILON = 1e-9  # money compared after float arithmetic: 10.00 - 9.99 is not exactly 0.01
PRECEDENCE = ("contract_price", "below_list", "margin_floor")


class PricingMismatch(Detector):
    rule = "pricing-mismatch"
    case_type = "pricing.mismatch"
    events = frozenset(
        {"order.created", "order.updated", "order.validation_failed", "order.released"}
    )
    config_name = "pricing_mismatch"

    def observe(self, event: Event, state: State) -> Iterable[Output]:
        d = event.data
        order = state.orders.get(d.order_id)
        if event.type == "order.validation_failed":
            if d.check == "pricing":
                reason = f": {d.reason}" if d.reason else ""
                yield self.signal(
                    d.order_id,
                    d.order_id,
                    event.time,
                    refs=refs(
                        order_id=d.order_id, customer_id=order.customer_id if order else None
                    ),
                    impact=order_impact(state, order),
                    root_cause="erp_pricing_check",
                    summary=f"ERP pricing check failed{reason}",
                )
            return
        if event.type == "order.released":
            if d.hold_code == "pricing":
                yield self.clear(d.order_id, event.time, "pricing hold released")
            return
        if order is None or order.status == "cancelled":
            return
        if event.type == "order.updated" and not d.lines:
            return
        issues = self.issues(order, state)
        if not issues:
            if event.type == "order.updated":
                yield self.clear(d.order_id, event.time, "every line priced within tolerance")
            return
        causes = {cause for _, cause, _ in issues}
        line_ids = sorted({line_id for line_id, _, _ in issues})
        yield self.signal(
            order.order_id,
            order.order_id,
            event.time,
            refs=refs(order_id=order.order_id, customer_id=order.customer_id),
            impact=order_impact(state, order, line_ids),
            root_cause=next(cause for cause in PRECEDENCE if cause in causes),
            summary="; ".join(text for _, _, text in issues),
        )

    def issues(self, order: Order, state: State) -> list[tuple[str, str, str]]:
        """(line_id, root_cause, description) of every pricing problem of the order."""
        cfg = self.cfg
        found: list[tuple[str, str, str]] = []
        for line in order.lines.values():
            price = line.unit_price
            name = f"line {line.line_id} {line.sku}"
            product = state.products.get(line.sku)
            contract = state.contract_price(order.customer_id, line.sku, order.created_at)
            if contract is not None:
                tolerance = max(cfg.contract_tolerance_abs, cfg.contract_tolerance_pct * contract)
                if abs(price - contract) > tolerance + EPSILON:
                    found.append(
                        (
                            line.line_id,
                            "contract_price",
                            f"{name} at {price:.2f} vs contract {contract:.2f}",
                        )
                    )
            elif product is not None and product.list_price:
                lowest = product.list_price * (1 - cfg.list_discount_max_pct)
                if price < lowest - EPSILON:
                    off = (1 - price / product.list_price) * 100
                    found.append(
                        (
                            line.line_id,
                            "below_list",
                            f"{name} at {price:.2f} is {off:.0f} % under list "
                            f"{product.list_price:.2f} (max {cfg.list_discount_max_pct * 100:g} %)",
                        )
                    )
            cost = product.unit_cost if product is not None else None
            if cost is None:
                continue
            if price <= 0:
                if cost > 0:
                    found.append(
                        (line.line_id, "margin_floor", f"{name} at {price:.2f}, cost {cost:.2f}")
                    )
                continue
            margin = (price - cost) / price
            if margin < cfg.margin_floor_pct - EPSILON:
                found.append(
                    (
                        line.line_id,
                        "margin_floor",
                        f"{name} margin {margin * 100:.1f} % under floor "
                        f"{cfg.margin_floor_pct * 100:g} % (price {price:.2f}, cost {cost:.2f})",
                    )
                )
        return found


DETECTOR = PricingMismatch
