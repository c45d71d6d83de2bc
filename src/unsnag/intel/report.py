"""The operations report: one self-contained HTML page an operations manager can mail.

:func:`build_report` gathers the numbers of a period from the frames — the KPI registry
(:mod:`unsnag.intel.kpi`), the Paretos (:mod:`unsnag.intel.pareto`), the incidents
(:mod:`unsnag.intel.incidents`) and the order process map (:mod:`unsnag.intel.process_map`)
— into a :class:`Report`; nothing here computes a metric of its own. :func:`render_html`
draws it with the template ``templates/report.html.j2`` and plotly charts, with
plotly.js (from the ``plotly`` wheel) embedded once, so the page opens offline and
fetches nothing. :func:`write_report` writes ``report.html`` and ``report.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from unsnag.intel import kpi
from unsnag.intel.frames import UTC_TIME, Frames
from unsnag.intel.incidents import Incidents, find_incidents
from unsnag.intel.kpi import Period
from unsnag.intel.pareto import Pareto, pareto, weeks_of
from unsnag.intel.process_map import process_map
from unsnag.policy.incidents import IncidentRule

HEADLINE = ("exceptions_per_1000_orders", "touchless_rate", "sla_attainment",
            "time_to_resolve_p50_h", "time_to_resolve_p90_h", "open_backlog",
            "revenue_at_risk_open", "revenue_protected")  # fmt: skip
"""The KPIs on the tiles at the top, in this order."""
AGE_BUCKETS = ("backlog_under_4h", "backlog_4h_to_24h", "backlog_1d_to_3d", "backlog_3d_to_7d",
               "backlog_over_7d")  # fmt: skip
PARETOS = (("sku", "SKU"), ("customer", "customer"), ("dc", "DC"), ("carrier", "carrier"),
           ("endpoint", "integration endpoint"))  # fmt: skip
"""The Paretos shown: dimension and how the report names it."""
PARETO_TOP = 10
VARIANTS_TOP = 10
MAP_OBJECT = "order"


@dataclass(frozen=True, slots=True)
class Report:
    """Every number the report shows (and ``report.json`` holds)."""

    period: Period
    source: str
    generated_at: datetime
    kpis: dict[str, float | None]
    opened_by_day: pl.DataFrame
    """``day``, ``type``, ``cases``: cases opened per day and type."""
    backlog_by_day: pl.DataFrame
    """``day``, ``open_backlog``: the open backlog at each day's end."""
    sla_by_week: pl.DataFrame
    """``from``, ``to``, ``sla_attainment``, ``cases_resolved`` per seven-day bin."""
    paretos: list[tuple[str, Pareto]]
    """(label, Pareto) per dimension of :data:`PARETOS`."""
    incidents: Incidents
    process_map: dict[str, Any] | None
    """The order DFG and variants (``process_map.process_map``), or None without an index."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
            "source": self.source,
            "generated_at": self.generated_at.isoformat(),
            "kpis": self.kpis,
            "definitions": kpi.describe(),
            "opened_by_day": self.opened_by_day.to_dicts(),
            "backlog_by_day": self.backlog_by_day.to_dicts(),
            "sla_by_week": self.sla_by_week.to_dicts(),
            "backlog_by_age": {name: self.kpis[name] for name in AGE_BUCKETS},
            "paretos": {p.dimension: p.to_dict() for _, p in self.paretos},
            "incidents": self.incidents.to_dict(),
            "process_map": self.process_map,
        }


# --- building it -------------------------------------------------------------------------


def build_report(
    frames: Frames,
    period: Period,
    *,
    source: str,
    generated_at: datetime,
    rules: Sequence[IncidentRule] | None = None,
    index: pl.DataFrame | None = None,
) -> Report:
    """The report of ``period``: ``rules`` group incidents (the shipped ones by default);
    ``index`` is the process-map object index (no map without it)."""
    opened, backlog = _daily(frames, period)
    return Report(
        period=period,
        source=source,
        generated_at=generated_at,
        kpis=kpi.summary(frames, period),
        opened_by_day=opened,
        backlog_by_day=backlog,
        sla_by_week=_weekly_sla(frames, period),
        paretos=[(label, pareto(frames, by, period, top=PARETO_TOP)) for by, label in PARETOS],
        incidents=find_incidents(frames.cases, rules, period),
        process_map=None if index is None else order_map(index, period),
    )


def days_of(period: Period) -> list[date]:
    """Every day the period touches."""
    first, last = period.start.date(), (period.end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _daily(frames: Frames, period: Period) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cases opened per day by type, and the open backlog at each day's end (the
    registry's ``cases_opened`` and ``open_backlog``, one day at a time)."""
    opened: list[pl.DataFrame] = []
    backlog: list[int] = []
    days = days_of(period)
    for day in days:
        one = Period(max(period.start, _midnight(day)), min(period.end, _midnight(day, 1)))
        table = kpi.compute(frames, one, "type", selected=["cases_opened", "open_backlog"])
        backlog.append(int(table["open_backlog"].fill_null(0).sum()))
        opened.append(
            table.filter(pl.col("cases_opened") > 0).select(
                pl.lit(day).alias("day"),
                "type",
                pl.col("cases_opened").cast(pl.Int64).alias("cases"),
            )
        )
    schema = {"day": pl.Date(), "type": pl.String(), "cases": pl.Int64()}
    by_type = pl.concat([pl.DataFrame(schema=schema), *opened], how="vertical_relaxed")
    return by_type, pl.DataFrame({"day": days, "open_backlog": backlog})


