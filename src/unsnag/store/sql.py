"""The SQL store: the event log, dead letters, cases and checkpoints in SQLite or PostgreSQL.

Every public method is one short transaction, and every SQLAlchemy or driver error
leaves it as :class:`~unsnag.errors.StoreError`, so callers deal with one error tree.
Appends are idempotent in the database itself (``ON CONFLICT DO NOTHING … RETURNING``),
so two ingesters racing on the same file still store each event once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from unsnag.errors import NotFound, StoreError
from unsnag.events import Event
from unsnag.store import bulk
from unsnag.store import tables as t
from unsnag.store.connect import describe
from unsnag.store.port import (
    Case,
    Closing,
    DeadLetter,
    StoredDeadLetter,
    case_columns,
    case_refs,
    dump,
    first_occurrences,
    utc,
)

CHUNK = 500  # keys per IN (...) list: well under SQLite's bound-parameter limit


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store(Closing):
    """The :class:`~unsnag.store.port.StorePort` on a SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._pg_append = bulk.postgres_append()
        self._sqlite_append = bulk.sqlite_append()

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def _transaction(self, action: str) -> Iterator[Connection]:
        try:
            with self._engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise StoreError(f"{action} failed: {describe(exc)}") from exc

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        return postgresql.insert(table) if self._postgres else sqlite.insert(table)

    def _binary(self, column: ColumnElement[str]) -> ColumnElement[str]:
        """Order text by code point on both databases, as Python does."""
        return column.collate("C") if self._postgres else column

    # --- event log ---------------------------------------------------------------------

    def append_events(self, events: Sequence[Event]) -> list[bool]:
        firsts: dict[tuple[str, str], Event] = {}
        for event in events:
            firsts.setdefault(event.key, event)
        now = datetime.now(UTC)
        rows = [_event_row(event, now) for event in firsts.values()]
        stored = self._insert_new(rows) if rows else set()
        return first_occurrences(events, stored)

    def _insert_new(self, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
        """Insert the rows whose key is not yet stored; return the keys inserted."""
        with self._transaction("appending events") as connection:
            if self._postgres:
                result = connection.execute(self._pg_append, bulk.postgres_params(rows))
            else:
                result = connection.execute(self._sqlite_append, rows)
            return {(source, event_id) for source, event_id in result}

    def iter_events(
        self, after_seq: int = 0, batch_size: int = 5000
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        last, batch_size = after_seq, max(batch_size, 1)
        while True:
            query = (
                select(t.events.c.seq, t.events.c.raw)
                .where(t.events.c.seq > last)
                .order_by(t.events.c.seq)
                .limit(batch_size)
            )
            with self._transaction("reading events") as connection:
                rows = connection.execute(query).all()
            for seq, raw in rows:
                yield seq, orjson.loads(raw)
            if len(rows) < batch_size:
                return
            last = rows[-1][0]

    def event_count(self) -> int:
        return self._scalar(select(func.count()).select_from(t.events), "counting events")

    def last_seq(self) -> int:
        query = select(func.coalesce(func.max(t.events.c.seq), 0))
        return self._scalar(query, "reading the last seq")

    def _scalar(self, query: Any, action: str) -> int:
        with self._transaction(action) as connection:
            return int(connection.execute(query).scalar_one())

    # --- dead letters ------------------------------------------------------------------

    def add_dead_letters(self, rows: Sequence[DeadLetter]) -> None:
        values = [
            {
                "raw": pack_text(row.raw),
                "reason": row.reason,
                "field": row.field,
                "origin": row.origin,
                "received_at": utc(row.received_at),
            }
            for row in rows
        ]
        if values:
            with self._transaction("storing dead letters") as connection:
                connection.execute(t.dead_letters.insert(), values)

    def list_dead_letters(self, limit: int = 100, after_id: int = 0) -> list[StoredDeadLetter]:
        c = t.dead_letters.c
        query = select(t.dead_letters).where(c.id > after_id).order_by(c.id).limit(limit)
        with self._transaction("reading dead letters") as connection:
            rows = connection.execute(query).mappings().all()
        return [_dead_letter(row) for row in rows]

    def dead_letter_count(self) -> int:
        query = select(func.count()).select_from(t.dead_letters)
        return self._scalar(query, "counting dead letters")

    # --- cases -------------------------------------------------------------------------

    def upsert_cases(self, cases: Sequence[Case]) -> None:
        latest = {str(case.get("id")): case for case in cases}  # the last one wins
        rows = [case_columns(case) | {"doc": dump(case)} for case in latest.values()]
        refs = [
            {"case_id": row["id"], "ref_name": name, "ref_value": value}
            for row, case in zip(rows, latest.values(), strict=True)
            for name, value in sorted(case_refs(case))
        ]
        if not rows:
            return
        with self._transaction("storing cases") as connection:
            connection.execute(self._upsert(t.cases, ["id"]), rows)
            for ids in _chunks([row["id"] for row in rows]):
                connection.execute(delete(t.case_refs).where(t.case_refs.c.case_id.in_(ids)))
            if refs:
                connection.execute(t.case_refs.insert(), refs)

    def _upsert(self, table: Table, keys: list[str]) -> Any:
        statement = self._insert(table)
        changes = {c.name: statement.excluded[c.name] for c in table.c if c.name not in keys}
        return statement.on_conflict_do_update(index_elements=keys, set_=changes)

    def list_cases(
        self,
        type: str | None = None,
        team: str | None = None,
        status: str | None = None,
        ref: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        c = t.cases.c
        query = select(c.doc)
        for column, value in ((c.type, type), (c.owner_team, team), (c.status, status)):
            if value is not None:
                query = query.where(column == value)
        if ref is not None:
            r = t.case_refs.c
            owners = select(r.case_id).where(r.ref_name == ref[0], r.ref_value == str(ref[1]))
            query = query.where(c.id.in_(owners))
        order = (c.priority.desc(), c.opened_at.asc(), self._binary(c.id))
        query = query.order_by(*order).limit(limit)
        with self._transaction("listing cases") as connection:
            return [orjson.loads(doc) for doc in connection.execute(query).scalars()]

    def get_case(self, case_id: str) -> Case:
        query = select(t.cases.c.doc).where(t.cases.c.id == case_id)
        with self._transaction("reading a case") as connection:
            doc = connection.execute(query).scalar_one_or_none()
        if doc is None:
            raise NotFound(f"no case {case_id!r}")
        return orjson.loads(doc)  # type: ignore[no-any-return]

    # --- checkpoints -------------------------------------------------------------------

    def save_checkpoint(self, name: str, last_seq: int, policy_version: str, blob: bytes) -> None:
        row = {
            "name": name,
            "last_seq": last_seq,
            "policy_version": policy_version,
            "saved_at": datetime.now(UTC),
            "blob": bytes(blob),
        }
        with self._transaction("saving a checkpoint") as connection:
            connection.execute(self._upsert(t.checkpoints, ["name"]), row)

    def load_checkpoint(self, name: str) -> tuple[int, str, bytes] | None:
        c = t.checkpoints.c
        query = select(c.last_seq, c.policy_version, c.blob).where(c.name == name)
        with self._transaction("loading a checkpoint") as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    # --- lifecycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Release every pooled connection; the store is not usable afterwards."""
        self._engine.dispose()


def _event_row(event: Event, now: datetime) -> dict[str, Any]:
    return {
        "source": event.source,
        "event_id": event.id,
        "type": event.type,
        "subject": event.subject,
        "time": utc(event.time),
        "raw": dump(event.raw),
        "received_at": now,
    }


def _dead_letter(row: Any) -> StoredDeadLetter:
    return StoredDeadLetter(
        raw=unpack_text(row["raw"]),
        reason=row["reason"],
        field=row["field"],
        origin=row["origin"],
        received_at=row["received_at"],
        id=row["id"],
        replayed_at=row["replayed_at"],
    )


# PostgreSQL text cannot hold NUL, yet a dead letter must come back exactly as it came in.
# Text with a NUL (or that happens to start with the marker) is stored escaped behind a
# marker no real text starts with (U+FFFE is a Unicode noncharacter); all else verbatim.
MARK = "\ufffe"


def pack_text(text: str) -> str:
    """``text`` in a form every supported database can store; see :func:`unpack_text`."""
    if "\x00" not in text and not text.startswith(MARK):
        return text
    return MARK + text.replace("\\", "\\\\").replace("\x00", "\\0")


def unpack_text(stored: str) -> str:
    if not stored.startswith(MARK):
        return stored
    return re.sub(r"\\([\\0])", _unescape, stored[len(MARK) :])


def _unescape(match: re.Match[str]) -> str:
    return "\x00" if match.group(1) == "0" else match.group(1)
