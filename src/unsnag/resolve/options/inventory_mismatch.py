"""Options for ``inventory.mismatch``: the ERP and the WMS disagree on a node's stock.

- ``adjust_inventory`` (node, SKU): count the location and align the ERP with the count.
  Confidence 0.9 when the gap is at most :data:`LARGE_GAP_SHARE` of the larger on-hand
  (a miscount or an unposted adjustment, which a count settles), 0.7 when larger (such
  gaps are more often a lost message or an unposted receipt); 0.3 less while any
  interface is failing (the gap may close by itself once the messages flow again).
  Amount: the gap at unit cost (the value the adjustment books). Effect: the case's
  revenue at risk (the gap at list price) protected; cost the write-down when the WMS
  holds less than the ERP, else nothing.
- ``notify`` the integration team while an interface is failing (0.6): replay first.
- ``notify`` inventory control (0.3), always last.
"""

from __future__ import annotations

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import clamp, grounded, money, num, pct, rank, ref, tell
from unsnag.state.model import State, StockView

LARGE_GAP_SHARE = 0.5
FAILING_PENALTY = 0.3


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    node, sku = ref(case, "node_id"), ref(case, "sku")
    if node is None or sku is None:
        node, _, sku = case.key.partition("/")
    views = state.stock.get((node, sku), {})
    erp, wms = views.get("erp"), views.get("wms")
    if erp is None or wms is None:
        missing = "ERP" if erp is None else "WMS"
        fact = f"no {missing} view of {sku} at {node}: nothing to compare"
        subject = f"{node}/{sku}: count it, the {missing} view is missing"
        return [tell(case.owner_team, subject, [fact])]
    gap = erp.on_hand - wms.on_hand
    base = max(abs(erp.on_hand), abs(wms.on_hand))
    share = abs(gap) / base if base > 0 else 1.0
    product = state.products.get(sku)
    unit_cost = product.unit_cost if product and product.unit_cost is not None else 0.0
    failing = sorted(e for e, i in state.integrations.items() if i.failing_since is not None)
    facts = [
        f"{sku} at {node}: ERP on hand {num(erp.on_hand)} ({erp.as_of:%Y-%m-%d %H:%M}Z), "
        f"WMS on hand {num(wms.on_hand)} ({wms.as_of:%Y-%m-%d %H:%M}Z)",
        f"gap {num(abs(gap))} ({pct(share)} of {num(base)}), {money(abs(gap) * unit_cost)} "
        "at unit cost",
    ]
    confidence = 0.9 if share <= LARGE_GAP_SHARE else 0.7
    found = []
    if failing:
        confidence -= FAILING_PENALTY
        facts.append(f"interfaces failing now: {', '.join(failing)}")
        subject = f"{node}/{sku} off by {num(abs(gap))} while {', '.join(failing)} fail: replay"
        found.append(tell("integration", subject, (), confidence=0.6))
    found.append(_count(case, node, sku, erp, wms, unit_cost, clamp(confidence)))
    found.append(tell(case.owner_team, f"{node}/{sku}: ERP and WMS off by {num(abs(gap))}", ()))
    return rank(grounded(found, facts))


def _count(
    case: Case,
    node: str,
    sku: str,
    erp: StockView,
    wms: StockView,
    unit_cost: float,
    confidence: float,
) -> Option:
    gap = erp.on_hand - wms.on_hand
    lower = "WMS" if gap > 0 else "ERP"
    return Option(
        action="adjust_inventory",
        params={
            "node_id": node,
            "sku": sku,
            "erp_on_hand": erp.on_hand,
            "wms_on_hand": wms.on_hand,
        },
        summary=(
            f"cycle count {sku} at {node} and align the ERP ({num(erp.on_hand)}) with the "
            f"count; the WMS says {num(wms.on_hand)} ({lower} lower by {num(abs(gap))})"
        ),
        effect=Effect(case.impact.revenue_at_risk, max(gap, 0.0) * unit_cost, 0.0),
        confidence=confidence,
        amount=abs(gap) * unit_cost,
    )
