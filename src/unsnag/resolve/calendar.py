"""Business time: when a team works, and how many working hours lie between two instants.

SLA targets, approval expiries and wait timeouts are promises made in *working* hours
("answer within 8 business hours"), so the engine needs two sums over a team's calendar:
``add`` (when will ``h`` working hours have passed?) and ``elapsed`` (how many working
hours lie between two instants?). Both are pure functions of the calendar and their
arguments — no wall clock — so a replay gives the same due dates as the live run.

How it stays exact and fast:

* A local date's working spans are converted once to UTC instants with ``zoneinfo`` and
  cached per date, so DST is right and the hot path is a dict lookup and a short loop.
* Within a stretch with no holiday and no change of UTC offset, every week holds the same
  working seconds, so long sums jump whole weeks arithmetically instead of walking days.
* Spans are half-open, ``[08:00, 17:00)``: at 17:00 a team is closed, and ``add`` may
  return 17:00 exactly when the last hour ends then.

DST: a local time is resolved with ``fold=0``. A time skipped by a spring-forward gap
(02:30 on a night that jumps from 02:00 to 03:00) is read with the offset in force before
the gap, i.e. it lands 02:30 + 1 h = 03:30 new time; a time repeated by a fall-back
(01:30 on a night that repeats 01:00-02:00) is its first occurrence. A span therefore
lasts the *real* time between its resolved ends: ``00:00-06:00`` is 5 hours on a
spring-forward night and 7 on a fall-back one; ``02:15-02:45`` inside the gap is worked
03:15-03:45; and ``02:30-03:00``, whose ends resolve out of order (03:30 after 03:00), is
not worked that night at all.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from unsnag.policy.resolution import WEEKDAYS, CalendarCfg

_DAY_S = 86_400
_WEEK_S = 7 * _DAY_S
_MAX_IDLE_DAYS = 3 * 366
"""Days without any working time after which ``add``/``next_open`` give up."""
_CACHE_DAYS = 16_384
"""Cached local dates per calendar (about 45 years); the cache restarts when full."""

Interval = tuple[float, float]
"""Working time as [start, end) in epoch seconds (UTC)."""


class BusinessCalendar:
    """A team's working time in its own time zone, with business-hour arithmetic.

    Build it from the policy with :meth:`from_cfg`, or directly in tests::

        BusinessCalendar("America/Chicago", {"mon": ["08:00-17:00"]}, [date(2026, 1, 1)])

    Overlapping or touching spans of one weekday are merged. Every method takes aware
    datetimes (naive ones are refused: their meaning depends on the host) and returns
    aware UTC datetimes.
    """

    __slots__ = (
        "_always",
        "_days",
        "_holidays",
        "_shifts",
        "_tz",
        "_week",
        "_week_seconds",
        "timezone",
    )

    def __init__(
        self,
        timezone: str = "UTC",
        hours: Mapping[str, Sequence[str]] | None = None,
        holidays: Iterable[date] = (),
        *,
        always: bool = False,
    ) -> None:
        self.timezone = timezone
        self._tz = _zone(timezone)
        self._always = always
        self._week = _parse_week(hours or {})
        self._week_seconds = 60.0 * sum(b - a for spans in self._week for a, b in spans)
        if not always and not self._week_seconds:
            raise ValueError("a calendar needs `always` or some working hours")
        self._holidays = tuple(sorted({day.toordinal() for day in holidays}))
        self._days: dict[int, tuple[Interval, ...]] = {}
        self._shifts: dict[int, tuple[int, ...]] = {}

    @classmethod
    def from_cfg(cls, cfg: CalendarCfg) -> BusinessCalendar:
        """The calendar a policy's ``resolution.calendars`` entry describes."""
        return cls(cfg.timezone, cfg.hours, cfg.holidays, always=cfg.always)

    def __repr__(self) -> str:
        kind = "always" if self._always else f"{self._week_seconds / 3600:g} h/week"
        return f"BusinessCalendar({self.timezone!r}, {kind})"

    # --- public arithmetic --------------------------------------------------------------

    def add(self, start: datetime, hours: float) -> datetime:
        """The instant at which ``hours`` working hours have passed since ``start``.

        A ``start`` outside working time counts from the next opening. ``hours == 0``
        returns ``start`` itself (in UTC), not the next opening: what is already used up
        is due now, so the escalation timer of an overrun SLA fires at once instead of
        waiting for Monday morning.
        """
        t = _seconds(start)
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, not {hours!r}")
        if hours == 0:
            return start.astimezone(UTC)
        if self._always:
            return start.astimezone(UTC) + timedelta(hours=hours)
        return _utc(self._add_seconds(t, hours * 3600.0))

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Working hours in ``[start, end)``; 0 when ``end`` is not after ``start``."""
        t, stop = _seconds(start), _seconds(end)
        if stop <= t:
            return 0.0
        if self._always:
            return (end - start) / timedelta(hours=1)
        return self._elapsed_seconds(t, stop) / 3600.0

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` falls in working time (a span's end is already closed)."""
        t = _seconds(at)
        if self._always:
            return True
        n = self._local_day(t)
        return any(a <= t < b for day in (n - 1, n) for a, b in self._day(day))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself when open, else the start of the next working span.

        Raises ``ValueError`` when no working time exists within three years (every
        day a holiday), rather than searching forever.
        """
        t = _seconds(at)
        if self._always:
            return at.astimezone(UTC)
        n, idle = self._local_day(t) - 1, 0
        while idle <= _MAX_IDLE_DAYS:
            day = self._day(n)
            for a, b in day:
                if b > t:
                    return at.astimezone(UTC) if a <= t else _utc(a)
            idle = 0 if day else idle + 1
            n += 1
        raise self._no_working_time(at)

    # --- the walks ----------------------------------------------------------------------

    def _add_seconds(self, t: float, need: float) -> float:
        """Walk working intervals from ``t`` until ``need`` seconds are used up."""
        n, idle = self._local_day(t) - 1, 0
        while idle <= _MAX_IDLE_DAYS:
            if need > self._week_seconds:
                free, midnight = self._quiet_weeks(n, t)
                weeks = min(free, math.ceil(need / self._week_seconds) - 1)
                if weeks > 0:
                    n, t = n + 7 * weeks, midnight + weeks * _WEEK_S
                    need -= weeks * self._week_seconds
            day = self._day(n)
            for a, b in day:
                if b <= t:
                    continue
                start = max(a, t)
                if b - start >= need:
                    return start + need
                need -= b - start
                t = b
            idle = 0 if day else idle + 1
            n += 1
        raise self._no_working_time(_utc(t))

    def _elapsed_seconds(self, t: float, stop: float) -> float:
        """Sum the working intervals between ``t`` and ``stop`` (``t < stop``)."""
        total = 0.0
        n, last = self._local_day(t) - 1, self._local_day(stop)
        while n <= last:
            if stop - t > _WEEK_S:
                free, midnight = self._quiet_weeks(n, t)
                weeks = min(free, int((stop - midnight) // _WEEK_S))
                if weeks > 0:
                    n, t = n + 7 * weeks, midnight + weeks * _WEEK_S
                    total += weeks * self._week_seconds
            for a, b in self._day(n):
                start, end = max(a, t), min(b, stop)
                if end > start:
                    total += end - start
                    t = end
            n += 1
        return total

    def _quiet_weeks(self, n: int, t: float) -> tuple[int, float]:
        """Whole weeks from local day ``n`` that can be skipped, and day ``n``'s midnight.

        A week is skippable when it holds no holiday and no UTC offset change — then it
        holds exactly ``_week_seconds`` of work — and the cursor ``t`` has not yet entered
        day ``n``. Returns ``(0, t)`` when nothing can be skipped.
        """
        free = (self._next_obstacle(n) - n) // 7
        if free <= 0:
            return 0, t
        midnight = datetime.combine(date.fromordinal(n), time(), self._tz).timestamp()
        return (free, midnight) if t <= midnight else (0, t)

    # --- days, holidays and offset changes ------------------------------------------------

    def _local_day(self, t: float) -> int:
        return datetime.fromtimestamp(t, self._tz).toordinal()

    def _day(self, n: int) -> tuple[Interval, ...]:
        """The working intervals of local date ordinal ``n``, cached."""
        found = self._days.get(n)
        if found is None:
            if len(self._days) >= _CACHE_DAYS:
                self._days.clear()
            found = self._days[n] = self._build_day(n)
        return found

    def _build_day(self, n: int) -> tuple[Interval, ...]:
        """Resolve day ``n``'s local spans to UTC (``fold=0``; see the module docstring)."""
        spans = self._week[(n - 1) % 7]  # ordinal 1 (0001-01-01) was a Monday
        if not spans or _contains(self._holidays, n):
            return ()
        midnight = datetime.combine(date.fromordinal(n), time(), self._tz)
        instants = [
            (
                (midnight + timedelta(minutes=a)).timestamp(),
                (midnight + timedelta(minutes=b)).timestamp(),
            )
            for a, b in spans
        ]
        return _merge(instants)

    def _next_obstacle(self, n: int) -> int:
        """The first local day on or after ``n`` that is a holiday or changes UTC offset.

        Looks two years ahead; beyond that it answers a barrier date, which only limits
        how far one jump goes.
        """
        i = bisect.bisect_left(self._holidays, n)
        holiday = self._holidays[i] if i < len(self._holidays) else math.inf
        year = date.fromordinal(n).year
        for y in (year, year + 1):
            shifts = self._offset_shifts(y)
            j = bisect.bisect_left(shifts, n)
            if j < len(shifts):
                return int(min(holiday, shifts[j]))
        return int(min(holiday, date(year + 2, 1, 1).toordinal()))

    def _offset_shifts(self, year: int) -> tuple[int, ...]:
        """Local days of ``year`` whose UTC offset at the next midnight differs (DST days).

        Daily sampling is enough: no zone in tzdata since 1970 changes its offset twice
        within two days, though some changed and changed back within a week (Brazil in
        2000), so the check must be per day, not per week.
        """
        found = self._shifts.get(year)
        if found is None:
            first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
            offsets = [
                datetime.combine(date.fromordinal(n), time(), self._tz).utcoffset()
                for n in range(first, last + 2)
            ]
            found = tuple(
                first + i for i in range(len(offsets) - 1) if offsets[i] != offsets[i + 1]
            )
            self._shifts[year] = found
        return found

    def _no_working_time(self, after: datetime) -> ValueError:
        return ValueError(
            f"calendar {self!r} has no working time within {_MAX_IDLE_DAYS} days after "
            f"{after.isoformat()} (every day a holiday?)"
        )


