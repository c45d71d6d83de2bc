"""``allocation.conflict`` planned by the allocation optimizer over the whole contest.

A surge rarely hits one SKU at one DC: customers order a product family (a SKU and its
listed substitutes) at several DCs at once, some on ship-complete orders of several SKUs
of it. Planning one node/SKU at a time hands the same spare stock to two cases and never
weighs a substitute against a move. So the optimizer (``unsnag.allocate``) is given the
**contest**: the case's SKU, its substitutes and the SKUs listing it as one (closed over
the lines found, :data:`FAMILY_ROUNDS` rounds), and every open order line on those SKUs
the ERP could not allocate, at any DC (``State.short_orders_by_sku``), up to
:data:`MAX_LINES` (the case's own contenders always, the rest by tier and promise).

- **Supply** per DC and SKU: the systems' latest counts when one is at most
  :data:`COUNT_FRESH_HOURS` old (the smaller of the ERP's and the WMS's, as the greedy
  plan reads them), else the ERP's running available-to-promise (``State.atp``: its
  last statement less what it reserved since plus what was received), else an older
  count; plus the open purchase orders with their ETAs.
- **Lanes** per line (its value decides what moving costs, as in ``_stock.lane``): its
  own DC ships at no extra cost or time; another DC costs
  :data:`~unsnag.resolve.options._stock.REALLOCATE_HANDLING_PCT` of the value and
  :data:`MOVE_DAYS`; a DC outside the customer's region adds the cross-region freight
  and transit day. Costs are shares of the tier-weighted value (the plan's one unit),
  so moving a strategic line costs more than moving a standard one of the same price.
- **Substitutes**: the listed ones, worth :data:`SUBSTITUTE_VALUE` of the line, for
  every customer except those whose orders say ``substitution: refused``.
- **Ship complete**: a line of an order marked ``ship_complete`` gets all or nothing.
- **Value**: tier weight (policy ``priority.tier_scores``) x unit price; each day later
  than the promise costs 5 % of it.

The plan's decisions for the case's own contenders become the options (moves to other
DCs, substitutes, partial shipments, a note for the lines left waiting), each with the
optimizer's explanation. When the plan moves two lines or more, they become one option,
the **batch**: it carries every move of the plan for this case's lines
(``Option.batch``), approved once and sent together. The other conflict cases of the
same contest plan the same contest from the same state and carry out their own lines'
moves.
``conflict_greedy`` keeps the tier-order plan of one node/SKU for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from unsnag.allocate import (
    AllocationPlan,
    AllocationProblem,
    Lane,
    Line,
    LinePlan,
    Substitute,
    Supply,
    Weights,
    greedy_priority,
    optimize,
)
from unsnag.cases.desk import Case
from unsnag.policy.model import Policy
from unsnag.resolve.model import Effect, Option
from unsnag.resolve.options._common import as_of, money, num, rank, ref, unknown
from unsnag.resolve.options._stock import (
    CROSS_REGION_EXTRA_DAYS,
    CROSS_REGION_FREIGHT_PCT,
    EPS,
    REALLOCATE_HANDLING_PCT,
    STALE_VIEW_DAYS,
    NodeStock,
    free,
    inbound,
    region_of,
    stock_at,
)
from unsnag.resolve.options.conflict import (
    Assignment,
    Contender,
    contenders,
    options_from_plan,
)
from unsnag.state.model import Line as OrderLine
from unsnag.state.model import Order, State

MOVE_DAYS = 1.0
TIME_LIMIT_S = 2.0
MAX_LINES = 400
FAMILY_ROUNDS = 2
COUNT_FRESH_HOURS = 24.0
SUBSTITUTE_VALUE = 0.9
"""A substitute protects this share of the line's value (accepted less gladly)."""
MOVES = ("reallocate", "substitute", "partial_ship")
"""Actions a batch carries out (a note to a team is not a move)."""
VALUE = Weights(margin=0.0, revenue=1.0, lateness_per_day=0.05)
"""A unit is worth its price x the tier weight (margins are not known per line here)."""


