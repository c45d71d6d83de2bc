"""Small problems whose best plan is worked out by hand, against the optimizer and the
two ERP rules."""

from __future__ import annotations

import pytest
from allocate_builders import check_plan, fills, lane, line, problem, stock

from unsnag.allocate import (
    Capacity,
    Substitute,
    Weights,
    greedy_fcfs,
    greedy_priority,
    optimize,
)


def solve_all(p):
    plans = optimize(p, mip_rel_gap=0.0), greedy_fcfs(p), greedy_priority(p)
    for plan in plans:
        check_plan(p, plan)
    return plans


def test_scarce_stock_goes_to_the_line_worth_more_per_unit():
    # 10 units; A is worth 5/unit and wants 8, B (first in) 3/unit and wants 6.
    # Best: A 8, B 2 = 40 + 6 = 46. FCFS serves B first: B 6, A 4 = 18 + 20 = 38.
    p = problem([line("A", qty=8, value=5), line("B", qty=6, value=3, hours_ago=5)], [stock(10)])
    best, fcfs, _ = solve_all(p)
    assert fills(best) == {"A/1": 8, "B/1": 2}
    assert best.value == pytest.approx(46)
    assert best.status == "optimal" and best.gap == pytest.approx(0, abs=1e-9)
    assert fills(fcfs) == {"A/1": 4, "B/1": 6}
    assert fcfs.value == pytest.approx(38)


def test_ship_complete_lines_are_packed_like_a_knapsack():
    # 10 units. Ship-complete X: 6 at 10/unit (60); ship-complete Y (strategic): 7 at
    # 9/unit (63); partial Z: 5 at 6/unit. X + Z(4) = 84 beats Y + Z(3) = 81.
    lines = [
        line("X", qty=6, value=10, ship_complete=True),
        line("Y", qty=7, value=3, tier="strategic", tier_weight=3.0, ship_complete=True),
        line("Z", qty=5, value=6),
    ]
    best, _, priority = solve_all(problem(lines, [stock(10)]))
    assert fills(best) == {"X/1": 6, "Y/1": 0, "Z/1": 4}
    assert best.value == pytest.approx(84)
    assert fills(priority) == {"X/1": 0, "Y/1": 7, "Z/1": 3}
    assert priority.value == pytest.approx(81)


def test_the_customer_who_accepts_a_substitute_leaves_the_original_to_one_who_does_not():
    # S and T both 5 units; X (gold) accepts T at 90 % of 10/unit, Y refuses substitutes.
    # Best: Y gets S (5 × 8 = 40), X gets T (5 × 9 = 45) = 85. Priority: X takes S, Y nothing.
    lines = [
        line("X", sku="S", qty=5, value=5, tier="gold", tier_weight=2.0),
        line("Y", sku="S", qty=5, value=8),
    ]
    p = problem(
        lines,
        [stock(5, sku="S"), stock(5, sku="T")],
        substitutes=(Substitute("S", "T", 0.9),),
        no_substitution=frozenset({"C-Y"}),
    )
    best, _, priority = solve_all(p)
    assert fills(best) == {"X/1": 5, "Y/1": 5}
    assert {a.sku for a in best.lines[0].assignments} == {"T"}
    assert best.value == pytest.approx(85)
    assert fills(priority) == {"X/1": 5, "Y/1": 0}
    assert priority.value == pytest.approx(50)


def test_stock_in_transit_goes_to_the_line_whose_promise_can_wait():
    # 5 on hand now, 5 in transit arriving in 3 days, 1 day of lane. P is promised
    # tomorrow, Q in 10 days; both 10/unit, lateness 5 % of value per day.
    # Best: P on hand, Q in transit: 100, nothing late. FCFS (Q first): Q takes the stock
    # on hand, P waits for the transfer and arrives 3 days late: 100 - 5 × 10 × 0.05 × 3.
    weights = Weights(margin=1.0, revenue=0.0, lateness_per_day=0.05)
    lines = [
        line("P", qty=5, value=10, promise_days=1),
        line("Q", qty=5, value=10, promise_days=10, hours_ago=9),
    ]
    supply = [stock(5), stock(5, source="in_transit", eta_days=3)]
    p = problem(lines, supply, lanes=[lane(days=1)], weights=weights)
    best, fcfs, _ = solve_all(p)
    assert best.value == pytest.approx(100)
    assert best.lines[0].assignments[0].source == "on_hand"
    assert best.lines[1].assignments[0].source == "in_transit"
    assert fcfs.value == pytest.approx(92.5)
    assert fcfs.lines[0].lateness_cost == pytest.approx(7.5)


