"""The closed loop: the engine's playbooks resolve the twin's exceptions through the twin
connector, and simulated people work what the policy leaves to them."""

from __future__ import annotations

from functools import cache

from unsnag.policy import load_policy
from unsnag.twin.config import TwinConfig
from unsnag.twin.loop import LoopResult, run_loop
from unsnag.twin.outcome import summarise


@cache
def loop(automation: bool) -> LoopResult:
    return run_loop(TwinConfig(), load_policy(), 3, 300, 11, automation=automation)


def test_automation_resolves_more_cases_without_a_person_than_people_alone():
    policy = load_policy()
    auto = summarise(loop(True).cases, policy)["eligible"]
    manual = summarise(loop(False).cases, policy)["eligible"]
    assert auto["touchless_rate"] > manual["touchless_rate"]
    assert auto["touches_per_case"] < manual["touches_per_case"]
    assert manual["touchless_rate"] < 0.5 < auto["automatic_rate"]


def test_held_orders_are_released_by_an_action_the_twin_confirms():
    holds = [c for c in loop(True).cases if c.type == "credit.hold"]
    assert holds and all(c.status == "resolved" for c in holds)
    released = [c for c in holds if any(a.kind == "release_hold" and a.status == "delivered"
                                        for a in c.work.actions)]  # fmt: skip
    assert len(released) >= len(holds) * 0.8
    assert {c.resolution for c in released} == {"credit hold released"}


def test_duplicates_are_cancelled_touchless_and_fast():
    duplicates = [c for c in loop(True).cases if c.type == "order.duplicate"]
    assert duplicates
    assert sum(c.work.touchless for c in duplicates) >= len(duplicates) * 0.8
    assert all(c.closed_at is not None for c in duplicates)


def test_people_approve_in_the_manual_baseline():
    cases = loop(False).cases
    approved = [a for c in cases for a in c.work.approvals if a.status == "approved"]
    assert approved and all(a.decided_by and a.decided_by != a.requested_by for a in approved)
    assert not any(a.automatic for c in cases for a in c.work.actions if a.kind != "notify")


def test_the_loop_is_deterministic_per_seed():
    again = run_loop(TwinConfig(), load_policy(), 3, 300, 11, automation=True)
    first = loop(True)
    assert [(c.id, c.status, c.closed_at) for c in again.cases] == [
        (c.id, c.status, c.closed_at) for c in first.cases
    ]
