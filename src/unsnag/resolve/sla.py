"""The SLA clock of a case: business hours used against a target, paused while waiting.

A service desk promises to resolve within so many *working* hours of its team, and it
does not count the time a case sits with an outside party (the carrier must answer, the
customer must send a proof of delivery). So the clock counts business hours of the
team's calendar while running, and stops counting while paused; the paused business
hours are kept apart for reporting.

The clock holds plain data only. The calendar is passed to every method instead of
being stored, so a case pickles small and a policy reload can swap calendars. Queries are
pure functions of the clock and their arguments; ``pause``, ``resume`` and ``stop``
change the clock in place and say whether they did anything, so a repeated event is a
no-op rather than a double count.

States: *running* (``running_since`` set), *paused* (``paused_since`` set) and
*stopped* (``stopped_at`` set). A stopped clock keeps the ``running_since`` of its last
running period, so its final figures and the due it had can still be derived.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from unsnag.resolve.calendar import BusinessCalendar

TOLERANCE_HOURS = 1e-6
"""Slack (3.6 ms) when comparing used time with the target, so the due instant itself —
rounded to the microsecond — does not count as a breach."""


@dataclass(slots=True)
class SlaClock:
    """Business hours used against ``target_hours``; see the module docstring."""

    target_hours: float
    used_hours: float = 0.0
    """Business hours used before the current (or, once stopped, the last) running period."""
    running_since: datetime | None = None
    paused_since: datetime | None = None
    paused_reason: str | None = None
    paused_hours_total: float = 0.0
    """Business hours spent paused, for reporting; never counted as used."""
    stopped_at: datetime | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.target_hours) and self.target_hours > 0):
            raise ValueError(f"an SLA target must be > 0 hours, not {self.target_hours!r}")

    @classmethod
    def start(cls, at: datetime, target_hours: float) -> SlaClock:
        """A clock running from ``at`` (a case opened outside hours counts from opening)."""
        return cls(target_hours=target_hours, running_since=at)

    # --- state ----------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self.running_since is not None and self.stopped_at is None

    @property
    def is_paused(self) -> bool:
        return self.paused_since is not None

    @property
    def is_stopped(self) -> bool:
        return self.stopped_at is not None

    # --- changes --------------------------------------------------------------------------

    def pause(self, at: datetime, reason: str, cal: BusinessCalendar) -> bool:
        """Stop counting while the case waits on ``reason`` (an outside party).

        Does nothing (returns False) when the clock is already paused or stopped, so a
        second "waiting on the carrier" neither restarts the pause nor loses its reason.
        """
        if self.running_since is None or self.stopped_at is not None:
            return False
        at = max(at, self.running_since)  # out-of-order events never count time twice
        self.used_hours += cal.elapsed(self.running_since, at)
        self.running_since, self.paused_since, self.paused_reason = None, at, reason
        return True

    def resume(self, at: datetime, cal: BusinessCalendar) -> bool:
        """Count again from ``at``; does nothing (False) unless the clock is paused."""
        if self.paused_since is None or self.is_stopped:
            return False
        at = max(at, self.paused_since)
        self.paused_hours_total += cal.elapsed(self.paused_since, at)
        self.running_since, self.paused_since, self.paused_reason = at, None, None
        return True

    def stop(self, at: datetime, cal: BusinessCalendar) -> bool:
        """Freeze the clock at ``at`` (the case closed); a paused clock ends its pause.

        Does nothing (False) when already stopped: the first close is the one measured.
        """
        if self.is_stopped:
            return False
        if self.paused_since is not None:
            at = max(at, self.paused_since)
            self.paused_hours_total += cal.elapsed(self.paused_since, at)
            self.paused_since, self.paused_reason = None, None
        elif self.running_since is not None:
            at = max(at, self.running_since)
        self.stopped_at = at
        return True

    # --- queries --------------------------------------------------------------------------

    def used(self, at: datetime, cal: BusinessCalendar) -> float:
        """Business hours used up to ``at`` (frozen at ``stopped_at`` once stopped)."""
        if self.running_since is None:
            return self.used_hours
        end = self.stopped_at if self.stopped_at is not None else at
        return self.used_hours + cal.elapsed(self.running_since, end)

    def paused_hours(self, at: datetime, cal: BusinessCalendar) -> float:
        """Business hours spent paused up to ``at``, the current pause included."""
        if self.paused_since is None:
            return self.paused_hours_total
        return self.paused_hours_total + cal.elapsed(self.paused_since, at)

    def remaining(self, at: datetime, cal: BusinessCalendar) -> float:
        """Business hours left before the target; negative once overrun."""
        return self.target_hours - self.used(at, cal)

    def fraction_used(self, at: datetime, cal: BusinessCalendar) -> float:
        """Share of the target used (1.0 = due now); drives the escalation ladder."""
        return self.used(at, cal) / self.target_hours

    def breached(self, at: datetime, cal: BusinessCalendar) -> bool:
        """Whether more than the target has been used by ``at``."""
        return self.used(at, cal) > self.target_hours + TOLERANCE_HOURS

    def attained(self, cal: BusinessCalendar) -> bool | None:
        """Whether the clock stopped within its target; None while not stopped."""
        if self.stopped_at is None:
            return None
        return not self.breached(self.stopped_at, cal)

    def due_at(self, cal: BusinessCalendar) -> datetime | None:
        """When the target is (or was) reached; None while paused, since nothing is due.

        A stopped clock reports the due it had in its last running period (None if it
        stopped while paused). A clock that overran its target *before* a pause cannot
        recover that instant once resumed — only totals are kept — so it reports its
        resume instant: the earliest moment it is known to be overdue.
        """
        if self.running_since is None:
            return None
        return cal.add(self.running_since, max(self.target_hours - self.used_hours, 0.0))

    def to_dict(self, at: datetime, cal: BusinessCalendar) -> dict[str, Any]:
        """The clock as a person reads it at ``at`` (hours to two decimals, due in UTC)."""
        used = self.used(at, cal)
        return {
            "target_hours": self.target_hours,
            "used_hours": round(used, 2),
            "remaining_hours": round(self.target_hours - used, 2),
            "fraction_used": round(used / self.target_hours, 3),
            "paused": self.is_paused,
            "paused_reason": self.paused_reason,
            "paused_hours": round(self.paused_hours(at, cal), 2),
            "stopped": self.is_stopped,
            "breached": used > self.target_hours + TOLERANCE_HOURS,
            "due_at": _iso(self.due_at(cal)),
        }


def _iso(moment: datetime | None) -> str | None:
    """UTC to the second with a ``Z``, as everywhere else in unsnag's output."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