@dataclass(frozen=True, slots=True)
class Contest:
    """The allocation problem of one contest, with what it was built from."""

    problem: AllocationProblem
    family: tuple[str, ...]
    nodes: tuple[str, ...]
    free: dict[tuple[str, str], float]
    """Free units per (node, SKU) the problem counts on (purchase orders aside)."""


# --- the contest ------------------------------------------------------------------------


def family_of(state: State, sku: str, seed_skus: set[str] | None = None) -> set[str]:
    """The SKU, its listed substitutes and the SKUs listing it (and ``seed_skus``)."""
    skus = {sku} | (seed_skus or set())
    for s in list(skus):
        product = state.products.get(s)
        skus.update(product.substitutes if product else ())
        skus.update(state.substituted_by.get(s, ()))
    return skus


def contest_lines(
    state: State, policy: Policy, own: list[Contender], node: str, sku: str
) -> tuple[set[str], list[Contender]]:
    """The contest's SKUs and its open short lines: the case's own first, then the rest
    by tier and promise (at most :data:`MAX_LINES`)."""
    skus = family_of(state, sku)
    for _ in range(FAMILY_ROUNDS):
        found = _short_lines(state, skus)
        grown = family_of(state, sku, {c.line.sku for c in found})
        if grown <= skus:
            break
        skus = grown
    own_keys = {_key(c) for c in own}
    others = [c for c in _short_lines(state, skus) if _key(c) not in own_keys]
    scores = policy.priority.tier_scores
    far = float("inf")

    def priority(c: Contender) -> tuple[float, float, str, str]:
        promise = c.order.promise.timestamp() if c.order.promise else far
        return (-scores.get(c.tier, 0.0), promise, c.order.order_id, c.line.line_id)

    others.sort(key=priority)
    return skus, own + others[: max(MAX_LINES - len(own), 0)]


def _short_lines(state: State, skus: set[str]) -> list[Contender]:
    found: list[Contender] = []
    seen: set[str] = set()
    for s in sorted(skus):
        for order_id in state.short_orders_by_sku.get(s, ()):
            order = state.orders.get(order_id)
            if order is None or order.status == "cancelled":
                continue
            for line in order.lines.values():
                need = line.qty - line.reserved - line.shipped
                key = f"{order_id}/{line.line_id}"
                if line.sku in skus and need > EPS and key not in seen:
                    seen.add(key)
                    tier = state.tier_of(order.customer_id) or "unknown"
                    found.append(Contender(order, line, need, tier))
    return found


def _key(c: Contender) -> str:
    return f"{c.order.order_id}/{c.line.line_id}"


def free_units(state: State, node: str, sku: str, now: datetime) -> float | None:
    """Free units of ``sku`` at ``node`` as the contest counts them (module doc)."""
    views = state.stock.get((node, sku), {})
    fresh = now - timedelta(hours=COUNT_FRESH_HOURS)
    counted = [free(v, now) for v in views.values() if v.as_of >= fresh]
    counts = [v for v in counted if v is not None]
    if counts:
        return min(counts)
    atp = state.atp.get((node, sku))
    if atp is not None and atp[1] >= now - timedelta(days=STALE_VIEW_DAYS):
        return atp[0]
    older = [v for v in (free(view, now) for view in views.values()) if v is not None]
    return min(older) if older else None


