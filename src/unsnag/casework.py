"""Service layer for case work: people's commands, the case view, and dispatching the
outbox. The CLI and the API call these; they never touch the engine themselves.

A command is checked against the engine's current view first (so a refusal comes back
at once, with its reason, and writes nothing), then written to the event log as one of
unsnag's own events and run through the engine like any event: the decisions it causes
(actions, audit entries, case changes) are saved in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from unsnag.connectors.base import Connector
from unsnag.dispatch import Dispatcher, DispatchReport
from unsnag.errors import Conflict
from unsnag.events import parse_event
from unsnag.policy import Policy
from unsnag.resolve import commands
from unsnag.resolve.events import command_event
from unsnag.service import IngestSession
from unsnag.store import StorePort
from unsnag.store.port import ChainedEntry, StoredAction

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def run_command(
    store: StorePort,
    policy: Policy,
    command: str,
    case_id: str,
    actor: str,
    role: str,
    clock: Clock = _now,
    session: IngestSession | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Check and carry out one command (``case.approved``...); the case afterwards.

    Raises NotFound, Forbidden or Conflict, writing nothing, when it may not be done.
    A long-lived process passes its ``session`` (the engine it keeps in memory; the
    caller serialises access to it); without one the engine is loaded for this command
    and checkpointed after it.
    """
    own = session is None
    if session is None:
        session = IngestSession(store, policy)
    resolver = session.engine.resolver
    fields = {name: value for name, value in fields.items() if value is not None}
    if command in ("case.approved", "case.rejected") and "approval_id" not in fields:
        case = commands.find_case(resolver, case_id)
        pending = case.work.pending_approval if case.work is not None else None
        if pending is None:
            raise Conflict(f"case {case_id} has no pending approval")
        fields["approval_id"] = pending.id
    commands.validate(resolver, command, {"case_id": case_id, "actor": actor, "role": role,
                                          **fields})  # fmt: skip
    watermark = session.engine.watermark
    at = clock()
    if watermark is not None and watermark > at:
        at = watermark  # the log's own time runs ahead of ours (simulated or skewed data)
    raw = command_event(command, f"U-{uuid.uuid4().hex}", case_id, actor, role, at, **fields)
    session.feed([parse_event(raw, frozenset(policy.systems), own=True)])
    if own:
        session.close()
    return store.get_case(case_id)


@dataclass(frozen=True, slots=True)
class CaseView:
    """Everything about one case: the case (with its work), events, actions, audit."""

    case: dict[str, Any]
    events: list[dict[str, Any]]
    actions: list[StoredAction]
    audit: list[ChainedEntry]


def case_subjects(case: dict[str, Any]) -> list[str]:
    """The keys events about this case carry as their subject."""
    subjects = {case["id"], case["subject"]}
    for value in (case.get("refs") or {}).values():
        subjects.update(value if isinstance(value, list) else [value])
    return sorted(str(s) for s in subjects if s is not None)


def show_case(store: StorePort, case_id: str, event_limit: int = 500) -> CaseView:
    case = store.get_case(case_id)
    events = store.events_about(case_subjects(case), limit=event_limit)
    return CaseView(case, events, store.list_actions(case_id=case_id),
                    store.audit_for_case(case_id))  # fmt: skip


def dispatch_outbox(
    store: StorePort,
    policy: Policy,
    connectors: Mapping[str, Connector] | None = None,
    clock: Clock = _now,
    max_seconds: float = 0.0,
) -> DispatchReport:
    """Send due actions; each outcome is written to the log and run through the engine
    at once (so a failed action becomes a human task before the next one is sent)."""
    from unsnag.connectors.registry import build_connectors, close_connectors

    session = IngestSession(store, policy)
    extra = frozenset(policy.systems)

    def report(raw: dict[str, Any]) -> None:
        session.feed([parse_event(raw, extra, own=True)])

    built = dict(connectors) if connectors is not None else build_connectors(policy.resolution)
    try:
        dispatcher = Dispatcher(store, built, policy.resolution, clock, report)
        if max_seconds > 0:
            result = dispatcher.run_until_idle(max_seconds)
        else:
            result = dispatcher.run_once(limit=1000)
    finally:
        if connectors is None:
            close_connectors(built)
        session.close()
    return result
