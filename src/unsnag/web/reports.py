"""The overview (KPIs, Paretos, incidents, trend, process map) and the integrations page
(events per source per hour, refusals, dead letters and their replay)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from markupsafe import Markup

from unsnag.api.deps import Services
from unsnag.api.v1 import dead_letter_doc
from unsnag.errors import ContractViolation, UnsnagError
from unsnag.intel import kpi
from unsnag.intel.kpi import Period
from unsnag.intel.report import AGE_BUCKETS, MAP_OBJECT, PARETOS
from unsnag.runtime import wall_clock
from unsnag.web import charts
from unsnag.web.casepage import system_of
from unsnag.web.format import instant

TILES = (
    "exceptions_per_1000_orders",
    "open_backlog",
    "sla_attainment",
    "touchless_rate",
    "automation_rate",
    "time_to_resolve_p50_h",
    "time_to_resolve_p90_h",
    "revenue_at_risk_open",
    "revenue_protected",
    "cases_opened",
    "cases_resolved",
    "perfect_order_rate",
)


@dataclass(frozen=True, slots=True)
class ReportFilter:
    start: str = ""
    end: str = ""
    team: str = ""
    type: str = ""

    def filters(self) -> list[tuple[str, str]]:
        return [(n, v) for n, v in (("type", self.type), ("team", self.team)) if v]


def _day(text: str, name: str) -> datetime | None:
    if not text:
        return None
    moment = instant(text)
    if moment is None:
        raise ContractViolation(f"{name}: {text!r} is not a date (YYYY-MM-DD)", name)
    return moment


DEFAULT_DAYS = 30


def report_period(svc: Services, f: ReportFilter) -> Period:
    """The period asked for; without an end, up to now on the runtime's clock (simulated
    in the demo), so the open backlog and its ages are measured now and not at the end of
    the last day of data; without a start, the last 30 days with data."""
    start, end = _day(f.start, "from"), _day(f.end, "to")
    if end is None:
        covered = kpi.data_period(svc.analytics.frames())
        end = svc.runtime.clock()
        if start is None:
            start = max(covered.start, min(end, covered.end) - timedelta(days=DEFAULT_DAYS))
        if end <= start:  # a clock before the data (or a start in the future)
            end = max(covered.end, start + timedelta(days=1))
    return svc.analytics.period(start, end)


def _complete(day: str, period: Period, covered_end: datetime) -> str:
    """``full``, ``partial`` (the period ends inside the day: today, still going) or
    ``empty`` (after the last data)."""
    start = instant(day) or period.start
    if start >= covered_end:
        return "empty"
    return "partial" if start + timedelta(days=1) > period.end else "full"


def overview_page(svc: Services, f: ReportFilter) -> dict[str, Any]:
    """The overview's numbers and charts for the period and filters."""
    period = report_period(svc, f)
    data = svc.analytics.overview(period, f.filters())
    units = {d["name"]: d for d in data["definitions"]}
    values = data["kpis"]
    covered = kpi.data_period(svc.analytics.frames())
    kinds = [(row, _complete(row["day"], period, covered.end)) for row in data["trend"]]
    trend = [row for row, kind in kinds if kind == "full"]
    partial = next((row for row, kind in kinds if kind == "partial"), None)
    days = [row["day"][5:] for row in trend]
    ages = [
        (units[n]["title"].replace("open backlog aged ", ""), float(values.get(n) or 0))
        for n in AGE_BUCKETS
    ]
    by_type = sorted(
        ((r["type"], float(r.get("open_backlog") or 0)) for r in data["by_type"]),
        key=lambda r: -r[1],
    )
    paretos = []
    for by, title in PARETOS:
        result = data["paretos"][by]
        rows = result["rows"][:10]
        bars = [(str(r[by]), float(r["cases"])) for r in rows]
        paretos.append(
            {
                "by": by,
                "title": title,
                "rows": rows,
                "result": result,
                "chart": charts.hbars(bars, f"cases by {title}"),
            }
        )
    return {
        "filter": f,
        "period": period,
        "tiles": [{**units[n], "value": values.get(n)} for n in TILES if n in units],
        "ages": ages,
        "age_chart": charts.hbars(ages, "open backlog by age"),
        "by_type": by_type,
        "type_chart": charts.hbars(by_type, "open cases by type"),
        "paretos": paretos,
        "incidents": data["incidents"]["incidents"],
        "trend": trend,
        "partial": partial,
        "trend_chart": charts.lines(
            days,
            [
                ("opened", [r["cases_opened"] for r in trend]),
                ("resolved", [r["cases_resolved"] for r in trend]),
                ("open backlog", [r["open_backlog"] for r in trend]),
            ],
            "cases per day",
        ),
        "rate_chart": charts.lines(
            days,
            [
                ("SLA attainment", [r["sla_attainment"] for r in trend]),
                ("touchless", [r["touchless_rate"] for r in trend]),
            ],
            "SLA attainment and touchless rate per day",
            percent=True,
        ),
        "types": sorted(svc.runtime.policy.types),
        "teams": sorted(svc.runtime.policy.teams),
    }


