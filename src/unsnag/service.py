"""Service layer: ingest into the store and keep the cases there up to date.

The event log is the truth. The engine's memory is a checkpoint of it: when the
checkpoint is missing, stale (it does not end at the log's last event) or from another
policy version, the engine is rebuilt by replaying the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from unsnag.engine import Engine
from unsnag.events import Event, parse_event
from unsnag.inputs import Refused
from unsnag.intel.shadow import ShadowSession
from unsnag.perf import batch_gc
from unsnag.policy import Policy
from unsnag.store import DeadLetter, StorePort

CHECKPOINT = "engine"
BATCH = 2000


@dataclass(slots=True)
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    refused: int = 0
    cases_changed: int = 0
    actions: int = 0
    rebuilt_from: int | None = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates_ignored": self.duplicates,
            "refused": self.refused,
            "cases_changed": self.cases_changed,
            "actions_decided": self.actions,
            "rebuilt_from_log": self.rebuilt_from,
        }


def _batched(items: Iterable[Event | Refused], size: int) -> Iterator[list[Event | Refused]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def load_engine(store: StorePort, policy: Policy) -> tuple[Engine, int | None]:
    """The engine as of the log's end: from the checkpoint, or rebuilt from the log."""
    last = store.last_seq()
    saved = store.load_checkpoint(CHECKPOINT)
    if saved is not None:
        seq, version, blob = saved
        if seq == last and version == policy.version:
            try:
                return Engine.restore(policy, blob), None
            except Exception:  # an unreadable checkpoint is rebuilt, never trusted
                pass
    engine = Engine(policy)
    extra = frozenset(policy.systems)
    count = 0
    for _, raw in store.iter_events():
        engine.step(parse_event(raw, extra, own=True))
        count += 1
    engine.advance()
    engine.changed_cases()  # everything is re-upserted below on rebuild
    # Re-derived actions and audit entries carry the keys and ids they had: the store
    # keeps the first of each, so a rebuild never sends an action twice.
    actions, audit = engine.take_effects()
    store.save_decisions([case.to_dict() for case in engine.cases()], actions, audit)
    return engine, count


class IngestSession:
    """A long-lived ingest: the engine stays in memory between batches.

    For a process that keeps receiving events (the demo, a consumer): load or rebuild the
    engine once, ``feed`` batches as they come, ``close`` to save the checkpoint.
    """

    def __init__(self, store: StorePort, policy: Policy) -> None:
        self.store = store
        self.policy = policy
        self.engine, rebuilt = load_engine(store, policy)
        self.report = IngestReport(rebuilt_from=rebuilt)
        self.shadow = ShadowSession.open(store)  # a candidate policy watching (shadow mode)

    def feed(self, items: Iterable[Event | Refused]) -> IngestReport:
        """Append, detect and upsert the changed cases, one store batch at a time."""
        for batch in _batched(items, BATCH):
            self.feed_batch(batch)
        return self.report

    def feed_batch(self, batch: list[Event | Refused]) -> list[str]:
        """Ingest one batch; per item ``accepted``, ``duplicate`` or ``refused``."""
        outcomes = _ingest_batch(self.store, self.engine, batch, self.report)
        if self.shadow is not None:
            self.shadow.feed(batch)
        return outcomes

    def checkpoint(self) -> None:
        """Save the engine as of the log's end, and go on (a long-lived process calls
        this now and then so a restart need not replay the whole log)."""
        self.engine.advance()
        _flush_cases(self.store, self.engine, self.report)
        self.store.save_checkpoint(
            CHECKPOINT, self.store.last_seq(), self.policy.version, self.engine.snapshot()
        )

    def close(self) -> IngestReport:
        self.checkpoint()
        if self.shadow is not None:
            self.shadow.close()
        return self.report


def ingest(
    store: StorePort,
    policy: Policy,
    items: Iterable[Event | Refused],
    on_batch: Callable[[int], None] | None = None,
) -> IngestReport:
    """Append events to the log (idempotently), dead-letter refusals, update cases."""
    with batch_gc():
        session = IngestSession(store, policy)
        for batch in _batched(items, BATCH):
            session.feed(batch)
            if on_batch is not None:
                on_batch(len(batch))
        return session.close()


def _ingest_batch(
    store: StorePort, engine: Engine, batch: list[Event | Refused], report: IngestReport
) -> list[str]:
    events = [item for item in batch if isinstance(item, Event)]
    refused = [item for item in batch if isinstance(item, Refused)]
    if refused:
        now = datetime.now(UTC)
        store.add_dead_letters(
            [DeadLetter(r.raw, r.reason, r.field, r.origin, now) for r in refused]
        )
        report.refused += len(refused)
    verdicts: dict[int, str] = {}
    for event, is_new in zip(events, store.append_events(events), strict=True):
        if is_new and engine.step(event):
            report.accepted += 1
            verdicts[id(event)] = "accepted"
        else:
            report.duplicates += 1
            verdicts[id(event)] = "duplicate"
    engine.advance()
    _flush_cases(store, engine, report)
    return [verdicts.get(id(item), "refused") for item in batch]


def _flush_cases(store: StorePort, engine: Engine, report: IngestReport) -> None:
    """Persist what the engine decided: changed cases, their outbox items and audit
    entries, in one transaction (the outbox pattern)."""
    changed = engine.changed_cases()
    actions, audit = engine.take_effects()
    if changed or actions or audit:
        store.save_decisions([case.to_dict() for case in changed], actions, audit)
        report.cases_changed += len(changed)
        report.actions += len(actions)
