"""What if: the same events under two policies, and the difference between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from builders import at, default_policy, ev, master, order, policy_with
from unsnag.intel.backtest import compare, replay_both, run_backtest
from unsnag.policy import Policy, load_policy, policy_from_mapping
from unsnag.replay import run_replay

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample-events.jsonl"


def short_pick(oid: str, qty_short: float, hours: float = 4):
    data = {"order_id": oid, "line_id": "1", "node_id": "dc-east",
            "qty_picked": 10 - qty_short, "qty_short": qty_short}  # fmt: skip
    return ev("pick.short", data, when=at(hours=hours))


def rest_picked(oid: str, qty: float, hours: float = 7):
    data = {"order_id": oid, "line_id": "1", "node_id": "dc-east", "qty_picked": qty}
    return ev("pick.confirmed", data, when=at(hours=hours))


def shorts_scenario():
    """Three orders short-picked by 3, 7 and 2 units; the rest picked three hours later."""
    events = [*master()]
    for oid, qty in (("SO-1", 3), ("SO-2", 7), ("SO-3", 2)):
        events += [order(oid), short_pick(oid, qty)]
    for oid, qty in (("SO-1", 3), ("SO-2", 7), ("SO-3", 2)):
        events.append(rest_picked(oid, qty))
    return events


def policy_changed(change: dict[str, Any], version: str = "2") -> Policy:
    data = load_policy().model_dump(mode="json")
    for name, value in change.items():
        data["types"][name].update(value)
    data["version"] = version
    return policy_from_mapping(data)


def backtest(events, a: Policy, b: Policy) -> dict[str, Any]:
    run = replay_both(events, a, b)
    return compare([c.to_dict() for c in run.a.cases()], [c.to_dict() for c in run.b.cases()])


def by_type(report: dict[str, Any], code: str) -> dict[str, Any]:
    return next(row for row in report["by_type"] if row["type"] == code)


def team(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(row for row in report["workload"]["teams"] if row["team"] == name)


def test_a_backtest_of_the_same_policy_shows_no_difference():
    policy = default_policy()
    _, report = run_backtest(SAMPLE, policy, policy)
    assert report["identical"] and report["differences"] == 0
    assert report["only_a"] == report["only_b"] == 0
    assert report["matched"] == report["totals"]["a"]["cases"] > 0
    assert report["totals"]["a"] == report["totals"]["b"]
    assert all(row["a"] == row["b"] == row["both"] for row in report["by_type"])
    assert report["priority"]["changed"] == 0 and report["teams"]["moves"] == []
    assert all(t["delta"] == 0 for t in report["workload"]["teams"])


def test_each_side_sees_exactly_what_a_replay_under_its_policy_sees():
    tighter = policy_with(pick_short={"min_qty": 5})
    run, _ = run_backtest(SAMPLE, default_policy(), tighter)
    alone = run_replay(SAMPLE, tighter).engine.cases()
    assert [c.to_dict() for c in run.b.cases()] == [c.to_dict() for c in alone]


def test_a_policy_with_a_tighter_tolerance_opens_more_cases_of_that_type():
    current = policy_with(pick_short={"min_qty": 5})  # shorts under 5 units are noise
    report = backtest(shorts_scenario(), current, default_policy())
    row = by_type(report, "pick.short")
    assert (row["a"], row["b"], row["both"], row["only_a"], row["only_b"]) == (1, 3, 1, 0, 2)
    assert report["totals"]["b"]["cases"] - report["totals"]["a"]["cases"] == 2
    assert team(report, "warehouse")["delta"] == 2
    assert not report["identical"]


def test_a_routing_change_moves_the_workload_to_another_team():
    rerouted = policy_changed({"pick.short": {"owner_team": "logistics"}})
    report = backtest(shorts_scenario(), default_policy(), rerouted)
    assert report["teams"]["moves"] == [{"from": "warehouse", "to": "logistics", "cases": 3}]
    warehouse, logistics = team(report, "warehouse"), team(report, "logistics")
    assert (warehouse["a"], warehouse["b"], logistics["a"], logistics["b"]) == (3, 0, 0, 3)
    assert logistics["by_day"] == {"2026-05-04": [0, 3]}
    assert report["only_a"] == report["only_b"] == 0


def test_a_tighter_sla_changes_attainment():
    # Shorts open at 07:00 in the DC's time zone and are resolved three business hours
    # later: within the default 4 h, past a 2 h target.
    tighter = policy_changed({"pick.short": {"sla_hours": {"default": 2}}})
    report = backtest(shorts_scenario(), default_policy(), tighter)
    assert report["totals"]["a"]["sla_attainment"] == 1.0
    assert report["totals"]["b"]["sla_attainment"] == 0.0
    assert report["changes"]["sla_outcome"] == report["changes"]["due_at"] == 3
    row = by_type(report, "pick.short")
    assert (row["sla_attainment_a"], row["sla_attainment_b"]) == (1.0, 0.0)
    assert report["totals"]["a"]["touchless_rate"] == report["totals"]["b"]["touchless_rate"]


def case(cid: str, opened: str, priority: float = 40.0, **extra: Any) -> dict[str, Any]:
    base = {"id": cid, "type": "pick.short", "key": "SO-1/1", "subject": "SO-1",
            "status": "resolved", "priority": priority, "owner_team": "warehouse",
            "opened_at": opened, "due_at": None, "closed_at": None, "work": None}  # fmt: skip
    return {**base, **extra}


def test_cases_are_matched_by_type_key_and_episode():
    a = [case("x1", "2026-05-04T10:00:00Z"), case("x2", "2026-05-05T10:00:00Z")]
    b = [case("y1", "2026-05-04T10:00:00Z")]  # the problem came back only under A
    report = compare(a, b)
    assert (report["matched"], report["only_a"], report["only_b"]) == (1, 1, 0)


def test_priority_changes_count_the_crossings_of_each_threshold():
    a = [case("c1", "2026-05-04T10:00:00Z", 45.0),
         case("c2", "2026-05-04T11:00:00Z", 80.0, key="SO-2/1")]  # fmt: skip
    b = [case("c1", "2026-05-04T10:00:00Z", 55.5),
         case("c2", "2026-05-04T11:00:00Z", 70.0, key="SO-2/1")]  # fmt: skip
    priority = compare(a, b, thresholds=(50.0, 75.0))["priority"]
    assert priority["changed"] == 2
    assert priority["mean_delta"] == 0.25
    assert priority["max_delta"]["delta"] == 10.5 and priority["max_delta"]["case_id"] == "c1"
    assert priority["crossings"] == [
        {"threshold": 50.0, "up": 1, "down": 0},
        {"threshold": 75.0, "up": 0, "down": 1},
    ]
