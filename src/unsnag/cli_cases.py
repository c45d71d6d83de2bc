"""`unsnag case ...`, `unsnag audit verify` and `unsnag outbox ...`: working cases from
the terminal. Thin, like the rest of the CLI: parse, call :mod:`unsnag.casework`, render.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from unsnag.cli_common import console, err, friendly_errors

case_app = typer.Typer(help="Work one case: show, assign, comment, approve, act, resolve.",
                       no_args_is_help=True)  # fmt: skip
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
outbox_app = typer.Typer(help="Outbound actions: list and dispatch.", no_args_is_help=True)


CaseId = Annotated[str, typer.Argument(help="Case id, e.g. C-1a2b3c4d5e.")]
User = Annotated[str, typer.Option("--user", envvar="UNSNAG_USER", help="Who is acting.")]
Role = Annotated[str, typer.Option("--role", envvar="UNSNAG_ROLE", help="The role they act in.")]
PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="Policy YAML (default: the shipped policy).")
]


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@contextmanager
def _service(policy_path: Path | None = None) -> Iterator[tuple[Any, Any]]:
    """The store and policy named by the settings, with errors as one red line."""
    from unsnag.policy import load_policy
    from unsnag.settings import load_settings
    from unsnag.store import open_store

    with friendly_errors():
        settings = load_settings()
        policy = load_policy(policy_path or settings.policy_path)
        with open_store(settings.database_url) as store:
            yield store, policy


def _command(command: str, case_id: str, user: str, role: str, policy: Path | None,
             **fields: Any) -> None:  # fmt: skip
    from unsnag.casework import run_command

    with _service(policy) as (store, loaded):
        case = run_command(store, loaded, command, case_id, user or _default_user(), role,
                           **fields)  # fmt: skip
    work = case.get("work") or {}
    console.print(
        f"[bold]{case['id']}[/] {case['type']} {case['status']} · playbook "
        f"{work.get('state', '-')} · {len(work.get('actions', []))} action(s)",
        highlight=False,
    )


@case_app.command("show")
def show(
    case_id: CaseId,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Everything about a case: timeline across systems, recommendations, approvals,
    actions and its audit trail."""
    from unsnag.casework import show_case
    from unsnag.render import render_case, view_to_dict

    with _service() as (store, _):
        view = show_case(store, case_id)
    if as_json:
        sys.stdout.write(orjson.dumps(view_to_dict(view), option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
        return
    render_case(console, view)


@case_app.command("assign")
def assign(
    case_id: CaseId,
    to: Annotated[str, typer.Option("--to", help="Who takes the case.")],
    role: Role,
    user: User = "",
    team: Annotated[str | None, typer.Option(help="Their team.")] = None,
    policy: PolicyOpt = None,
) -> None:
    """Give the case to someone."""
    _command("case.assigned", case_id, user, role, policy, assignee=to, team=team)


@case_app.command("comment")
def comment(case_id: CaseId, text: Annotated[str, typer.Argument(help="The comment.")],
            role: Role, user: User = "", policy: PolicyOpt = None) -> None:  # fmt: skip
    """Add a comment to the case."""
    _command("case.commented", case_id, user, role, policy, text=text)


@case_app.command("approve")
def approve(
    case_id: CaseId,
    role: Role,
    user: User = "",
    approval: Annotated[str | None, typer.Option(help="Approval id (default: pending).")] = None,
    note: Annotated[str | None, typer.Option(help="Why.")] = None,
    policy: PolicyOpt = None,
) -> None:
    """Approve the pending action (needs the approval's role; not the requester)."""
    _command("case.approved", case_id, user, role, policy, approval_id=approval, note=note)


@case_app.command("reject")
def reject(
    case_id: CaseId,
    role: Role,
    note: Annotated[str, typer.Option(help="Why not.")],
    user: User = "",
    approval: Annotated[str | None, typer.Option(help="Approval id (default: pending).")] = None,
    policy: PolicyOpt = None,
) -> None:
    """Reject the pending action; the case goes to a person."""
    _command("case.rejected", case_id, user, role, policy, approval_id=approval, note=note)


@case_app.command("act")
def act(
    case_id: CaseId,
    role: Role,
    user: User = "",
    option: Annotated[int | None, typer.Option(help="Recommendation number (0 = best).")] = None,
    action: Annotated[str | None, typer.Option(help="An action of your own instead.")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="name=value for --action; repeat.")
    ] = None,
    policy: PolicyOpt = None,
) -> None:
    """Carry out a recommendation (or an action of your own); approval when needed."""
    params: dict[str, Any] = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep:
            err.print(f"[bold red]error:[/] --param {item!r}: expected name=value")
            raise typer.Exit(2)
        params[name] = _number_or_text(value)
    _command("case.action_requested", case_id, user, role, policy, option=option,
             action=action, params=params or None)  # fmt: skip


def _number_or_text(value: str) -> Any:
    try:
        return float(value) if any(c in value for c in ".eE") else int(value)
    except ValueError:
        return value


@case_app.command("resolve")
def resolve(
    case_id: CaseId,
    role: Role,
    note: Annotated[str, typer.Option(help="How it was resolved.")],
    user: User = "",
    policy: PolicyOpt = None,
) -> None:
    """Close the case as resolved."""
    _command("case.resolved", case_id, user, role, policy, resolution=note)


@audit_app.command("verify")
def verify() -> None:
    """Recompute the hash chain; name the first tampered entry, if any."""
    from unsnag.audit_service import verify_store

    with _service() as (store, _):
        result = verify_store(store)
    if result.ok:
        console.print(f"[green]audit chain intact[/]: {result.checked:,} entries verified")
        return
    err.print(f"[bold red]audit chain broken[/] at entry seq {result.first_bad_seq} "
              f"(id {result.first_bad_id}): {result.reason}", highlight=False)  # fmt: skip
    raise typer.Exit(1)


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, delivered or failed.")] = None,
    case: Annotated[str | None, typer.Option(help="Only this case's actions.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
) -> None:
    """Show outbound actions and where they stand."""
    with _service() as (store, _):
        rows = store.list_actions(case_id=case, status=status, limit=limit)
    table = Table(title=f"Outbox ({len(rows)} shown)", title_justify="left", header_style="bold")
    for name in ("key", "kind", "connector", "status", "attempts", "last error"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(row.key, row.kind, row.connector, row.status, str(row.attempts),
                      row.last_error or "")  # fmt: skip
    console.print(table)


@outbox_app.command("dispatch")
def outbox_dispatch(
    until_idle: Annotated[
        float, typer.Option(help="Keep dispatching retries for up to this many seconds.")
    ] = 0.0,
    policy: PolicyOpt = None,
) -> None:
    """Send due actions through their connectors; outcomes go back into the log."""
    from unsnag.casework import dispatch_outbox

    with _service(policy) as (store, loaded):
        report = dispatch_outbox(store, loaded, max_seconds=until_idle)
    console.print(f"{report.delivered:,} delivered, {report.retried:,} to retry, "
                  f"{report.failed:,} failed (now human tasks)", highlight=False)  # fmt: skip
