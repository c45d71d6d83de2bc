"""The conflict optimizer plans the whole contest: the SKU family at every DC, the
customers' substitution and ship-complete terms, lanes by region; its moves go out as one
batch, and a conflict is planned again when more orders join it."""

from __future__ import annotations

from typing import Any

from options_support import both, node, options_for

from builders import at, customer, default_policy, ev, order, product, run
from unsnag.policy import Policy, policy_from_mapping
from unsnag.resolve.options import conflict_milp
from unsnag.resolve.runner import Resolver

MAIN, SUB = "BRG-6204", "BRG-6205"


def failed(oid: str, sku: str, node_id: str, requested: float, available: float,
           hours: float = 1.0, line: str = "1") -> Any:  # fmt: skip
    data = {"order_id": oid, "line_id": line, "node_id": node_id, "sku": sku,
            "qty_requested": requested, "qty_available": available}  # fmt: skip
    return ev("allocation.failed", data, when=at(hours=hours))


def terms(oid: str, cid: str, sku: str, qty: float, price: float, **extra: Any) -> Any:
    return order(oid, cid, lines=[("1", sku, qty, price)], **extra)


def family_contest(*extra: Any) -> list[Any]:
    """dc-east is short of BRG-6204 for two orders; dc-west is short of it for a third;
    dc-east holds 8 of its substitute BRG-6205, dc-central 12 of the SKU itself."""
    return [
        node("dc-east", "east"), node("dc-west", "west"), node("dc-central", "central"),
        customer("C1", "standard", region="east"), customer("C2", "strategic", region="east"),
        customer("C3", "gold", region="west"),
        product(MAIN, substitutes=[SUB]), product(SUB),
        *both("dc-east", 0, MAIN), *both("dc-east", 8, SUB), *both("dc-west", 0, MAIN),
        *both("dc-central", 12, MAIN),
        *extra,
        terms("SO-1", "C1", MAIN, 8, 50.0, substitution="allowed"),
        terms("SO-2", "C2", MAIN, 6, 50.0, substitution="refused", ship_complete=True),
        terms("SO-3", "C3", MAIN, 10, 50.0, substitution="refused"),
        failed("SO-1", MAIN, "dc-east", 8, 0), failed("SO-2", MAIN, "dc-east", 6, 0),
        failed("SO-3", MAIN, "dc-west", 10, 0, hours=1.5),
    ]  # fmt: skip


def manual() -> Policy:
    data = default_policy().model_dump(mode="json")
    data["resolution"]["automation"]["enabled"] = False
    return policy_from_mapping(data)


def east_case(engine: Any) -> Any:
    [case] = [
        c for c in engine.cases() if c.type == "allocation.conflict" and c.key.startswith("dc-east")
    ]
    return case


def captured(events: list[Any]) -> list[Any]:
    problems: list[Any] = []
    solve = conflict_milp.optimize

    def recording(problem: Any, **kwargs: Any) -> Any:
        problems.append(problem)
        return solve(problem, **kwargs)

    conflict_milp.optimize = recording
    try:
        options_for("conflict", events, "allocation.conflict")
    finally:
        conflict_milp.optimize = solve
    return problems


def test_the_problem_spans_the_family_at_every_dc_with_each_customers_terms() -> None:
    problem = captured(family_contest())[-1]  # the engine planned when it opened, too
    keys = {line.key: line for line in problem.lines}
    assert set(keys) == {"SO-1/1", "SO-2/1", "SO-3/1"}  # dc-west's contender too
    assert keys["SO-2/1"].ship_complete and not keys["SO-1/1"].ship_complete
    assert keys["SO-3/1"].node_id == "dc-west"
    assert {(s.node_id, s.sku, s.qty) for s in problem.supply} == {
        ("dc-east", SUB, 8.0), ("dc-central", MAIN, 12.0)
    }  # fmt: skip
    assert [(s.sku, s.substitute) for s in problem.substitutes] == [(MAIN, SUB)]
    assert problem.no_substitution == frozenset({"C2", "C3"})
    lanes = {(lane.node_id, lane.region): lane for lane in problem.lanes}
    own, moved, far = (lanes[("dc-east", "SO-1/1")], lanes[("dc-west", "SO-1/1")],
                       lanes[("dc-central", "SO-3/1")])  # fmt: skip
    assert (own.cost_per_unit, own.transit_days) == (0.0, 0.0)
    assert moved.transit_days == 2.0 and far.transit_days == 2.0  # a DC away, another region
    assert moved.cost_per_unit > 0


def test_the_substitute_goes_to_the_customer_who_takes_it_and_the_moves_form_one_batch() -> None:
    options, _, _ = options_for("conflict", family_contest(), "allocation.conflict")
    lead = options[0]
    moves = lead.actions
    assert len(moves) == 2 and lead.batch
    by_order = {m.params["order_id"]: m for m in moves}
    assert by_order["SO-1"].action == "substitute" and by_order["SO-1"].params["sku"] == SUB
    assert by_order["SO-2"].action == "reallocate"
    assert by_order["SO-2"].params["to_node"] == "dc-central"
    assert lead.amount == 8 * 50.0 + 6 * 50.0  # the batch's total
    assert lead.confidence == min(m.confidence for m in moves)
    assert any(f.startswith("contest: 3 open lines on BRG-6204, BRG-6205") for f in lead.facts)
    assert lead.to_dict()["batch"][0]["action"] == lead.batch[0].action


def test_an_approved_batch_sends_every_move_under_one_approval() -> None:
    engine = run(family_contest(), manual())
    case = east_case(engine)
    work = case.work
    assert len(work.approvals) == 1  # one approval for the whole plan
    sent = [a for a in work.actions if a.kind in ("reallocate", "substitute")]
    assert not sent
    resolver: Resolver = engine.resolver
    resolver.emit_action(case, work.options[0], at(hours=2), "unsnag", "planner-1", False)
    sent = [a for a in work.actions if a.kind in ("reallocate", "substitute")]
    assert [(a.kind, a.params["order_id"]) for a in sent] == [
        (m.action, m.params["order_id"]) for m in work.options[0].actions
    ]
    assert all(a.approved_by == "planner-1" for a in sent)
    outbox, _ = engine.take_effects()
    assert len([o for o in outbox if o.kind in ("reallocate", "substitute")]) == 2


def test_a_later_contender_joining_the_conflict_replans_it() -> None:
    later = [
        customer("C4", "gold", region="east"),
        terms("SO-4", "C4", MAIN, 5, 80.0, when=at(hours=2)),
        failed("SO-4", MAIN, "dc-east", 5, 0, hours=2.5),
    ]
    engine = run([*family_contest(), *later], manual())
    case = east_case(engine)
    work = case.work
    assert work.replans == 1 and "SO-4" in work.planned_for
    assert [a.status for a in work.approvals] == ["withdrawn", "pending"]
    planned = {m.params["order_id"] for m in work.options[0].actions}
    assert "SO-4" in planned or any("SO-4" in f for f in work.options[0].facts)


def test_without_a_new_order_an_update_does_not_replan() -> None:
    again = failed("SO-1", MAIN, "dc-east", 8, 0, hours=2)
    engine = run([*family_contest(), again], manual())
    case = east_case(engine)
    assert case.work.replans == 0
