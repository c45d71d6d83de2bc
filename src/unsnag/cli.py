"""The `unsnag` command. Thin: parse, call one service function, render."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from unsnag.cli_common import console, err, fail, friendly_errors
from unsnag.policy import Policy, json_schema, load_policy

app = typer.Typer(
    name="unsnag",
    help="Exception control tower for distribution order-to-cash.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(help="Check and publish the policy.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="Policy YAML (default: the shipped policy).")
]


@contextmanager
def file_progress(path: Path, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over the bytes of ``path`` on a terminal; nothing otherwise."""
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=path.stat().st_size)
        yield lambda position: progress.update(task, completed=position)


def _policy(path: Path | None, settings_path: str | None = None) -> Policy:
    return load_policy(path or settings_path)


def _require_file(path: Path) -> None:
    if not path.is_file():
        fail(f"{path}: no such file")


def cases_table(
    cases: list[dict[str, Any]], title: str, limit: int = 20, show_status: bool = True
) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold", expand=True)
    table.add_column("prio", justify="right", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("type", no_wrap=True)
    if show_status:
        table.add_column("status", no_wrap=True)
    table.add_column("subject", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("team", no_wrap=True, overflow="ellipsis", max_width=12)
    table.add_column("due (UTC)", no_wrap=True)
    table.add_column("summary", ratio=1, min_width=16, overflow="ellipsis", no_wrap=True)
    for case in cases[:limit]:
        row = [f"{case['priority']:.1f}", case["id"], case["type"]]
        if show_status:
            row.append(case["status"])
        row += [
            case["subject"],
            case["owner_team"],
            (case.get("due_at") or "")[5:16].replace("T", " "),
            case.get("summary") or "",
        ]
        table.add_row(*row)
    return table


@app.command()
def replay(
    path: Annotated[Path, typer.Argument(help="JSON Lines (or .jsonl.gz) or a JSON array.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the results.")],
    policy: PolicyOpt = None,
    top: Annotated[int, typer.Option(help="Cases to show.")] = 15,
) -> None:
    """Run a file of events through the engine in memory; write cases, dead letters, summary."""
    from unsnag.replay import run_replay, write_results
    from unsnag.settings import load_settings

    _require_file(path)
    with friendly_errors():
        loaded = _policy(policy, load_settings().policy_path)
        with file_progress(path, "replaying") as on_position:
            result = run_replay(path, loaded, on_position)
        summary = write_results(result, out, str(path))
    ranked = sorted(
        (c.to_dict() for c in result.engine.cases() if c.is_open),
        key=lambda c: (-c["priority"], c["opened_at"], c["id"]),
    )
    if ranked:
        title = f"Open cases, highest priority first ({len(ranked)})"
        console.print(cases_table(ranked, title, top, show_status=False))
    console.print(
        f"[bold]{summary['accepted']:,}[/] accepted, [bold]{summary['refused']:,}[/] refused, "
        f"[bold]{summary['duplicates_ignored']:,}[/] duplicates ignored, "
        f"[bold]{summary['cases']:,}[/] cases "
        f"({', '.join(f'{k} {v}' for k, v in summary['cases_by_status'].items()) or 'none'}) "
        f"at {summary['events_per_second'] or 0:,} events/s -> {out}/",
        highlight=False,
    )


@app.command("eval")
def eval_(
    twin_dir: Annotated[
        Path, typer.Argument(help="The twin's output: truth.jsonl, events.jsonl, meta.json.")
    ],
    replay_dir: Annotated[Path, typer.Argument(help="The output of unsnag replay (cases.jsonl).")],
) -> None:
    """Score a replay against the twin's ground truth; write REPLAY_DIR/eval.json."""
    from unsnag import evaluate

    with friendly_errors():
        report = evaluate.evaluate_dirs(twin_dir, replay_dir)
    why = evaluate.reasons(report)
    table = Table(
        title=f"Detection against ground truth ({twin_dir} vs {replay_dir})",
        title_justify="left",
        header_style="bold",
        caption="\n".join(f"✗ {line}" for line in why) or None,
        caption_justify="left",
    )
    for name in evaluate.COLUMNS:
        table.add_column(
            name,
            justify="left" if name == "type" else "center" if name == "goal" else "right",
            no_wrap=True,
        )
    rows = evaluate.table_rows(report)
    for n, row in enumerate(rows, 1):
        table.add_row(*row, end_section=n == len(rows) - 1)
    console.print(table)
    console.print(f"{evaluate.summary_line(report)} -> {replay_dir / 'eval.json'}", highlight=False)


@app.command()
def ingest(
    path: Annotated[
        Path, typer.Argument(help="JSON Lines (or .jsonl.gz), a JSON array, or - for stdin.")
    ],
    policy: PolicyOpt = None,
) -> None:
    """Append events to the event log (idempotently) and update the cases there."""
    from unsnag.inputs import parse_items, read_items, read_stream
    from unsnag.service import ingest as run_ingest
    from unsnag.settings import load_settings
    from unsnag.store import open_store

    from_stdin = str(path) == "-"
    if not from_stdin:
        _require_file(path)
    with friendly_errors():
        settings = load_settings()
        loaded = _policy(policy, settings.policy_path)
        extra = frozenset(loaded.systems)
        with open_store(settings.database_url) as store:
            if from_stdin:
                report = run_ingest(
                    store, loaded, parse_items(read_stream(sys.stdin.buffer), extra)
                )
            else:
                with file_progress(path, "ingesting") as on_position:
                    items = parse_items(read_items(path, on_position), extra)
                    report = run_ingest(store, loaded, items)
    rebuilt = report.rebuilt_from
    console.print(
        f"[bold]{report.accepted:,}[/] accepted, [bold]{report.refused:,}[/] refused "
        f"(dead letters), [bold]{report.duplicates:,}[/] duplicates ignored, "
        f"{report.cases_changed:,} cases changed"
        + (f" (engine rebuilt from {rebuilt:,} logged events)" if rebuilt else ""),
        highlight=False,
    )


@app.command()
def cases(
    type_: Annotated[str | None, typer.Option("--type", help="Case type, e.g. pick.short")] = None,
    team: Annotated[str | None, typer.Option(help="Owner team.")] = None,
    status: Annotated[
        str | None, typer.Option(help="open, in_progress, resolved, cancelled")
    ] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON case per line.")] = False,
) -> None:
    """List the cases in the store, highest priority first."""
    import orjson

    from unsnag.settings import load_settings
    from unsnag.store import open_store

    with friendly_errors():
        settings = load_settings()
        with open_store(settings.database_url) as store:
            rows = store.list_cases(type=type_, team=team, status=status, limit=limit)
    if as_json:
        for row in rows:
            sys.stdout.write(orjson.dumps(row).decode() + "\n")
        return
    console.print(cases_table(rows, f"Cases ({len(rows)} shown)", limit))


def demo_view(tick: Any) -> Any:
    """The live control-tower view of one simulated day."""
    from rich.console import Group
    from rich.panel import Panel

    report = tick.report
    opened = sum(tick.open_by_type.values())
    header = (
        f"[bold]simulated {tick.sim_date:%a %Y-%m-%d}[/]  day {tick.day}"
        f"  ·  {report.accepted:,} events in  ·  {report.duplicates:,} duplicates ignored"
        f"  ·  [bold red]{opened:,} open[/]  ·  [green]{tick.resolved:,} resolved[/]"
        f" ([green]{tick.touchless:,} touchless[/])  ·  {tick.actions_delivered:,} actions"
        f" carried out  ·  [yellow]{tick.awaiting_people:,} waiting for a person[/]"
    )
    by_type = Table(header_style="bold", title="Open by type", title_justify="left")
    for name in ("type", "open", "type ", "open "):
        by_type.add_column(name, justify="right" if name.startswith("open") else "left")
    counts = sorted(tick.open_by_type.items(), key=lambda kv: (-kv[1], kv[0]))
    half = (len(counts) + 1) // 2
    for left, right in zip(counts[:half], [*counts[half:], ("", "")], strict=False):
        by_type.add_row(left[0], str(left[1]), right[0], str(right[1]))
    top = cases_table(tick.top_open, "Highest priority open cases", len(tick.top_open), False)
    return Group(Panel(header, title="unsnag demo", border_style="cyan"), by_type, top)


@app.command()
def demo(
    days: Annotated[int, typer.Option(help="Days of orders to simulate.")] = 14,
    orders_per_day: Annotated[int, typer.Option(help="Average orders per day.")] = 400,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same run.")] = 7,
    headless: Annotated[bool, typer.Option(help="No live view; run and exit.")] = False,
    db: Annotated[Path, typer.Option(help="SQLite file for the demo store.")] = Path(
        "unsnag-demo.db"
    ),
    day_seconds: Annotated[
        float, typer.Option(help="Real seconds per simulated day in the live view.")
    ] = 0.3,
    policy: PolicyOpt = None,
    serve: Annotated[
        bool | None,
        typer.Option(
            help="Then serve the dashboard and API while the twin goes on (default: on in a "
            "terminal, off with --headless)."
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    serve_day_seconds: Annotated[
        float, typer.Option(help="Real seconds per simulated day while serving.")
    ] = 60.0,
    serve_days: Annotated[
        int, typer.Option(help="Days of orders the twin goes on simulating while serving.")
    ] = 60,
) -> None:
    """Run the simulated distributor live against the engine, into an embedded SQLite
    store; then serve the dashboard over it while the twin goes on."""
    import time

    from rich.live import Live

    from unsnag.demo import DemoTick, LiveTwin, run_demo
    from unsnag.store import open_store

    serving = (not headless) if serve is None else serve
    for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)  # a demo starts from an empty store
    with friendly_errors():
        loaded = _policy(policy)
        store = open_store(f"sqlite:///{db}")
        horizon = days + (serve_days if serving else 0)
        live = LiveTwin(store, loaded, days=horizon, orders_per_day=orders_per_day, seed=seed)
        stop_after = days if serving else None
        if headless or not console.is_terminal:
            report = run_demo(store, loaded, days=days, orders_per_day=orders_per_day,
                              seed=seed, live=live, stop_after=stop_after)  # fmt: skip
        else:
            with Live(console=console, auto_refresh=False, transient=False) as view:

                def show(tick: DemoTick) -> None:
                    view.update(demo_view(tick), refresh=True)
                    time.sleep(day_seconds)

                report = run_demo(store, loaded, days=days, orders_per_day=orders_per_day,
                                  seed=seed, on_day=show, live=live,
                                  stop_after=stop_after)  # fmt: skip
        open_now = len(store.list_cases(status="open"))
        total = len(store.list_cases())
    console.print(
        f"[bold]{report.accepted:,}[/] events, [bold]{total:,}[/] cases "
        f"({open_now:,} still open) in {db}. Look inside: "
        f"UNSNAG_DATABASE_URL=sqlite:///{db} unsnag cases",
        highlight=False,
    )
    if not serving:
        live.runtime.close()
        store.close()
        return
    _serve_demo(live, store, loaded, db, host, port, serve_day_seconds)


def _serve_demo(live: Any, store: Any, policy: Policy, db: Path, host: str, port: int,
                day_seconds: float) -> None:  # fmt: skip
    """Serve the dashboard over the demo store while the twin goes on, a simulated day
    every ``day_seconds`` (actions approved in the dashboard reach the twin within a
    second or two)."""
    import threading
    import time

    from unsnag.api.auth import create_key
    from unsnag.cli_serve import run_server
    from unsnag.settings import load_settings

    _, token = create_key(store, policy, "admin", name="demo admin")
    stop = threading.Event()

    def twin_loop() -> None:
        next_day = time.monotonic() + day_seconds
        while not stop.is_set():
            try:
                if time.monotonic() >= next_day:
                    live.tick()
                    next_day = time.monotonic() + day_seconds
                else:
                    live.dispatch()
            except Exception as exc:  # keep serving what there is
                err.print(f"[yellow]twin stopped:[/] {exc}")
                return
            stop.wait(1.0)

    thread = threading.Thread(target=twin_loop, name="unsnag-twin", daemon=True)
    thread.start()
    console.print(
        f"Dashboard: [bold]http://{host}:{port}/[/]  ·  sign in with this admin key "
        f"(shown once):\n{token}\nThe twin goes on, a simulated day every "
        f"{day_seconds:g} s. Ctrl-C stops.",
        highlight=False,
    )
    sys.stdout.flush()
    with friendly_errors():
        settings = load_settings().model_copy(update={"database_url": f"sqlite:///{db}"})
    try:
        run_server(live.runtime, settings, host, port, background=False)
    finally:
        stop.set()
        thread.join(timeout=10)
        store.close()


@app.command("dead-letters")
def dead_letters(
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record per line.")] = False,
) -> None:
    """List refused inputs kept in the store: why, where from, and the raw text."""
    import orjson

    from unsnag.settings import load_settings
    from unsnag.store import open_store

    with friendly_errors(), open_store(load_settings().database_url) as store:
        total = store.dead_letter_count()
        rows = store.list_dead_letters(limit=limit)
    if as_json:
        for row in rows:
            record = {"id": row.id, "received_at": row.received_at.isoformat(),
                      "origin": row.origin, "field": row.field, "reason": row.reason,
                      "raw": row.raw}  # fmt: skip
            sys.stdout.write(orjson.dumps(record).decode() + "\n")
        return
    table = Table(title=f"Dead letters ({len(rows)} of {total})", title_justify="left",
                  header_style="bold", expand=True)  # fmt: skip
    for name in ("id", "received (UTC)", "origin", "reason"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(str(row.id), row.received_at.strftime("%Y-%m-%d %H:%M:%S"),
                      row.origin or "", row.reason)  # fmt: skip
    console.print(table)


@policy_app.command("check")
def policy_check(path: Annotated[Path, typer.Argument(help="Policy YAML file.")]) -> None:
    """Validate a policy file: shape, references, and every CEL expression."""
    with friendly_errors():
        loaded = load_policy(path)
    console.print(
        f"[green]ok[/] {path}: policy version {loaded.version!r}, "
        f"{len(loaded.types)} case types, {len(loaded.rules)} rules "
        f"({sum(r.enabled for r in loaded.rules)} enabled)",
        highlight=False,
    )


@policy_app.command("schema")
def policy_schema(
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Print (or write) the JSON Schema of policy files."""
    text = json_schema()
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text + "\n", "utf-8")
        console.print(f"wrote {out}")


@policy_app.command("show")
def policy_show() -> None:
    """Print the default policy shipped with unsnag (a starting point for your own)."""
    from importlib import resources

    sys.stdout.write(resources.files("unsnag.policy").joinpath("default.yaml").read_text("utf-8"))


twin_app = typer.Typer(help="The twin: a simulated distributor with faults.", no_args_is_help=True)
app.add_typer(twin_app, name="twin")


@twin_app.command("run")
def twin_run(
    out: Annotated[Path, typer.Option("--out", help="Directory for events, truth and meta.")],
    days: Annotated[int, typer.Option("--days", min=0, help="Days of order arrivals.")] = 7,
    orders_per_day: Annotated[
        float, typer.Option("--orders-per-day", min=0, help="Mean orders per day.")
    ] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (a run is reproducible).")] = 1,
    config: Annotated[
        Path | None, typer.Option("--config", help="Twin config YAML (default business).")
    ] = None,
) -> None:
    """Simulate the business; write DIR/events.jsonl, DIR/truth.jsonl and DIR/meta.json."""
    import time

    from rich.progress import MofNCompleteColumn, TimeElapsedColumn

    from unsnag.twin import load_config, run_twin

    started = time.perf_counter()
    with friendly_errors():
        loaded = load_config(config)
        if console.is_terminal:
            columns = (
                TextColumn("[bold]simulating days"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task("twin", total=days)

                def on_day(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                meta = run_twin(loaded, days, orders_per_day, seed, out, on_day)
        else:
            meta = run_twin(loaded, days, orders_per_day, seed, out)
    seconds = time.perf_counter() - started
    faults = sum(meta["faults"].values())
    console.print(
        f"[bold]{meta['events']:,}[/] events, [bold]{meta['orders']:,}[/] orders, "
        f"[bold]{faults:,}[/] faults over {meta['simulated_days']} simulated days "
        f"in {seconds:.1f} s ({meta['events'] / max(seconds, 1e-9):,.0f} events/s) -> {out}/",
        highlight=False,
    )


bench_app = typer.Typer(help="Benchmarks on seeded synthetic instances.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("allocate")
def bench_allocate(
    lines: Annotated[int, typer.Option("--lines", min=0, help="Contested order lines.")] = 1000,
    dcs: Annotated[int, typer.Option("--dcs", min=1, help="Distribution centres.")] = 10,
    skus: Annotated[int, typer.Option("--skus", min=1, help="SKUs in the catalogue.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same instance.")] = 1,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.01, help="Optimizer time limit, seconds.")
    ] = 20.0,
) -> None:
    """Solve one synthetic allocation instance with the optimizer and both greedy
    baselines; print one JSON object (values on one yardstick, gap, seconds)."""
    import orjson

    from unsnag.allocate import synthetic_problem
    from unsnag.allocate.compare import compare

    with friendly_errors():
        report = compare(synthetic_problem(lines, dcs, skus, seed), time_limit=time_limit)
    sys.stdout.write(orjson.dumps(report).decode() + "\n")


# Case work, the audit trail and the outbox live in their own module (kept small).
from unsnag.cli_cases import audit_app, case_app, outbox_app  # noqa: E402

app.add_typer(case_app, name="case")
app.add_typer(audit_app, name="audit")
app.add_typer(outbox_app, name="outbox")

# Process intelligence (issue 5/6): each sub-app is wired on its own line below.
from unsnag.cli_ocel import export_app, import_app  # noqa: E402

app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")
from unsnag.cli_intel import intel_app  # noqa: E402

app.add_typer(intel_app, name="intel")
from unsnag.cli_intel_more import backtest, register, shadow_app  # noqa: E402

register(intel_app)
app.command("backtest")(backtest)
app.add_typer(shadow_app, name="shadow")


from unsnag.cli_report import report as report_command  # noqa: E402

app.command("report")(report_command)

# The surfaces (issue 6/6): the API and dashboard, and API keys.
from unsnag.cli_serve import keys_app, serve  # noqa: E402

app.command("serve")(serve)
app.add_typer(keys_app, name="keys")
if __name__ == "__main__":  # pragma: no cover
    app()
