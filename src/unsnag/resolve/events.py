"""unsnag's own events: what people did to cases, and what became of outbound actions.

Case work (assign, comment, approve, reject, act, resolve) and action outcomes
(delivered, failed) enter the event log as events like any system's, from source
``unsnag``. The engine reads them in log order, so a replay of the log re-derives every
approval and action exactly: nothing about a case lives outside the log.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

SOURCE = "unsnag"

COMMANDS = (
    "case.assigned",
    "case.commented",
    "case.approved",
    "case.rejected",
    "case.action_requested",
    "case.resolved",
)
OUTCOMES = ("action.delivered", "action.failed")
OWN_TYPES = frozenset(COMMANDS + OUTCOMES)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def envelope(event_type: str, event_id: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """A CloudEvents envelope for one of unsnag's own events."""
    subject = str(data.get("case_id") or data.get("key") or "")
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": event_type,
        "time": _iso(at),
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }


def outcome_event(
    key: str,
    case_id: str,
    kind: str,
    delivered: bool,
    attempts: int,
    at: datetime,
    detail: str | None = None,
) -> dict[str, Any]:
    """``action.delivered`` or ``action.failed`` for outbox item ``key``.

    The id is derived from the key and the outcome, so reporting the same outcome twice
    (a dispatcher that died after reporting) is one event in the log.
    """
    event_type = "action.delivered" if delivered else "action.failed"
    digest = hashlib.blake2b(f"{event_type}|{key}".encode(), digest_size=12).hexdigest()
    data: dict[str, Any] = {"key": key, "case_id": case_id, "kind": kind, "attempts": attempts}
    data["response" if delivered else "error"] = detail
    return envelope(event_type, f"A-{digest}", at, data)


def command_event(
    event_type: str,
    event_id: str,
    case_id: str,
    actor: str,
    role: str,
    at: datetime,
    **fields: Any,
) -> dict[str, Any]:
    """A person's command on a case, as an event (``event_id`` comes from the edge)."""
    if event_type not in COMMANDS:
        raise ValueError(f"unknown case command {event_type!r}")
    data = {"case_id": case_id, "actor": actor, "role": role, **fields}
    return envelope(event_type, event_id, at, data)
