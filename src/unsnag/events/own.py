"""Payloads of unsnag's own events: case work by people and outbound action outcomes.

They come from source ``unsnag`` only, which inbound adapters refuse (a webhook must not
be able to approve a credit release); the service layer writes them to the log when a
person works a case or the dispatcher learns an action's outcome. See
:mod:`unsnag.resolve.events`.
"""

from __future__ import annotations

from typing import Any

from unsnag.events.catalog import Payload
from unsnag.events.types import Id, Number, Text


class CaseCommand(Payload):
    case_id: Id
    actor: Id
    role: Id
    note: Text | None = None


class CaseAssigned(CaseCommand):
    assignee: Id
    team: Text | None = None


class CaseCommented(CaseCommand):
    text: Text


class CaseApproved(CaseCommand):
    approval_id: Id


class CaseRejected(CaseCommand):
    approval_id: Id


class CaseActionRequested(CaseCommand):
    option: int | None = None
    """Index of one of the case's recommendations; or give ``action`` and ``params``."""
    action: Text | None = None
    params: dict[str, Any] | None = None


class CaseResolved(CaseCommand):
    resolution: Text


class ActionOutcome(Payload):
    key: Id
    case_id: Id
    kind: Id
    attempts: Number
    response: Text | None = None
    error: Text | None = None


OWN_CATALOG: dict[str, type[Payload]] = {
    "case.assigned": CaseAssigned,
    "case.commented": CaseCommented,
    "case.approved": CaseApproved,
    "case.rejected": CaseRejected,
    "case.action_requested": CaseActionRequested,
    "case.resolved": CaseResolved,
    "action.delivered": ActionOutcome,
    "action.failed": ActionOutcome,
}
OWN_SOURCE = "unsnag"
