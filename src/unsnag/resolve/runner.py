"""The playbook runner: drives every open case through its type's playbook.

Pure and deterministic like the rest of the engine: it reacts to cases opening, changing
and closing, to unsnag's own events (case work by people, action outcomes), to the
confirming events a waiting step expects, and to its timers (approval expiry, wait
timeouts, SLA escalation thresholds), all in event time. What it decides leaves as
effects the service layer persists in one transaction: outbox items (actions and
notifications) and audit entries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from unsnag.detect.base import Timer
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.policy.resolution import (
    ActStep,
    ApproveStep,
    CloseStep,
    EscalateStep,
    GatherStep,
    NotifyStep,
    RecommendStep,
    Step,
    WaitStep,
)
from unsnag.resolve.approvals import automation_rule, requirement
from unsnag.resolve.calendar import BusinessCalendar
from unsnag.resolve.facts import gather
from unsnag.resolve.model import AuditEntry, Option, OutboxItem
from unsnag.resolve.options import compute
from unsnag.resolve.sla import SlaClock
from unsnag.resolve.work import (
    AWAITING_APPROVAL,
    DEFERRED,
    DONE,
    HUMAN,
    MONITORING,
    RUNNING,
    WAITING,
    ActionRecord,
    Approval,
    Work,
)
from unsnag.state.model import State

if TYPE_CHECKING:
    from unsnag.cases.desk import Case, CaseDesk

RULE = "resolve"
MAX_RECHECKS = 6
REPLAN_ON_GROWTH = frozenset({"allocation.conflict"})
"""Case types planned again when more orders join them (a surge's later contenders):
a pending playbook approval is withdrawn, a wait ends, and the playbook runs again from
its ``recommend`` step. Cases with a person (``human``) or a recheck due are left be."""
MAX_REPLANS = 12
REPLAN_STATES = frozenset({AWAITING_APPROVAL, MONITORING, WAITING})
OUTSIDE_PARTIES = frozenset({"customer", "supplier", "carrier"})
SUBJECT_FIELDS = ("order_id", "endpoint", "remittance_id", "invoice_id", "po_id", "rma_id")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _subject_field(case: Case) -> str | None:
    """The ref name whose value is the case's subject (``order_id``, ``remittance_id``,
    ``endpoint``...), which confirming events carry in their payload."""
    for name, values in sorted(case.refs.items()):
        if case.subject in values and name in SUBJECT_FIELDS:
            return name
    return None


class Resolver:
    """Runs playbooks; one per engine. ``schedule`` hands timers to the engine."""

    def __init__(self, policy: Policy, desk: CaseDesk, schedule: Callable[[Timer], None]):
        self.policy = policy
        self.res = policy.resolution
        self.desk = desk
        self.schedule = schedule
        self.calendars = {
            name: BusinessCalendar.from_cfg(cfg) for name, cfg in self.res.calendars.items()
        }
        self.outbox: list[OutboxItem] = []
        self.audit: list[AuditEntry] = []
        self.waiting: dict[str, set[str]] = {}
        self.wait_fields: Counter[str] = Counter()
        self.wait_types = frozenset(
            event_type
            for playbook in self.res.playbooks.values()
            for step in playbook.steps
            if isinstance(step, WaitStep)
            for event_type in step.events
        )

    # --- effects ---------------------------------------------------------------------

    def take_effects(self) -> tuple[list[OutboxItem], list[AuditEntry]]:
        outbox, audit = self.outbox, self.audit
        self.outbox, self.audit = [], []
        return outbox, audit

    def record(self, case: Case, at: datetime, kind: str, actor: str, **detail: Any) -> None:
        work = case.work
        assert work is not None
        work.audit_n += 1
        self.audit.append(AuditEntry(f"{case.id}.{work.audit_n}", at, case.id, kind, actor, detail))
        self.desk.dirty.add(case.id)

    def _timer(self, at: datetime, case: Case, kind: str, index: int) -> None:
        self.schedule(Timer(at, RULE, f"{case.id}|{kind}|{index}", (case.id, kind, index)))

    def calendar(self, work: Work) -> BusinessCalendar:
        return self.calendars[work.calendar]

    # --- hooks from the engine --------------------------------------------------------

    def observe(self, case: Case, state: State) -> None:
        """A detector opened, updated or closed ``case``."""
        work = case.work
        if work is None:
            if case.is_open:
                self._start(case, state)
            return
        if work.state == DONE:
            return
        if not case.is_open:
            self.finish(case, case.closed_at or case.opened_at)
            return
        if case.type in REPLAN_ON_GROWTH and work.state in REPLAN_STATES:
            self._replan_if_grown(case, state)
        if case.priority != work.last_priority:
            self.record(
                case,
                case.updated_at or case.opened_at,
                "priority",
                "unsnag",
                old=work.last_priority,
                new=case.priority,
                explained=list(case.priority_explained),
            )
            work.last_priority = case.priority

    def _replan_if_grown(self, case: Case, state: State) -> None:
        """More orders joined the case since it was planned: plan it again (see
        :data:`REPLAN_ON_GROWTH`)."""
        work = case.work
        assert work is not None
        orders = case.refs.get("order_id", set())
        if not work.planned_for or orders <= work.planned_for or work.replans >= MAX_REPLANS:
            return
        steps = self.res.playbooks[work.playbook].steps if work.playbook else []
        kinds = [s.step for s in steps]
        if "recommend" not in kinds:
            return
        at = case.updated_at or case.opened_at
        pending = work.pending_approval
        if pending is not None and pending.origin == "playbook":
            pending.status = "withdrawn"
        elif pending is not None:
            return  # a person asked for an action: theirs to decide
        if work.state == WAITING:
            self._end_wait(case, at)
        work.replans += 1
        joined = sorted(orders - work.planned_for)
        self.record(case, at, "replanned", "unsnag", joined=joined, orders=len(orders))
        work.chosen, work.approved_by = None, None
        work.step = kinds.index("recommend")
        self.run(case, state, at)

    def on_event(self, event: Event, state: State) -> None:
        """A confirming event: recorded, and the outside party has answered (the SLA
        clock runs again). The case itself closes when its detectors clear it."""
        waiting = self.waiting
        hits: set[str] = set()
        subject = event.subject
        if subject is not None and subject in waiting:
            hits.add(subject)
        data = event.raw.get("data")
        if data.__class__ is dict:
            for name in self.wait_fields:
                value = data.get(name)
                if value.__class__ is str and value in waiting:
                    hits.add(value)
        for key in sorted(hits):
            self._confirm(waiting, key, event)

    def rebuild_wait_fields(self) -> None:
        """Recount the payload fields waiting cases are matched on (after a restore)."""
        self.wait_fields = Counter(
            field
            for case_ids in self.waiting.values()
            for case_id in case_ids
            if (field := self._wait_field_of(case_id)) is not None
        )

    def _wait_field_of(self, case_id: str) -> str | None:
        work = self.desk.cases[case_id].work
        return work.wait_field if work is not None else None

    def _confirm(self, waiting: dict[str, set[str]], subject: str, event: Event) -> None:
        for case_id in sorted(waiting.get(subject, ())):
            case = self.desk.cases[case_id]
            work = case.work
            if work is not None and work.state == WAITING and event.type in work.wait_events:
                self.record(case, event.time, "confirmed", event.source, event=event.type)
                self._unwait(case)
                self._resume(case, event.time)

    def on_outcome(self, event: Event, state: State) -> None:
        """``action.delivered`` / ``action.failed`` from the dispatcher."""
        data = event.data
        case = self.desk.cases.get(data.case_id)
        if case is None or case.work is None:
            return
        action = next((a for a in case.work.actions if a.key == data.key), None)
        if action is None or action.status != "pending":
            return
        action.attempts = int(data.attempts)
        action.done_at = event.time
        if event.type == "action.delivered":
            action.status, action.detail = "delivered", data.response
            self.record(case, event.time, "action_delivered", "unsnag", key=action.key)
            return
        action.status, action.detail = "failed", data.error
        self.record(case, event.time, "action_failed", "unsnag", key=action.key, error=data.error)
        if case.is_open and case.work.state != DONE:
            reason = f"{action.kind} failed after {action.attempts} attempts: {data.error}"
            self.to_human(case, event.time, reason)
            self._notify(case, event.time, "team", "action")

    def fire(self, timer: Timer, state: State) -> None:
        case_id, kind, index = timer.data
        case = self.desk.cases.get(case_id)
        if case is None or case.work is None or case.work.state == DONE:
            return
        if kind == "approval":
            self._approval_due(case, index, timer.at)
        elif kind == "wait":
            self._wait_due(case, index, timer.at, state)
        elif kind == "sla":
            self._sla_due(case, index, timer.at)
        elif kind == "recheck" and case.work.state == DEFERRED and case.work.step == index:
            self.run(case, state, timer.at)

    # --- the playbook -----------------------------------------------------------------

    def _start(self, case: Case, state: State) -> None:
        playbook = self.res.playbooks.get(case.type)
        calendar_name = self.res.calendar_of(case.owner_team)
        target = self.policy.types[case.type].sla_for(case.tier)
        work = Work(
            playbook=case.type if playbook else "",
            calendar=calendar_name,
            sla=SlaClock.start(case.opened_at, target),
            last_priority=case.priority,
            escalation_role=self.res.escalation.ladder[0],
        )
        case.work = work
        self._sla_changed(case, case.opened_at)
        self.record(
            case,
            case.opened_at,
            "detected",
            f"rule:{case.rule}",
            summary=case.summary,
            priority=case.priority,
            owner_team=case.owner_team,
            due_at=_iso(case.due_at),
        )
        self._schedule_sla(case, case.opened_at)
        if playbook is None:
            self.to_human(case, case.opened_at, "no playbook for this case type")
            return
        self.run(case, state, case.opened_at)

    def run(self, case: Case, state: State, at: datetime) -> None:
        """Run steps until one has to wait, the playbook ends or the case closes."""
        work = case.work
        assert work is not None
        steps = self.res.playbooks[work.playbook].steps
        work.state = RUNNING
        while work.state == RUNNING and case.is_open and work.step < len(steps):
            if not self._step(case, state, steps[work.step], at):
                return
            work.step += 1
        if work.state == RUNNING:
            work.state = MONITORING if case.is_open else DONE

    def _step(self, case: Case, state: State, step: Step, at: datetime) -> bool:
        """Carry out one step; False when the case must wait (or left the playbook)."""
        work = case.work
        assert work is not None
        if isinstance(step, GatherStep):
            work.facts = gather(step.facts, case, state)
        elif isinstance(step, RecommendStep):
            return self._recommend(case, state, step, at)
        elif isinstance(step, ApproveStep):
            return self._approve_step(case, step, at)
        elif isinstance(step, ActStep):
            return self._act_chosen(case, at)
        elif isinstance(step, WaitStep):
            self._wait(case, step, at)
            return False
        elif isinstance(step, NotifyStep):
            self._notify(case, at, step.to, step.template, step.channel)
        elif isinstance(step, EscalateStep):
            self.escalate(case, at, step.reason)
        elif isinstance(step, CloseStep):
            return self._close(case, at)
        return True

    def _close(self, case: Case, at: datetime) -> bool:
        """Close outright: for problems no detector clears (policy rules without
        ``resolve_on``); otherwise the detectors decide when a problem is gone."""
        self.desk.close(case, at, "resolved", "playbook: closed after its steps")
        self.finish(case, at)
        return False

    def _recommend(self, case: Case, state: State, step: RecommendStep, at: datetime) -> bool:
        work = case.work
        assert work is not None
        work.planned_for = frozenset(case.refs.get("order_id", ()))
        work.options = compute(step.using, case, state, self.policy, step.top)
        self.record(case, at, "recommended", "unsnag", options=[o.to_dict() for o in work.options])
        if work.options and work.options[0].action == "recheck":
            return self._recheck(case, at)
        if not work.options:
            self.to_human(case, at, "no option found: a person must decide")
            return False
        return True

    def _recheck(self, case: Case, at: datetime) -> bool:
        """The best option is to look again later; after :data:`MAX_RECHECKS` the other
        options are taken as they are."""
        work = case.work
        assert work is not None
        option = work.options[0]
        if work.rechecks >= MAX_RECHECKS:
            work.options = [o for o in work.options if o.action != "recheck"]
            if not work.options:
                self.to_human(case, at, "no option found: a person must decide")
                return False
            return True
        work.rechecks += 1
        work.state = DEFERRED
        when = self.calendar(work).add(at, float(option.params.get("hours", 4)))
        self.record(case, at, "deferred", "unsnag", reason=option.summary, until=_iso(when))
        self._timer(when, case, "recheck", work.step)
        return False

    def _approve_step(self, case: Case, step: ApproveStep, at: datetime) -> bool:
        work = case.work
        assert work is not None
        option = work.options[0]
        rule = automation_rule(self.res, case.type, option, case.tier)
        if rule is not None:
            work.chosen, work.approved_by = 0, f"automation:{rule.id}"
            self.record(
                case,
                at,
                "auto_approved",
                "unsnag",
                rule=rule.id,
                action=option.action,
                amount=option.amount,
                confidence=option.confidence,
            )
            return True
        self.request_approval(case, 0, "unsnag", at, "playbook", step.expires_hours)
        return False

    def request_approval(
        self,
        case: Case,
        option_index: int,
        requested_by: str,
        at: datetime,
        origin: str,
        expires_hours: float | None = None,
        escalated_to: str | None = None,
    ) -> Approval:
        work = case.work
        assert work is not None
        option = work.options[option_index]
        need = requirement(self.res, case.type, option)
        hours = expires_hours or need.expires_hours
        approval = Approval(
            id=f"{case.id}.a{len(work.approvals) + 1}",
            option=option_index,
            action=option.action,
            role=need.role,
            rule=need.rule,
            requested_by=requested_by,
            requested_at=at,
            expires_at=self.calendar(work).add(at, hours),
            escalated_to=escalated_to,
            origin=origin,
        )
        work.approvals.append(approval)
        work.state = AWAITING_APPROVAL
        self.record(
            case,
            at,
            "approval_requested",
            requested_by,
            approval=approval.id,
            role=approval.role,
            rule=approval.rule,
            action=option.action,
            amount=option.amount,
            expires_at=_iso(approval.expires_at),
        )
        index = len(work.approvals) - 1
        self.schedule(
            Timer(approval.expires_at, RULE, f"{case.id}|a|{index}", (case.id, "approval", index))
        )
        return approval

    def _act_chosen(self, case: Case, at: datetime) -> bool:
        """Send the chosen option. A message to a team as the best option means no
        system can fix this by itself: it goes out and a person takes the case at once
        (a message to the customer, a supplier or a carrier is the fix: keep waiting)."""
        work = case.work
        assert work is not None
        index = work.chosen if work.chosen is not None else 0
        option = work.options[index]
        automatic = (work.approved_by or "").startswith("automation:")
        self.emit_action(case, option, at, "unsnag", work.approved_by, automatic)
        outside = option.params.get("to") in OUTSIDE_PARTIES
        if option.action == "notify" and not outside:
            self.to_human(case, at, f"a person must decide: {option.summary}")
            return False
        return True

    def emit_action(
        self,
        case: Case,
        option: Option,
        at: datetime,
        requested_by: str,
        approved_by: str | None,
        automatic: bool,
    ) -> ActionRecord:
        """Send ``option``'s action — and its batch after it, each its own outbox item
        and audit entry under the one approval. A batch member the case has sent already
        and that is still pending (a re-plan repeating a move) is not sent twice."""
        first = self._emit_one(case, option, at, requested_by, approved_by, automatic)
        work = case.work
        assert work is not None
        for member in option.batch:
            sent = any(
                a.kind == member.action and a.params == member.params and a.status == "pending"
                for a in work.actions
            )
            if not sent:
                self._emit_one(case, member, at, requested_by, approved_by, automatic)
        return first

    def _emit_one(
        self,
        case: Case,
        option: Option,
        at: datetime,
        requested_by: str,
        approved_by: str | None,
        automatic: bool,
    ) -> ActionRecord:
        work = case.work
        assert work is not None
        key = f"{case.id}.{len(work.actions) + 1}"
        connector = self.res.connector_for(option.action)
        record = ActionRecord(
            key,
            option.action,
            dict(option.params),
            connector,
            requested_by,
            approved_by,
            at,
            automatic,
        )
        work.actions.append(record)
        self.outbox.append(
            OutboxItem(
                key, case.id, option.action, connector, dict(option.params), at, requested_by
            )
        )
        self.record(
            case,
            at,
            "action",
            requested_by,
            key=key,
            action=option.action,
            params=dict(option.params),
            connector=connector,
            approved_by=approved_by,
            automatic=automatic,
        )
        return record

    def _wait(self, case: Case, step: WaitStep, at: datetime) -> None:
        work = case.work
        assert work is not None
        work.state = WAITING
        work.wait_events = tuple(step.events)
        work.wait_until = self.calendar(work).add(at, step.timeout_hours)
        if step.events:
            self.waiting.setdefault(case.subject, set()).add(case.id)
            work.wait_field = _subject_field(case)
            if work.wait_field is not None:
                self.wait_fields[work.wait_field] += 1
        if step.outside_party:
            work.sla.pause(at, step.outside_party, self.calendar(work))
            self._sla_changed(case, at)
            self.record(case, at, "sla_paused", "unsnag", waiting_on=step.outside_party)
        index = work.step
        self.schedule(
            Timer(work.wait_until, RULE, f"{case.id}|w|{index}", (case.id, "wait", index))
        )

    def _unwait(self, case: Case) -> None:
        subject_cases = self.waiting.get(case.subject)
        if subject_cases is None or case.id not in subject_cases:
            return
        subject_cases.discard(case.id)
        if not subject_cases:
            del self.waiting[case.subject]
        field = case.work.wait_field if case.work is not None else None
        if field is not None:
            self.wait_fields[field] -= 1
            if self.wait_fields[field] <= 0:
                del self.wait_fields[field]

    def _end_wait(self, case: Case, at: datetime) -> None:
        work = case.work
        assert work is not None
        self._unwait(case)
        work.wait_events, work.wait_until = (), None
        self._resume(case, at)

    def _resume(self, case: Case, at: datetime) -> None:
        work = case.work
        assert work is not None
        if work.sla.is_paused and not work.sla.is_stopped:
            work.sla.resume(at, self.calendar(work))
            self._sla_changed(case, at)
            self.record(case, at, "sla_resumed", "unsnag")
            self._schedule_sla(case, at)

    # --- people, escalation, the end -----------------------------------------------------

    def to_human(self, case: Case, at: datetime, reason: str) -> None:
        work = case.work
        assert work is not None
        if work.state == WAITING:
            self._end_wait(case, at)
        work.state, work.human_task = HUMAN, reason
        self.record(case, at, "human_task", "unsnag", reason=reason)

    def escalate(self, case: Case, at: datetime, reason: str) -> None:
        work = case.work
        assert work is not None
        ladder = self.res.escalation.ladder
        work.escalation = min(work.escalation + 1, len(ladder) - 1)
        work.escalation_role = ladder[work.escalation]
        self.record(case, at, "escalated", "unsnag", to=work.escalation_role, reason=reason)
        self._notify(case, at, f"role:{work.escalation_role}", "escalation")

    def _notify(
        self, case: Case, at: datetime, to: str, template: str, channel: str = "email"
    ) -> None:
        work = case.work
        assert work is not None
        recipient = f"team:{case.owner_team}" if to == "team" else to
        if to == "customer":
            recipient = f"customer:{case.impact.customer_id or case.subject}"
        n = sum(1 for a in work.actions if a.kind == "notify") + 1
        params = {
            "to": recipient,
            "address": self.res.recipients.get(recipient),
            "channel": channel,
            "template": template,
            "subject": f"[{case.type}] {case.subject}: {template} ({case.id})",
            "body": case.summary,
            "priority": case.priority,
        }
        key = f"{case.id}.n{n}"
        connector = self.res.connector_for("notify")
        work.actions.append(
            ActionRecord(key, "notify", params, connector, "unsnag", None, at, True)
        )
        self.outbox.append(OutboxItem(key, case.id, "notify", connector, params, at))
        self.record(case, at, "notified", "unsnag", key=key, to=recipient, template=template)

    def finish(self, case: Case, at: datetime) -> None:
        """The case closed (detectors, a person or the playbook): stop the clock."""
        work = case.work
        assert work is not None
        if work.state == WAITING:
            self._end_wait(case, at)
        for approval in work.approvals:
            if approval.status == "pending":
                approval.status = "withdrawn"
        calendar = self.calendar(work)
        work.sla.stop(at, calendar)
        self._sla_changed(case, at)
        work.state = DONE
        self.record(
            case,
            at,
            "closed",
            "unsnag",
            status=case.status,
            resolution=case.resolution,
            touchless=work.touchless,
            sla_attained=work.sla.attained(calendar),
        )

    # --- timers --------------------------------------------------------------------------

    def _approval_due(self, case: Case, index: int, at: datetime) -> None:
        work = case.work
        assert work is not None
        approval = work.approvals[index]
        if approval.status != "pending" or at < approval.expires_at:
            return
        approval.status = "expired"
        self.record(case, at, "approval_expired", "unsnag", approval=approval.id)
        top = work.escalation >= len(self.res.escalation.ladder) - 1
        if not self.res.escalation.on_approval_expiry or top:
            self.to_human(case, at, f"approval {approval.id} expired with no decision")
            return
        self.escalate(case, at, f"approval {approval.id} expired")
        self.request_approval(
            case,
            approval.option,
            approval.requested_by,
            at,
            approval.origin,
            escalated_to=work.escalation_role,
        )

    def _wait_due(self, case: Case, index: int, at: datetime, state: State) -> None:
        """Still open at the wait's timeout: try again from ``recommend`` while the step
        allows retries; then the steps after the wait run (notify, escalate...), and a
        person takes over."""
        work = case.work
        assert work is not None
        if work.state != WAITING or work.step != index or not case.is_open:
            return
        self.record(case, at, "wait_timeout", "unsnag", step=index)
        self._end_wait(case, at)
        steps = self.res.playbooks[work.playbook].steps
        step = steps[index]
        kinds = [s.step for s in steps]
        if isinstance(step, WaitStep) and work.retries < step.retry and "recommend" in kinds:
            work.retries += 1
            work.chosen, work.approved_by = None, None
            work.step = kinds.index("recommend")
            self.record(case, at, "retry", "unsnag", attempt=work.retries)
            self.run(case, state, at)
            return
        work.step += 1
        self.run(case, state, at)
        if case.is_open and work.state == MONITORING:
            self.to_human(case, at, "not resolved by the end of its playbook's wait")

    def _schedule_sla(self, case: Case, at: datetime) -> None:
        work = case.work
        assert work is not None
        thresholds = self.res.escalation.at_sla_fraction
        clock = work.sla
        if work.sla_next >= len(thresholds) or clock.running_since is None:
            return
        hours_left = clock.target_hours * thresholds[work.sla_next] - clock.used(
            at, self.calendar(work)
        )
        when = self.calendar(work).add(at, max(hours_left, 0.0))
        index = work.sla_next
        self._timer(when, case, "sla", index)

    def _sla_due(self, case: Case, index: int, at: datetime) -> None:
        work = case.work
        assert work is not None
        if index != work.sla_next or work.sla.paused_since is not None:
            return  # superseded, or paused: resuming schedules it again
        threshold = self.res.escalation.at_sla_fraction[index]
        if work.sla.fraction_used(at, self.calendar(work)) + 1e-9 < threshold:
            self._schedule_sla(case, at)
            return
        work.sla_next += 1
        if work.escalation <= index:
            self.escalate(case, at, f"{threshold:.0%} of the SLA used")
        self._schedule_sla(case, at)

    def _sla_changed(self, case: Case, at: datetime) -> None:
        work = case.work
        assert work is not None
        calendar = self.calendar(work)
        due = work.sla.due_at(calendar)
        if due is not None:
            case.due_at = due
        work.sla_view = work.sla.to_dict(at, calendar)
        self.desk.dirty.add(case.id)
