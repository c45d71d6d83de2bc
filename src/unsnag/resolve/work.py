"""The work on one case: where its playbook stands, its options, approvals and actions.

A :class:`Work` hangs on its :class:`~unsnag.cases.desk.Case` (so checkpoints carry it),
is changed only by the :class:`~unsnag.resolve.runner.Resolver`, and is shown with the
case (``Case.to_dict()["work"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from unsnag.resolve.model import Option
from unsnag.resolve.sla import SlaClock

# Where a case's playbook stands.
RUNNING = "running"
AWAITING_APPROVAL = "awaiting_approval"
WAITING = "waiting"  # for the confirming event (or the case to clear)
DEFERRED = "deferred"  # the best option was to look again later (``recheck``)
HUMAN = "human"  # a person must take over: no option, rejected, failed, timed out
MONITORING = "monitoring"  # playbook done; the detectors decide when it is over
DONE = "done"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class Approval:
    id: str
    option: int
    action: str
    role: str
    rule: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    escalated_to: str | None = None
    origin: str = "playbook"
    """``playbook`` (its approve step asked) or ``manual`` (a person asked to act)."""
    status: str = "pending"  # pending, approved, rejected, expired, withdrawn
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "option": self.option,
            "action": self.action,
            "role": self.role,
            "rule": self.rule,
            "requested_by": self.requested_by,
            "requested_at": _iso(self.requested_at),
            "expires_at": _iso(self.expires_at),
            "escalated_to": self.escalated_to,
            "origin": self.origin,
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": _iso(self.decided_at),
            "note": self.note,
        }


@dataclass(slots=True)
class ActionRecord:
    key: str
    kind: str
    params: dict[str, Any]
    connector: str
    requested_by: str
    approved_by: str | None
    at: datetime
    automatic: bool
    status: str = "pending"  # pending, delivered, failed
    attempts: int = 0
    detail: str | None = None
    done_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "params": dict(self.params),
            "connector": self.connector,
            "requested_by": self.requested_by,
            "approved_by": self.approved_by,
            "at": _iso(self.at),
            "automatic": self.automatic,
            "status": self.status,
            "attempts": self.attempts,
            "detail": self.detail,
            "done_at": _iso(self.done_at),
        }


@dataclass(slots=True)
class Work:
    playbook: str
    calendar: str
    sla: SlaClock
    step: int = 0
    state: str = RUNNING
    facts: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    actions: list[ActionRecord] = field(default_factory=list)
    assignee: str | None = None
    comments: list[tuple[datetime, str, str]] = field(default_factory=list)
    touches: int = 0
    touched_by: set[str] = field(default_factory=set)
    escalation: int = 0
    human_task: str | None = None
    wait_until: datetime | None = None
    wait_events: tuple[str, ...] = ()
    wait_field: str | None = None
    """The payload field that carries the case's subject in confirming events."""
    audit_n: int = 0
    retries: int = 0
    rechecks: int = 0
    last_priority: float | None = None
    first_touch_at: datetime | None = None
    chosen: int | None = None
    approved_by: str | None = None
    sla_next: int = 0
    """Index of the next escalation threshold (share of the SLA used) to watch."""
    sla_view: dict[str, Any] = field(default_factory=dict)
    escalation_role: str = "agent"
    planned_for: frozenset[str] = frozenset()
    """The case's orders (``refs.order_id``) when its options were last computed."""
    replans: int = 0

    @property
    def pending_approval(self) -> Approval | None:
        for approval in reversed(self.approvals):
            if approval.status == "pending":
                return approval
        return None

    @property
    def automatic(self) -> bool:
        return any(action.automatic for action in self.actions)

    @property
    def touchless(self) -> bool:
        return self.touches == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "step": self.step,
            "state": self.state,
            "assignee": self.assignee,
            "escalation": self.escalation_role,
            "escalation_level": self.escalation,
            "human_task": self.human_task,
            "touches": self.touches,
            "touchless": self.touchless,
            "automatic": self.automatic,
            "chosen": self.chosen,
            "first_touch_at": _iso(self.first_touch_at),
            "sla": dict(self.sla_view),
            "facts": list(self.facts),
            "recommendations": [option.to_dict() for option in self.options],
            "approvals": [approval.to_dict() for approval in self.approvals],
            "actions": [action.to_dict() for action in self.actions],
            "comments": [
                {"at": _iso(at), "actor": actor, "text": text} for at, actor, text in self.comments
            ],
        }
