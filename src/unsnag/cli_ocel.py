"""`unsnag export ocel` and `unsnag import ocel`: the event log as OCEL 2.0, and OCEL 2.0
logs as canonical events (docs/ocel.md). Thin: parse, call :mod:`unsnag.intel`, render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from unsnag.errors import UnsnagError

export_app = typer.Typer(help="Export the event log in a standard format.", no_args_is_help=True)
import_app = typer.Typer(help="Import logs in a standard format as events.", no_args_is_help=True)

console = Console()
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


@export_app.command("ocel")
def export_ocel(
    out: Annotated[Path, typer.Option("--out", help="File to write (.json/.jsonocel, .sqlite).")],
    format_: Annotated[
        str | None, typer.Option("--format", help="json or sqlite (default: from --out).")
    ] = None,
    cases: Annotated[
        bool, typer.Option("--cases/--no-cases", help="Include the cases as objects.")
    ] = True,
) -> None:
    """Write the store's event log (UNSNAG_DATABASE_URL) as OCEL 2.0, cases included.

    Objects and qualified relations are derived from the canonical events; the cases are
    objects linked to the objects and events they concern (docs/ocel.md)."""
    from unsnag.intel.ocel_write import export_ocel as run_export
    from unsnag.intel.ocel_write import format_for
    from unsnag.settings import load_settings
    from unsnag.store import open_store

    try:
        flavour = format_for(out, format_)
        with open_store(load_settings().database_url) as store:
            found = store.list_cases() if cases else None
            raws = (raw for _, raw in store.iter_events())
            report = run_export(raws, out, flavour, found)
    except UnsnagError as exc:
        _fail(str(exc))
        return
    console.print(
        f"[bold]{report.events:,}[/] events, [bold]{report.objects:,}[/] objects "
        f"({report.e2o:,} event-object and {report.o2o:,} object-object relations, "
        f"{report.cases:,} cases) as OCEL 2.0 {flavour.upper()} in {report.seconds:.1f} s "
        f"({report.events_per_second:,.0f} events/s) -> {out}",
        highlight=False,
    )


@import_app.command("ocel")
def import_ocel(
    path: Annotated[Path, typer.Argument(help="OCEL 2.0 log: XML, JSON or SQLite (.gz too).")],
    mapping: Annotated[
        str,
        typer.Option("--mapping", help="Mapping file, or a shipped one: order-management, unsnag."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Canonical events to write (JSON Lines).")],
) -> None:
    """Turn an OCEL 2.0 log into canonical events through a declarative mapping.

    What cannot be mapped goes to OUT's .dead_letters.jsonl with the reason (docs/ocel.md)."""
    from unsnag.intel.ocel_import import dead_letter_path
    from unsnag.intel.ocel_import import import_ocel as run_import
    from unsnag.intel.ocel_model import load_mapping

    try:
        loaded = load_mapping(mapping)
        report = run_import(path, loaded, out)
    except UnsnagError as exc:
        _fail(str(exc))
        return
    reasons = report.reasons()
    if reasons:
        table = Table(title="Dead letters by reason", title_justify="left", header_style="bold")
        table.add_column("count", justify="right")
        table.add_column("reason", overflow="fold")
        for reason, count in reasons.most_common(15):
            table.add_row(f"{count:,}", reason)
        console.print(table)
    console.print(
        f"[bold]{report.ocel_events:,}[/] OCEL events and [bold]{report.ocel_objects:,}[/] "
        f"objects ({report.flavour}) -> [bold]{report.events:,}[/] events, "
        f"{report.ignored:,} ignored, [bold]{len(report.dead_letters):,}[/] dead letters "
        f"-> {out} (dead letters: {dead_letter_path(out)})",
        highlight=False,
    )
