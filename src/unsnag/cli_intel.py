"""`unsnag intel ...`: KPIs, Paretos and incidents over the store or over files.

Thin, like the rest of the CLI: parse, call :mod:`unsnag.intel`, render. Importing this
module is cheap (polars and the intel modules load when a command runs), so another
module may add commands to :data:`intel_app`::

    from unsnag.cli_intel import intel_app

    @intel_app.command("map")
    def map_(...) -> None: ...

:func:`load_frames` and the ``CasesOpt``/``EventsOpt``/``FromOpt``/``ToOpt`` option
types are shared with such commands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table

from unsnag.cli_common import console, err, friendly_errors
from unsnag.errors import ContractViolation

if TYPE_CHECKING:
    from unsnag.intel.frames import Frames
    from unsnag.intel.incidents import Incidents
    from unsnag.intel.kpi import Period
    from unsnag.intel.pareto import Pareto

intel_app = typer.Typer(
    help="Process intelligence: KPIs, Paretos (root-cause recurrence), incidents and more.",
    no_args_is_help=True,
)


CasesOpt = Annotated[
    Path | None,
    typer.Option("--cases", help="cases.jsonl (from unsnag replay); default: the store."),
]
EventsOpt = Annotated[
    Path | None, typer.Option("--events", help="Events JSON Lines (with --cases).")
]
FromOpt = Annotated[
    str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: data start).")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, included (default: data end).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
TypesOpt = Annotated[
    list[str] | None, typer.Option("--type", help="Only cases of this type (repeatable).")
]
WhereOpt = Annotated[
    list[str] | None,
    typer.Option("--where", help="DIM=VALUE filter, e.g. --where customer=C-0042 (repeatable)."),
]


def load_frames(cases: Path | None, events: Path | None, quiet: bool = False) -> Frames:
    """The frames of ``--cases``/``--events``, or of the store the settings name; on a
    terminal a progress bar follows the events file and names each stage."""
    from unsnag.intel.frames import load_files, load_store

    if (cases is None) != (events is None):
        raise ContractViolation("give both --cases and --events, or neither (the store)")
    total = events.stat().st_size if events is not None and events.is_file() else None
    with _progress(quiet, total) as (say, on_bytes):
        if cases is not None and events is not None:
            return load_files(cases, events, say, on_bytes)
        from unsnag.settings import load_settings
        from unsnag.store import open_store

        with open_store(load_settings().database_url) as store:
            return load_store(store, say)


@contextmanager
def _progress(quiet: bool, total: int | None) -> Iterator[tuple[Any, Any]]:
    if quiet or not err.is_terminal:
        yield None, None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
               DownloadColumn(), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("loading", total=total)
        yield (
            lambda stage: bar.update(task, description=stage),
            lambda done: bar.update(task, completed=done),
        )


def period_of(frames: Frames, first: str | None, last: str | None) -> Period:
    """``--from``/``--to`` as a period; a missing end is the data's."""
    from unsnag.intel.kpi import Period, data_period

    whole = data_period(frames)
    try:
        start = date.fromisoformat(first) if first else whole.start.date()
        end = date.fromisoformat(last) if last else (whole.end - timedelta(days=1)).date()
    except ValueError as exc:
        raise ContractViolation(f"--from/--to: {exc} (use YYYY-MM-DD)") from None
    return Period.days(start, end)


def _filters(types: list[str] | None, team: str | None, where: list[str] | None) -> list[Any]:
    filters: list[tuple[str, str]] = []
    for item in where or ():
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ContractViolation(f"--where {item!r}: use DIM=VALUE")
        filters.append((name.strip(), value.strip()))
    if team:
        filters.append(("team", team))
    if types and len(types) == 1:
        filters.append(("type", types[0]))
    elif types:
        raise ContractViolation("kpis takes one --type (slice with --by type for several)")
    return filters


