"""Case work by people: assign, comment, approve, reject, act, resolve.

:func:`validate` says whether a command may be carried out (raising
:class:`~unsnag.errors.NotFound`, :class:`~unsnag.errors.Forbidden` or
:class:`~unsnag.errors.Conflict` with the reason); the CLI and API call it before they
write the command to the log, and :func:`apply` calls it again when the engine reads the
command, so a replay refuses exactly what the live system refused (recorded in the audit
trail as ``refused``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from unsnag.errors import Conflict, NotFound, UnsnagError
from unsnag.events import Event
from unsnag.resolve.approvals import ADMIN, check_can_act, check_can_approve, requirement
from unsnag.resolve.model import ACTIONS, Option
from unsnag.resolve.work import AWAITING_APPROVAL, DONE, RUNNING, Approval
from unsnag.state.model import State

if TYPE_CHECKING:
    from unsnag.cases.desk import Case
    from unsnag.resolve.runner import Resolver

NEEDS_OPEN = frozenset({"case.approved", "case.rejected", "case.action_requested", "case.resolved"})


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else getattr(data, name, None)


def find_case(resolver: Resolver, case_id: str) -> Case:
    case = resolver.desk.cases.get(case_id)
    if case is None or case.work is None:
        raise NotFound(f"no case {case_id}")
    return case


def _approval(case: Case, approval_id: str | None) -> Approval:
    assert case.work is not None
    if approval_id is None:
        pending: Approval | None = case.work.pending_approval
        if pending is None:
            raise Conflict(f"case {case.id} has no pending approval")
        return pending
    approvals: list[Approval] = case.work.approvals
    for approval in approvals:
        if approval.id == approval_id:
            if approval.status != "pending":
                raise Conflict(f"approval {approval_id} is {approval.status}")
            return approval
    raise NotFound(f"case {case.id} has no approval {approval_id}")


def requested_option(case: Case, data: Any) -> Option:
    """The option a person asks for: one of the recommendations, or their own."""
    assert case.work is not None
    index, action = _field(data, "option"), _field(data, "action")
    if action is None:
        index = 0 if index is None else int(index)
        options: list[Option] = case.work.options
        if not 0 <= index < len(options):
            raise Conflict(f"case {case.id} has no recommendation {index}")
        if options[index].action == "recheck":
            raise Conflict(
                f"recommendation {index} is to wait and look again: nothing to carry out"
            )
        return options[index]
    if action not in ACTIONS or action == "recheck":
        raise Conflict(f"unknown action {action!r}; known: {', '.join(sorted(ACTIONS))}")
    params = dict(_field(data, "params") or {})
    missing = [name for name in ACTIONS[action].params if name not in params]
    if missing:
        raise Conflict(f"{action} needs {', '.join(missing)}")
    return Option(
        action,
        params,
        f"{action} asked by a person",
        confidence=1.0,
        amount=float(params.get("amount", 0) or 0),
    )


def validate(resolver: Resolver, command: str, data: Any) -> Case:
    """The case the command is about, if the command may be carried out; else raise."""
    case = find_case(resolver, _field(data, "case_id"))
    role, actor = _field(data, "role"), _field(data, "actor")
    check_can_act(role)
    if command in NEEDS_OPEN and not case.is_open:
        raise Conflict(f"case {case.id} is {case.status}")
    if command in ("case.approved", "case.rejected"):
        approval = _approval(case, _field(data, "approval_id"))
        check_can_approve(resolver.res, approval, actor, role)
    elif command == "case.action_requested":
        requested_option(case, data)
    elif command == "case.commented" and not (_field(data, "text") or "").strip():
        raise Conflict("a comment needs text")
    elif command == "case.assigned" and not _field(data, "assignee"):
        raise Conflict("assign needs an assignee")
    return case


def apply(resolver: Resolver, event: Event, state: State) -> None:
    """Carry out a command read from the log; a refused one is audited, not applied."""
    data = event.data
    try:
        case = validate(resolver, event.type, data)
    except NotFound:
        return
    except UnsnagError as exc:
        case = resolver.desk.cases[data.case_id]
        resolver.record(
            case, event.time, "refused", data.actor, command=event.type, reason=str(exc)
        )
        return
    work = case.work
    assert work is not None
    work.touches += 1
    work.touched_by.add(data.actor)
    work.first_touch_at = work.first_touch_at or event.time
    HANDLERS[event.type](resolver, case, event, state)


def _assign(resolver: Resolver, case: Case, event: Event, state: State) -> None:
    assert case.work is not None
    case.work.assignee = event.data.assignee
    resolver.record(
        case,
        event.time,
        "assigned",
        event.data.actor,
        assignee=event.data.assignee,
        role=event.data.role,
    )


def _comment(resolver: Resolver, case: Case, event: Event, state: State) -> None:
    assert case.work is not None
    case.work.comments.append((event.time, event.data.actor, event.data.text))
    resolver.record(case, event.time, "comment", event.data.actor, text=event.data.text)


def _approve(resolver: Resolver, case: Case, event: Event, state: State) -> None:
    work = case.work
    assert work is not None
    data = event.data
    approval = _approval(case, data.approval_id)
    approval.status, approval.decided_by, approval.decided_at = "approved", data.actor, event.time
    approval.note = data.note
    resolver.record(
        case,
        event.time,
        "approved",
        data.actor,
        approval=approval.id,
        role=data.role,
        note=data.note,
    )
    work.chosen, work.approved_by = approval.option, data.actor
    option = work.options[approval.option]
    if approval.origin == "manual":
        resolver.emit_action(case, option, event.time, approval.requested_by, data.actor, False)
        _after_act(resolver, case, state, event.time)
    else:
        work.step += 1
        resolver.run(case, state, event.time)


def _reject(resolver: Resolver, case: Case, event: Event, state: State) -> None:
    data = event.data
    approval = _approval(case, data.approval_id)
    approval.status, approval.decided_by, approval.decided_at = "rejected", data.actor, event.time
    approval.note = data.note
    resolver.record(case, event.time, "rejected", data.actor, approval=approval.id, note=data.note)
    resolver.to_human(
        case,
        event.time,
        f"{approval.action} rejected by {data.actor}: {data.note or 'no reason given'}",
    )


def _act(resolver: Resolver, case: Case, event: Event, state: State) -> None:
    work = case.work
    assert work is not None
    data = event.data
    option = requested_option(case, data)
    if option not in work.options:
        work.options.append(option)
    index = work.options.index(option)
    need = requirement(resolver.res, case.type, option)
    if data.role in (need.role, ADMIN) and not need.threshold:
        resolver.emit_action(case, option, event.time, data.actor, data.actor, False)
        _after_act(resolver, case, state, event.time)
        return
    pending = work.pending_approval
    if pending is not None:
        pending.status = "withdrawn"
    resolver.request_approval(case, index, data.actor, event.time, "manual")


def _after_act(resolver: Resolver, case: Case, state: State, at: datetime) -> None:
    """After a person's action, go on from the playbook's step after its ``act``."""
    work = case.work
    assert work is not None
    steps = resolver.res.playbooks[work.playbook].steps if work.playbook else []
    kinds = [step.step for step in steps]
    if "act" in kinds and work.state != DONE:
        work.step = kinds.index("act") + 1
        work.state = RUNNING
        resolver.run(case, state, at)
    elif work.state == AWAITING_APPROVAL:
        work.state = RUNNING


def _resolve(resolver: Resolver, case: Case, event: Event, state: State) -> None:
    data = event.data
    resolver.desk.close(case, event.time, "resolved", f"{data.actor}: {data.resolution}")
    resolver.record(case, event.time, "resolved", data.actor, resolution=data.resolution)
    resolver.finish(case, event.time)


HANDLERS = {
    "case.assigned": _assign,
    "case.commented": _comment,
    "case.approved": _approve,
    "case.rejected": _reject,
    "case.action_requested": _act,
    "case.resolved": _resolve,
}