def process_map_svg(svc: Services, f: ReportFilter) -> Markup:
    """The order process map (directly-follows graph) as inline SVG."""
    from unsnag.intel.svg import render_dfg

    period = report_period(svc, f)
    graphs = svc.analytics.process_map(period).get("graphs") or {}
    graph = graphs.get(MAP_OBJECT)
    if not graph or not graph.get("activities"):
        return Markup("<p>No order traces start in this period.</p>")
    text = render_dfg(graph)
    start = text.find("<svg")
    return Markup(text[start:] if start >= 0 else text)


def _hours(since: datetime, now: datetime) -> list[datetime]:
    """The UTC hours from the one ``since`` falls in to the one before ``now`` (the one
    ``now`` falls in too, unless it has only just begun)."""
    first = since.replace(minute=0, second=0, microsecond=0)
    count = -int(-(now - first).total_seconds() // 3600)
    return [first + timedelta(hours=h) for h in range(max(1, count))]


SYSTEM_COLOURS = {
    "erp": "#1f5fa8",
    "wms": "#15803d",
    "tms": "#7e22ce",
    "carrier": "#c2410c",
    "finance": "#a16207",
    "edi": "#0e7490",
    "crm": "#be185d",
    "ecommerce": "#9d174d",
    "portal": "#db2777",
    "unsnag": "#111827",
}
"""The timeline's colour per system (app.css ``.src-*``), so a system looks the same on
every page."""


def integrations_page(
    svc: Services, hours: int, after_id: int, replayed: bool | None
) -> dict[str, Any]:
    """Events per system per hour, refusals per origin, and one page of dead letters."""
    store = svc.runtime.store
    # Events by the hour they say they happened, before the runtime's clock: a replayed or
    # simulated history (the demo) lands on its own hours, in step with the other pages.
    now = svc.runtime.clock()
    since = now - timedelta(hours=hours)
    slots = _hours(since, now)
    labels = [slot.strftime("%H:00") for slot in slots]
    per_system: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(slots))
    per_source: dict[str, int] = defaultdict(int)
    index = {slot: i for i, slot in enumerate(slots)}
    for source, hour, count in store.event_counts(since, now, by="time"):
        per_source[source] += count
        slot = index.get(instant(hour) or now)
        if slot is not None:
            system = system_of(source)
            per_system[source if system == "other" else system][slot] += count
    received_since = datetime.now(UTC) - timedelta(hours=hours)  # refusals: wall clock
    refused = [
        {"origin": origin or "—", "hour": hour, "count": count}
        for origin, hour, count in store.dead_letter_counts(received_since)
    ]
    letters = store.list_dead_letters(limit=51, after_id=after_id, replayed=replayed)
    return {
        "hours": hours,
        "now": now,
        "clock_simulated": svc.runtime.clock is not wall_clock,
        "events_chart": charts.stacked(
            labels,
            sorted(per_system.items()),
            f"events per hour of event time, the {hours} h before {now:%Y-%m-%d %H:%M} UTC",
            colours=SYSTEM_COLOURS,
        ),
        "sources": sorted(per_source.items(), key=lambda kv: -kv[1]),
        "refused": refused,
        "dead_letters": [dead_letter_doc(row) for row in letters[:50]],
        "next_cursor": letters[49].id if len(letters) > 50 else None,
        "dead_total": store.dead_letter_count(),
        "replayed": replayed,
    }


def pretty_json(raw: str) -> str:
    """The raw input indented for editing, or as it is when it is not JSON."""
    try:
        return orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return raw


def replay(svc: Services, dead_letter_id: int, raw: str | None) -> tuple[bool, str]:
    """Replay a (fixed) dead letter: (accepted, what to tell the person)."""
    store = svc.runtime.store
    try:
        row = store.get_dead_letter(dead_letter_id)
    except UnsnagError as exc:
        return False, str(exc)
    if row.replayed_at is not None:
        return False, f"dead letter {dead_letter_id} was already replayed"
    text = raw if raw and raw.strip() else row.raw
    verdict = svc.runtime.replay_dead_letter(text, f"replay:dead-letter:{dead_letter_id}")
    if verdict.status == "refused":
        field = f" (field {verdict.field})" if verdict.field else ""
        return False, f"dead letter {dead_letter_id} still refused: {verdict.reason}{field}"
    store.mark_dead_letter_replayed(dead_letter_id, datetime.now(UTC))
    svc.metrics.events.labels(verdict.status).inc()
    return True, f"dead letter {dead_letter_id} replayed: {verdict.status} {verdict.id or ''}"