# --- parsing and small helpers ----------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name") from exc


def _parse_week(hours: Mapping[str, Sequence[str]]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Weekday name -> spans becomes, Monday first, merged spans in minutes after midnight."""
    unknown = set(hours) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday(s) {sorted(unknown)}; use {list(WEEKDAYS)}")
    week = []
    for name in WEEKDAYS:
        spans = sorted(_parse_span(text) for text in hours.get(name, ()))
        merged: list[tuple[int, int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        week.append(tuple(merged))
    return tuple(week)


def _parse_span(text: str) -> tuple[int, int]:
    """``"08:00-17:00"`` -> ``(480, 1020)``; an end of ``24:00`` is the next midnight."""
    try:
        first, second = text.split("-")
        start, end = _minute(first), _minute(second)
    except ValueError:
        start = end = -1
    if not 0 <= start < end <= 24 * 60:
        raise ValueError(f"{text!r} is not a span like '08:00-17:00'")
    return start, end


def _minute(text: str) -> int:
    hh, mm = text.strip().split(":")
    if not (len(hh) == len(mm) == 2 and hh.isdigit() and mm.isdigit() and int(mm) < 60):
        raise ValueError(text)
    return int(hh) * 60 + int(mm)


def _merge(intervals: list[Interval]) -> tuple[Interval, ...]:
    """Sort, drop empty and merge overlapping intervals (DST gaps can make them overlap)."""
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return tuple(merged)


def _contains(ordered: tuple[int, ...], value: int) -> bool:
    i = bisect.bisect_left(ordered, value)
    return i < len(ordered) and ordered[i] == value


def _seconds(moment: datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is naive; business time needs aware datetimes")
    return moment.timestamp()


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
