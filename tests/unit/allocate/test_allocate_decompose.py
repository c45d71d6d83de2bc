"""Independent pieces: lines join only through stock they could both take."""

from __future__ import annotations

import pytest
from allocate_builders import check_plan, lane, line, problem, stock

from unsnag.allocate import Capacity, Substitute, optimize, synthetic_problem
from unsnag.allocate.arcs import compile_problem
from unsnag.allocate.decompose import UnionFind, components


def groups(p) -> list[set[str]]:
    compiled = compile_problem(p)
    keys = [ln.key for ln in p.lines]
    return sorted(({keys[i] for i in g.tolist()} for g in components(compiled)), key=min)


def test_union_find_joins_and_finds():
    sets = UnionFind(5)
    sets.union(0, 1)
    sets.union(3, 4)
    sets.union(1, 4)
    assert len({sets.find(i) for i in range(5)}) == 2
    assert sets.find(0) == sets.find(3) != sets.find(2)


def test_lines_on_different_skus_are_separate_problems():
    p = problem([line("A", sku="S"), line("B", sku="S"), line("C", sku="T")],
                [stock(5, sku="S"), stock(5, sku="T")])  # fmt: skip
    assert groups(p) == [{"A/1", "B/1"}, {"C/1"}]


def test_an_accepted_substitute_joins_two_skus():
    p = problem(
        [line("A", sku="S"), line("C", sku="T")],
        [stock(5, sku="S"), stock(5, sku="T")],
        substitutes=(Substitute("S", "T"),),
    )
    assert groups(p) == [{"A/1", "C/1"}]


def test_a_substitute_the_customer_refuses_joins_nothing():
    p = problem(
        [line("A", sku="S"), line("C", sku="T")],
        [stock(5, sku="S"), stock(5, sku="T")],
        substitutes=(Substitute("S", "T", customers=frozenset({"someone else"})),),
    )
    assert groups(p) == [{"A/1"}, {"C/1"}]


def test_a_capped_node_joins_every_sku_it_ships():
    p = problem(
        [line("A", sku="S"), line("C", sku="T")],
        [stock(5, sku="S"), stock(5, sku="T")],
        capacities=(Capacity("dc-a", 6),),
    )
    assert groups(p) == [{"A/1", "C/1"}]
    plan = optimize(p)
    check_plan(p, plan)
    assert sum(lp.filled for lp in plan.lines) == 6


def test_lines_with_nothing_to_take_are_left_out():
    p = problem([line("A", sku="S"), line("B", sku="S", region="far")], [stock(5, sku="S")],
                lanes=[lane()])  # fmt: skip
    assert groups(p) == [{"A/1"}]


@pytest.mark.parametrize("seed", [1, 2])
def test_pieces_and_whole_agree_on_a_synthetic_instance(seed):
    p = synthetic_problem(300, 4, 60, seed)
    pieces = optimize(p, mip_rel_gap=0.0, explain=False)
    whole = optimize(p, mip_rel_gap=0.0, explain=False, decompose=False)
    assert pieces.components > 1 and whole.components == 1
    assert pieces.objective == pytest.approx(whole.objective, rel=1e-6)
    assert pieces.status == whole.status == "optimal"


def test_worker_processes_give_the_same_plan_as_one_process():
    p = synthetic_problem(300, 4, 40, 1)
    parallel = optimize(p, workers=2, explain=False)
    assert parallel.lines == optimize(p, explain=False).lines
