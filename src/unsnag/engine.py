"""The deterministic engine step: event -> state -> detectors -> cases.

``Engine.step`` does no I/O and reads no clock: time comes from the events, and timers
fire in event time when the caller advances the watermark (``advance``). The same events
under the same policy always give the same cases.

Timers are evaluated on facts recorded with their event times ("was the invoice paid
by its due date?"), never on "what has been processed so far". A batch replay advances
once, at the end of its input; a live ingest advances after each batch.
"""

from __future__ import annotations

import heapq
import pickle
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from unsnag.cases.desk import Case, CaseDesk
from unsnag.detect.base import Clear, Detector, Output, Signal, Timer
from unsnag.detect.registry import detector_classes
from unsnag.detect.rules import RuleSet
from unsnag.events import Event
from unsnag.policy.model import Policy
from unsnag.resolve import commands
from unsnag.resolve.events import COMMANDS, OUTCOMES
from unsnag.resolve.model import AuditEntry, OutboxItem
from unsnag.resolve.runner import RULE as RESOLVE_RULE
from unsnag.resolve.runner import Resolver
from unsnag.state.model import State
from unsnag.state.projector import project

_COMMANDS, _OUTCOMES = frozenset(COMMANDS), frozenset(OUTCOMES)

# When an order is cancelled its open cases go with it, except the duplicate case:
# cancelling the duplicate *is* its resolution, which the duplicate detector records.
KEEP_ON_CANCEL = frozenset({"order.duplicate"})


@dataclass(slots=True)
class EngineStats:
    accepted: int = 0
    duplicates: int = 0
    by_type: Counter[str] = field(default_factory=Counter)


class Engine:
    """One deterministic engine over one partition of the keyspace (all of it by default)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.state = State()
        self.desk = CaseDesk(policy)
        self.detectors: dict[str, Detector] = {}
        self._by_type: dict[str, list[Detector]] = {}
        for cls in detector_classes():
            detector = cls(policy)
            if detector.enabled:
                self.detectors[detector.rule] = detector
                for event_type in sorted(detector.events):
                    self._by_type.setdefault(event_type, []).append(detector)
        self.rules = RuleSet(policy)
        # (at, rule, key, timer): tuples compare in C, far cheaper than the dataclass
        self.timers: list[tuple[datetime, str, str, Timer]] = []
        self._timer_keys: set[tuple[datetime, str, str]] = set()
        self.seen: set[tuple[str, str]] = set()
        self.watermark: datetime | None = None
        self.stats = EngineStats()
        self.resolver = Resolver(policy, self.desk, self._schedule)

    # --- the step -------------------------------------------------------------------

    def step(self, event: Event) -> bool:
        """Process one event; False if the same (source, id) was seen before."""
        key = (event.source, event.id)
        if key in self.seen:
            self.stats.duplicates += 1
            return False
        self.seen.add(key)
        self.stats.accepted += 1
        self.stats.by_type[event.type] += 1
        state = self.state
        event_type = event.type
        if event_type in _COMMANDS:
            commands.apply(self.resolver, event, state)
        elif event_type in _OUTCOMES:
            self.resolver.on_outcome(event, state)
        else:  # a business event (inline: this is the hot path)
            project(state, event)
            for detector in self._by_type.get(event_type, ()):
                self._apply(detector.observe(event, state))
            if event_type in self.rules.by_type:
                self._apply(self.rules.observe(event, state))
            if event_type == "order.cancelled":
                self._cancel_order(event, state)
            resolver = self.resolver
            if resolver.waiting and event_type in resolver.wait_types:
                resolver.on_event(event, state)
        if self.watermark is None or event.time > self.watermark:
            self.watermark = event.time
        return True

    def _cancel_order(self, event: Event, state: State) -> None:
        closed = self.desk.cancel_subject(
            event.data.order_id, event.time, "order cancelled", KEEP_ON_CANCEL
        )
        for case in closed:
            self.resolver.observe(case, state)

    def advance(self, until: datetime | None = None) -> int:
        """Fire every timer due at or before ``until`` (default: the watermark)."""
        until = until or self.watermark
        fired = 0
        while self.timers and until is not None and self.timers[0][0] <= until:
            timer = heapq.heappop(self.timers)[3]
            self._timer_keys.discard((timer.at, timer.rule, timer.key))
            if timer.rule == RESOLVE_RULE:
                self.resolver.fire(timer, self.state)
                fired += 1
                continue
            detector = self.detectors.get(timer.rule)
            if detector is not None:
                self._apply(detector.fire(timer, self.state))
                fired += 1
        return fired

    def _schedule(self, timer: Timer) -> None:
        timer_key = (timer.at, timer.rule, timer.key)
        if timer_key not in self._timer_keys:
            self._timer_keys.add(timer_key)
            heapq.heappush(self.timers, (timer.at, timer.rule, timer.key, timer))

    def _apply(self, outputs: Iterable[Output]) -> None:
        for out in outputs:
            if isinstance(out, Timer):
                self._schedule(out)
            elif isinstance(out, Signal | Clear):
                case = self.desk.apply(out, self.state)
                if case is not None:
                    self.resolver.observe(case, self.state)

    # --- results ------------------------------------------------------------------

    def cases(self) -> list[Case]:
        """Every case, in (opened_at, id) order."""
        return self.desk.ordered()

    def changed_cases(self) -> list[Case]:
        """Cases changed since the last call (for stores that persist increments)."""
        return self.desk.take_dirty()

    def take_effects(self) -> tuple[list[OutboxItem], list[AuditEntry]]:
        """Outbox items and audit entries decided since the last call."""
        return self.resolver.take_effects()

    # --- checkpoints ----------------------------------------------------------------

    def snapshot(self) -> bytes:
        """Everything the engine remembers, for a checkpoint (policy excluded)."""
        payload: dict[str, Any] = {
            "policy_version": self.policy.version,
            "state": self.state,
            "desk": (
                self.desk.cases,
                self.desk.open_by_key,
                self.desk.open_by_subject,
                self.desk.episodes,
            ),
            "memory": {rule: det.memory for rule, det in self.detectors.items()},
            "timers": self.timers,
            "seen": self.seen,
            "watermark": self.watermark,
            "waiting": self.resolver.waiting,
        }
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def restore(cls, policy: Policy, blob: bytes) -> Engine:
        """Rebuild an engine from :meth:`snapshot`; the policy version must match."""
        payload = pickle.loads(blob)
        if payload["policy_version"] != policy.version:
            raise ValueError("checkpoint was taken under another policy version")
        engine = cls(policy)
        engine.state = payload["state"]
        (
            engine.desk.cases,
            engine.desk.open_by_key,
            engine.desk.open_by_subject,
            engine.desk.episodes,
        ) = payload["desk"]
        for rule, memory in payload["memory"].items():
            if rule in engine.detectors:
                engine.detectors[rule].memory = memory
        engine.timers = payload["timers"]
        engine._timer_keys = {entry[:3] for entry in engine.timers}
        engine.seen = payload["seen"]
        engine.watermark = payload["watermark"]
        engine.resolver.waiting = payload["waiting"]
        engine.resolver.rebuild_wait_fields()
        return engine
