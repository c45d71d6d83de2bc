"""``allocation.shortage`` decided by the allocation optimizer (``unsnag.allocate``).

The options come from :mod:`~unsnag.resolve.options.shortage` (other DCs, substitutes,
a partial shipment, expediting a PO), each with its own stock evidence. The optimizer
then weighs the sources the evidence allows against each other in one model — the free
stock at other DCs with their lanes (handling cost, extra transit days), the listed
substitutes at the line's node (the margin given up), the open POs with their ETAs and
the lateness against the promise — and the option carrying out its choice goes first,
with the optimizer's explanation among its facts, as long as its own evidence is good
enough to act on (:data:`MIN_CONFIDENCE`); otherwise the evidence ranking stands.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from unsnag.allocate import (
    AllocationPlan,
    AllocationProblem,
    Lane,
    Line,
    Substitute,
    Supply,
    Weights,
    optimize,
)
from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Option
from unsnag.resolve.options import shortage
from unsnag.resolve.options._common import as_of, order_line, ref
from unsnag.resolve.options._stock import EPS, inbound, lane, other_nodes, stock_at
from unsnag.state.model import Line as OrderLine
from unsnag.state.model import Order, State

REGION = "customer"
SOURCES = frozenset({"reallocate", "substitute", "expedite_po", "partial_ship"})
MIN_CONFIDENCE = 0.6
SUBSTITUTE_VALUE = 0.9
"""A substitute protects this share of the line's value (the customer accepts it less
gladly than the SKU ordered)."""
VALUE = Weights(margin=0.0, revenue=1.0, lateness_per_day=0.05)


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    found = shortage.options(case, state, policy)
    located = order_line(case, state)
    node = ref(case, "node_id")
    if isinstance(located, list) or not found:
        return found
    order, line = located
    node = node or line.node_id
    actionable = [o for o in found if o.action in SOURCES and o.confidence >= MIN_CONFIDENCE]
    if node is None or len(actionable) < 2:
        return found  # nothing to choose between: the solver could only agree
    problem = _problem(state, policy, order, line, node, as_of(case))
    if sum(1 for supply in problem.supply if supply.qty > EPS) < 2:
        return found  # one source or none: nothing to weigh (and no solver call to pay for)
    plan = optimize(problem, time_limit=2.0)
    return _lead_with(found, plan, node, order, line)


def _problem(
    state: State, policy: Policy, order: Order, line: OrderLine, node: str, now: datetime
) -> AllocationProblem:
    qty = max(line.qty - line.shipped, 0.0)
    tier = state.tier_of(order.customer_id) or "standard"
    weight = max(policy.priority.tier_scores.get(tier, 0.25), 0.01)
    demand = Line(order_id=order.order_id, line_id=line.line_id, customer_id=order.customer_id,
                  sku=line.sku, qty=qty, region=REGION, created_at=order.created_at,
                  unit_price=line.unit_price, tier=tier, tier_weight=weight,
                  promise=order.promise or now)  # fmt: skip
    supply, lanes, subs = _sources(state, order, line, node, now)
    return AllocationProblem(
        as_of=now,
        lines=(demand,),
        supply=tuple(supply),
        lanes=tuple(lanes),
        substitutes=tuple(subs),
        weights=VALUE,
    )


def _sources(
    state: State, order: Order, line: OrderLine, node: str, now: datetime
) -> tuple[list[Supply], list[Lane], list[Substitute]]:
    here = stock_at(state, node, line.sku, now)
    views = [v for v in (here.erp, here.wms) if v is not None]
    supply = [Supply(node, line.sku, max(min(views), 0.0) + line.reserved)] if views else []
    for coming in inbound(state, line.sku, node):
        if coming.open_qty > EPS and coming.po.eta is not None:
            supply.append(Supply(node, line.sku, coming.open_qty, "po", coming.po.eta))
    lanes = [Lane(node, REGION, 0.0, 0.0)]
    for other in other_nodes(state, line.sku, node, now):
        views = [v for v in (other.erp, other.wms) if v is not None]
        if views and min(views) > EPS:
            days, pct = lane(state, order, node, other.node_id)
            supply.append(Supply(other.node_id, line.sku, min(views)))
            lanes.append(Lane(other.node_id, REGION, pct * line.unit_price, 1.0 + days))
    product = state.products.get(line.sku)
    subs: list[Substitute] = []
    for sub in product.substitutes if product else ():
        stock = stock_at(state, node, sub, now)
        views = [v for v in (stock.erp, stock.wms) if v is not None]
        if views and min(views) > EPS:
            supply.append(Supply(node, sub, min(views)))
            subs.append(Substitute(line.sku, sub, SUBSTITUTE_VALUE))
    return supply, lanes, subs


def _lead_with(
    found: list[Option], plan: AllocationPlan, node: str, order: Order, line: OrderLine
) -> list[Option]:
    if not plan.lines:
        return found
    chosen = plan.lines[0]
    moved = [a for a in chosen.assignments if not a.picked and a.qty > EPS]
    if not moved:
        return found
    pick = max(moved, key=lambda a: a.qty)

    def matches(option: Option) -> bool:
        params = option.params
        if pick.sku != line.sku:
            return option.action == "substitute" and params.get("sku") == pick.sku
        if pick.source == "po":
            return option.action == "expedite_po"
        if pick.node_id != node:
            return option.action == "reallocate" and params.get("to_node") == pick.node_id
        return option.action == "partial_ship"

    for index, option in enumerate(found):
        if matches(option) and option.confidence >= MIN_CONFIDENCE:
            why = (*chosen.explanation, "plan: allocation optimizer (HiGHS) chose this source")
            lead = replace(option, facts=(*option.facts, *why))
            return [lead, *found[:index], *found[index + 1 :]]
    return found
