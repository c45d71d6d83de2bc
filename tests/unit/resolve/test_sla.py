"""The SLA clock counts business hours, not while waiting on an outside party."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from unsnag.resolve.calendar import BusinessCalendar
from unsnag.resolve.sla import SlaClock

CHICAGO = ZoneInfo("America/Chicago")
OFFICE = BusinessCalendar(
    "America/Chicago", {day: ["08:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
)
ALWAYS = BusinessCalendar(always=True)


def ct(day: int, hour: int, minute: int = 0, month: int = 5) -> datetime:
    """A Chicago wall time in 2026 (May 2026: Fri 8, Mon 11, Tue 12)."""
    return datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


def opened_friday_afternoon(target: float = 8) -> SlaClock:
    """Opened Fri 14:00: 3 h on Friday, then due Monday 13:00."""
    return SlaClock.start(ct(8, 14), target)


def test_a_new_clock_is_due_after_target_business_hours() -> None:
    clock = opened_friday_afternoon()
    assert clock.is_running and not clock.is_paused and not clock.is_stopped
    assert clock.due_at(OFFICE) == ct(11, 13)
    assert clock.used(ct(8, 16), OFFICE) == pytest.approx(2.0)
    assert clock.used(ct(10, 12), OFFICE) == pytest.approx(3.0)  # Sunday: nothing more


def test_a_case_opened_on_saturday_counts_from_monday_opening() -> None:
    clock = SlaClock.start(ct(9, 10), 4)
    assert clock.due_at(OFFICE) == ct(11, 12)


def test_waiting_on_the_carrier_over_the_weekend_moves_due_by_the_paused_business_time() -> None:
    clock = opened_friday_afternoon()
    due_before = clock.due_at(OFFICE)
    assert due_before is not None

    assert clock.pause(ct(8, 18), "carrier", OFFICE)  # Friday evening
    assert clock.is_paused and clock.paused_reason == "carrier"
    assert clock.due_at(OFFICE) is None
    assert clock.used(ct(11, 9, 30), OFFICE) == pytest.approx(3.0)  # frozen while paused

    assert clock.resume(ct(11, 10), OFFICE)  # Monday 10:00: the carrier answered
    assert clock.paused_hours_total == pytest.approx(2.0)  # Mon 08:00-10:00, not the weekend
    due_after = clock.due_at(OFFICE)
    assert due_after == ct(11, 15)
    assert OFFICE.elapsed(due_before, due_after) == pytest.approx(clock.paused_hours_total)


def test_a_pause_in_working_hours_moves_due_by_exactly_its_length() -> None:
    clock = SlaClock.start(ct(11, 8), 8)  # due Mon 16:00
    clock.pause(ct(11, 10), "customer", OFFICE)
    clock.resume(ct(12, 9, 30), OFFICE)  # Mon 10-17 (7 h) + Tue 8-9:30 (1.5 h)
    assert clock.paused_hours_total == pytest.approx(8.5)
    assert clock.due_at(OFFICE) == ct(12, 15, 30)
    assert clock.used(ct(12, 15, 30), OFFICE) == pytest.approx(8.0)


def test_pausing_a_paused_clock_changes_nothing() -> None:
    clock = opened_friday_afternoon()
    clock.pause(ct(8, 15), "carrier", OFFICE)
    before = pickle.dumps(clock)
    assert not clock.pause(ct(8, 16), "customer", OFFICE)
    assert pickle.dumps(clock) == before
    assert clock.paused_since == ct(8, 15) and clock.paused_reason == "carrier"


def test_resuming_a_running_clock_changes_nothing() -> None:
    clock = opened_friday_afternoon()
    assert not clock.resume(ct(8, 16), OFFICE)
    assert clock.running_since == ct(8, 14) and clock.due_at(OFFICE) == ct(11, 13)
    clock.pause(ct(8, 15), "carrier", OFFICE)
    clock.resume(ct(11, 9), OFFICE)
    again = pickle.dumps(clock)
    assert not clock.resume(ct(11, 11), OFFICE)
    assert pickle.dumps(clock) == again


def test_breached_only_after_the_due_instant() -> None:
    clock = opened_friday_afternoon()
    due = clock.due_at(OFFICE)
    assert due is not None
    assert not clock.breached(due, OFFICE)
    assert clock.remaining(due, OFFICE) == pytest.approx(0.0, abs=1e-6)
    assert clock.fraction_used(due, OFFICE) == pytest.approx(1.0)
    assert clock.breached(due + timedelta(minutes=1), OFFICE)
    assert clock.remaining(ct(11, 15), OFFICE) == pytest.approx(-2.0)
    assert clock.fraction_used(ct(11, 9), OFFICE) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("closed", "attained"),
    [(ct(11, 12, 59), True), (ct(11, 13), True), (ct(11, 13, 1), False), (ct(12, 9), False)],
)
def test_attained_when_stopped_within_target(closed: datetime, attained: bool) -> None:
    clock = opened_friday_afternoon()
    assert clock.attained(OFFICE) is None
    assert clock.stop(closed, OFFICE)
    assert clock.attained(OFFICE) is attained


def test_a_stopped_clock_is_frozen_and_keeps_its_due() -> None:
    clock = opened_friday_afternoon()
    clock.stop(ct(11, 10), OFFICE)
    assert clock.is_stopped and not clock.is_running
    assert clock.used(ct(20, 12), OFFICE) == pytest.approx(5.0)
    assert clock.due_at(OFFICE) == ct(11, 13)
    assert not clock.stop(ct(12, 10), OFFICE)
    assert clock.stopped_at == ct(11, 10)
    assert not clock.pause(ct(12, 10), "carrier", OFFICE)
    assert not clock.resume(ct(12, 10), OFFICE)


def test_stopping_a_paused_clock_ends_the_pause() -> None:
    clock = opened_friday_afternoon()
    clock.pause(ct(8, 16), "supplier", OFFICE)
    clock.stop(ct(11, 12), OFFICE)
    assert not clock.is_paused and clock.paused_reason is None
    assert clock.paused_hours_total == pytest.approx(5.0)
    assert clock.used(ct(12, 12), OFFICE) == pytest.approx(2.0)
    assert clock.due_at(OFFICE) is None  # it had none while paused
    assert clock.attained(OFFICE) is True


def test_events_out_of_order_never_count_time_twice() -> None:
    clock = SlaClock.start(ct(11, 10), 8)
    clock.pause(ct(11, 9), "carrier", OFFICE)  # before it started
    assert clock.used_hours == 0.0 and clock.paused_since == ct(11, 10)
    clock.resume(ct(11, 8), OFFICE)  # before the pause
    assert clock.paused_hours_total == 0.0 and clock.running_since == ct(11, 10)
    assert clock.used(ct(11, 12), OFFICE) == pytest.approx(2.0)


def test_overrun_before_a_pause_reports_the_resume_instant_as_due() -> None:
    clock = SlaClock.start(ct(11, 8), 2)
    clock.pause(ct(11, 12), "customer", OFFICE)  # 4 h used of 2
    clock.resume(ct(12, 9), OFFICE)
    assert clock.due_at(OFFICE) == ct(12, 9)
    assert clock.breached(ct(12, 9), OFFICE)


def test_a_24x7_clock_counts_real_hours() -> None:
    clock = SlaClock.start(datetime(2026, 5, 9, 10, tzinfo=UTC), 4)
    assert clock.due_at(ALWAYS) == datetime(2026, 5, 9, 14, tzinfo=UTC)
    clock.pause(datetime(2026, 5, 9, 11, tzinfo=UTC), "carrier", ALWAYS)
    clock.resume(datetime(2026, 5, 9, 13, tzinfo=UTC), ALWAYS)
    assert clock.due_at(ALWAYS) == datetime(2026, 5, 9, 16, tzinfo=UTC)


def test_to_dict_shows_what_a_person_needs() -> None:
    clock = opened_friday_afternoon()
    clock.pause(ct(8, 16), "carrier", OFFICE)
    assert clock.to_dict(ct(11, 9), OFFICE) == {
        "target_hours": 8,
        "used_hours": 2.0,
        "remaining_hours": 6.0,
        "fraction_used": 0.25,
        "paused": True,
        "paused_reason": "carrier",
        "paused_hours": 2.0,  # Fri 16-17 and Mon 8-9
        "stopped": False,
        "breached": False,
        "due_at": None,
    }
    clock.resume(ct(11, 9), OFFICE)
    view = clock.to_dict(ct(11, 9), OFFICE)
    assert view["due_at"] == "2026-05-11T20:00:00Z"  # Mon 15:00 CDT
    assert view["paused_hours"] == 2.0 and view["paused"] is False


def test_the_clock_pickles_small_without_its_calendar() -> None:
    clock = opened_friday_afternoon()
    clock.pause(ct(8, 16), "carrier", OFFICE)
    copy = pickle.loads(pickle.dumps(clock))
    assert copy == clock
    assert len(pickle.dumps(clock)) < 600


@pytest.mark.parametrize("target", [0, -1, float("nan"), float("inf")])
def test_a_target_must_be_positive_hours(target: float) -> None:
    with pytest.raises(ValueError, match="target"):
        SlaClock.start(ct(11, 8), target)
