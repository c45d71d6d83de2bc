"""`unsnag report`: the self-contained HTML report of a period (and its numbers as JSON).

Thin: load the frames as ``unsnag intel`` does (:func:`unsnag.cli_intel.load_frames`),
index the event log for the process map, call :mod:`unsnag.intel.report`, say where the
files went.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from unsnag.cli_common import err, friendly_errors
from unsnag.cli_intel import CasesOpt, EventsOpt, FromOpt, ToOpt, load_frames

if TYPE_CHECKING:
    import polars as pl

OutOpt = Annotated[Path, typer.Option("--out", help="Directory for report.html and report.json.")]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="Policy YAML (its incidents: rules).")
]


def report(
    first: FromOpt = None,
    last: ToOpt = None,
    out: OutOpt = Path("report"),
    cases: CasesOpt = None,
    events: EventsOpt = None,
    policy: PolicyOpt = None,
) -> None:
    """Write a self-contained HTML report (KPIs, trend, Paretos, incidents, process map)."""
    from unsnag.cli_intel import period_of
    from unsnag.intel.incidents import rules_of
    from unsnag.intel.report import build_report, write_report
    from unsnag.policy import load_policy
    from unsnag.settings import load_settings

    with friendly_errors():
        settings = load_settings()
        rules = rules_of(load_policy(policy or settings.policy_path))
        frames = load_frames(cases, events)
        period = period_of(frames, first, last)
        with _status("indexing the event log for the process map"):
            index = _index(events, settings.database_url)
        with _status("computing the report"):
            source = _source(cases, events, settings.database_url)
            built = build_report(frames, period, source=source, generated_at=datetime.now(UTC),
                                 rules=rules, index=index)  # fmt: skip
            html, data = write_report(built, out)
    size = html.stat().st_size / 1e6
    err.print(
        f"report for {period}: {built.kpis['cases_opened'] or 0:,.0f} cases opened, "
        f"{len(built.incidents.incidents):,} incidents -> {html} ({size:.1f} MB), {data.name}",
        highlight=False,
    )


def _index(events: Path | None, database_url: str) -> pl.DataFrame:
    """The process-map object index of the events file, or of the store's event log."""
    from unsnag.intel import process_map as pm

    if events is not None:
        return pm.index_file(events)
    from unsnag.store import open_store

    with open_store(database_url) as store:
        return pm.index_raw(raw for _, raw in store.iter_events())


def _source(cases: Path | None, events: Path | None, database_url: str) -> str:
    """Where the data came from, as the report's header names it (no password)."""
    if cases is not None and events is not None:
        return f"{cases.name} and {events.name} ({events.parent})"
    from sqlalchemy.engine import make_url

    try:
        return f"store {make_url(database_url).render_as_string(hide_password=True)}"
    except Exception:  # an unusual URL: name its scheme only
        return f"store ({database_url.partition(':')[0]})"


@contextmanager
def _status(message: str) -> Iterator[None]:
    if not err.is_terminal:
        yield
        return
    with err.status(message):
        yield
