"""KPIs, Paretos, incidents and the process map for the API and the dashboard.

The numbers are the ones `unsnag intel` and `unsnag report` compute (one KPI registry,
:mod:`unsnag.intel.kpi`), over frames built from the store. Building frames reads the
whole event log, so they are kept and rebuilt only when the log or the cases have moved
on and the copy is older than ``max_age_s`` — a dashboard refreshing every few seconds
costs one rebuild per interval, not one per request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from unsnag.errors import ContractViolation
from unsnag.intel import kpi
from unsnag.intel.frames import Frames, load_store
from unsnag.intel.incidents import find_incidents
from unsnag.intel.kpi import Period
from unsnag.intel.pareto import pareto
from unsnag.intel.report import AGE_BUCKETS, PARETOS, days_of
from unsnag.policy import Policy
from unsnag.store import StorePort

PARETO_DIMENSIONS = tuple(by for by, _ in PARETOS)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MAX_PERIOD = timedelta(days=3660)
"""Bounds of an asked period: what a report can mean, and what it can compute quickly."""


class Analytics:
    """Frames of one store, kept fresh enough; the aggregates the surfaces show."""

    def __init__(
        self,
        store: StorePort,
        policy: Policy,
        version: Callable[[], int] = lambda: 0,
        max_age_s: float = 15.0,
    ) -> None:
        self.store = store
        self.policy = policy
        self.version = version
        self.max_age_s = max_age_s
        self._frames: Frames | None = None
        self._index: pl.DataFrame | None = None
        self._built_at = 0.0
        self._built_for: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def frames(self) -> Frames:
        with self._lock:
            stamp = (self.store.last_seq(), self.version())
            fresh = time.monotonic() - self._built_at < self.max_age_s
            if self._frames is None or (stamp != self._built_for and not fresh):
                self._frames = load_store(self.store)
                self._index = None
                self._built_at, self._built_for = time.monotonic(), stamp
            return self._frames

    def index(self) -> pl.DataFrame:
        """The process-map object index of the log (built with the frames, on demand)."""
        from unsnag.intel import process_map as pm

        self.frames()
        with self._lock:
            if self._index is None:
                self._index = pm.index_raw(raw for _, raw in self.store.iter_events())
            return self._index

    def period(self, start: datetime | None, end: datetime | None, days: int = 30) -> Period:
        """The asked period; by default the last ``days`` days the data covers. A period
        must lie within EARLIEST..LATEST and span at most MAX_PERIOD (ContractViolation)."""
        for moment in (start, end):
            if moment is not None and not _within(moment):
                raise ContractViolation(
                    f"{moment.isoformat()} is outside {EARLIEST:%Y}-{LATEST:%Y}", "from"
                )
        if start is not None and end is not None:
            period = Period(_utc(start), _utc(end))
        else:
            covered = kpi.data_period(self.frames())
            end = _utc(end) if end is not None else covered.end
            start = (
                _utc(start) if start is not None else max(covered.start, end - timedelta(days=days))
            )
            period = Period(start, end)
        if period.length > MAX_PERIOD:
            raise ContractViolation(
                f"a period may span at most {MAX_PERIOD.days} days, not {period.length.days}",
                "from",
            )
        return period

    # --- aggregates -------------------------------------------------------------------

    def kpis(
        self, period: Period, filters: Sequence[tuple[str, str]] = (), by: str | None = None
    ) -> dict[str, Any]:
        frames = self.frames()
        definitions = {d["name"]: d for d in kpi.describe()}
        if by is None:
            values = kpi.summary(frames, period, filters)
            return {
                "period": _period(period),
                "filters": dict(filters),
                "kpis": [{**definitions[name], "value": value} for name, value in values.items()],
            }
        try:
            table = kpi.compute(frames, period, by, filters)
        except (KeyError, ValueError) as exc:
            raise ContractViolation(f"by: cannot slice by {by!r} ({exc})", "by") from None
        return {
            "period": _period(period),
            "filters": dict(filters),
            "by": by,
            "rows": _rows(table),
            "definitions": list(definitions.values()),
        }

    def pareto(
        self, by: str, period: Period, filters: Sequence[tuple[str, str]] = (), top: int = 10
    ) -> dict[str, Any]:
        types = [value for name, value in filters if name == "type"]
        rest = [(name, value) for name, value in filters if name != "type"]
        try:
            result = pareto(self.frames(), by, period, case_types=types, filters=rest, top=top)
        except KeyError as exc:
            raise ContractViolation(f"by: unknown dimension {by!r} ({exc})", "by") from None
        return {"period": _period(period), **result.to_dict()}

    def incidents(self, period: Period) -> dict[str, Any]:
        found = find_incidents(self.frames().cases, self.policy.incidents, period)
        return {"period": _period(period), **found.to_dict()}

    def trend(self, period: Period, filters: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        """Per day: cases opened, resolved, open backlog at the day's end, SLA attainment,
        touchless rate (the registry's KPIs, one day at a time)."""
        frames = self.frames()
        wanted = [
            "cases_opened",
            "cases_resolved",
            "open_backlog",
            "sla_attainment",
            "touchless_rate",
        ]
        rows = []
        for day in days_of(period)[-90:]:
            start = datetime.combine(day, datetime.min.time(), UTC)
            one = Period(max(period.start, start), min(period.end, start + timedelta(days=1)))
            if one.end <= one.start:
                continue
            row = kpi.compute(frames, one, None, filters, selected=wanted).row(0, named=True)
            rows.append({"day": day.isoformat(), **{name: row[name] for name in wanted}})
        return {"period": _period(period), "filters": dict(filters), "days": rows}

    def overview(self, period: Period, filters: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
        """Everything the dashboard's overview shows, in one document."""
        frames = self.frames()
        values = kpi.summary(frames, period, filters)
        opened_by_type = kpi.compute(
            frames, period, "type", filters, selected=["cases_opened", "open_backlog"]
        )
        return {
            "period": _period(period),
            "filters": dict(filters),
            "kpis": values,
            "definitions": kpi.describe(),
            "backlog_by_age": {name: values.get(name) for name in AGE_BUCKETS},
            "by_type": _rows(opened_by_type),
            "paretos": {by: self.pareto(by, period, filters) for by in PARETO_DIMENSIONS},
            "incidents": self.incidents(period),
            "trend": self.trend(period, filters)["days"],
        }

    def process_map(self, period: Period) -> dict[str, Any]:
        from unsnag.intel.report import order_map

        return {"period": _period(period), **order_map(self.index(), period)}


def _within(moment: datetime) -> bool:
    try:
        return EARLIEST <= _utc(moment) <= LATEST
    except OverflowError:  # an offset that takes it past year 1 or 9999
        return False


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _period(period: Period) -> dict[str, str]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def _rows(table: pl.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in table.to_dicts():
        out.append({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()})
    return out
