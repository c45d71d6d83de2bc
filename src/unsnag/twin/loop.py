"""Closing the loop: the engine resolves the twin's exceptions through its playbooks.

The twin runs in simulated time; every ``tick`` its reported events go through the
engine, the engine's outbox items go to the twin (actions it can carry out, through the
twin connector) or are recorded (notifications and actions the twin has no system for),
the outcomes come back as ``action.delivered``/``action.failed`` events, and simulated
people work the queue of approvals and human tasks.

People: each team has ``agents`` people working its business calendar (from the policy),
taking tasks first-in-first-out; a task takes a lognormal handling time (median
``handling_median_min``). Approving uses the approval's role; a human task (no option,
a rejected or failed action, a timeout) is settled by hand and the case resolved.
``automation=False`` switches automation off, so every action waits for a person: the
manual baseline the issue compares against.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from unsnag.cases.desk import Case
from unsnag.connectors.base import DELIVERED, Connector
from unsnag.connectors.log import LogSender
from unsnag.connectors.twin import COMMANDS, TwinSender
from unsnag.engine import Engine
from unsnag.events import parse_event, parse_line
from unsnag.policy import Policy
from unsnag.resolve.approvals import requirement
from unsnag.resolve.calendar import BusinessCalendar
from unsnag.resolve.events import command_event, outcome_event
from unsnag.resolve.model import OutboxItem
from unsnag.resolve.work import AWAITING_APPROVAL, HUMAN
from unsnag.store.port import StoredAction
from unsnag.twin.config import TwinConfig
from unsnag.twin.emitter import DAY
from unsnag.twin.flow import Twin
from unsnag.twin.runner import expected_days

TWIN_KINDS = frozenset(COMMANDS)
"""The action kinds the twin's systems carry out: those the twin connector maps."""


MESSAGES = frozenset({"notify", "request_info", "recheck"})


