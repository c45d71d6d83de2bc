"""Options for ``allocation.conflict``: scarce stock at one node is contested by orders.

The contenders are the lines of the case's orders (``refs.order_id``) for the case's SKU
at its node that are not reserved in full. They are served in priority order — customer
tier (the policy's ``priority.tier_scores``), then the earliest promise, then the larger
line — from the node's free stock (the smaller of the ERP and WMS views, the
conservative count). A contender the node cannot serve in full is moved to another DC
that can (the most free stock first, each DC's stock used up as the plan goes), else
ships what is left at the node, else waits.

- ``reallocate`` a lower-priority contender: confidence 0.9 / 0.65 / 0.35 by the target
  DC's stock evidence (both views / one view / they disagree); effect the contender's
  value protected, the lane cost, days gained against waiting for supply at the node.
- ``partial_ship`` a contender served in part: 0.4 + 0.4 x the share served.
- ``notify`` planning of contenders nothing can serve (0.3).

The plan is a seam: :data:`Planner` is any function from the contenders (in priority
order), the node's free stock and the other DCs' stock to assignments. The greedy
:func:`greedy_plan` is the default; the MILP optimizer of ``unsnag.allocate`` can be
plugged in with ``make_options(its_planner)`` without touching the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Option
from unsnag.resolve.options._common import (
    OptionComputer,
    as_of,
    day,
    grounded,
    money,
    num,
    rank,
    ref,
    refs,
    tell,
    unknown,
)
from unsnag.resolve.options._stock import (
    EPS,
    Need,
    NodeStock,
    inbound,
    move,
    other_nodes,
    partial_ship,
    stock_at,
    wait_for,
)
from unsnag.state.model import Line, Order, State


@dataclass(frozen=True, slots=True)
class Contender:
    order: Order
    line: Line
    need: float
    """Units of the line not reserved or shipped yet."""
    tier: str


@dataclass(frozen=True, slots=True)
class Assignment:
    contender: Contender
    served_here: float
    """Units served from the contested node's free stock."""
    to_node: NodeStock | None = None
    """The DC the line moves to instead, if any."""
    why: tuple[str, ...] = ()
    """The planner's reasons for this line (the optimizer explains each line)."""


Planner = Callable[[list[Contender], float, list[NodeStock]], list[Assignment]]


def usable(stock: NodeStock) -> float:
    """Free units a plan may count on at another DC (the larger view; confidence says
    how far to trust it)."""
    views = [v for v in (stock.erp, stock.wms) if v is not None]
    return max(views) if views else 0.0


def greedy_plan(
    contenders: list[Contender], here: float, elsewhere: list[NodeStock]
) -> list[Assignment]:
    """Serve contenders in order from ``here``; move the rest to the DC with the most."""
    left = {stock.node_id: usable(stock) for stock in elsewhere}
    by_id = {stock.node_id: stock for stock in elsewhere}
    plan: list[Assignment] = []
    for c in contenders:
        if here >= c.need - EPS:
            plan.append(Assignment(c, c.need))
            here -= c.need
            continue
        fits = [(-qty, node) for node, qty in left.items() if qty >= c.need - EPS]
        if fits:
            node = min(fits)[1]
            left[node] -= c.need
            plan.append(Assignment(c, 0.0, by_id[node]))
            continue
        plan.append(Assignment(c, max(here, 0.0)))
        here = 0.0
    return plan


def contenders(case: Case, state: State, policy: Policy, node: str, sku: str) -> list[Contender]:
    scores = policy.priority.tier_scores
    found: list[Contender] = []
    for order_id in refs(case, "order_id"):
        order = state.orders.get(order_id)
        if order is None or order.status == "cancelled":
            continue
        tier = state.tier_of(order.customer_id) or "unknown"
        for line in order.lines.values():
            need = line.qty - line.reserved - line.shipped
            if line.sku == sku and line.node_id in (node, None) and need > EPS:
                found.append(Contender(order, line, need, tier))
    far = float("inf")

    def priority(c: Contender) -> tuple[float, float, float, str, str]:
        promise = c.order.promise.timestamp() if c.order.promise else far
        value = c.need * c.line.unit_price
        return (-scores.get(c.tier, 0.0), promise, -value, c.order.order_id, c.line.line_id)

    return sorted(found, key=priority)


def make_options(planner: Planner) -> OptionComputer:
    """An ``allocation.conflict`` option computer that plans with ``planner``."""

    def computer(case: Case, state: State, policy: Policy) -> list[Option]:
        node, sku = ref(case, "node_id"), ref(case, "sku")
        if node is None or sku is None:
            node, _, sku = case.key.partition("/")
        who = contenders(case, state, policy, node, sku)
        if not who:
            return unknown(case, "contending order lines", None, "open order line")
        now = as_of(case)
        local = stock_at(state, node, sku, now)
        views = [v for v in (local.erp, local.wms) if v is not None]
        here = max(min(views), 0.0) if views else 0.0
        plan = planner(who, here, other_nodes(state, sku, node, now))
        return _options(case, state, plan, node, now, local, here)

    return computer


def _options(
    case: Case,
    state: State,
    plan: list[Assignment],
    node: str,
    now: datetime,
    local: NodeStock,
    here: float,
) -> list[Option]:
    facts = [f"{local.describe()}; {num(here)} can be promised"]
    found: list[Option] = []
    waiting: list[str] = []
    supply = inbound(state, local.sku, node)
    for a in plan:
        c = a.contender
        facts.append(
            f"{c.order.order_id} ({c.tier}, promise {day(c.order.promise)}): needs "
            f"{num(c.need)} of {c.line.sku} worth {money(c.need * c.line.unit_price)}"
        )
        need = Need(
            c.order,
            c.line,
            c.need,
            c.need * c.line.unit_price,
            node,
            wait_for(supply, c.need, now),
        )
        if a.to_node is not None:
            option = move(state, need, a.to_node)
            if option is not None:
                found.append(replace(option, facts=(*option.facts, *a.why)))
                continue
        if a.served_here >= c.need - EPS:
            continue  # keeps its stock here: nothing to do
        if a.served_here > EPS:
            shipped = partial_ship(need, a.served_here, f"{num(here)} free at {node}")
            found.extend(replace(o, facts=(*o.facts, *a.why)) for o in shipped)
        else:
            waiting.append(c.order.order_id)
    if waiting or not found:
        who = ", ".join(waiting) or "the contenders"
        subject = f"{node}/{local.sku}: no stock can be found for {who}; replan supply"
        found.append(tell(case.owner_team, subject, ()))
    return rank(grounded(found, facts))


options = make_options(greedy_plan)


options_from_plan = _options
"""The options carrying out a plan's assignments (for planners beyond ``Planner``)."""
