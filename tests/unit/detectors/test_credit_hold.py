import pytest

from builders import at, cases_of, default_policy, ev, master, order, policy_with, run
from unsnag.engine import Engine

LATER = at(hours=6)  # run() advances to the last event; grace timers need time to pass


def held(minutes=0.0, code="credit", oid="SO-1", **extra):
    data = {"order_id": oid, "hold_code": code, "reason": "over limit", **extra}
    return ev("order.held", data, when=at(minutes=minutes))


def released(minutes, code="credit", oid="SO-1"):
    data = {"order_id": oid}
    if code:
        data["hold_code"] = code
    return ev("order.released", data, when=at(minutes=minutes))


def finance_hold(minutes=0.0, oid="SO-1", exposure=12500.0):
    data = {"customer_id": "C1", "order_id": oid, "reason": "past due", "exposure": exposure}
    return ev("credit.hold_applied", data, when=at(minutes=minutes))


def finance_release(minutes, oid="SO-1"):
    return ev(
        "credit.hold_released", {"customer_id": "C1", "order_id": oid}, when=at(minutes=minutes)
    )


def picked(minutes):
    data = {"order_id": "SO-1", "line_id": "1", "node_id": "dc-east", "qty_picked": 4}
    return ev("pick.confirmed", data, when=at(minutes=minutes))


def test_a_hold_not_released_within_the_grace_opens_a_case_at_the_grace_end():
    engine = run([*master(), order(), held(10)], until=LATER)
    [case] = cases_of(engine, "credit.hold")
    assert case["subject"] == "SO-1"
    assert case["key"] == "SO-1"
    assert case["refs"] == {"customer_id": "C1", "order_id": "SO-1"}
    assert case["owner_team"] == "finance"
    assert case["opened_at"] == "2026-05-04T08:40:00Z"
    assert case["root_cause"] == "credit_hold"
    assert case["revenue_at_risk"] == 100.0
    assert case["summary"] == "credit hold on SO-1 not released within 30 min (over limit)"


def test_a_routine_hold_released_within_the_grace_is_not_a_case():
    engine = run([*master(), order(), held(0), released(20)])
    assert cases_of(engine, "credit.hold") == []


def test_a_hold_released_after_the_grace_shows_opened_then_resolved():
    engine = run([*master(), order(), held(0), released(90)])
    [case] = cases_of(engine, "credit.hold")
    assert case["status"] == "resolved"
    assert case["opened_at"] == "2026-05-04T08:30:00Z"
    assert case["closed_at"] == "2026-05-04T09:30:00Z"
    assert case["resolution"] == "credit hold released"


def test_the_grace_comes_from_the_policy():
    policy = policy_with(credit_hold={"grace_minutes": 120})
    engine = run([*master(), order(), held(0), released(90)], policy)
    assert cases_of(engine, "credit.hold") == []


def test_a_hold_after_picking_started_opens_at_once_with_a_boost():
    engine = run([*master(), order(), picked(5), finance_hold(10)], until=at(minutes=11))
    [case] = cases_of(engine, "credit.hold")
    assert case["opened_at"] == "2026-05-04T08:10:00Z"
    assert case["root_cause"] == "hold_after_pick"
    assert "picking already started (x1.5)" in case["priority_explained"]
    assert case["summary"] == (
        "credit hold on SO-1, picking already started (past due; exposure 12,500.00)"
    )


def test_a_hold_after_picking_outranks_the_same_hold_before_picking():
    before = cases_of(run([*master(), order(), held(0)], until=LATER), "credit.hold")[0]
    after = cases_of(run([*master(), order(), picked(0), held(0)]), "credit.hold")[0]
    assert after["priority"] > before["priority"]


def test_picking_during_the_grace_opens_the_case_at_once_with_a_boost():
    engine = run([*master(), order(), held(0), picked(10)], until=LATER)
    [case] = cases_of(engine, "credit.hold")
    assert case["opened_at"] == "2026-05-04T08:10:00Z"
    assert case["root_cause"] == "credit_hold"
    assert "picking started during the hold (x1.5)" in case["priority_explained"]
    assert case["signals"] == 1