def build_contest(
    state: State,
    policy: Policy,
    own: list[Contender],
    node: str,
    sku: str,
    now: datetime,
) -> Contest:
    """The allocation problem of the contest around the case's node and SKU."""
    skus, lines = contest_lines(state, policy, own, node, sku)
    nodes = sorted(
        {n for s in skus for n in state.nodes_by_sku.get(s, ())}
        | {n for (n, s) in state.atp if s in skus}
        | {c.line.node_id or node for c in lines}
        | {node}
    )
    stock: dict[tuple[str, str], float] = {}
    supply: list[Supply] = []
    for s in sorted(skus):
        for n in nodes:
            qty = free_units(state, n, s, now)
            if qty is not None and qty > EPS:
                stock[(n, s)] = qty
                supply.append(Supply(n, s, qty))
        for coming in inbound(state, s):
            if coming.open_qty > EPS and coming.po.eta is not None:
                supply.append(Supply(coming.po.node_id, s, coming.open_qty, "po", coming.po.eta))
    scores = policy.priority.tier_scores
    rows: list[Line] = []
    lanes: list[Lane] = []
    refused: set[str] = set()
    for c in lines:
        home = c.line.node_id or node
        region = _customer_region(state, c.order, home)
        rows.append(
            Line(order_id=c.order.order_id, line_id=c.line.line_id,
                 customer_id=c.order.customer_id, sku=c.line.sku, qty=c.need,
                 region=_key(c), created_at=c.order.created_at, unit_price=c.line.unit_price,
                 tier=c.tier, tier_weight=max(scores.get(c.tier, 0.25), 0.01),
                 promise=c.order.promise or now, ship_complete=c.order.ship_complete,
                 node_id=home)
        )  # fmt: skip
        unit = max(scores.get(c.tier, 0.25), 0.01) * c.line.unit_price
        lanes.extend(_lanes(state, c, home, region, nodes, unit))
        if c.order.substitution == "refused":
            refused.add(c.order.customer_id)
    subs = tuple(
        Substitute(s, sub, SUBSTITUTE_VALUE)
        for s in sorted(skus)
        for sub in (state.products[s].substitutes if s in state.products else ())
        if sub in skus and sub != s
    )
    problem = AllocationProblem(
        as_of=now, lines=tuple(rows), supply=tuple(supply), lanes=tuple(lanes),
        substitutes=subs, no_substitution=frozenset(refused), weights=VALUE,
    )  # fmt: skip
    return Contest(problem, tuple(sorted(skus)), tuple(nodes), stock)


def _customer_region(state: State, order: Order, home: str) -> str | None:
    customer = state.customers.get(order.customer_id)
    return (customer.region if customer else None) or region_of(state, home)


def _lanes(
    state: State, c: Contender, home: str, region: str | None, nodes: list[str], price: float
) -> list[Lane]:
    """The line's own lanes (its region key is the line): what shipping it from each DC
    costs beyond shipping it from its own (a share of the unit's value ``price``, in the
    tier-weighted units the plan's value is in), and the days it adds."""
    home_off = region is not None and region_of(state, home) not in (None, region)
    out = []
    for n in nodes:
        there = region_of(state, n)
        off = region is not None and there is not None and there != region
        pct = (REALLOCATE_HANDLING_PCT if n != home else 0.0) + (
            CROSS_REGION_FREIGHT_PCT if off else 0.0
        )
        days = (MOVE_DAYS if n != home else 0.0) + (
            CROSS_REGION_EXTRA_DAYS if off and not home_off else 0.0
        )
        out.append(Lane(n, _key(c), pct * price, days))
    return out


# --- the options --------------------------------------------------------------------------


def options(case: Case, state: State, policy: Policy) -> list[Option]:
    """The conflict's options from the optimizer's plan of the whole contest."""
    node, sku = ref(case, "node_id"), ref(case, "sku")
    if node is None or sku is None:
        node, _, sku = case.key.partition("/")
    own = contenders(case, state, policy, node, sku)
    if not own:
        return unknown(case, "contending order lines", None, "open order line")
    now = as_of(case)
    contest = build_contest(state, policy, own, node, sku, now)
    plan = optimize(contest.problem, time_limit=TIME_LIMIT_S)
    by_key = {line.key: line for line in plan.lines}
    assignments: list[Assignment] = []
    substitutes: list[Option] = []
    for c in own:
        chosen = by_key.get(_key(c))
        assignment, sub = _assignment(c, chosen, c.line.node_id or node, contest)
        if assignment.to_node is not None:
            target = _target(state, assignment.to_node, now)
            assignment = replace(assignment, to_node=target)
        assignments.append(assignment)
        if sub is not None:
            substitutes.append(sub)
    local = NodeStock(node, sku, contest.free.get((node, sku), 0.0), None)
    here = contest.free.get((node, sku), 0.0)
    found = options_from_plan(case, state, assignments, node, now, local, here)
    summary = _contest_facts(contest, plan, greedy_priority(contest.problem, explain=False))
    found = [
        replace(o, facts=(*o.facts, *summary, "plan: allocation optimizer (HiGHS)"))
        for o in rank([*substitutes, *found])
    ]
    return batched(found)


