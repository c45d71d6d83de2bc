"""Where exceptions come from: Paretos by SKU, customer, DC, carrier or endpoint, with
recurrence, the trend against the previous period, week over week, and the top movers.

One call answers "which five SKUs caused most shortages this month, and is it getting
better?"::

    pareto(frames, "sku", Period.days(date(2026, 5, 1), date(2026, 5, 31)),
           case_types=["allocation.shortage"], top=5)

Definitions (docs/kpis.md):

- a case counts for the value of the dimension it carries (its SKU, customer, …), in the
  period it was *opened*; cases without a value are counted apart (``without_value``);
- *share* is the value's cases ÷ all cases with a value; *cumulative share* adds the
  shares of the values ranked above it (most cases first, then by value);
- a case *recurs* when a case of the same type and the same value was opened within
  ``window_days`` before it (cases before the period count as earlier ones);
- *previous* is the period of the same length just before; *change* = cases − previous;
- *weeks* are seven-day bins counted back from the period end (the oldest may be
  shorter); *week over week* compares the last bin with the one before it;
- *movers* are the values whose cases changed most against the previous period;
- without data over the whole previous period, the comparisons (previous, change,
  movers) are left empty rather than made against a partial period;
- the *trend* is ``improving`` when the cases fell by more than 5 % against the previous
  period, ``worsening`` when they rose by more than 5 %, ``steady`` otherwise, and
  ``unknown`` when the data do not cover the previous period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from unsnag.intel.frames import Frames
from unsnag.intel.kpi import Period, column_of

WEEK = timedelta(days=7)
UNCOVERED = ("previous", "change", "change_pct")
"""Columns left empty when the data do not reach back over the previous period."""
TREND_THRESHOLD = 0.05
BARS = "▁▂▃▄▅▆▇█"

PARETO_DIMENSIONS = ("sku", "customer", "node", "dc", "carrier", "endpoint", "lane", "type",
                     "team", "tier", "channel", "source", "root_cause")  # fmt: skip
"""What a Pareto may rank (the slicing dimensions of ``unsnag.intel.kpi``)."""


@dataclass(frozen=True, slots=True)
class Pareto:
    """A Pareto of cases by one dimension over a period; see the module docstring."""

    dimension: str
    column: str
    period: Period
    previous_period: Period
    case_types: tuple[str, ...]
    window_days: float
    total: int
    previous_total: int
    without_value: int
    recurring: int
    previous_covered: bool
    weeks: list[Period]
    weekly_total: list[int]
    table: pl.DataFrame
    """Every value: rank, value, cases, share, cumulative_share, revenue_at_risk,
    recurring, recurrence_rate, previous, change, change_pct, weekly, week_over_week."""
    top: int
    movers_up: pl.DataFrame
    movers_down: pl.DataFrame

    @property
    def rows(self) -> pl.DataFrame:
        """The top values."""
        return self.table.head(self.top)

    @property
    def change(self) -> int:
        return self.total - self.previous_total

    @property
    def change_pct(self) -> float | None:
        return _pct(self.total, self.previous_total)

    @property
    def trend(self) -> str:
        if not self.previous_covered:
            return "unknown"
        if self.previous_total == 0:
            return "worsening" if self.total else "steady"
        ratio = self.change / self.previous_total
        if ratio < -TREND_THRESHOLD:
            return "improving"
        return "worsening" if ratio > TREND_THRESHOLD else "steady"

    @property
    def week_over_week(self) -> int | None:
        totals = self.weekly_total
        return totals[-1] - totals[-2] if len(totals) >= 2 else None

    @property
    def top_share(self) -> float:
        """The share of the cases the top values account for."""
        return _ratio(int(self.rows["cases"].sum()), self.total) or 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "case_types": list(self.case_types),
            "period": _period(self.period),
            "previous_period": _period(self.previous_period),
            "recurrence_window_days": self.window_days,
            "cases": self.total,
            "cases_without_value": self.without_value,
            "previous_cases": self.previous_total if self.previous_covered else None,
            "change": self.change if self.previous_covered else None,
            "change_pct": self.change_pct if self.previous_covered else None,
            "trend": self.trend,
            "recurring": self.recurring,
            "recurrence_rate": _ratio(self.recurring, self.total),
            "top_share": round(self.top_share, 4),
            "weeks": [_period(week) for week in self.weeks],
            "weekly": self.weekly_total,
            "week_over_week": self.week_over_week,
            "rows": self.rows.rename({"value": self.dimension}).to_dicts(),
            "movers_up": self.movers_up.to_dicts(),
            "movers_down": self.movers_down.to_dicts(),
        }


def _period(period: Period) -> dict[str, str]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pct(now: int, before: int) -> float | None:
    return round((now - before) / before * 100, 1) if before else None


def weeks_of(period: Period) -> list[Period]:
    """Seven-day bins counted back from the period end, oldest first."""
    count = max(1, math.ceil(period.length / WEEK))
    ends = [period.end - WEEK * back for back in range(count)]
    return [Period(max(end - WEEK, period.start), end) for end in reversed(ends)]


def sparkline(counts: Sequence[int]) -> str:
    """One bar per count, scaled to the largest."""
    top = max(counts, default=0)
    if top <= 0:
        return BARS[0] * len(counts)
    return "".join(BARS[min(len(BARS) - 1, round(c / top * (len(BARS) - 1)))] for c in counts)


# --- computing it ----------------------------------------------------------------------------


def _candidates(
    frames: Frames, column: str, types: Sequence[str], filters: Sequence[tuple[str, str]]
) -> pl.DataFrame:
    """The cases of the types and filters, with whether each recurs (all time)."""
    cases = frames.cases
    if types:
        cases = cases.filter(pl.col("type").is_in(list(types)))
    for name, value in filters:
        cases = cases.filter(pl.col(column_of(name)) == value)
    return cases.select("id", "type", "opened_at", "revenue_at_risk", value=pl.col(column))


def _with_recurrence(cases: pl.DataFrame, window: timedelta) -> pl.DataFrame:
    before = pl.col("opened_at").shift(1).over("type", "value", order_by=["opened_at", "id"])
    return cases.with_columns(recurring=((pl.col("opened_at") - before) <= window).fill_null(False))


def _in(period: Period) -> pl.Expr:
    return (pl.col("opened_at") >= period.start) & (pl.col("opened_at") < period.end)


def _ranked(current: pl.DataFrame, previous: pl.DataFrame, weeks: list[Period]) -> pl.DataFrame:
    total = current.height
    weekly = [_in(week).sum().alias(f"w{n}") for n, week in enumerate(weeks)]
    counts = current.group_by("value").agg(
        *weekly,
        cases=pl.len(),
        revenue_at_risk=pl.col("revenue_at_risk").sum().round(2),
        recurring=pl.col("recurring").sum(),
    )
    before = previous.group_by("value").agg(previous=pl.len())
    wow = pl.lit(None, pl.Int64())
    if len(weeks) > 1:
        last, prior = pl.col(f"w{len(weeks) - 1}"), pl.col(f"w{len(weeks) - 2}")
        wow = last.cast(pl.Int64()) - prior.cast(pl.Int64())
    return (
        counts.join(before, on="value", how="left")
        .with_columns(pl.col("previous").fill_null(0))
        .sort(["cases", "value"], descending=[True, False])
        .with_columns(
            rank=pl.int_range(1, pl.len() + 1),
            share=(pl.col("cases") / total).round(4),
            cumulative_share=(pl.col("cases").cum_sum() / total).round(4),
            recurrence_rate=(pl.col("recurring") / pl.col("cases")).round(4),
            change=pl.col("cases").cast(pl.Int64) - pl.col("previous").cast(pl.Int64),
            weekly=pl.concat_list([f"w{n}" for n in range(len(weeks))]),
            week_over_week=wow,
        )
        .with_columns(
            change_pct=pl.when(pl.col("previous") > 0).then(
                (pl.col("change") / pl.col("previous") * 100).round(1)
            )
        )
        .select("rank", "value", "cases", "share", "cumulative_share", "revenue_at_risk",
                "recurring", "recurrence_rate", "previous", "change", "change_pct", "weekly",
                "week_over_week")
    )  # fmt: skip


def _movers(current: pl.DataFrame, previous: pl.DataFrame, count: int) -> tuple[pl.DataFrame, ...]:
    now = current.group_by("value").agg(cases=pl.len())
    before = previous.group_by("value").agg(previous=pl.len())
    both = (
        now.join(before, on="value", how="full", coalesce=True)
        .fill_null(0)
        .with_columns(change=pl.col("cases").cast(pl.Int64) - pl.col("previous").cast(pl.Int64))
    )
    up = both.filter(pl.col("change") > 0).sort(["change", "value"], descending=[True, False])
    down = both.filter(pl.col("change") < 0).sort(["change", "value"])
    return up.head(count), down.head(count)


def pareto(
    frames: Frames,
    by: str,
    period: Period,
    case_types: Sequence[str] = (),
    filters: Sequence[tuple[str, str]] = (),
    top: int = 10,
    window_days: float = 30,
    movers: int = 5,
) -> Pareto:
    """The Pareto of cases opened in ``period`` by ``by``; see the module docstring."""
    column = column_of(by)
    window = timedelta(days=window_days)
    cases = _with_recurrence(_candidates(frames, column, case_types, filters), window)
    valued = cases.filter(pl.col("value").is_not_null())
    previous = period.previous()
    current, before = valued.filter(_in(period)), valued.filter(_in(previous))
    weeks = weeks_of(period)
    table = _ranked(current, before, weeks)
    up, down = _movers(current, before, movers)
    seen = [frames.events["time"].min(), frames.cases["opened_at"].min()]
    starts = [moment for moment in seen if isinstance(moment, datetime)]
    covered = bool(starts) and min(starts) <= previous.start
    if not covered:  # a partial previous period would make every value look new
        table = table.with_columns(pl.lit(None).alias(name) for name in UNCOVERED)
        up, down = up.clear(), down.clear()
    return Pareto(
        dimension=by,
        column=column,
        period=period,
        previous_period=previous,
        case_types=tuple(case_types),
        window_days=window_days,
        total=current.height,
        previous_total=before.height,
        without_value=cases.filter(_in(period) & pl.col("value").is_null()).height,
        recurring=int(current["recurring"].sum()),
        previous_covered=covered,
        weeks=weeks,
        weekly_total=[int(current.filter(_in(week)).height) for week in weeks],
        table=table,
        top=top,
        movers_up=up,
        movers_down=down,
    )
