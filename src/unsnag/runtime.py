"""The live runtime of a serving process: one engine in memory, shared by every request.

The API and the dashboard never load the engine per request (a large checkpoint on a
busy store): :class:`Runtime` keeps one :class:`~unsnag.service.IngestSession` open for
the life of the process and serialises everything that changes it — inbound events,
people's commands, action outcomes — through one lock, so the engine sees one ordered
stream exactly as a replay of the log would. Reads that the store can answer (case
lists, KPIs) do not take the lock.

A background thread dispatches the outbox through the policy's connectors and
checkpoints the engine now and then, so a restart replays only the log's tail.
``changes`` counts every change (the analytics cache reads it to know when to rebuild).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from unsnag.casework import run_command
from unsnag.connectors.base import Connector
from unsnag.dispatch import Dispatcher, DispatchReport
from unsnag.errors import ContractViolation
from unsnag.events import Event, parse_event
from unsnag.inputs import Item, Refused, parse_items
from unsnag.policy import Policy
from unsnag.service import BATCH, IngestSession
from unsnag.store import StorePort

LOG = logging.getLogger(__name__)

Clock = Callable[[], datetime]
IDEMPOTENCY_TTL = timedelta(hours=24)
"""How long a POST's Idempotency-Key is remembered."""


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What became of one inbound item."""

    index: int
    status: str
    """``accepted``, ``duplicate`` (already in the log; ignored) or ``refused``."""
    source: str | None = None
    id: str | None = None
    type: str | None = None
    reason: str | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        for name in ("source", "id", "type", "reason", "field"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(slots=True)
class _Ticket:
    """One request's parsed items, waiting for a batch to carry them."""

    items: list[Event | Refused]
    statuses: list[str] | None = None


