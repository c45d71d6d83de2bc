"""Every line says why it got what it got: the binding constraint, the line that
outranked it, and what the alternative would cost."""

from __future__ import annotations

from allocate_builders import lane, line, problem, stock

from unsnag.allocate import Capacity, greedy_fcfs, optimize

CONTESTED = problem(
    [line("A", qty=8, value=5), line("B", qty=6, value=3, hours_ago=5)], [stock(10)]
)


def why(plan, key):
    return next(lp.explanation for lp in plan.lines if lp.key == key)


def test_a_short_line_names_the_binding_stock_the_rival_and_the_price_of_switching():
    assert why(optimize(CONTESTED), "B/1") == (
        "filled 2 of 6: 2 A at dc-a (on_hand)",
        "binding: stock — A at dc-a (on_hand) is all allocated",
        "outranked by A/1 (standard), holding 8 there at 5.00/unit against 3.00/unit here",
        "cost of the alternative: moving a unit from A/1 to this line would lose 2.00",
    )
    assert why(optimize(CONTESTED), "A/1") == ("filled in full: 8 A at dc-a (on_hand)",)


def test_a_greedy_plan_explains_what_its_rule_gave_away():
    assert why(greedy_fcfs(CONTESTED), "A/1")[2:] == (
        "outranked by B/1 (standard), holding 6 there at 3.00/unit against 5.00/unit here",
        "cost of the alternative: moving a unit from B/1 to this line would gain 2.00",
    )


def test_a_ship_complete_line_weighs_its_whole_quantity_against_what_it_displaces():
    lines = [
        line("X", qty=6, value=10, ship_complete=True),
        line("Y", qty=7, value=3, tier="strategic", tier_weight=3.0, ship_complete=True),
        line("Z", qty=5, value=6),
    ]
    plan = optimize(problem(lines, [stock(10)]))
    assert why(plan, "Y/1")[1] == "ship-complete: all 7 or nothing"
    assert why(plan, "Y/1")[-1] == (
        "cost of the alternative: shipping 7 here would displace Z/1, X/1 (ship-complete, "
        "all 6), worth 84.00, for 63.00 here: lose 21.00"
    )
    assert why(plan, "Z/1")[-1] == (
        "cost of the alternative: moving a unit from X/1 (ship-complete, all 6) to this line "
        "would lose 54.00"
    )


def test_a_used_up_capacity_is_named_as_the_binding_constraint():
    p = problem(
        [line("A", qty=8, value=10), line("B", qty=8, value=1)],
        [stock(5, node="dc-a"), stock(10, node="dc-b")],
        lanes=[lane("dc-a"), lane("dc-b", cost=0.5)],
        capacities=(Capacity("dc-a", 3), Capacity("dc-b", 6)),
    )
    assert why(optimize(p), "B/1")[1] == "binding: capacity of dc-a is used up"


def test_a_filled_line_prices_its_next_best_source():
    p = problem(
        [line("A", qty=5, value=10)],
        [stock(5, node="dc-a"), stock(5, node="dc-b")],
        lanes=[lane("dc-a", cost=1.0), lane("dc-b", cost=2.5)],
    )
    assert why(optimize(p), "A/1") == (
        "filled in full: 5 A at dc-a (on_hand)",
        "alternative: A at dc-b (on_hand) would be worth 1.50/unit less",
    )


def test_arriving_stock_shows_its_source_and_eta_and_picked_lines_say_so():
    p = problem(
        [line("A", qty=4, value=10), line("B", qty=2, picked=2, node_id="dc-a")],
        [stock(2), stock(4, source="po", eta_days=3)],
    )
    plan = optimize(p)
    assert why(plan, "A/1") == ("filled in full: 4 A at dc-a (po, ETA 2026-05-14)",)
    assert why(plan, "B/1") == ("already picked in full at dc-a",)


def test_explanations_can_be_skipped_for_speed():
    assert all(lp.explanation == () for lp in optimize(CONTESTED, explain=False).lines)