def test_the_nearer_node_goes_to_the_line_that_has_no_other():
    # 5 units at each node. X (region e) has lanes from dc-e (1/unit) and dc-w (2/unit);
    # Y (region w) only from dc-e (3/unit). Best: X from dc-w, Y from dc-e = 100 - 25.
    lanes = [lane("dc-e", "e", 1.0), lane("dc-w", "e", 2.0), lane("dc-e", "w", 3.0)]
    lines = [line("X", qty=5, value=10, region="e"), line("Y", qty=5, value=10, region="w")]
    p = problem(lines, [stock(5, node="dc-e"), stock(5, node="dc-w")], lanes=lanes)
    best, fcfs, _ = solve_all(p)
    assert fills(best) == {"X/1": 5, "Y/1": 5}
    assert best.value == pytest.approx(100 - 10 - 15)
    assert fills(fcfs) == {"X/1": 5, "Y/1": 0}  # X came first and took the cheap lane


def test_a_contractual_minimum_outranks_value():
    # 10 units; A must get 80 % of 10 though it earns 1/unit; B earns 5/unit.
    lines = [line("A", qty=10, value=1, min_fill=0.8), line("B", qty=10, value=5)]
    best, fcfs, priority = solve_all(problem(lines, [stock(10)]))
    for plan in (best, fcfs, priority):
        assert fills(plan)["A/1"] >= 8
        assert all(lp.min_fill_met for lp in plan.lines)
    assert best.value == pytest.approx(8 + 10)


def test_picked_stock_is_never_given_to_another_line():
    # 5 on hand at dc-a, 4 of them already picked for A (qty 6). B is worth far more
    # but can only get the one free unit.
    lines = [line("A", qty=6, value=1, picked=4, node_id="dc-a"), line("B", qty=5, value=50)]
    best, fcfs, priority = solve_all(problem(lines, [stock(5)]))
    assert fills(best) == {"A/1": 4, "B/1": 1}
    assert fills(fcfs) == fills(priority) == {"A/1": 5, "B/1": 0}  # A came first
    for plan in (best, fcfs, priority):
        assert plan.lines[0].assignments[0].picked
        assert plan.lines[0].assignments[0].qty == 4


def test_node_capacity_limits_what_leaves_it():
    # 10 units at each of two nodes but dc-a may ship only 3; the lane from dc-b costs 1.
    lanes = [lane("dc-a"), lane("dc-b", cost=1.0)]
    p = problem(
        [line("A", qty=8, value=10)],
        [stock(10, node="dc-a"), stock(10, node="dc-b")],
        lanes=lanes,
        capacities=(Capacity("dc-a", 3),),
    )
    best, *_ = solve_all(p)
    by_node = {a.node_id: a.qty for a in best.lines[0].assignments}
    assert by_node == {"dc-a": 3, "dc-b": 5}
    assert best.value == pytest.approx(80 - 5)


def test_a_line_that_costs_more_to_deliver_than_it_is_worth_is_left_unfilled():
    p = problem([line("A", qty=4, value=2)], [stock(4)], lanes=[lane(cost=3.0)])
    best, fcfs, _ = solve_all(p)
    assert fills(best) == {"A/1": 0} and best.value == 0
    assert fills(fcfs) == {"A/1": 4} and fcfs.value == pytest.approx(-4)
    assert any("would cost 3.00/unit" in s for s in best.lines[0].explanation)


def test_default_weights_value_margin_and_a_tenth_of_revenue():
    p = problem([line("A", qty=2, value=10, unit_price=100)], [stock(2)], weights=Weights())
    assert optimize(p).value == pytest.approx(2 * (10 + 0.1 * 100))
