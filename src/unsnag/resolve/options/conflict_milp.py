"""``allocation.conflict`` planned by the allocation optimizer (``unsnag.allocate``).

The contenders for scarce stock at one node become the optimizer's order lines (value
per unit: the customer tier's weight from the policy's priority model x the unit price),
the contested node's free stock and the other DCs' free stock its supply, and a lane per
node: the contested node ships at no extra cost or time; another DC costs the
reallocation handling (a share of the cheapest contender's price) and a day more. Every
day of delay from now costs a share of a line's value (contested lines are at or near
their promise already), so a day weighs more on a valuable line of a strategic customer.

HiGHS decides who keeps the local stock, who moves and who waits, maximising the value
protected — not first come first served, not tier by tier whatever the size — and each
contender's explanation (binding constraint, who outranked it, the cost of the
alternative) becomes a fact on its option. This is the default ``conflict`` computer;
``conflict_greedy`` keeps the tier-order plan for comparison.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from unsnag.allocate import AllocationProblem, Lane, Line, LinePlan, Supply, Weights, optimize
from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Option
from unsnag.resolve.options._common import as_of
from unsnag.resolve.options._stock import EPS, NodeStock
from unsnag.resolve.options.conflict import Assignment, Contender, Planner, make_options, usable
from unsnag.state.model import State

REGION = "customer"
MOVE_DAYS = 1.0
MOVE_COST_PCT = 0.02
TIME_LIMIT_S = 2.0
VALUE = Weights(margin=0.0, revenue=1.0, lateness_per_day=0.05)
"""A unit is worth its price x the tier weight (margins are not known per line here)."""


def milp_planner(policy: Policy, now: datetime) -> Planner:
    """A :data:`~unsnag.resolve.options.conflict.Planner` that asks the optimizer."""
    scores = policy.priority.tier_scores

    def plan(
        contenders: list[Contender], here: float, elsewhere: list[NodeStock]
    ) -> list[Assignment]:
        if not contenders:
            return []
        node = contenders[0].line.node_id or "here"
        problem = _problem(contenders, here, elsewhere, node, now, scores)
        result = optimize(problem, time_limit=TIME_LIMIT_S)
        by_key = {line.key: line for line in result.lines}
        nodes = {stock.node_id: stock for stock in elsewhere}
        return [_assignment(c, by_key.get(f"{c.order.order_id}/{c.line.line_id}"), node, nodes)
                for c in contenders]  # fmt: skip

    return plan


def _problem(
    contenders: list[Contender],
    here: float,
    elsewhere: list[NodeStock],
    node: str,
    now: datetime,
    scores: dict[str, float],
) -> AllocationProblem:
    sku = contenders[0].line.sku
    lines = tuple(
        Line(order_id=c.order.order_id, line_id=c.line.line_id, customer_id=c.order.customer_id,
             sku=sku, qty=c.need, region=REGION, created_at=c.order.created_at,
             unit_price=c.line.unit_price, tier=c.tier,
             tier_weight=max(scores.get(c.tier, 0.25), 0.01), promise=now)
        for c in contenders
    )  # fmt: skip
    supply = [Supply(node, sku, max(here, 0.0))] + [
        Supply(stock.node_id, sku, usable(stock)) for stock in elsewhere if usable(stock) > EPS
    ]
    price = min(c.line.unit_price for c in contenders)
    lanes = [Lane(node, REGION, 0.0, 0.0)] + [
        Lane(stock.node_id, REGION, MOVE_COST_PCT * price, MOVE_DAYS) for stock in elsewhere
    ]
    return AllocationProblem(
        as_of=now, lines=lines, supply=tuple(supply), lanes=tuple(lanes), weights=VALUE
    )


def _assignment(
    c: Contender, plan: LinePlan | None, node: str, nodes: dict[str, NodeStock]
) -> Assignment:
    if plan is None:
        return Assignment(c, 0.0)
    here = sum(a.qty for a in plan.assignments if a.node_id == node)
    moved = [a for a in plan.assignments if a.node_id != node and a.qty > EPS]
    if moved and here <= EPS:
        target = max(moved, key=lambda a: a.qty).node_id
        return Assignment(c, 0.0, nodes.get(target), plan.explanation)
    return Assignment(c, here, None, plan.explanation)


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    """The conflict's options with the optimizer's plan and its reasons."""
    found = make_options(milp_planner(policy, as_of(case)))(case, state, policy)
    return [replace(o, facts=(*o.facts, "plan: allocation optimizer (HiGHS)")) for o in found]
