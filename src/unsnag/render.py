"""Rendering a case view for people (Rich) and programs (JSON)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from unsnag.casework import CaseView


def view_to_dict(view: CaseView) -> dict[str, Any]:
    return {
        "case": view.case,
        "events": view.events,
        "actions": [
            {
                "key": a.key,
                "kind": a.kind,
                "connector": a.connector,
                "status": a.status,
                "attempts": a.attempts,
                "last_error": a.last_error,
                "params": a.params,
            }
            for a in view.actions
        ],
        "audit": [
            {"seq": c.seq, **c.entry.to_dict(), "prev": c.prev, "hash": c.hash} for c in view.audit
        ],
    }


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def _header(console: Console, case: dict[str, Any]) -> None:
    work = case.get("work") or {}
    sla = work.get("sla") or {}
    console.print(
        f"[bold]{case['id']}[/]  {case['type']}  [bold]{case['status']}[/]  "
        f"subject {case['subject']}  owner {case['owner_team']}",
        highlight=False,
    )
    console.print(f"  {case.get('summary') or ''}", highlight=False)
    console.print(
        f"  priority {case['priority']}: {'; '.join(case.get('priority_explained') or [])}",
        highlight=False,
    )
    paused = f" (paused: {sla.get('paused_reason')})" if sla.get("paused") else ""
    console.print(
        f"  opened {case['opened_at']}  due {case.get('due_at')}{paused}  "
        f"playbook {work.get('state', '-')}  escalation {work.get('escalation', '-')}  "
        f"assignee {work.get('assignee') or '-'}  touches {work.get('touches', 0)}",
        highlight=False,
    )
    if work.get("human_task"):
        console.print(f"  [bold yellow]needs a person:[/] {work['human_task']}", highlight=False)


def _recommendations(console: Console, work: dict[str, Any]) -> None:
    table = _table("Recommendations", "#", "action", "summary", "effect", "confidence", "amount")
    for index, option in enumerate(work.get("recommendations") or []):
        effect = option["effect"]
        table.add_row(
            str(index),
            option["action"],
            option["summary"] + "".join(f"\n· {fact}" for fact in option["facts"]),
            f"+{effect['revenue_protected']:,.2f} revenue, {effect['cost']:,.2f} cost, "
            f"{effect['days_gained']:+.1f} d",
            f"{option['confidence']:.2f}",
            f"{option['amount']:,.2f}",
        )
    console.print(table)


def _approvals_and_actions(console: Console, work: dict[str, Any], view: CaseView) -> None:
    approvals = _table("Approvals", "id", "action", "role", "status", "requested by", "decided by")
    for a in work.get("approvals") or []:
        approvals.add_row(a["id"], a["action"], a["role"], a["status"], a["requested_by"],
                          a.get("decided_by") or "")  # fmt: skip
    console.print(approvals)
    actions = _table("Actions", "key", "kind", "connector", "status", "attempts", "last error")
    for s in view.actions:
        actions.add_row(s.key, s.kind, s.connector, s.status, str(s.attempts), s.last_error or "")
    console.print(actions)


def render_case(console: Console, view: CaseView) -> None:
    case = view.case
    work = case.get("work") or {}
    _header(console, case)
    _recommendations(console, work)
    _approvals_and_actions(console, work, view)
    timeline = _table("Timeline (every system)", "time", "source", "type", "subject")
    for raw in view.events:
        timeline.add_row(str(raw.get("time")), str(raw.get("source")), str(raw.get("type")),
                         str(raw.get("subject") or ""))  # fmt: skip
    console.print(timeline)
    audit = _table("Audit trail", "seq", "at", "kind", "actor", "hash")
    for chained in view.audit:
        entry = chained.entry
        audit.add_row(str(chained.seq), entry.at.strftime("%Y-%m-%d %H:%M:%S"), entry.kind,
                      entry.actor, chained.hash[:12])  # fmt: skip
    console.print(audit)
