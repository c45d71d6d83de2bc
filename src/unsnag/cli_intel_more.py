"""`unsnag backtest`, `unsnag shadow ...` and `unsnag intel map`: what-if and process maps.

Thin, like the rest of the CLI: parse, call :mod:`unsnag.intel`, render. The heavy
modules (engine, polars) load when a command runs. ``cli.py`` wires these in:
:func:`backtest` as a command, :data:`shadow_app` as a group, and :func:`register` adds
``map`` to the ``intel`` group.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from unsnag.cli_common import console, err, friendly_errors

JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Directory to write the results to.")]
ThresholdOpt = Annotated[
    list[float] | None,
    typer.Option("--threshold", help="Priority threshold to count crossings of (repeatable)."),
]


def _dump(document: Any) -> None:
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")


def _write_json(path: Path, document: Any) -> None:
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


def _write_cases(path: Path, cases: Sequence[dict[str, Any]]) -> None:
    with path.open("wb") as handle:
        for case in cases:
            handle.write(orjson.dumps(case) + b"\n")


# --- rendering a comparison (backtest and shadow diff) ----------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _delta(a: float | None, b: float | None, kind: str = "n") -> str:
    """``b - a`` as a person reads it: counts, percentage points, hours or money."""
    if a is None or b is None:
        return "" if a == b else "–"
    if a == b:
        return ""
    if kind == "%":
        return f"{(b - a) * 100:+.1f} pt"
    if kind == "h":
        return f"{b - a:+,.1f}"
    if kind == "money":
        return f"{b - a:+,.2f}"
    return f"{b - a:+,.0f}"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=i == 0)
    return table


SUMMARY_ROWS = (
    ("cases opened", "cases", "n"),
    ("closed", "closed", "n"),
    ("open at end", "open_at_end", "n"),
    ("resolved", "resolved", "n"),
    ("cancelled", "cancelled", "n"),
    ("SLA attainment", "sla_attainment", "%"),
    ("touchless rate", "touchless_rate", "%"),
    ("time to resolve p50 (h)", "ttr_p50_h", "h"),
    ("revenue at risk", "revenue_at_risk", "money"),
)


def _cell(value: float | None, kind: str) -> str:
    if kind == "%":
        return _pct(value)
    return _num(value, {"h": 1, "money": 2}.get(kind, 0))


def _summary_table(report: dict[str, Any]) -> Table:
    a_name, b_name = report["labels"]["a"], report["labels"]["b"]
    table = _table("Summary", "", a_name, b_name, "Δ")
    a, b = report["totals"]["a"], report["totals"]["b"]
    for label, key, kind in SUMMARY_ROWS:
        table.add_row(label, _cell(a[key], kind), _cell(b[key], kind), _delta(a[key], b[key], kind))
    return table


def _shift(a: float | None, b: float | None) -> str:
    """Two rates compactly: ``88%`` when equal, ``88%→100%`` when not."""

    def short(value: float | None) -> str:
        return "–" if value is None else f"{value:.0%}"

    return short(a) if a == b else f"{short(a)}→{short(b)}"


def _types_table(report: dict[str, Any]) -> Table:
    a_name, b_name = report["labels"]["a"], report["labels"]["b"]
    table = _table("By case type (cases opened; same case = same type, key and episode)",
                   "type", a_name, b_name, "both", f"only {a_name}", f"only {b_name}",
                   f"closed {a_name}", f"closed {b_name}", "SLA", "touchless")  # fmt: skip
    for row in report["by_type"]:
        sla = _shift(row["sla_attainment_a"], row["sla_attainment_b"])
        touchless = _shift(row["touchless_rate_a"], row["touchless_rate_b"])
        table.add_row(row["type"], f"{row['a']:,}", f"{row['b']:,}", f"{row['both']:,}",
                      f"{row['only_a']:,}", f"{row['only_b']:,}", f"{row['closed_a']:,}",
                      f"{row['closed_b']:,}", sla, touchless)  # fmt: skip
    return table


def _workload_table(report: dict[str, Any]) -> Table:
    a_name, b_name = report["labels"]["a"], report["labels"]["b"]
    load = report["workload"]
    title = f"Workload: cases opened per team ({load['days']} days from {load['first_day']})"
    table = _table(title, "team", a_name, b_name, "Δ", f"per day {a_name}", f"per day {b_name}",
                   f"busiest day {a_name}", f"busiest day {b_name}")  # fmt: skip
    for row in load["teams"]:
        table.add_row(row["team"], f"{row['a']:,}", f"{row['b']:,}", _delta(row["a"], row["b"]),
                      f"{row['per_day_a']:,.1f}", f"{row['per_day_b']:,.1f}",
                      f"{row['peak_a']:,}", f"{row['peak_b']:,}")  # fmt: skip
    return table


def _change_lines(report: dict[str, Any]) -> list[str]:
    prio, teams, changes = report["priority"], report["teams"], report["changes"]
    lines = [
        f"matched cases: {report['matched']:,} · only {report['labels']['a']}: "
        f"{report['only_a']:,} · only {report['labels']['b']}: {report['only_b']:,}"
    ]
    text = f"priority: {prio['changed']:,} of {prio['matched']:,} matched cases changed"
    if prio["changed"]:
        top = prio["max_delta"]
        text += (
            f"; mean Δ {prio['mean_delta']:+.2f}, largest {top['delta']:+.1f} "
            f"({top['case_id']}, {top['type']}: {top['a']} → {top['b']})"
        )
        for c in prio["crossings"]:
            text += f"; crossing {c['threshold']:g}: {c['up']:,} up, {c['down']:,} down"
    lines.append(text)
    moves = ", ".join(f"{m['from']} → {m['to']} {m['cases']:,}" for m in teams["moves"][:6])
    lines.append(f"owner team: {teams['changed']:,} cases move" + (f" ({moves})" if moves else ""))
    lines.append(
        f"matched cases with another status: {changes['status']:,} · due: "
        f"{changes['due_at']:,} · SLA outcome: {changes['sla_outcome']:,} · "
        f"touchless: {changes['touchless']:,}"
    )
    return lines


def render_comparison(report: dict[str, Any]) -> None:
    console.print(_summary_table(report))
    console.print(_types_table(report))
    console.print(_workload_table(report))
    for line in _change_lines(report):
        console.print(line, highlight=False)
    if report["identical"]:
        console.print("[bold green]no difference[/]: the same cases, the same way")
    else:
        console.print(f"[bold]{report['differences']:,}[/] differences", highlight=False)


# --- unsnag backtest ----------------------------------------------------------------------


def backtest(
    events: Annotated[
        Path, typer.Argument(help="Events: JSON Lines (or .jsonl.gz) or a JSON array.")
    ],
    policy: Annotated[Path, typer.Option("--policy", help="The candidate policy (YAML).")],
    against: Annotated[
        Path | None,
        typer.Option("--against", help="The policy to compare with (default: the one in force)."),
    ] = None,
    as_json: JsonOpt = False,
    out: OutOpt = None,
    thresholds: ThresholdOpt = None,
) -> None:
    """What if: replay EVENTS under the policy in force and a candidate; show the difference."""
    from unsnag.cli import file_progress
    from unsnag.intel.backtest import DEFAULT_THRESHOLDS, run_backtest
    from unsnag.policy import load_policy
    from unsnag.settings import load_settings

    if not events.is_file():
        err.print(f"[bold red]error:[/] {events}: no such file", highlight=False)
        raise typer.Exit(1)
    with friendly_errors():
        current = load_policy(against or load_settings().policy_path)
        candidate = load_policy(policy)
        with file_progress(events, "backtesting") as on_position:
            run, report = run_backtest(
                events, current, candidate, on_position, thresholds or DEFAULT_THRESHOLDS
            )
    report["policies"]["a"]["file"] = str(against) if against else "in force"
    report["policies"]["b"]["file"] = str(policy)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "backtest.json", report)
        _write_cases(out / "cases-current.jsonl", [c.to_dict() for c in run.a.cases()])
        _write_cases(out / "cases-new.jsonl", [c.to_dict() for c in run.b.cases()])
    if as_json:
        _dump(report)
        return
    a, b, source = report["policies"]["a"], report["policies"]["b"], report["input"]
    console.print(
        f"[bold]Backtest[/] of policy {b['version']!r} ({b['file']}) against {a['version']!r} "
        f"({a['file']}) on {source['accepted']:,} events ({source['refused']:,} refused) "
        f"in {source['elapsed_s']:.1f} s",
        highlight=False,
    )
    render_comparison(report)
    if out is not None:
        console.print(f"-> {out}/backtest.json, cases-current.jsonl, cases-new.jsonl")


# --- unsnag shadow ... ----------------------------------------------------------------------

shadow_app = typer.Typer(
    help="Shadow mode: a candidate policy runs beside the live one and acts on nothing.",
    no_args_is_help=True,
)


@contextmanager
def _store() -> Iterator[Any]:
    from unsnag.settings import load_settings
    from unsnag.store import open_store

    with open_store(load_settings().database_url) as store:
        yield store


@shadow_app.command("start")
def shadow_start(
    policy: Annotated[Path, typer.Option("--policy", help="The candidate policy (YAML).")],
) -> None:
    """Run a candidate policy beside the live one on every ingest from now on."""
    from unsnag.intel.shadow import start_shadow
    from unsnag.policy import load_policy

    with friendly_errors():
        candidate = load_policy(policy)
        with _store() as store:
            session = start_shadow(store, candidate)
    info = session.info
    console.print(
        f"shadow policy {candidate.version!r} ({policy}) runs from log seq "
        f"{info.started_seq:,} ({info.to_dict()['started_at'] or 'empty log'}): "
        f"{session.rebuilt_from or 0:,} logged events replayed, "
        f"{len(session.engine.cases()):,} shadow cases so far. Watch: unsnag shadow diff",
        highlight=False,
    )


@shadow_app.command("diff")
def shadow_diff_cmd(
    as_json: JsonOpt = False,
    history: Annotated[
        bool, typer.Option("--all", help="Compare every case, not only those since the start.")
    ] = False,
    out: OutOpt = None,
    thresholds: ThresholdOpt = None,
) -> None:
    """Live cases against the shadow's, opened since the shadow started."""
    from unsnag.intel.backtest import DEFAULT_THRESHOLDS
    from unsnag.intel.shadow import shadow_diff

    with friendly_errors(), _store() as store:
        report = shadow_diff(store, history, thresholds or DEFAULT_THRESHOLDS)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "shadow-diff.json", report)
    if as_json:
        _dump(report)
        return
    shadow = report["shadow"]
    console.print(
        f"[bold]Shadow[/] policy {shadow['policy_version']!r} against the live cases, "
        + (f"opened after {shadow['since']}" if shadow["since"] else "all of them")
        + f" (log seq {shadow['started_seq']:,} → {shadow['log_seq']:,})",
        highlight=False,
    )
    render_comparison(report)