def _midnight(day: date, plus: int = 0) -> datetime:
    return Period.days(day, day).start + timedelta(days=plus)


def _weekly_sla(frames: Frames, period: Period) -> pl.DataFrame:
    """SLA attainment and cases resolved per seven-day bin of ``pareto.weeks_of``."""
    wanted = ["sla_attainment", "cases_resolved"]
    rows = [
        {
            "from": week.start,
            "to": week.end,
            **kpi.compute(frames, week, selected=wanted).drop("scope").row(0, named=True),
        }
        for week in weeks_of(period)
    ]
    schema = {"from": UTC_TIME, "to": UTC_TIME, "sla_attainment": pl.Float64(),
              "cases_resolved": pl.Float64()}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def order_map(index: pl.DataFrame, period: Period) -> dict[str, Any]:
    """The order DFG and top variants of the objects whose trace starts in ``period``
    (whole traces, so an order that ships after the period end still shows it)."""
    started = pl.when(pl.col("first")).then(pl.col("time")).forward_fill()
    inside = (started >= period.start) & (started < period.end)
    return process_map(index.filter(inside), (MAP_OBJECT,), VARIANTS_TOP)


# --- writing it --------------------------------------------------------------------------


def write_report(report: Report, out: Path) -> tuple[Path, Path]:
    """``out/report.html`` and ``out/report.json``; returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    html, data = out / "report.html", out / "report.json"
    html.write_text(render_html(report), "utf-8")
    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    data.write_bytes(orjson.dumps(report.to_dict(), option=options) + b"\n")
    return html, data


# --- rendering it ------------------------------------------------------------------------

CHART_CONFIG = {"displaylogo": False, "responsive": True}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def render_html(report: Report) -> str:
    """The report as one HTML page: plotly.js embedded once, no external resource."""
    from jinja2 import Environment, PackageLoader, StrictUndefined
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    env = Environment(
        loader=PackageLoader("unsnag.intel", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = show
    charts = {name: Markup(html) for name, html in _charts(report).items()}
    svg = None
    if report.process_map is not None:
        from unsnag.intel.svg import render_dfg

        svg = Markup(render_dfg(report.process_map["graphs"][MAP_OBJECT]))
    return env.get_template("report.html.j2").render(
        report=report,
        registry=kpi.REGISTRY,
        headline=HEADLINE,
        age_buckets=AGE_BUCKETS,
        incidents=sorted(report.incidents.incidents, key=lambda i: (-len(i.cases), i.start)),
        charts=charts,
        map_svg=svg,
        plotlyjs=Markup(get_plotlyjs()),
        last_day=report.period.end - timedelta(microseconds=1),
    )


def show(value: Any, unit: str = "") -> str:
    """A number as the report prints it, by the KPI unit (``–`` for none)."""
    if value is None:
        return "–"
    if unit == "share":
        return f"{value * 100:.1f} %"
    if unit in ("hours", "days"):
        return f"{value:,.1f} {unit[0]}"
    if unit.startswith("cases per") or unit == "touches":
        return f"{value:,.2f}"
    if unit == "signed":
        return f"{value:+,}"
    return f"{value:,.0f}"


def _charts(report: Report) -> dict[str, str]:
    """Every chart, by name, as an HTML fragment (a div and its plotting script)."""
    charts = {
        "opened": _opened_chart(report.opened_by_day),
        "backlog": _backlog_chart(report.backlog_by_day),
        "sla": _sla_chart(report.sla_by_week),
        "ages": _ages_chart(report.kpis),
    }
    for label, result in report.paretos:
        if result.total:
            charts[f"pareto-{result.dimension}"] = _pareto_chart(result, label)
    return charts


def _figure(traces: list[Any], title: str, **layout: Any) -> Any:
    import plotly.graph_objects as go  # type: ignore[import-untyped]

    from unsnag.intel.svg import PALETTE

    figure = go.Figure(traces)
    defaults = {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "template": "plotly_white",
        "colorway": list(PALETTE),
        "font": {"family": FONT, "size": 12, "color": "#1f2933"},
        "margin": {"l": 56, "r": 24, "t": 48, "b": 48},
        "height": 340,
        "legend": {"orientation": "h", "y": -0.18},
    }
    figure.update_layout({**defaults, **layout})
    return figure


def _html(figure: Any, div_id: str) -> str:
    return str(
        figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=CHART_CONFIG)
    )


def _opened_chart(opened: pl.DataFrame) -> str:
    import plotly.graph_objects as go

    totals = opened.group_by("type").agg(pl.col("cases").sum())
    totals = totals.sort(["cases", "type"], descending=[True, False])
    traces = []
    for name in totals["type"].to_list():
        part = opened.filter(pl.col("type") == name)
        traces.append(go.Bar(x=part["day"].to_list(), y=part["cases"].to_list(), name=name))
    figure = _figure(traces, "Cases opened per day, by type", barmode="stack",
                     yaxis={"title": "cases"}, height=380)  # fmt: skip
    return _html(figure, "chart-opened")


def _backlog_chart(backlog: pl.DataFrame) -> str:
    import plotly.graph_objects as go

    line = go.Scatter(x=backlog["day"].to_list(), y=backlog["open_backlog"].to_list(),
                      mode="lines+markers", name="open backlog", line={"width": 3})  # fmt: skip
    figure = _figure([line], "Open backlog at each day's end", yaxis={"title": "cases",
                     "rangemode": "tozero"}, showlegend=False)  # fmt: skip
    return _html(figure, "chart-backlog")


def _sla_chart(weeks: pl.DataFrame) -> str:
    import plotly.graph_objects as go

    labels = [f"{start:%m-%d} – {end - timedelta(days=1):%m-%d}" for start, end in
              weeks.select("from", "to").iter_rows()]  # fmt: skip
    shares = [None if v is None else round(v * 100, 1) for v in weeks["sla_attainment"]]
    bar = go.Bar(x=labels, y=shares, name="SLA attainment", text=[show(v, "") for v in shares],
                 customdata=weeks["cases_resolved"].to_list(),
                 hovertemplate="%{y:.1f} % of %{customdata:,} resolved<extra></extra>")  # fmt: skip
    figure = _figure([bar], "SLA attainment per week (resolved cases)", showlegend=False,
                     yaxis={"title": "%", "range": [0, 100]})  # fmt: skip
    return _html(figure, "chart-sla")


def _ages_chart(kpis: dict[str, float | None]) -> str:
    import plotly.graph_objects as go

    labels = [kpi.REGISTRY[name].title.removeprefix("open backlog aged ") for name in AGE_BUCKETS]
    counts = [kpis[name] or 0 for name in AGE_BUCKETS]
    bar = go.Bar(x=labels, y=counts, text=[show(c) for c in counts], name="open cases")
    figure = _figure([bar], "Open backlog at the period end, by age", showlegend=False,
                     yaxis={"title": "cases"})  # fmt: skip
    return _html(figure, "chart-ages")


def _pareto_chart(result: Pareto, label: str) -> str:
    import plotly.graph_objects as go

    rows = result.rows
    values = [str(v) for v in rows["value"]]
    bars = go.Bar(x=values, y=rows["cases"].to_list(), name="cases")
    line = go.Scatter(x=values, y=[round(s * 100, 1) for s in rows["cumulative_share"]],
                      name="cumulative share", yaxis="y2", mode="lines+markers")  # fmt: skip
    figure = _figure([bars, line], f"Cases by {label} (top {rows.height})",
                     yaxis={"title": "cases"}, xaxis={"type": "category"},
                     yaxis2={"title": "cumulative %", "overlaying": "y", "side": "right",
                             "range": [0, 105], "showgrid": False})  # fmt: skip
    return _html(figure, f"chart-pareto-{result.dimension}")