def _target(state: State, planned: NodeStock, now: datetime) -> NodeStock:
    """The target DC's stock as its counts show it (for the move's evidence), else as
    the ERP's running figure the plan counted on (one view)."""
    counted = stock_at(state, planned.node_id, planned.sku, now)
    if counted.erp is not None or counted.wms is not None:
        return counted
    return planned


def _assignment(
    c: Contender, plan: LinePlan | None, home: str, contest: Contest
) -> tuple[Assignment, Option | None]:
    if plan is None:
        return Assignment(c, 0.0), None
    why = plan.explanation
    taken = [a for a in plan.assignments if a.qty > EPS and a.source != "po"]
    subs = [a for a in taken if a.sku != c.line.sku]
    if subs and sum(a.qty for a in subs) >= sum(a.qty for a in taken) - EPS:
        pick = max(subs, key=lambda a: a.qty)
        return Assignment(c, c.need, None, why), _substitute(c, pick.sku, pick.node_id, why)
    here = sum(a.qty for a in taken if a.node_id == home and a.sku == c.line.sku)
    moved = [a for a in taken if a.node_id != home and a.sku == c.line.sku]
    if moved and here <= EPS:
        target = max(moved, key=lambda a: a.qty).node_id
        qty = contest.free.get((target, c.line.sku), 0.0)
        return Assignment(c, 0.0, NodeStock(target, c.line.sku, qty, None), why), None
    return Assignment(c, here, None, why), None


def _substitute(c: Contender, sub: str, node: str, why: tuple[str, ...]) -> Option:
    line: OrderLine = c.line
    value = c.need * line.unit_price
    where = "" if node == (line.node_id or node) else f" shipped from {node}"
    return Option(
        action="substitute",
        params={
            "order_id": c.order.order_id,
            "line_id": line.line_id,
            "sku": sub,
            "node_id": node,
            "qty": c.need,
        },
        summary=(
            f"fill {c.order.order_id} line {line.line_id} with {num(c.need)} of substitute "
            f"{sub}{where} at the line's price {money(line.unit_price)}"
        ),
        effect=Effect(SUBSTITUTE_VALUE * value, 0.0, 0.0),
        facts=(f"{sub} is a listed substitute of {line.sku}; the customer accepts one", *why),
        confidence=0.65,
        amount=value,
    )


def _contest_facts(
    contest: Contest, plan: AllocationPlan, baseline: AllocationPlan
) -> tuple[str, ...]:
    problem = contest.problem
    ahead = plan.value - baseline.value
    return (
        f"contest: {len(problem.lines)} open lines on {', '.join(contest.family)} across "
        f"{', '.join(contest.nodes)}",
        f"plan value {money(plan.value)} vs {money(baseline.value)} in tier order "
        f"({'+' if ahead >= 0 else ''}{money(ahead)})",
    )


def batched(found: list[Option]) -> list[Option]:
    """One option carrying every move (:data:`MOVES`) when there are two or more, in
    their place: approved once (the smallest confidence, the total amount), sent
    together; the other options (a note for lines left waiting) rank beside it."""
    moves = [o for o in found if o.action in MOVES and not o.batch]
    if len(moves) < 2:
        return found
    rest_of_found = [o for o in found if o not in moves]
    lead, rest = moves[0], tuple(moves[1:])
    effect = Effect(
        sum(o.effect.revenue_protected for o in moves),
        sum(o.effect.cost for o in moves),
        min(o.effect.days_gained for o in moves),
    )
    facts = tuple(dict.fromkeys(f for o in moves for f in o.facts))
    plan = replace(
        lead,
        summary=f"carry out the allocation plan: {len(moves)} moves — "
        + "; ".join(o.summary for o in moves),
        effect=effect,
        facts=facts,
        confidence=min(o.confidence for o in moves),
        amount=sum(o.amount for o in moves),
        below_margin_floor=any(o.below_margin_floor for o in moves),
        batch=rest,
    )
    return rank([plan, *rest_of_found])
