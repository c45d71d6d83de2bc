"""An in-memory store with the SQL store's behaviour, for fast tests of the core.

Documents are copied through JSON on the way in and out, as the database does, so a
caller that mutates a dict after storing it (or a value JSON cannot hold) behaves here
exactly as it would against SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import orjson

from unsnag.errors import NotFound
from unsnag.events import Event, parse_instant
from unsnag.resolve.audit import GENESIS, entry_hash
from unsnag.resolve.model import AuditEntry, OutboxItem
from unsnag.store.port import (
    DELIVERED,
    FAILED,
    PENDING,
    Case,
    ChainedEntry,
    Closing,
    DeadLetter,
    StoredAction,
    StoredDeadLetter,
    case_columns,
    case_order,
    case_refs,
    chainable,
    dump,
    outbox_columns,
    utc,
)


def _copy(document: Any) -> Any:
    return orjson.loads(dump(document))


class MemoryStore(Closing):
    """The :class:`~unsnag.store.port.StorePort` in plain Python containers."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._keys: set[tuple[str, str]] = set()
        self._dead: list[StoredDeadLetter] = []
        self._cases: dict[str, Case] = {}
        self._checkpoints: dict[str, tuple[int, str, bytes]] = {}
        self._outbox: dict[str, StoredAction] = {}
        self._audit: list[ChainedEntry] = []
        self._chained: set[str] = set()
        self._head = GENESIS

    # --- event log ---------------------------------------------------------------------

    def append_events(self, events: Sequence[Event]) -> list[bool]:
        documents = [_copy(event.raw) for event in events]  # all or nothing, like a txn
        stored: list[bool] = []
        for event, document in zip(events, documents, strict=True):
            is_new = event.key not in self._keys
            if is_new:
                self._keys.add(event.key)
                self._events.append(document)
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

    def list_dead_letters(self, limit: int = 100, after_id: int = 0) -> list[StoredDeadLetter]:
        return [row for row in self._dead if row.id > after_id][:limit]

    def dead_letter_count(self) -> int:
        return len(self._dead)

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

    # --- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release; the data lives as long as the object."""


def _checked(cases: Sequence[Case]) -> dict[str, Case]:
    """Copies of the cases by id, refused as the SQL store would refuse them."""
    copies = [_copy(case) for case in cases]
    for case in copies:
        case_columns(case)
    return {str(case["id"]): case for case in copies}


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
