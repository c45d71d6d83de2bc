"""Empty, broken and infeasible input: a clear message, never a trace."""

from __future__ import annotations

import pytest
from allocate_builders import check_plan, fills, lane, line, problem, stock

from unsnag.allocate import (
    InvalidProblem,
    Substitute,
    Supply,
    greedy_fcfs,
    greedy_priority,
    optimize,
)
from unsnag.errors import ContractViolation, UnsnagError

METHODS = (optimize, greedy_fcfs, greedy_priority)


@pytest.mark.parametrize("method", METHODS)
def test_no_lines_give_an_empty_plan_that_says_so(method):
    plan = method(problem([], [stock(5)]))
    assert plan.lines == () and plan.value == 0
    assert plan.status == "empty"
    assert plan.messages == ("nothing to allocate: the problem has no order lines",)


@pytest.mark.parametrize("method", METHODS)
def test_no_stock_at_all_gives_nothing_and_says_why(method):
    plan = method(problem([line("A", qty=3)], []))
    assert fills(plan) == {"A/1": 0}
    assert plan.lines[0].explanation == (
        "no free stock of A or an accepted substitute at any node with a lane to r",
    )


def test_a_line_without_a_lane_to_its_region_gets_nothing():
    p = problem([line("A", qty=3, region="far")], [stock(5)])
    plan = optimize(p)
    assert fills(plan) == {"A/1": 0}
    assert "lane to far" in plan.lines[0].explanation[0]


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        (line("A", qty=-1), "lines.0.qty"),
        (line("A", qty=float("nan")), "lines.0.qty"),
        (line("A", min_fill=1.5), "lines.0.min_fill"),
        (line("A", qty=2, picked=3, node_id="dc-a"), "lines.0.picked"),
        (line("A", picked=1), "lines.0"),
    ],
)
@pytest.mark.parametrize("method", METHODS)
def test_a_broken_line_is_refused_naming_the_field(method, broken, field):
    with pytest.raises(InvalidProblem) as caught:
        method(problem([broken], [stock(5)]))
    assert caught.value.field == field
    assert isinstance(caught.value, ContractViolation | UnsnagError)
    assert str(caught.value).startswith(field)


def test_a_line_listed_twice_is_refused():
    with pytest.raises(InvalidProblem, match="appears twice"):
        optimize(problem([line("A"), line("A")], [stock(5)]))


def test_an_unknown_source_and_a_negative_stock_are_refused():
    bad_source = Supply("dc-a", "A", 1.0, "teleport")  # type: ignore[arg-type]
    with pytest.raises(InvalidProblem, match="unknown source 'teleport'"):
        optimize(problem([line("A")], [bad_source]))
    with pytest.raises(InvalidProblem, match=r"supply\.0\.qty: -2 is negative"):
        optimize(problem([line("A")], [stock(-2)]))


def test_a_minimum_out_of_reach_is_reported_and_the_rest_still_planned():
    # A must get all of 10 but only 5 exist: the plan gives it the 5 and says so.
    p = problem([line("A", qty=10, min_fill=1.0), line("B", qty=5, value=9)], [stock(5)])
    for method in METHODS:
        plan = method(p)
        check_plan(p, plan)
        assert fills(plan)["A/1"] == 5
        assert plan.lines[0].min_fill_met is False
        assert plan.messages == (
            "A/1: contractual minimum of 10 cannot be met: only 5 of A or accepted "
            "substitutes is reachable",
        )


def test_a_ship_complete_minimum_out_of_reach_ships_nothing_and_says_so():
    p = problem([line("A", qty=10, min_fill=0.5, ship_complete=True)], [stock(5)])
    plan = optimize(p)
    assert fills(plan) == {"A/1": 0}
    assert plan.messages[0].endswith("(ship-complete: all or nothing)")
    assert "needs 10 but only 5 can reach it" in plan.lines[0].explanation[1]


def test_minimums_that_cannot_all_be_met_together_keep_the_shortfall_least():
    # Each of A and B alone could get its 8, together they cannot: 6 units short at
    # least. The optimizer keeps the shortfall at 6 and, within that, serves value
    # (B at 5/unit before A at 1/unit); the message names the line left short.
    p = problem(
        [line("A", qty=8, value=1, min_fill=1.0), line("B", qty=8, value=5, min_fill=1.0)],
        [stock(10)],
    )
    plan = optimize(p)
    check_plan(p, plan)
    assert fills(plan) == {"A/1": 2, "B/1": 8}
    assert plan.status == "optimal"
    assert plan.messages == (
        "A/1: contractual minimum of 8 not met (gets 2): the stock it can reach is needed "
        "for other lines' minimums",
    )


def test_ship_complete_minimums_that_collide_ship_one_of_them_in_full():
    lines = [
        line("A", qty=6, value=1, min_fill=1.0, ship_complete=True),
        line("B", qty=6, value=2, min_fill=1.0, ship_complete=True),
        line("C", qty=4, value=3),
    ]
    p = problem(lines, [stock(10)])
    plan = optimize(p, mip_rel_gap=0.0)
    check_plan(p, plan)
    assert fills(plan) == {"A/1": 0, "B/1": 6, "C/1": 4}
    assert len(plan.messages) == 1 and plan.messages[0].startswith("A/1")


def test_a_substitute_rule_for_a_sku_nobody_stocks_is_harmless():
    p = problem([line("A")], [stock(5)], substitutes=(Substitute("A", "GHOST"),))
    assert fills(optimize(p)) == {"A/1": 5}


def test_a_time_limit_that_leaves_no_time_still_returns_a_complete_plan():
    p = problem([line("A", qty=3), line("B", qty=4, ship_complete=True)], [stock(5)])
    plan = optimize(p, time_limit=0.0)
    check_plan(p, plan)
    assert plan.status == "time_limit"
    assert plan.messages == (
        "time limit of 0 s reached: 1 of 1 components were not solved and are served by "
        "priority greedy",
    )
    assert fills(plan) == fills(greedy_priority(p))
    assert plan.bound == 7 and plan.gap == pytest.approx(4 / 7)


def test_lanes_to_unknown_nodes_and_regions_are_ignored():
    lanes = [lane(), lane("dc-nowhere", "nowhere")]
    assert fills(optimize(problem([line("A")], [stock(5)], lanes=lanes))) == {"A/1": 5}