def _dump(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "share":
        return f"{value * 100:.1f} %"
    if unit == "hours":
        return f"{value:,.1f} h"
    if unit == "days":
        return f"{value:,.1f} d"
    if unit == "money":
        return f"{value:,.2f}"
    if unit.startswith("cases per") or unit == "touches":
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def _count(value: int | None, spec: str = ",") -> str:
    return "–" if value is None else format(value, spec)


# --- kpis --------------------------------------------------------------------------------------

DEFAULT_COLUMNS = ("cases_opened", "exceptions_per_1000_orders", "touchless_rate",
                   "open_backlog", "time_to_resolve_p50_h", "sla_attainment",
                   "revenue_at_risk_open")  # fmt: skip


@intel_app.command("kpis")
def kpis(
    first: FromOpt = None,
    last: ToOpt = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Slice by: type, team, customer, tier, sku, "
            "node (dc), carrier, channel, source, endpoint, lane.",
        ),
    ] = None,
    types: TypesOpt = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team's cases.")] = None,
    where: WhereOpt = None,
    kpi_names: Annotated[
        list[str] | None, typer.Option("--kpi", help="Only these KPIs (repeatable).")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to show with --by.")] = 20,
    cases: CasesOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
    list_only: Annotated[bool, typer.Option("--list", help="List the KPIs and exit.")] = False,
) -> None:
    """Every KPI over a period, for everything or sliced by a dimension."""
    from unsnag.intel import kpi

    if list_only:
        _list_kpis(as_json)
        return
    with friendly_errors():
        frames = load_frames(cases, events, as_json)
        period = period_of(frames, first, last)
        filters = _filters(types, team, where)
        table = kpi.compute(frames, period, by, filters, kpi_names)
    document = {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "by": by,
        "filters": dict(filters),
        "kpis": [d for d in kpi.describe() if d["name"] in table.columns],
        "rows": table.to_dicts(),
    }
    if as_json:
        _dump(document)
    elif by is None:
        _print_summary(document, period)
    else:
        _print_sliced(table, by, period, kpi_names or DEFAULT_COLUMNS, top)


def _list_kpis(as_json: bool) -> None:
    from unsnag.intel.kpi import describe

    if as_json:
        _dump(describe())
        return
    table = Table(title="KPIs", title_justify="left", header_style="bold")
    for name in ("name", "unit", "measured on", "formula"):
        table.add_column(name, overflow="fold")
    for row in describe():
        table.add_row(row["name"], row["unit"], row["measured on"], row["formula"])
    console.print(table)


def _print_summary(document: dict[str, Any], period: Period) -> None:
    where = ", ".join(f"{k}={v}" for k, v in document["filters"].items())
    title = f"KPIs, {period}" + (f" ({where})" if where else "")
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_column("name", style="dim")
    row = document["rows"][0]
    for info in document["kpis"]:
        table.add_row(info["title"], _fmt(row[info["name"]], info["unit"]), info["name"])
    console.print(table)


def _print_sliced(frame: Any, by: str, period: Period, columns: Any, top: int) -> None:
    from unsnag.intel.kpi import REGISTRY

    shown = [name for name in columns if name in frame.columns]
    table = Table(title=f"KPIs by {by}, {period}", title_justify="left", header_style="bold")
    table.add_column(by, no_wrap=True)
    for name in shown:
        table.add_column(REGISTRY[name].title, justify="right")
    for row in frame.head(top).iter_rows(named=True):
        cells = [_fmt(row[name], REGISTRY[name].unit) for name in shown]
        table.add_row(str(row[by]), *cells)
    console.print(table)
    if frame.height > top:
        console.print(f"{frame.height - top:,} more rows (--top, --json)", style="dim")


# --- pareto ------------------------------------------------------------------------------------


