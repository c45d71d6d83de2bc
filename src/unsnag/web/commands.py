"""The case page's forms as commands: which fields each sends, and what to tell the
person afterwards. The rules themselves are the CLI's and the API's (``v1.work``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from unsnag.api.auth import Principal
from unsnag.api.deps import Services
from unsnag.api.v1 import work
from unsnag.errors import UnsnagError


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    text = str(value).strip() if value is not None else ""
    return text[:4000] or None


def _option(form: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return {"option": int(str(form.get("option", "0")))}
    except ValueError:
        return {"option": -1}


Fields = Callable[[Mapping[str, Any]], dict[str, Any]]

COMMANDS: dict[str, tuple[str, Fields, str]] = {
    "approve": (
        "case.approved",
        lambda f: {"approval_id": _text(f, "approval_id"), "note": _text(f, "note")},
        "Approved. The action goes out now; its confirmation will appear on the timeline.",
    ),
    "reject": (
        "case.rejected",
        lambda f: {"approval_id": _text(f, "approval_id"), "note": _text(f, "note")},
        "Rejected; the case goes to a person.",
    ),
    "act": (
        "case.action_requested",
        _option,
        "Requested. It runs at once when your role may, else it waits for approval.",
    ),
    "comment": ("case.commented", lambda f: {"text": _text(f, "text")}, "Comment added."),
    "assign": (
        "case.assigned",
        lambda f: {"assignee": _text(f, "assignee"), "note": _text(f, "note")},
        "Assigned.",
    ),
    "resolve": (
        "case.resolved",
        lambda f: {"resolution": _text(f, "resolution") or "resolved by hand"},
        "Resolved.",
    ),
}

REQUIRED = {
    "reject": ("note", "a rejection needs a note saying why"),
    "comment": ("text", "a comment needs text"),
    "assign": ("assignee", "say who to assign the case to"),
}


def run_case_command(
    svc: Services, principal: Principal, case_id: str, name: str, form: Mapping[str, Any]
) -> tuple[str, str]:
    """Carry out the form ``name`` on the case: ``(kind, message)`` for the flash,
    kind ``ok`` or ``error`` (with the refusal's reason)."""
    if name not in COMMANDS:
        return "error", f"unknown command {name!r}"
    command, fields, done = COMMANDS[name]
    need = REQUIRED.get(name)
    if need is not None and not _text(form, need[0]):
        return "error", need[1]
    try:
        work(svc, principal, command, case_id, **fields(form))
    except UnsnagError as exc:
        return "error", f"Refused: {exc}"
    return "ok", done
