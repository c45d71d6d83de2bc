"""Invariants over random small problems: every plan — optimizer and both greedy
baselines — keeps to the stock per node, SKU and source, never touches picked units,
ships ship-complete lines whole or not at all, and meets the contractual minimums
whenever they can be met; the optimizer is never beaten by a rule that keeps them."""

from __future__ import annotations

import os
from datetime import timedelta

from allocate_builders import AS_OF, check_plan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unsnag.allocate import (
    AllocationProblem,
    Capacity,
    Lane,
    Line,
    Substitute,
    Supply,
    Weights,
    greedy_fcfs,
    greedy_priority,
    optimize,
)
from unsnag.allocate.arcs import required_units

NODES = ("n0", "n1", "n2")
SKUS = ("S0", "S1", "S2")
REGIONS = ("r0", "r1")
SETTINGS = settings(
    max_examples=int(os.environ.get("ALLOCATE_EXAMPLES", "60")),  # more for a soak run
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def supplies(draw):
    source = draw(st.sampled_from(("on_hand", "in_transit", "po")))
    eta = None if source == "on_hand" else AS_OF + timedelta(days=draw(st.integers(0, 8)))
    return Supply(
        draw(st.sampled_from(NODES)),
        draw(st.sampled_from(SKUS)),
        float(draw(st.integers(0, 12))),
        source,
        eta,
    )


@st.composite
def lines(draw, n: int):
    qty = float(draw(st.integers(1, 12)))
    promise = draw(st.none() | st.integers(0, 8))
    return Line(
        order_id=f"SO-{n}",
        line_id="1",
        customer_id=f"C{draw(st.integers(0, 3))}",
        sku=draw(st.sampled_from(SKUS)),
        qty=qty,
        region=draw(st.sampled_from(REGIONS)),
        created_at=AS_OF - timedelta(hours=draw(st.integers(0, 48))),
        unit_price=float(draw(st.integers(0, 50))),
        unit_margin=float(draw(st.integers(-2, 20))),
        tier_weight=float(draw(st.sampled_from((1, 1.5, 2, 3)))),
        min_fill=draw(st.sampled_from((0.0, 0.0, 0.5, 1.0))),
        promise=None if promise is None else AS_OF + timedelta(days=promise),
        ship_complete=draw(st.booleans()),
    )


@st.composite
def problems(draw, feasible: bool = False):
    """Random problems; ``feasible``: every node reaches every region, no capacities,
    and each SKU's on-hand stock covers its lines' minimums, so every method can keep
    them (serving a line's own SKU first, as all three do)."""
    if feasible:
        lanes = [Lane(n, r, 0.5 * i, float(i)) for i, (n, r) in
                 enumerate((n, r) for n in NODES for r in REGIONS)]  # fmt: skip
    else:
        pairs = draw(st.sets(st.tuples(st.sampled_from(NODES), st.sampled_from(REGIONS))))
        lanes = [Lane(n, r, draw(st.integers(0, 3)), draw(st.integers(0, 3))) for n, r in pairs]
    supply = draw(st.lists(supplies(), max_size=8))
    demand = [draw(lines(i)) for i in range(draw(st.integers(1, 7)))]
    demand, supply = _pick(draw, demand, supply)
    if feasible:
        supply += _cover_minimums(demand)
    subs = draw(st.lists(st.tuples(st.sampled_from(SKUS), st.sampled_from(SKUS)), max_size=3))
    rules = [
        Substitute(a, b, draw(st.sampled_from((0.8, 1.0))),
                   draw(st.none() | st.just(frozenset({"C0", "C1"}))))
        for a, b in subs
    ]  # fmt: skip
    capacity = st.builds(Capacity, st.sampled_from(NODES), st.integers(0, 15))
    caps = [] if feasible else draw(st.lists(capacity, max_size=1))
    return AllocationProblem(
        as_of=AS_OF, lines=tuple(demand), supply=tuple(supply), lanes=tuple(lanes),
        substitutes=tuple(rules), capacities=tuple(caps),
        no_substitution=frozenset({"C3"}), weights=Weights(lateness_per_day=0.05),
    )  # fmt: skip


def _pick(draw, demand, supply):
    """Some partial lines already hold picked units, physically on hand at a node."""
    out = []
    for ln in demand:
        if not ln.ship_complete and ln.qty >= 2 and draw(st.booleans()):
            held = float(draw(st.integers(1, int(ln.qty) - 1)))
            node = draw(st.sampled_from(NODES))
            supply = [*supply, Supply(node, ln.sku, held)]
            ln = Line(**{**_fields(ln), "picked": held, "node_id": node})
        out.append(ln)
    return out, supply


def _fields(ln: Line) -> dict:
    return {name: getattr(ln, name) for name in Line.__slots__}


def _cover_minimums(demand):
    need: dict[str, float] = {}
    for ln in demand:
        need[ln.sku] = need.get(ln.sku, 0.0) + max(0.0, required_units(ln) - ln.picked)
    return [Supply("n0", sku, qty) for sku, qty in need.items() if qty > 0]


@SETTINGS
@given(problems())
def test_every_plan_keeps_stock_picked_units_and_ship_complete(p):
    for plan in (optimize(p), greedy_fcfs(p), greedy_priority(p)):
        check_plan(p, plan)
        assert len(plan.lines) == len(p.lines)
        units = [a.qty for lp in plan.lines for a in lp.assignments]
        assert all(abs(q - round(q)) <= 1e-9 for q in units), "whole units in, whole out"


@SETTINGS
@given(problems(feasible=True))
def test_minimums_that_can_be_met_are_met_by_every_method(p):
    for plan in (optimize(p), greedy_fcfs(p), greedy_priority(p)):
        check_plan(p, plan)
        assert all(lp.min_fill_met for lp in plan.lines), plan.messages
        assert plan.messages == ()


@SETTINGS
@given(problems(feasible=True))
def test_the_optimizer_is_never_beaten_by_either_greedy_rule(p):
    best = optimize(p, mip_rel_gap=0.0)
    assert best.status == "optimal"
    for baseline in (greedy_fcfs(p), greedy_priority(p)):
        assert best.value >= baseline.value - 1e-6 * max(1.0, abs(best.value))


@SETTINGS
@given(problems())
def test_solving_the_pieces_gives_the_objective_of_solving_the_whole(p):
    pieces = optimize(p, mip_rel_gap=0.0)
    whole = optimize(p, mip_rel_gap=0.0, decompose=False)
    assert abs(pieces.objective - whole.objective) <= 1e-6 * max(1.0, abs(whole.objective))
    assert abs(pieces.value - pieces.objective) <= 1e-6 * max(1.0, abs(pieces.value))


@SETTINGS
@given(problems())
def test_the_same_problem_always_gets_the_same_plan(p):
    first, second = optimize(p), optimize(p)
    assert first.lines == second.lines
    assert (first.objective, first.bound, first.status, first.messages) == (
        second.objective, second.bound, second.status, second.messages,
    )  # fmt: skip