def _canonical(params: dict[str, Any]) -> bytes:
    return orjson.dumps(params, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class People:
    agents: int = 3
    handling_median_min: float = 15.0
    handling_sigma: float = 0.6


@dataclass
class Task:
    case_id: str
    kind: str  # approval | human
    ref: str
    queued_at: datetime


@dataclass
class Desk:
    """One team's people: a FIFO queue and when each person is free again."""

    calendar: BusinessCalendar
    free_at: list[datetime]
    queue: deque[Task] = field(default_factory=deque)


def _resolution_with(policy: Policy, automation: bool) -> Policy:
    res = policy.resolution
    auto = res.automation.model_copy(update={"enabled": automation})
    return policy.model_copy(update={"resolution": res.model_copy(update={"automation": auto})})


class Loop:
    def __init__(self, twin: Twin, policy: Policy, people: People, seed: int) -> None:
        self.twin = twin
        self.engine = Engine(policy)
        self.lines: list[bytes] = []
        self.people = people
        self.rng = random.Random(f"people-{seed}")
        self.connectors: dict[str, Connector] = {
            "twin": TwinSender(twin),
            "log": LogSender(),
        }
        self.desks: dict[str, Desk] = {}
        self.queued: set[str] = set()
        self.due: list[tuple[datetime, int, Task, str]] = []
        self.touch_seq = 0
        self.actions = 0
        self.commands = 0

    # --- the tick ------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        engine = self.engine
        for line in self.lines:
            engine.step(parse_line(line))
        self.lines.clear()
        self._people_finish(now)
        engine.advance(now)
        for _ in range(20):  # outcomes and commands can decide more actions
            if not self._effects(now):
                break
        self._queue_tasks(now)
        self._people_start(now)

    def _effects(self, now: datetime) -> bool:
        items, _ = self.engine.take_effects()
        for item in items:
            self.actions += 1
            self._send(item, now)
        return bool(items)

    def _send(self, item: OutboxItem, now: datetime) -> None:
        name = "twin" if item.kind in TWIN_KINDS else "log"
        stored = StoredAction(item.key, item.case_id, item.kind, name, item.params,
                              item.created_at, item.requested_by, "pending", 1, now)  # fmt: skip
        outcome = self.connectors[name].send(stored)
        delivered = outcome.status == DELIVERED
        raw = outcome_event(item.key, item.case_id, item.kind, delivered, 1, now, outcome.detail)
        self.engine.step(parse_event(raw, own=True))

    # --- people --------------------------------------------------------------------

    def _desk(self, case: Case) -> Desk:
        desk = self.desks.get(case.owner_team)
        if desk is None:
            res = self.engine.policy.resolution
            cal = self.engine.resolver.calendars[res.calendar_of(case.owner_team)]
            start = case.opened_at - timedelta(days=1)
            desk = self.desks[case.owner_team] = Desk(cal, [start] * self.people.agents)
        return desk

    def _queue_tasks(self, now: datetime) -> None:
        for case in self.engine.changed_cases():
            work = case.work
            if work is None or not case.is_open:
                continue
            pending = work.pending_approval
            if work.state == AWAITING_APPROVAL and pending is not None:
                task = Task(case.id, "approval", pending.id, now)
            elif work.state == HUMAN:
                task = Task(case.id, "human", f"{case.id}:{work.audit_n}", now)
            else:
                continue
            if task.ref not in self.queued:
                self.queued.add(task.ref)
                self._desk(case).queue.append(task)

    def _people_start(self, now: datetime) -> None:
        for team, desk in sorted(self.desks.items()):
            while desk.queue:
                person = min(range(len(desk.free_at)), key=desk.free_at.__getitem__)
                task = desk.queue.popleft()
                start = desk.calendar.next_open(max(desk.free_at[person], task.queued_at))
                hours = self.rng.lognormvariate(0, self.people.handling_sigma)
                hours *= self.people.handling_median_min / 60
                done = desk.calendar.add(start, hours)
                desk.free_at[person] = done
                self.touch_seq += 1
                self.due.append((done, self.touch_seq, task, f"{team}-{person + 1}"))
        self.due.sort(key=lambda item: (item[0], item[1]))

    def _people_finish(self, now: datetime) -> None:
        while self.due and self.due[0][0] <= now:
            done, _, task, person = self.due.pop(0)
            self._complete(task, person, done)

    def _complete(self, task: Task, person: str, at: datetime) -> None:
        case = self.engine.desk.cases[task.case_id]
        work = case.work
        if work is None or not case.is_open:
            return
        if task.kind == "approval":
            approval = work.pending_approval
            if approval is None or approval.id != task.ref:
                return
            role = approval.escalated_to or approval.role
            self._command("case.approved", case, person, role, at, approval_id=approval.id)
        elif work.state == HUMAN:
            self._settle(case, person, at)

    def _settle(self, case: Case, person: str, at: datetime) -> None:
        """A person takes a human task: carries out the best system action not yet
        tried (in the role it needs), or settles the case by hand."""
        work = case.work
        assert work is not None
        tried = {(a.kind, _canonical(a.params)) for a in work.actions}
        for index, option in enumerate(work.options):
            key = (option.action, _canonical(option.params))
            if option.action in MESSAGES or key in tried:
                continue
            role = requirement(self.engine.policy.resolution, case.type, option).role
            self._command("case.action_requested", case, person, role, at, option=index)
            return
        self._command("case.resolved", case, person, "agent", at, resolution="settled by hand")

    def _command(self, kind: str, case: Case, person: str, role: str, at: datetime,
                 **fields: Any) -> None:  # fmt: skip
        self.commands += 1
        raw = command_event(kind, f"H-{self.commands}", case.id, person, role, at, **fields)
        self.engine.step(parse_event(raw, own=True))


@dataclass
class LoopResult:
    automation: bool
    events: int
    cases: list[Case]
    actions: int
    commands: int
    seconds_simulated: int


def run_loop(
    config: TwinConfig,
    policy: Policy,
    days: int,
    orders_per_day: float,
    seed: int,
    automation: bool = True,
    people: People | None = None,
    tick_s: int = 300,
    on_day: Callable[[int, int], None] | None = None,
) -> LoopResult:
    """Run the twin with the engine resolving its cases; the engine's cases at the end."""
    loop_policy = _resolution_with(policy, automation)
    holder: list[Loop] = []
    twin = Twin(config, days, orders_per_day, seed, lambda line: holder[0].lines.append(line),
                actionable=True)  # fmt: skip
    loop = Loop(twin, loop_policy, people or People(), seed)
    holder.append(loop)
    twin.start()
    total = expected_days(config, days)
    t = twin.t0
    while len(twin.sim) or loop.due:
        t += tick_s
        twin.sim.run(until=t)
        twin.emitter.flush()
        loop.tick(datetime.fromtimestamp(t, UTC))
        if on_day is not None and (t - twin.t0) % DAY == 0:
            day = (t - twin.t0) // DAY
            on_day(day, max(total, day + 1))
    twin.emitter.flush(everything=True)
    loop.tick(datetime.fromtimestamp(t + tick_s, UTC))
    return LoopResult(automation, twin.emitter.emitted, loop.engine.cases(), loop.actions,
                      loop.commands, t - twin.t0)  # fmt: skip
