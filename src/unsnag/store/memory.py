"""An in-memory store with the SQL store's behaviour, for fast tests of the core.

Documents are copied through JSON on the way in and out, as the database does, so a
caller that mutates a dict after storing it (or a value JSON cannot hold) behaves here
exactly as it would against SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from unsnag.errors import NotFound
from unsnag.events import Event
from unsnag.store.port import (
    Case,
    Closing,
    DeadLetter,
    StoredDeadLetter,
    case_columns,
    case_order,
    case_refs,
    dump,
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
        copies = [_copy(case) for case in cases]
        for case in copies:
            case_columns(case)  # refuse what the SQL store would refuse
        self._cases.update((str(case["id"]), case) for case in copies)

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

    # --- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release; the data lives as long as the object."""
