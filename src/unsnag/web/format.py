"""How the dashboard writes numbers, money, times and SLA countdowns (Jinja filters)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

LIVE = ("open", "in_progress")
SOON_S = 4 * 3600

STATES: dict[str, tuple[str, str]] = {
    "open": ("open", "nobody has started on it"),
    "in_progress": ("in progress", "being worked"),
    "resolved": ("resolved", "closed: the problem is gone"),
    "cancelled": ("cancelled", "closed without a fix"),
    "running": ("running", "unsnag is working through the playbook"),
    "awaiting_approval": ("awaiting approval", "a recommendation waits for a person to approve it"),
    "waiting": ("waiting", "an action went out; waiting for the systems to confirm it"),
    "deferred": ("deferred", "unsnag will look again later"),
    "human": ("with a person", "unsnag handed the case to a person"),
    "monitoring": (
        "monitoring",
        "the playbook is done; the detectors watch for the problem to clear",
    ),
    "done": ("done", "the playbook is finished"),
}
"""A case's status and its work's state in words (and what each means), by raw name."""

MONEY_FIELD = re.compile(
    r"(amount|value|total|price|cost|balance|limit|revenue|exposure|charge|fee)$"
)
"""Event and audit fields that hold money (``list_price``, ``open_balance``...)."""


def instant(value: Any) -> datetime | None:
    """An aware datetime from an ISO string or datetime (None stays None)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def duration(seconds: float) -> str:
    """``2 d 4 h``, ``3 h 20 m``, ``12 m``: two units at most."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} m"
    return f"{mins} m"


@dataclass(frozen=True, slots=True)
class Countdown:
    """An SLA clock as shown: text, a state for the colour, and the due time."""

    text: str
    state: str
    """ok, soon, overdue, paused, stopped or none."""
    due: str | None = None
    seconds: float | None = None


def sla_countdown(case: dict[str, Any], now: datetime) -> Countdown:
    """Time left until the case's SLA is due, relative to ``now`` (the runtime's clock)."""
    work = case.get("work") or {}
    sla = work.get("sla") or {}
    if case.get("status") not in LIVE:
        return Countdown(str(case.get("status") or "closed"), "stopped")
    if sla.get("stopped"):
        return Countdown("stopped", "stopped")
    if sla.get("paused"):
        reason = sla.get("paused_reason")
        return Countdown(f"paused ({reason})" if reason else "paused", "paused")
    due = instant(sla.get("due_at") or case.get("due_at"))
    if due is None:
        return Countdown("no SLA", "none")
    left = (due - now).total_seconds()
    stamp = due.strftime("%Y-%m-%d %H:%M UTC")
    if left < 0 or sla.get("breached"):
        return Countdown(f"overdue {duration(left)}", "overdue", stamp, left)
    return Countdown(f"{duration(left)} left", "soon" if left < SOON_S else "ok", stamp, left)


def when(value: Any) -> str:
    """``2026-05-07 20:56`` (UTC), or an empty string."""
    moment = instant(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else ""


def state_word(value: Any) -> str:
    """``awaiting_approval`` as ``awaiting approval``, ``human`` as ``with a person``."""
    text = str(value or "")
    return STATES.get(text, (text.replace("_", " "), ""))[0]


def state_help(value: Any) -> str:
    """What a status or work state means, for a tooltip (empty if unknown)."""
    return STATES.get(str(value or ""), ("", ""))[1]


def field_value(value: Any, name: str = "") -> str:
    """A field of an event or audit entry as shown: money fields with two decimals and
    thousands separators, other fractions with separators, the rest (ids, counts) as it
    is."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if MONEY_FIELD.search(str(name).lower()):
        return money(value)
    if isinstance(value, float):
        text = number(value, 2)
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def money(value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)


def number(value: Any, digits: int = 1) -> str:
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.{digits}f}"


def percent(value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{float(value) * 100:.1f} %"
    except (TypeError, ValueError):
        return str(value)


def kpi_value(value: Any, unit: str) -> str:
    """A KPI in its unit: ratios as percentages, hours and days with their unit."""
    if value is None:
        return "—"
    if unit in ("ratio", "share", "rate", "fraction"):
        return percent(value)
    if unit in ("h", "hours"):
        return f"{number(value)} h"
    if unit in ("d", "days"):
        return f"{number(value)} d"
    if unit in ("USD", "money", "currency"):
        return money(value)
    return number(value, 2)


def compact(data: Any, limit: int = 6) -> str:
    """A one-line summary of an event's data: its first few plain fields."""
    if not isinstance(data, dict):
        return ""
    parts = []
    for name, value in data.items():
        if isinstance(value, dict | list) or value is None:
            continue
        parts.append(f"{name}={field_value(value, name)}")
        if len(parts) >= limit:
            break
    return " · ".join(parts)


FILTERS = {
    "when": when,
    "money": money,
    "number": number,
    "percent": percent,
    "kpi_value": kpi_value,
    "compact": compact,
    "state_word": state_word,
    "state_help": state_help,
    "field_value": field_value,
}