@shadow_app.command("stop")
def shadow_stop() -> None:
    """Stop the shadow policy (its record is kept; its cases are dropped)."""
    from unsnag.intel.shadow import stop_shadow

    with friendly_errors(), _store() as store:
        info = stop_shadow(store)
    console.print(
        f"shadow policy {info.policy.version!r} stopped at log seq {info.stopped_seq:,}",
        highlight=False,
    )


@shadow_app.command("status")
def shadow_status(as_json: JsonOpt = False) -> None:
    """Which candidate policy runs in shadow, since when."""
    from unsnag.intel.shadow import shadow_info

    with friendly_errors(), _store() as store:
        info = shadow_info(store)
    document = None if info is None else info.to_dict()
    if as_json:
        _dump(document)
    elif info is None:
        console.print("no shadow policy was ever started")
    else:
        state = "running" if info.active else f"stopped at log seq {info.stopped_seq:,}"
        console.print(
            f"shadow policy {info.policy.version!r} ({info.policy.name}): {state}; "
            f"started at log seq {info.started_seq:,}",
            highlight=False,
        )


# --- unsnag intel map ----------------------------------------------------------------------


def intel_map(
    events: Annotated[
        Path | None,
        typer.Option("--events", help="Events JSON Lines (default: the store's event log)."),
    ] = None,
    object_types: Annotated[
        list[str] | None,
        typer.Option("--object-type", help="order, line, shipment or invoice (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Directory for the JSON and SVGs.")] = Path(
        "process-map"
    ),
    top: Annotated[int, typer.Option("--variants", min=1, help="Variants to keep.")] = 20,
    cache: Annotated[
        bool,
        typer.Option(help="Keep the object index beside --events as FILE.objects.parquet."),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """The object-centric directly-follows graph per object type, and the order variants."""
    from unsnag.intel import process_map as pm
    from unsnag.intel.svg import render_dfg, render_variants

    chosen = list(dict.fromkeys(object_types or pm.OBJECT_TYPES))
    unknown = [name for name in chosen if name not in pm.OBJECT_TYPES]
    if unknown:
        err.print(f"[bold red]error:[/] unknown object type {unknown[0]!r}; "
                  f"one of {', '.join(pm.OBJECT_TYPES)}", highlight=False)  # fmt: skip
        raise typer.Exit(1)
    if events is not None and not events.is_file():
        err.print(f"[bold red]error:[/] {events}: no such file", highlight=False)
        raise typer.Exit(1)
    started = time.perf_counter()
    with friendly_errors(), _status("reading the event log", as_json):
        if events is not None:
            index, cached = pm.cached_index(events, cache)
        else:
            with _store() as store:
                index, cached = pm.index_raw(raw for _, raw in store.iter_events()), False
    indexed = time.perf_counter()
    result = pm.process_map(index, chosen, top)
    result["input"] = str(events) if events is not None else "store"
    result["seconds"] = {"index": round(indexed - started, 3), "from_cache": cached,
                         "map": round(time.perf_counter() - indexed, 3)}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "process-map.json", result)
    for otype, graph in result["graphs"].items():
        (out / f"map-{otype}.svg").write_text(render_dfg(graph), "utf-8")
    if result["variants"] is not None:
        (out / "variants.svg").write_text(render_variants(result["variants"]), "utf-8")
    if as_json:
        _dump(result)
        return
    _render_map(result, out)


@contextmanager
def _status(message: str, quiet: bool) -> Iterator[None]:
    if quiet or not err.is_terminal:
        yield
        return
    with err.status(message):
        yield


def _render_map(result: dict[str, Any], out: Path) -> None:
    table = _table(f"Process map {result['from']} → {result['to']}", "object type", "objects",
                   "events", "activities", "edges", "most frequent edge")  # fmt: skip
    for otype, graph in result["graphs"].items():
        top = graph["edges"][0] if graph["edges"] else None
        edge = f"{top['source']} → {top['target']} ({top['frequency']:,})" if top else "–"
        table.add_row(otype, f"{graph['objects']:,}", f"{graph['events']:,}",
                      str(len(graph["activities"])), str(len(graph["edges"])), edge)  # fmt: skip
    console.print(table)
    flow = result["variants"]
    if flow is not None and flow["top"]:
        first = flow["top"][0]
        console.print(
            f"{flow['distinct']:,} variants of {flow['objects']:,} orders; the most frequent "
            f"({first['share']:.1%}): {' → '.join(first['activities'])}",
            highlight=False,
        )
    seconds = result["seconds"]
    source = "cached index" if seconds["from_cache"] else "event log read"
    console.print(
        f"{source} in {seconds['index']:.1f} s, map in {seconds['map']:.1f} s -> {out}/",
        highlight=False,
    )


def register(intel_app: typer.Typer) -> None:
    """Add ``map`` to the ``unsnag intel`` group."""
    intel_app.command("map")(intel_map)