def test_a_hold_opened_by_picking_and_released_late_is_one_resolved_case():
    engine = run([*master(), order(), held(0), picked(10), released(60)])
    [case] = cases_of(engine, "credit.hold")
    assert case["status"] == "resolved"
    assert case["opened_at"] == "2026-05-04T08:10:00Z"
    assert case["closed_at"] == "2026-05-04T09:00:00Z"


def test_picking_started_after_the_grace_leaves_the_case_as_it_is():
    engine = run([*master(), order(), held(0), picked(40), finance_hold(50)])
    [case] = cases_of(engine, "credit.hold")
    assert case["opened_at"] == "2026-05-04T08:30:00Z"
    assert case["signals"] == 1
    assert case["root_cause"] == "credit_hold"


def test_a_finance_hold_with_an_order_is_a_credit_hold():
    engine = run([*master(), order(), finance_hold(0)], until=LATER)
    [case] = cases_of(engine, "credit.hold")
    assert "exposure 12,500.00" in case["summary"]


def test_a_customer_level_hold_without_an_order_is_not_an_order_case():
    hold = ev("credit.hold_applied", {"customer_id": "C1", "reason": "past due"})
    engine = run([*master(), order(), hold])
    assert cases_of(engine, "credit.hold") == []


def test_holds_of_other_kinds_are_not_credit_holds():
    engine = run([*master(), order(), held(0, code="compliance"), held(0, code="pricing")])
    assert cases_of(engine, "credit.hold") == []


def test_the_same_hold_told_twice_is_one_case_with_one_signal():
    engine = run([*master(), order(), held(0), finance_hold(2)], until=LATER)
    [case] = cases_of(engine, "credit.hold")
    assert case["opened_at"] == "2026-05-04T08:30:00Z"
    assert case["signals"] == 1


@pytest.mark.parametrize(
    "script",
    [
        [held(0), released(90)],
        [held(0), picked(10), released(60)],
        [held(0), picked(40), finance_hold(50), released(70)],
        [held(0), released(10), held(60), picked(65), released(200)],
        [finance_hold(0), ev("order.cancelled", {"order_id": "SO-1"}, when=at(minutes=50))],
    ],
    ids=["late-release", "pick-in-grace", "pick-after-grace", "re-hold", "cancelled"],
)
def test_live_and_replay_give_the_same_case(script):
    events = [*master(), order(), *script]
    engine = Engine(default_policy())
    for event in events:
        engine.step(event)
        engine.advance()  # live: timers fire as the watermark moves
    engine.advance(LATER)
    live = cases_of(engine, "credit.hold")
    replay = cases_of(run(events, until=LATER), "credit.hold")
    assert live and live == replay


def test_a_release_of_another_hold_does_not_resolve_the_credit_hold():
    engine = run([*master(), order(), held(0), released(10, code="manual")], until=LATER)
    [case] = cases_of(engine, "credit.hold")
    assert case["status"] == "open"


def test_a_release_without_a_hold_code_releases_the_credit_hold():
    engine = run([*master(), order(), held(0), released(10, code=None)])
    assert cases_of(engine, "credit.hold") == []


def test_a_finance_release_resolves_the_open_case():
    engine = run([*master(), order(), picked(0), finance_hold(5), finance_release(60)])
    [case] = cases_of(engine, "credit.hold")
    assert case["status"] == "resolved"
    assert case["closed_at"] == "2026-05-04T09:00:00Z"


def test_a_second_hold_after_a_routine_release_is_judged_on_its_own():
    engine = run(
        [*master(), order(), held(0), released(10), held(60), released(70), held(120)], until=LATER
    )
    [case] = cases_of(engine, "credit.hold")
    assert case["opened_at"] == "2026-05-04T10:30:00Z"
    assert case["status"] == "open"


def test_an_order_cancelled_within_the_grace_opens_no_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1"}, when=at(minutes=15))
    engine = run([*master(), order(), held(0), cancel])
    assert cases_of(engine, "credit.hold") == []


def test_an_order_cancelled_after_the_grace_cancels_the_case():
    cancel = ev("order.cancelled", {"order_id": "SO-1"}, when=at(minutes=50))
    engine = run([*master(), order(), held(0), cancel])
    [case] = cases_of(engine, "credit.hold")
    assert case["status"] == "cancelled"
    assert case["closed_at"] == "2026-05-04T08:50:00Z"
