"""An in-memory store with the SQL store's behaviour, for fast tests of the core.

Documents are copied through JSON on the way in and out, as the database does, so a
caller that mutates a dict after storing it (or a value JSON cannot hold) behaves here
exactly as it would against SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from unsnag.errors import Conflict, NotFound
from unsnag.events import Event, parse_instant
from unsnag.resolve.audit import GENESIS, entry_hash
from unsnag.resolve.model import AuditEntry, OutboxItem
from unsnag.store.port import (
    COUNT_BY,
    DELIVERED,
    EVENT_CLOCKS,
    FAILED,
    PENDING,
    ApiKey,
    Case,
    CaseQuery,
    ChainedEntry,
    Closing,
    DeadLetter,
    IdempotentResponse,
    StoredAction,
    StoredDeadLetter,
    case_columns,
    case_order,
    case_refs,
    chainable,
    check_query,
    dump,
    hour_of,
    outbox_columns,
    sort_key,
    utc,
)


def _copy(document: Any) -> Any:
    return orjson.loads(dump(document))


class MemoryStore(Closing):
    """The :class:`~unsnag.store.port.StorePort` in plain Python containers."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        # (source, received_at, time) per event, for event_counts
        self._received: list[tuple[str, datetime, datetime]] = []
        self._keys: set[tuple[str, str]] = set()
        self._dead: list[StoredDeadLetter] = []
        self._cases: dict[str, Case] = {}
        self._checkpoints: dict[str, tuple[int, str, bytes]] = {}
        self._outbox: dict[str, StoredAction] = {}
        self._audit: list[ChainedEntry] = []
        self._chained: set[str] = set()
        self._head = GENESIS
        self._api_keys: dict[str, ApiKey] = {}
        self._idempotent: dict[tuple[str, str], IdempotentResponse] = {}

    # --- event log ---------------------------------------------------------------------

    def append_events(self, events: Sequence[Event]) -> list[bool]:
        documents = [_copy(event.raw) for event in events]  # all or nothing, like a txn
        stored: list[bool] = []
        now = datetime.now(UTC)
        for event, document in zip(events, documents, strict=True):
            is_new = event.key not in self._keys
            if is_new:
                self._keys.add(event.key)
                self._events.append(document)
                self._received.append((event.source, now, utc(event.time)))
            stored.append(is_new)
        return stored

    def iter_events(
        self, after_seq: int = 0, batch_size: int = 5000
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        for index in range(max(after_seq, 0), len(self._events)):
            yield index + 1, _copy(self._events[index])

    def events_about(self, subjects: Sequence[str], limit: int = 500) -> list[dict[str, Any]]:
        wanted = set(subjects)
        found = [(parse_instant(e["time"]), i, e) for i, e in enumerate(self._events)
                 if e.get("subject") in wanted]  # fmt: skip
        return [_copy(e) for _, _, e in sorted(found, key=lambda f: (f[0], f[1]))[:limit]]

    def event_count(self) -> int:
        return len(self._events)

    def last_seq(self) -> int:
        return len(self._events)

    # --- dead letters ------------------------------------------------------------------

    def add_dead_letters(self, rows: Sequence[DeadLetter]) -> None:
        start = len(self._dead) + 1
        stored = [
            StoredDeadLetter(r.raw, r.reason, r.field, r.origin, utc(r.received_at), start + n)
            for n, r in enumerate(rows)
        ]
        self._dead.extend(stored)

    def list_dead_letters(
        self, limit: int = 100, after_id: int = 0, replayed: bool | None = None
    ) -> list[StoredDeadLetter]:
        return [
            row
            for row in self._dead
            if row.id > after_id and (replayed is None or (row.replayed_at is not None) == replayed)
        ][:limit]

    def dead_letter_count(self) -> int:
        return len(self._dead)

    def get_dead_letter(self, id: int) -> StoredDeadLetter:
        if isinstance(id, int) and 1 <= id <= len(self._dead):
            return self._dead[id - 1]
        raise NotFound(f"no dead letter {id!r}")

    def mark_dead_letter_replayed(self, id: int, at: datetime) -> None:
        at = utc(at)
        row = self.get_dead_letter(id)
        if row.replayed_at is None:
            self._dead[id - 1] = replace(row, replayed_at=at)

    def dead_letter_counts(self, since: datetime) -> list[tuple[str | None, datetime, int]]:
        """Bucketed in Python over the dead letters received since ``since``."""
        since = utc(since)
        counts = Counter(
            (row.origin, hour_of(row.received_at)) for row in self._dead if row.received_at >= since
        )
        rows = [(origin, hour, n) for (origin, hour), n in counts.items()]
        return sorted(rows, key=lambda row: (row[1], row[0] is not None, row[0] or ""))

    # --- cases -------------------------------------------------------------------------

    def upsert_cases(self, cases: Sequence[Case]) -> None:
        self._cases.update(_checked(cases))

    def list_cases(
        self,
        type: str | None = None,
        team: str | None = None,
        status: str | None = None,
        ref: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        wanted = {"type": type, "owner_team": team, "status": status}
        found = [
            case
            for case in self._cases.values()
            if all(value is None or case.get(key) == value for key, value in wanted.items())
            and (ref is None or ref in case_refs(case))
        ]
        found.sort(key=case_order)
        return [_copy(case) for case in found[:limit]]

    def get_case(self, case_id: str) -> Case:
        try:
            return _copy(self._cases[case_id])  # type: ignore[no-any-return]
        except KeyError:
            raise NotFound(f"no case {case_id!r}") from None

    def query_cases(self, q: CaseQuery) -> list[Case]:
        name, descending, cursor = check_query(q)
        rows = [(case_columns(case), case) for case in self._matching(q)]
        keyed = [(sort_key(cols[name], cols["id"], descending), case) for cols, case in rows]
        if cursor is not None:
            start = sort_key(cursor[0], cursor[1], descending)
            keyed = [(key, case) for key, case in keyed if key > start]
        keyed.sort(key=lambda pair: pair[0])
        return [_copy(case) for _, case in keyed[: max(q.limit, 0)]]

    def count_cases(self, q: CaseQuery) -> int:
        return len(self._matching(q))

    def _matching(self, q: CaseQuery) -> list[Case]:
        bounds = [
            None if moment is None else utc(moment)
            for moment in (q.due_before, q.opened_from, q.opened_to)
        ]
        return [case for case in self._cases.values() if _matches(case, q, *bounds)]

    def case_counts(self, by: str, statuses: tuple[str, ...] = ()) -> dict[str, int]:
        if by not in COUNT_BY:
            raise ValueError(f"cannot count cases by {by!r}; use one of {', '.join(COUNT_BY)}")
        columns = (case_columns(case) for case in self._cases.values())
        return dict(Counter(c[by] for c in columns if not statuses or c["status"] in statuses))

    # --- checkpoints -------------------------------------------------------------------

    def save_checkpoint(self, name: str, last_seq: int, policy_version: str, blob: bytes) -> None:
        self._checkpoints[name] = (last_seq, policy_version, bytes(blob))

    def load_checkpoint(self, name: str) -> tuple[int, str, bytes] | None:
        return self._checkpoints.get(name)

    # --- decisions: cases, outbox and audit, all or nothing ----------------------------

    def save_decisions(
        self,
        cases: Sequence[Case],
        actions: Sequence[OutboxItem],
        audit: Sequence[AuditEntry],
    ) -> None:
        checked = _checked(cases)  # everything is checked before anything changes
        items = [_new_action(item) for item in actions]
        entries = [chainable(entry) for entry in audit]
        self._cases.update(checked)
        for action in items:
            self._outbox.setdefault(action.key, action)
        for entry in entries:
            self._append(entry)

    def _append(self, entry: AuditEntry) -> None:
        if entry.id in self._chained:
            return
        digest = entry_hash(self._head, entry)
        self._audit.append(ChainedEntry(len(self._audit) + 1, entry, self._head, digest))
        self._chained.add(entry.id)
        self._head = digest

    # --- outbox ------------------------------------------------------------------------

    def claim_actions(self, now: datetime, limit: int, lease_s: float) -> list[StoredAction]:
        now = utc(now)
        due = [a for a in self._outbox.values() if a.status == PENDING and a.next_attempt_at <= now]
        due.sort(key=lambda action: (action.created_at, action.key))
        lease_end = now + timedelta(seconds=lease_s)
        claimed = [
            replace(action, attempts=action.attempts + 1, next_attempt_at=lease_end)
            for action in due[: max(limit, 0)]
        ]
        self._outbox.update((action.key, action) for action in claimed)
        return [_copy_action(action) for action in claimed]

    def mark_delivered(self, key: str, at: datetime, response: str | None = None) -> None:
        self._settle(key, status=DELIVERED, delivered_at=utc(at), response=response)

    def mark_retry(self, key: str, next_attempt_at: datetime, error: str) -> None:
        self._settle(key, next_attempt_at=utc(next_attempt_at), last_error=error)

    def mark_failed(self, key: str, at: datetime, error: str) -> None:
        utc(at)
        self._settle(key, status=FAILED, last_error=error)

    def _settle(self, key: str, **changes: Any) -> None:
        action = self._outbox.get(key)
        if action is None:
            raise NotFound(f"no action {key!r} in the outbox")
        if action.status == PENDING:
            self._outbox[key] = replace(action, **changes)

    def list_actions(
        self,
        case_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        by_due: bool = False,
    ) -> list[StoredAction]:
        found = [
            action
            for action in self._outbox.values()
            if (case_id is None or action.case_id == case_id)
            and (status is None or action.status == status)
        ]
        if by_due:
            found.sort(key=lambda action: (action.next_attempt_at, action.key))
        else:
            found.sort(key=lambda action: (action.created_at, action.key))
        return [_copy_action(action) for action in found[:limit]]

    # --- audit -------------------------------------------------------------------------

    def iter_audit(self, after_seq: int = 0) -> Iterator[ChainedEntry]:
        yield from map(_copy_chained, self._audit[max(after_seq, 0) :])

    def audit_for_case(self, case_id: str) -> list[ChainedEntry]:
        return [_copy_chained(c) for c in self._audit if c.entry.case_id == case_id]

    # --- the HTTP API: keys, idempotency, stats ---------------------------------------

    def add_api_key(self, key: ApiKey) -> None:
        checked = replace(
            key,
            created_at=utc(key.created_at),
            revoked_at=None if key.revoked_at is None else utc(key.revoked_at),
        )
        if key.id in self._api_keys:
            raise Conflict(f"API key {key.id!r} exists already")
        self._api_keys[key.id] = checked

    def get_api_key(self, key_id: str) -> ApiKey:
        try:
            return self._api_keys[key_id]
        except KeyError:
            raise NotFound(f"no API key {key_id!r}") from None

    def list_api_keys(self) -> list[ApiKey]:
        return sorted(self._api_keys.values(), key=lambda key: (key.created_at, key.id))

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        at = utc(at)
        key = self.get_api_key(key_id)
        if key.revoked_at is None:
            self._api_keys[key_id] = replace(key, revoked_at=at)

    def get_idempotent(self, scope: str, key: str) -> IdempotentResponse | None:
        return self._idempotent.get((scope, key))

    def put_idempotent(self, record: IdempotentResponse) -> bool:
        checked = replace(record, created_at=utc(record.created_at))
        if (record.scope, record.key) in self._idempotent:
            return False
        self._idempotent[record.scope, record.key] = checked
        return True

    def prune_idempotent(self, before: datetime) -> int:
        before = utc(before)
        old = [key for key, record in self._idempotent.items() if record.created_at < before]
        for key in old:
            del self._idempotent[key]
        return len(old)

    def event_counts(
        self, since: datetime, until: datetime | None = None, by: str = "received_at"
    ) -> list[tuple[str, datetime, int]]:
        """Bucketed in Python over the events in the window (by either clock)."""
        if by not in EVENT_CLOCKS:
            raise ValueError(f"cannot count events by {by!r}; use one of {', '.join(EVENT_CLOCKS)}")
        since = utc(since)
        end = None if until is None else utc(until)
        moments = (
            (s, received if by == "received_at" else at) for s, received, at in self._received
        )
        counts = Counter(
            (source, hour_of(at))
            for source, at in moments
            if at >= since and (end is None or at < end)
        )
        rows = [(source, hour, n) for (source, hour), n in counts.items()]
        return sorted(rows, key=lambda row: (row[1], row[0]))

    # --- lifecycle ---------------------------------------------------------------------

    def optimize(self) -> None:
        """Nothing to analyse in memory."""

    def close(self) -> None:
        """Nothing to release; the data lives as long as the object."""


def _checked(cases: Sequence[Case]) -> dict[str, Case]:
    """Copies of the cases by id, refused as the SQL store would refuse them."""
    copies = [_copy(case) for case in cases]
    for case in copies:
        case_columns(case)
    return {str(case["id"]): case for case in copies}


def _matches(
    case: Case,
    q: CaseQuery,
    due_before: datetime | None,
    opened_from: datetime | None,
    opened_to: datetime | None,
) -> bool:
    """Does the case pass every filter of ``q`` (times already checked and in UTC)?"""
    c = case_columns(case)
    due, opened = c["due_at"], c["opened_at"]
    return (
        (not q.types or c["type"] in q.types)
        and (not q.teams or c["owner_team"] in q.teams)
        and (not q.statuses or c["status"] in q.statuses)
        and all((name, str(value)) in case_refs(case) for name, value in q.refs)
        and (q.min_priority is None or c["priority"] >= q.min_priority)
        and (q.max_priority is None or c["priority"] <= q.max_priority)
        and (due_before is None or (due is not None and due < due_before))
        and (opened_from is None or opened >= opened_from)
        and (opened_to is None or opened < opened_to)
    )


def _new_action(item: OutboxItem) -> StoredAction:
    columns = outbox_columns(item)
    columns["params"] = orjson.loads(columns.pop("params"))
    columns.pop("updated_at")
    return StoredAction(**columns)


def _copy_action(action: StoredAction) -> StoredAction:
    return replace(action, params=_copy(action.params))


def _copy_chained(chained: ChainedEntry) -> ChainedEntry:
    entry = replace(chained.entry, detail=_copy(chained.entry.detail))
    return replace(chained, entry=entry)