class Runtime:
    """The engine of one serving process, and the lock that keeps it consistent."""

    def __init__(
        self,
        store: StorePort,
        policy: Policy,
        *,
        connectors: Mapping[str, Connector] | None = None,
        clock: Clock = wall_clock,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.extra = frozenset(policy.systems)
        self.lock = threading.RLock()
        self.changes = 0
        self.started_at = wall_clock()
        self.session = IngestSession(store, policy)
        self.connectors: Mapping[str, Connector] | None = connectors
        self._owned_connectors = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dispatched = DispatchReport()
        self.last_dispatch_error: str | None = None
        self._queue: list[_Ticket] = []
        self._queue_lock = threading.Lock()
        self.batches = 0
        """Store batches ingested (fewer than requests when group commit combines them)."""
        store.optimize()

    # --- inbound -------------------------------------------------------------------------

    def ingest(self, items: Sequence[Item]) -> list[Verdict]:
        """Validate, log, detect: one verdict per item, in order. ``items`` are
        ``(origin, index, raw bytes, decoded JSON or ContractViolation)``.

        Group commit: requests that arrive while the engine is busy queue up, and the
        next thread to take the lock runs them all as one batch — one store transaction
        for many small requests — handing each its own verdicts."""
        return self._ingest_parsed(list(parse_items(iter(items), self.extra)))

    def _ingest_parsed(self, parsed: list[Event | Refused]) -> list[Verdict]:
        ticket = _Ticket(parsed)
        with self._queue_lock:
            self._queue.append(ticket)
        with self.lock:
            if ticket.statuses is None:
                self._run_queue(ticket)
        assert ticket.statuses is not None
        verdicts = []
        for index, (item, status) in enumerate(zip(parsed, ticket.statuses, strict=True)):
            if isinstance(item, Refused):
                verdicts.append(Verdict(index, "refused", reason=item.reason, field=item.field))
            else:
                verdicts.append(Verdict(index, status, item.source, item.id, item.type))
        return verdicts

    def _run_queue(self, own: _Ticket) -> None:
        """Ingest every queued request as one batch (the caller holds ``lock``). If it
        fails, the caller gets the error and the others' requests are queued again for
        their own threads to run."""
        with self._queue_lock:
            tickets, self._queue = self._queue, []
        combined = [item for ticket in tickets for item in ticket.items]
        statuses: list[str] = []
        try:
            for start in range(0, len(combined), BATCH):
                statuses += self.session.feed_batch(combined[start : start + BATCH])
        except BaseException:
            with self._queue_lock:  # let each waiting request try again on its own
                self._queue[:0] = [t for t in tickets if t is not own]
            raise
        offset = 0
        for ticket in tickets:
            ticket.statuses = statuses[offset : offset + len(ticket.items)]
            offset += len(ticket.items)
        self.batches += 1
        self._bump()

    def replay_dead_letter(self, raw: Any, origin: str) -> Verdict:
        """Run a (fixed) dead letter through the inbound path again. A still-bad one is
        refused without a second dead letter (the first is still there)."""
        text = raw if isinstance(raw, bytes) else str(raw).encode()
        try:
            decoded: Any = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            decoded = ContractViolation(f"not JSON: {exc}")
        item = next(parse_items(iter([(origin, -1, text, decoded)]), self.extra))
        if isinstance(item, Refused):
            return Verdict(0, "refused", reason=item.reason, field=item.field)
        return self._ingest_parsed([item])[0]

    # --- people ------------------------------------------------------------------------

    def command(
        self, command: str, case_id: str, actor: str, role: str, **fields: Any
    ) -> dict[str, Any]:
        """A person's command (``case.approved``…), with the CLI's rules; the case after."""
        with self.lock:
            case = run_command(
                self.store,
                self.policy,
                command,
                case_id,
                actor,
                role,
                clock=self.clock,
                session=self.session,
                **fields,
            )
            self._bump()
        return case

    def live_cases(self) -> list[Any]:
        """The engine's cases (a snapshot list; read the objects under ``lock`` if you
        need them consistent)."""
        with self.lock:
            return list(self.session.engine.desk.cases.values())

    # --- outbound ------------------------------------------------------------------------

    def _report(self, raw: dict[str, Any]) -> None:
        with self.lock:
            self.session.feed([parse_event(raw, self.extra, own=True)])
            self._bump()

    def dispatch(self, limit: int = 500) -> DispatchReport:
        """Send the due actions once; each outcome runs through the engine at once."""
        if self.connectors is None:
            from unsnag.connectors.registry import build_connectors

            self.connectors = build_connectors(self.policy.resolution)
            self._owned_connectors = True
        dispatcher = Dispatcher(
            self.store, self.connectors, self.policy.resolution, self.clock, self._report
        )
        done = dispatcher.run_once(limit)
        with self.lock:
            self.dispatched.add(done)
        return done

    def checkpoint(self) -> None:
        with self.lock:
            self.session.checkpoint()
        self.store.optimize()

    def start(self, dispatch_every_s: float = 1.0, checkpoint_every_s: float = 300.0) -> None:
        """Dispatch and checkpoint in a background thread until :meth:`close`."""

        def loop() -> None:
            last_checkpoint = time.monotonic()
            while not self._stop.wait(dispatch_every_s):
                try:
                    self.dispatch()
                    self.last_dispatch_error = None
                    if time.monotonic() - last_checkpoint >= checkpoint_every_s:
                        self.checkpoint()
                        self.store.prune_idempotent(wall_clock() - IDEMPOTENCY_TTL)
                        last_checkpoint = time.monotonic()
                except Exception as exc:  # keep serving; /readyz shows the error
                    LOG.exception("background dispatch failed")
                    self.last_dispatch_error = f"{type(exc).__name__}: {exc}"

        self._thread = threading.Thread(target=loop, name="unsnag-dispatch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self.lock:
            self.session.close()
        if self._owned_connectors and self.connectors is not None:
            from unsnag.connectors.registry import close_connectors

            close_connectors(self.connectors)

    # --- live views ----------------------------------------------------------------------

    def _bump(self) -> None:
        self.changes += 1


def event_items(documents: Sequence[Any], origin: str) -> list[Item]:
    """Decoded JSON documents (one per event) as inbound items for :meth:`Runtime.ingest`."""
    return [(origin, index, orjson.dumps(doc), doc) for index, doc in enumerate(documents)]


__all__ = ["Event", "Runtime", "Verdict", "event_items", "wall_clock"]
