"""The seeded instances the benchmark runs on: reproducible, contested, realistic."""

from __future__ import annotations

from collections import defaultdict

from allocate_builders import check_plan

from unsnag.allocate import (
    greedy_fcfs,
    greedy_priority,
    optimize,
    spike_problem,
    synthetic_problem,
)
from unsnag.allocate.compare import compare


def test_the_same_seed_gives_the_same_instance_and_another_seed_another():
    assert synthetic_problem(200, 4, 50, 3) == synthetic_problem(200, 4, 50, 3)
    assert synthetic_problem(200, 4, 50, 3) != synthetic_problem(200, 4, 50, 4)
    assert spike_problem(5, 4, 1) == spike_problem(5, 4, 1)


def test_every_sku_is_contested_demand_is_1_3_to_2_times_supply():
    p = synthetic_problem(2000, 10, 100, 1)
    demand: dict[str, float] = defaultdict(float)
    free: dict[str, float] = defaultdict(float)
    for ln in p.lines:
        demand[ln.sku] += ln.qty
        free[ln.sku] -= ln.picked  # picked units sit in the stock but are not free
    for s in p.supply:
        free[s.sku] += s.qty
    ratios = [demand[k] / free[k] for k in demand if demand[k] >= 50]  # rounding aside
    assert len(p.lines) == 2000 and len({s.node_id for s in p.supply}) == 10
    assert ratios and all(1.29 <= r <= 2.02 for r in ratios)
    assert any(ln.picked for ln in p.lines)
    assert {s.source for s in p.supply} == {"on_hand", "in_transit", "po"}
    assert {ln.tier for ln in p.lines} == {"strategic", "gold", "silver", "standard"}
    assert p.substitutes and p.no_substitution


def test_a_spike_is_several_customers_each_wanting_most_of_one_nodes_stock():
    p = spike_problem(1, 4, 2)
    on_hand = {s.node_id: s.qty for s in p.supply if s.sku == "SPK-0000" and s.source == "on_hand"}
    biggest = max(on_hand.values())
    assert 3 <= len(p.lines) <= 5
    assert all(0.55 * biggest <= ln.qty <= 0.95 * biggest + 1 for ln in p.lines)


def test_all_three_methods_keep_the_invariants_on_a_synthetic_instance():
    p = synthetic_problem(400, 5, 40, 2)
    for plan in (optimize(p), greedy_fcfs(p), greedy_priority(p)):
        check_plan(p, plan)


def test_the_comparison_reports_one_yardstick_for_all_three():
    report = compare(synthetic_problem(300, 4, 40, 1), time_limit=10)
    assert list(report)[:6] == [
        "lines", "solve_s", "gap", "value", "greedy_fcfs_value", "greedy_priority_value",
    ]  # fmt: skip
    assert report["lines"] == 300 and report["gap"] <= 1e-3
    assert report["value"] >= report["greedy_priority_value"]
    assert report["value"] >= report["greedy_fcfs_value"]