@intel_app.command("pareto")
def pareto(
    by: Annotated[
        str, typer.Option("--by", help="sku, customer, node (dc), carrier, endpoint, lane, …")
    ],
    types: TypesOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Values to rank.")] = 10,
    first: FromOpt = None,
    last: ToOpt = None,
    window_days: Annotated[
        float, typer.Option("--window-days", min=0, help="Recurrence window, days.")
    ] = 30,
    where: WhereOpt = None,
    cases: CasesOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which values cause most cases, whether they recur, and whether it is getting better."""
    from unsnag.intel.pareto import pareto as compute_pareto

    with friendly_errors():
        frames = load_frames(cases, events, as_json)
        period = period_of(frames, first, last)
        filters = _filters(None, None, where)
        result = compute_pareto(frames, by, period, types or (), filters, top, window_days)
    if as_json:
        _dump(result.to_dict())
    else:
        _print_pareto(result)


def _print_pareto(result: Pareto) -> None:
    from unsnag.intel.pareto import sparkline

    what = ", ".join(result.case_types) or "all cases"
    table = Table(title=f"{what} by {result.dimension}, {result.period}", title_justify="left",
                  header_style="bold")  # fmt: skip
    for name in ("#", result.dimension, "cases", "share", "cum.", "recurring", "prev.", "Δ",
                 "weekly", "w/w"):  # fmt: skip
        table.add_column(name, justify="left" if name in (result.dimension, "weekly") else "right")
    for row in result.rows.iter_rows(named=True):
        table.add_row(
            str(row["rank"]), str(row["value"]), f"{row['cases']:,}", _fmt(row["share"], "share"),
            _fmt(row["cumulative_share"], "share"), _fmt(row["recurrence_rate"], "share"),
            _count(row["previous"]), _count(row["change"], "+,"),
            f"{sparkline(row['weekly'])} {' '.join(map(str, row['weekly']))}",
            "–" if row["week_over_week"] is None else f"{row['week_over_week']:+,}",
        )  # fmt: skip
    console.print(table)
    for line in _pareto_lines(result):
        console.print(line, highlight=False)


def _pareto_lines(result: Pareto) -> list[str]:
    from unsnag.intel.pareto import sparkline

    dim = result.dimension
    change = "no data for the previous period"
    if result.previous_covered:
        pct = "" if result.change_pct is None else f", {result.change_pct:+.1f} %"
        change = f"previous period {result.previous_total:,} ({result.change:+,}{pct})"
    wow = "" if result.week_over_week is None else f", week over week {result.week_over_week:+,}"
    rate = _fmt(result.recurring / result.total if result.total else None, "share")
    weekly = " ".join(f"{n:,}" for n in result.weekly_total)
    lines = [
        f"[bold]{result.total:,}[/] cases with a {dim} ({result.without_value:,} without); "
        f"{change} → [bold]{result.trend}[/]",
        f"the top {min(result.top, result.table.height)} account for "
        f"{result.top_share * 100:.1f} %; recurring within {result.window_days:g} d: "
        f"{result.recurring:,} ({rate})",
        f"weekly {sparkline(result.weekly_total)} {weekly}{wow}",
    ]
    for label, movers in (("movers up", result.movers_up), ("movers down", result.movers_down)):
        if movers.height:
            items = ", ".join(
                f"{r['value']} ({r['change']:+,})" for r in movers.iter_rows(named=True)
            )
            lines.append(f"{label}: {items}")  # fmt: skip
    return lines


# --- incidents ---------------------------------------------------------------------------------


@intel_app.command("incidents")
def incidents(
    first: FromOpt = None,
    last: ToOpt = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule's incidents.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Incidents to show.")] = 30,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Policy YAML (its incidents: rules).")
    ] = None,
    cases: CasesOpt = None,
    events: EventsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cases that share a cause, grouped under one incident by the policy's rules."""
    from unsnag.intel.incidents import find_incidents, rules_of
    from unsnag.policy import load_policy
    from unsnag.settings import load_settings

    with friendly_errors():
        rules = rules_of(load_policy(policy or load_settings().policy_path))
        if rule is not None:
            rules = [r for r in rules if r.id == rule]
            if not rules:
                raise ContractViolation(f"no incident rule {rule!r} in the policy")
        frames = load_frames(cases, events, as_json)
        period = period_of(frames, first, last)
        found = find_incidents(frames.cases, rules, period)
    if as_json:
        _dump({"period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
               **found.to_dict()})  # fmt: skip
    else:
        _print_incidents(found, period, top)


def _print_incidents(found: Incidents, period: Period, top: int) -> None:
    items = sorted(found.incidents, key=lambda i: (-len(i.cases), i.start, i.id))
    table = Table(title=f"Incidents, {period} ({len(items):,}, {len(found.links):,} cases)",
                  title_justify="left", header_style="bold")  # fmt: skip
    for name in ("id", "rule", "title", "cases", "open", "orders", "revenue at risk"):
        table.add_column(name, justify="right" if name in ("cases", "open", "orders",
                         "revenue at risk") else "left", no_wrap=name != "title")  # fmt: skip
    for item in items[:top]:
        table.add_row(item.id, item.rule, item.title, f"{len(item.cases):,}",
                      f"{item.open_cases:,}", f"{len(item.orders):,}",
                      _fmt(item.revenue_at_risk, "money"))  # fmt: skip
    console.print(table)
    if len(items) > top:
        console.print(f"{len(items) - top:,} more (--top, --json)", style="dim")
