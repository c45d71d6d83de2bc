"""Business-time arithmetic: working hours, holidays, time zones and DST, exactly."""

from __future__ import annotations

import time as wall
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unsnag.policy.resolution import WEEKDAYS, CalendarCfg
from unsnag.resolve.calendar import BusinessCalendar

WORKWEEK = "mon tue wed thu fri"
EVERY_DAY = " ".join(WEEKDAYS)
EPS = 1e-6  # hours


def calendar(
    tz: str = "UTC",
    spans: tuple[str, ...] = ("08:00-17:00",),
    days: str = WORKWEEK,
    holidays: tuple[date, ...] = (),
) -> BusinessCalendar:
    return BusinessCalendar(tz, {day: list(spans) for day in days.split()}, holidays)


def local(text: str, tz: str = "UTC") -> datetime:
    """An aware datetime from local wall time (fold=0, as the calendar reads spans)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


OFFICE = calendar()
CHICAGO = calendar("America/Chicago")
XMAS = calendar(holidays=(date(2026, 12, 25), date(2027, 1, 1)))
SPLIT = calendar(spans=("06:00-14:00", "14:00-22:00"))
LUNCH = calendar(spans=("08:00-12:00", "13:00-17:00"))
EVENINGS = calendar(spans=("16:00-24:00",))
WEEKEND_NIGHT = BusinessCalendar("UTC", {"fri": ["20:00-24:00"], "sat": ["00:00-04:00"]})
AROUND_THE_CLOCK = BusinessCalendar("America/Chicago", always=True)

# (name, calendar, start, hours, expected); times in the calendar's zone.
ADD_CASES = [
    ("friday afternoon rolls to monday", OFFICE, "2026-05-08 16:00", 4, "2026-05-11 11:00"),
    ("ends exactly at closing", OFFICE, "2026-05-11 08:00", 9, "2026-05-11 17:00"),
    ("start after closing counts from opening", OFFICE, "2026-05-08 18:00", 1, "2026-05-11 09:00"),
    ("start on saturday counts from monday", OFFICE, "2026-05-09 10:00", 2, "2026-05-11 10:00"),
    ("start before opening", OFFICE, "2026-05-11 06:00", 1, "2026-05-11 09:00"),
    ("fractional hours", OFFICE, "2026-05-11 08:00", 0.25, "2026-05-11 08:15"),
    ("a full week", OFFICE, "2026-05-11 08:00", 45, "2026-05-15 17:00"),
    ("christmas is skipped", XMAS, "2026-12-24 16:00", 2, "2026-12-28 09:00"),
    ("new year is skipped", XMAS, "2026-12-31 16:30", 1, "2027-01-04 08:30"),
    ("split shift is one stretch", SPLIT, "2026-05-11 13:00", 2, "2026-05-11 15:00"),
    ("split shift rolls overnight", SPLIT, "2026-05-11 21:00", 2, "2026-05-12 07:00"),
    ("lunch is not worked", LUNCH, "2026-05-11 11:00", 2, "2026-05-11 14:00"),
    ("start in the lunch gap", LUNCH, "2026-05-11 12:30", 1, "2026-05-11 14:00"),
    ("a span ending at 24:00", EVENINGS, "2026-05-11 23:00", 2, "2026-05-12 17:00"),
    ("24:00 joins the next day's 00:00", WEEKEND_NIGHT, "2026-05-08 23:00", 2, "2026-05-09 01:00"),
]


@pytest.mark.parametrize(
    ("cal", "start", "hours", "expected"),
    [case[1:] for case in ADD_CASES],
    ids=[case[0] for case in ADD_CASES],
)
def test_add_lands_on_the_expected_instant(
    cal: BusinessCalendar, start: str, hours: float, expected: str
) -> None:
    result = cal.add(local(start, cal.timezone), hours)
    assert result == local(expected, cal.timezone)
    assert result.utcoffset() == timedelta(0)


# America/Chicago: DST starts Sun 2026-03-08 02:00 (-6 -> -5), ends Sun 2026-11-01 02:00.
DST_CASES = [
    ("across spring forward", "2026-03-06 16:00", 4, "2026-03-09 11:00", "2026-03-09T16:00"),
    ("across fall back", "2026-10-30 16:00", 4, "2026-11-02 11:00", "2026-11-02T17:00"),
    ("a week across spring forward", "2026-03-05 08:00", 45, "2026-03-11 17:00", None),
    ("five weeks across fall back", "2026-10-19 08:00", 225, "2026-11-20 17:00", None),
]


@pytest.mark.parametrize(
    ("start", "hours", "expected_local", "expected_utc"),
    [case[1:] for case in DST_CASES],
    ids=[case[0] for case in DST_CASES],
)
def test_chicago_office_hours_keep_their_wall_clock_across_dst(
    start: str, hours: float, expected_local: str, expected_utc: str | None
) -> None:
    result = CHICAGO.add(local(start, "America/Chicago"), hours)
    assert result == local(expected_local, "America/Chicago")
    if expected_utc is not None:
        assert result == datetime.fromisoformat(expected_utc).replace(tzinfo=UTC)


NIGHTS = calendar("America/Chicago", ("00:00-06:00",), EVERY_DAY)
SMALL_HOURS = calendar("America/Chicago", ("01:00-02:00", "02:00-03:00"), EVERY_DAY)


@pytest.mark.parametrize(
    ("cal", "day", "hours"),
    [
        (NIGHTS, "2026-03-07", 6.0),
        (NIGHTS, "2026-03-08", 5.0),  # 02:00-03:00 never happens
        (NIGHTS, "2026-11-01", 7.0),  # 01:00-02:00 happens twice
        (SMALL_HOURS, "2026-03-08", 1.0),  # 02:00-03:00 lies in the gap
        (SMALL_HOURS, "2026-11-01", 3.0),  # 01:00 is its first occurrence
    ],
)
def test_a_span_on_a_dst_night_lasts_its_real_time(
    cal: BusinessCalendar, day: str, hours: float
) -> None:
    start = local(f"{day} 00:00", cal.timezone)
    end = local(f"{day} 12:00", cal.timezone)
    assert cal.elapsed(start, end) == pytest.approx(hours, abs=EPS)


def test_a_span_inside_the_spring_gap_moves_forward_by_the_gap() -> None:
    """fold=0 reads 02:15 that night as 02:15 CST, which is 03:15 CDT."""
    gap = calendar("America/Chicago", ("02:15-02:45",), "sun")
    spring = local("2026-03-08 00:00", "America/Chicago")
    assert gap.elapsed(spring, spring + timedelta(days=1)) == 0.5
    assert gap.next_open(spring) == local("2026-03-08 03:15", "America/Chicago")
    assert gap.add(spring, 0.5) == local("2026-03-08 03:45", "America/Chicago")


def test_a_span_whose_ends_resolve_out_of_order_is_empty_that_night() -> None:
    """02:30 resolves to 03:30 CDT, after 03:00 CDT: nothing is worked that Sunday."""
    odd = calendar("America/Chicago", ("02:30-03:00",), "sun")
    spring = local("2026-03-08 00:00", "America/Chicago")
    assert odd.elapsed(spring, spring + timedelta(days=1)) == 0.0
    assert odd.elapsed(spring - timedelta(days=7), spring) == 0.5
    assert odd.next_open(spring) == local("2026-03-15 02:30", "America/Chicago")


def test_a_24x7_calendar_counts_real_hours_even_across_dst() -> None:
    start = local("2026-03-07 23:00", "America/Chicago")
    assert AROUND_THE_CLOCK.add(start, 24) == start.astimezone(UTC) + timedelta(hours=24)
    assert AROUND_THE_CLOCK.add(start, 24) == local("2026-03-09 00:00", "America/Chicago")
    assert AROUND_THE_CLOCK.elapsed(start, start + timedelta(days=2)) == 48.0
    assert AROUND_THE_CLOCK.is_open(start)
    assert AROUND_THE_CLOCK.next_open(start) == start


def test_adding_zero_hours_returns_the_start_even_when_closed() -> None:
    saturday = local("2026-05-09 10:00", "America/Chicago")
    assert CHICAGO.add(saturday, 0) == saturday
    assert CHICAGO.add(saturday, 0).tzinfo is UTC


ELAPSED_CASES = [
    ("one working week", OFFICE, "2026-05-04 00:00", "2026-05-11 00:00", 45.0),
    ("friday afternoon to monday", OFFICE, "2026-05-08 16:00", "2026-05-11 11:00", 4.0),
    ("a weekend is nothing", OFFICE, "2026-05-08 17:00", "2026-05-11 08:00", 0.0),
    ("backwards is nothing", OFFICE, "2026-05-11 11:00", "2026-05-08 16:00", 0.0),
    ("inside one span", OFFICE, "2026-05-11 09:10", "2026-05-11 09:40", 0.5),
    ("lunch does not count", LUNCH, "2026-05-11 11:30", "2026-05-11 13:30", 1.0),
    ("split shift whole day", SPLIT, "2026-05-11 00:00", "2026-05-12 00:00", 16.0),
    ("christmas week", XMAS, "2026-12-21 00:00", "2026-12-28 00:00", 36.0),
    ("ten weeks minus two holidays", XMAS, "2026-11-30 00:00", "2027-02-08 00:00", 432.0),
]


@pytest.mark.parametrize(
    ("cal", "start", "end", "hours"),
    [case[1:] for case in ELAPSED_CASES],
    ids=[case[0] for case in ELAPSED_CASES],
)
def test_elapsed_counts_only_working_time(
    cal: BusinessCalendar, start: str, end: str, hours: float
) -> None:
    elapsed = cal.elapsed(local(start, cal.timezone), local(end, cal.timezone))
    assert elapsed == pytest.approx(hours, abs=EPS)


@pytest.mark.parametrize(
    ("moment", "is_open", "next_open"),
    [
        ("2026-05-11 08:00", True, "2026-05-11 08:00"),
        ("2026-05-11 16:59", True, "2026-05-11 16:59"),
        ("2026-05-11 17:00", False, "2026-05-12 08:00"),  # spans are half-open
        ("2026-05-08 17:30", False, "2026-05-11 08:00"),
        ("2026-05-09 12:00", False, "2026-05-11 08:00"),
        ("2026-12-25 10:00", False, "2026-12-28 08:00"),
    ],
)
def test_open_and_next_opening(moment: str, is_open: bool, next_open: str) -> None:
    assert XMAS.is_open(local(moment)) is is_open
    assert XMAS.next_open(local(moment)) == local(next_open)


def test_next_opening_in_chicago_is_returned_in_utc() -> None:
    opening = CHICAGO.next_open(local("2026-03-07 12:00", "America/Chicago"))
    assert opening == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # 08:00 CDT
    assert opening.tzinfo is UTC


def test_from_cfg_reads_the_policy_model() -> None:
    cfg = CalendarCfg(
        timezone="America/New_York",
        hours={"mon": ["07:00-20:00"], "sat": ["09:00-13:00"]},
        holidays=[date(2026, 11, 30)],
    )
    cal = BusinessCalendar.from_cfg(cfg)
    monday = local("2026-11-23 19:00", "America/New_York")
    assert cal.add(monday, 3) == local("2026-11-28 11:00", "America/New_York")
    assert cal.add(monday, 10) == local("2026-12-07 08:00", "America/New_York")
    always = BusinessCalendar.from_cfg(CalendarCfg(always=True))
    assert always.add(monday, 1) == monday + timedelta(hours=1)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"hours": {"mon": ["23:00-24:30"]}}, "not a span"),
        ({"hours": {"mon": ["24:00-24:00"]}}, "not a span"),
        ({"timezone": "America/Chicgo", "always": True}, "unknown time zone"),
    ],
)
def test_the_policy_refuses_what_no_calendar_could_mean(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        CalendarCfg.model_validate(fields)


def test_overlapping_spans_of_a_day_count_once() -> None:
    cal = calendar(spans=("08:00-12:00", "10:00-14:00", "13:00-15:00"))
    monday = local("2026-05-11 00:00")
    assert cal.elapsed(monday, monday + timedelta(days=1)) == 7.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hours": {"mon": ["24:00-24:30"]}}, "not a span"),
        ({"hours": {"mon": ["17:00-08:00"]}}, "not a span"),
        ({"hours": {"mon": ["8:00-17:00"]}}, "not a span"),
        ({"hours": {"mon": ["08:00-17:60"]}}, "not a span"),
        ({"hours": {"monday": ["08:00-17:00"]}}, "unknown weekday"),
        ({"hours": {}}, "some working hours"),
        ({"hours": {"mon": []}}, "some working hours"),
        ({"timezone": "Mars/Olympus", "always": True}, "unknown time zone"),
    ],
)
def test_a_malformed_calendar_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]


def test_naive_datetimes_and_negative_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        OFFICE.add(datetime(2026, 5, 11, 8), 1)
    with pytest.raises(ValueError, match="naive"):
        OFFICE.elapsed(datetime(2026, 5, 11, 8), local("2026-05-12 08:00"))
    with pytest.raises(ValueError, match="hours"):
        OFFICE.add(local("2026-05-11 08:00"), -1)
    with pytest.raises(ValueError, match="hours"):
        OFFICE.add(local("2026-05-11 08:00"), float("nan"))


def test_a_calendar_whose_every_working_day_is_a_holiday_gives_up() -> None:
    mondays = tuple(date(2026, 5, 4) + timedelta(weeks=w) for w in range(52 * 4))
    never = calendar(days="mon", holidays=mondays)
    start = local("2026-05-01 00:00")
    with pytest.raises(ValueError, match="no working time"):
        never.add(start, 1)
    with pytest.raises(ValueError, match="no working time"):
        never.next_open(start)
    assert never.elapsed(start, start + timedelta(days=400)) == 0.0
    assert not never.is_open(local("2026-05-04 10:00"))


# --- large sums: exact, and quick ---------------------------------------------------------


def ends_in_working_time(cal: BusinessCalendar, due: datetime) -> bool:
    """``add`` returns the earliest instant: inside a span, or exactly at its end."""
    return cal.is_open(due) or cal.is_open(due - timedelta(microseconds=1))


def reference_elapsed(
    cal_tz: str, spans: dict[str, list[str]], holidays: set[date], start: datetime, end: datetime
) -> float:
    """The slow, obvious sum: every local day, every span, fold=0, union of intervals."""
    tz = ZoneInfo(cal_tz)
    intervals = []
    day = start.astimezone(tz).date() - timedelta(days=2)
    while day <= end.astimezone(tz).date() + timedelta(days=1):
        for span in spans.get(WEEKDAYS[day.weekday()], []) if day not in holidays else []:
            (h1, m1), (h2, m2) = (map(int, part.split(":")) for part in span.split("-"))
            midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
            a = (midnight + timedelta(hours=h1, minutes=m1)).astimezone(UTC)
            b = (midnight + timedelta(hours=h2, minutes=m2)).astimezone(UTC)
            intervals.append((max(a, start), min(b, end)))
        day += timedelta(days=1)
    total, cursor = timedelta(0), start
    for a, b in sorted(intervals):
        a = max(a, cursor)
        if b > a:
            total, cursor = total + (b - a), b
    return total / timedelta(hours=1)


HOLIDAYS_US = {
    date(2026, 1, 1), date(2026, 5, 25), date(2026, 7, 3), date(2026, 9, 7),
    date(2026, 11, 26), date(2026, 12, 25), date(2027, 1, 1), date(2027, 5, 31),
}  # fmt: skip
DC_SHIFTS = {day: ["06:00-22:00"] for day in WORKWEEK.split()} | {"sat": ["06:00-14:00"]}


@pytest.mark.parametrize("hours", [100, 500, 2000, 5000])
def test_large_sums_jump_weeks_but_agree_with_the_slow_sum(hours: float) -> None:
    cal = BusinessCalendar("America/Chicago", DC_SHIFTS, HOLIDAYS_US)
    start = local("2026-01-02 13:17", "America/Chicago")
    due = cal.add(start, hours)
    slow = reference_elapsed("America/Chicago", DC_SHIFTS, HOLIDAYS_US, start, due)
    assert slow == pytest.approx(hours, abs=EPS)
    assert cal.elapsed(start, due) == pytest.approx(hours, abs=EPS)
    assert ends_in_working_time(cal, due)


@pytest.mark.parametrize(
    ("tz", "start", "spans"),
    [
        # DST changes at 02:00: spring forward and fall back
        ("America/Chicago", "2026-01-20 12:00", ["01:00-05:00", "19:00-23:00"]),
        # DST begun at midnight on 2000-10-08 and cancelled a week later
        ("America/Noronha", "2000-08-20 12:00", ["00:00-02:00", "19:00-23:00"]),
    ],
)
def test_jumps_never_cross_a_night_whose_length_changes(
    tz: str, start: str, spans: list[str]
) -> None:
    """Only spans covering the change notice it, so the night shift works through it."""
    nights = {day: spans for day in WEEKDAYS}
    cal = BusinessCalendar(tz, nights)
    begin = local(start, tz)
    for hours in (300, 500, 700, 1000, 1500, 2500):
        due = cal.add(begin, hours)
        assert reference_elapsed(tz, nights, set(), begin, due) == pytest.approx(hours, abs=EPS)
        assert cal.elapsed(begin, due) == pytest.approx(hours, abs=EPS)


def test_many_adds_are_quick() -> None:
    cal = BusinessCalendar("America/Chicago", DC_SHIFTS, HOLIDAYS_US)
    starts = [local("2026-01-05 07:00", "America/Chicago") + timedelta(minutes=37 * i)
              for i in range(20_000)]  # fmt: skip
    began = wall.perf_counter()
    for i, start in enumerate(starts):
        cal.add(start, (4, 8, 24, 72, 500)[i % 5])
    assert wall.perf_counter() - began < 2.0  # about 0.1 s on a laptop


# --- the property: add and elapsed are inverses ---------------------------------------------

ZONES = [
    "UTC", "America/Chicago", "America/New_York", "Europe/London", "Europe/Berlin",
    "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kolkata", "America/St_Johns",
    "Pacific/Chatham", "Asia/Gaza",
]  # fmt: skip


@st.composite
def day_spans(draw: st.DrawFn) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    cuts = cuts[: len(cuts) // 2 * 2]
    return [f"{_hhmm(a * 15)}-{_hhmm(b * 15)}" for a, b in zip(cuts[::2], cuts[1::2], strict=True)]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def weekly_hours(spans: dict[str, list[str]]) -> float:
    cal = BusinessCalendar("UTC", spans)
    monday = datetime(2026, 5, 4, tzinfo=UTC)
    return cal.elapsed(monday, monday + timedelta(weeks=1))


@st.composite
def calendars(draw: st.DrawFn) -> tuple[str, dict[str, list[str]], set[date]]:
    tz = draw(st.sampled_from(ZONES))
    hours = {day: draw(day_spans()) for day in WEEKDAYS}
    if not any(hours.values()):
        hours["wed"] = ["09:00-10:30"]
    holidays = draw(st.sets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=30))
    return tz, hours, holidays


instants = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(
    calendars(),
    instants,
    st.one_of(st.floats(0.01, 30), st.floats(30, 1500)),
)
def test_elapsed_undoes_add(
    spec: tuple[str, dict[str, list[str]], set[date]], start: datetime, hours: float
) -> None:
    tz, spans, holidays = spec
    cal = BusinessCalendar(tz, spans, holidays)
    hours = min(hours, 30 * weekly_hours(spans))  # sparse calendars: stay within months
    due = cal.add(start, hours)
    assert due >= start
    assert cal.elapsed(start, due) == pytest.approx(hours, abs=EPS)
    assert reference_elapsed(tz, spans, holidays, start, due) == pytest.approx(hours, abs=EPS)
    assert ends_in_working_time(cal, due)  # the earliest such instant, not later


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, st.floats(0, 24 * 120))
def test_elapsed_matches_the_slow_sum(
    spec: tuple[str, dict[str, list[str]], set[date]], start: datetime, hours: float
) -> None:
    tz, spans, holidays = spec
    cal = BusinessCalendar(tz, spans, holidays)
    end = start + timedelta(hours=hours)
    slow = reference_elapsed(tz, spans, holidays, start, end)
    assert cal.elapsed(start, end) == pytest.approx(slow, abs=EPS)
