"""The SQL store: the event log, dead letters, cases, checkpoints, the outbox and the
audit chain in SQLite or PostgreSQL.

Every public method is one short transaction, and every SQLAlchemy or driver error
leaves it as :class:`~unsnag.errors.StoreError`, so callers deal with one error tree.
Appends are idempotent in the database itself (``ON CONFLICT DO NOTHING … RETURNING``),
so two ingesters racing on the same file still store each event once.

Concurrency of the resolution tables: a claim is one ``UPDATE … WHERE key IN (SELECT …
FOR UPDATE SKIP LOCKED) RETURNING``, so two dispatchers never take the same row (on
SQLite the single writer serialises them). Audit appends first lock the chain's head
row (``INSERT … ON CONFLICT DO UPDATE``), so two writers never chain onto the same
entry; on SQLite that first write also takes the database's write lock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from unsnag.errors import Conflict, NotFound, StoreError
from unsnag.events import Event
from unsnag.resolve.audit import GENESIS, entry_hash
from unsnag.resolve.model import AuditEntry, OutboxItem
from unsnag.store import bulk
from unsnag.store import tables as t
from unsnag.store.connect import describe
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
    case_refs,
    chainable,
    check_query,
    dump,
    first_occurrences,
    outbox_columns,
    utc,
)

CHUNK = 500  # keys per IN (...) list: well under SQLite's bound-parameter limit
AUDIT_CHAIN = "audit"  # the chain_heads row of the audit trail


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

    def events_about(self, subjects: Sequence[str], limit: int = 500) -> list[dict[str, Any]]:
        if not subjects:
            return []
        query = (
            select(t.events.c.raw)
            .where(t.events.c.subject.in_(list(subjects)))
            .order_by(t.events.c.time, t.events.c.seq)
            .limit(limit)
        )
        with self._transaction("reading a case's events") as connection:
            return [orjson.loads(raw) for (raw,) in connection.execute(query)]

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

    def list_dead_letters(
        self, limit: int = 100, after_id: int = 0, replayed: bool | None = None
    ) -> list[StoredDeadLetter]:
        c = t.dead_letters.c
        query = select(t.dead_letters).where(c.id > after_id)
        if replayed is not None:
            query = query.where(c.replayed_at.is_not(None) if replayed else c.replayed_at.is_(None))
        query = query.order_by(c.id).limit(limit)
        with self._transaction("reading dead letters") as connection:
            rows = connection.execute(query).mappings().all()
        return [_dead_letter(row) for row in rows]

    def dead_letter_count(self) -> int:
        query = select(func.count()).select_from(t.dead_letters)
        return self._scalar(query, "counting dead letters")

    def get_dead_letter(self, id: int) -> StoredDeadLetter:
        query = select(t.dead_letters).where(t.dead_letters.c.id == id)
        with self._transaction("reading a dead letter") as connection:
            row = connection.execute(query).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no dead letter {id!r}")
        return _dead_letter(row)

    def mark_dead_letter_replayed(self, id: int, at: datetime) -> None:
        self._stamp_once(t.dead_letters, id, "replayed_at", at, "dead letter")

    def dead_letter_counts(self, since: datetime) -> list[tuple[str | None, datetime, int]]:
        """Bucketed in SQL (``strftime`` on SQLite, ``date_trunc`` of the UTC time on
        PostgreSQL) over the ``received_at`` index, so only the counts travel."""
        c = t.dead_letters.c
        counts = self._hourly(c.origin, c.received_at, c.received_at >= utc(since))
        return sorted(counts, key=lambda row: (row[1], row[0] is not None, row[0] or ""))

    def _hourly(
        self, group: ColumnElement[Any], moment: ColumnElement[datetime], *window: Any
    ) -> list[tuple[Any, datetime, int]]:
        """``(group, hour, count)`` rows of the rows in the window, hour by UTC hour."""
        if self._postgres:
            bucket: ColumnElement[Any] = func.date_trunc("hour", func.timezone("UTC", moment))
        else:  # SQLite keeps UTC times as ISO text
            bucket = func.strftime("%Y-%m-%d %H:00:00", moment)
        inner = select(group.label("g"), bucket.label("hour")).where(*window).subquery()
        query = select(inner.c.g, inner.c.hour, func.count()).group_by(inner.c.g, inner.c.hour)
        with self._transaction("counting by the hour") as connection:
            rows = connection.execute(query).all()
        return [(g, _hour(hour), int(n)) for g, hour, n in rows]

    # --- cases -------------------------------------------------------------------------

    def upsert_cases(self, cases: Sequence[Case]) -> None:
        rows, refs = _case_rows(cases)
        if not rows:
            return
        with self._transaction("storing cases") as connection:
            self._write_cases(connection, rows, refs)

    def _write_cases(
        self, connection: Connection, rows: list[dict[str, Any]], refs: list[dict[str, Any]]
    ) -> None:
        if not rows:
            return
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

    def query_cases(self, q: CaseQuery) -> list[Case]:
        c = t.cases.c
        name, descending, cursor = check_query(q)
        column = c[name]
        key = self._binary(c.id)
        query = self._matching(select(c.doc), q)
        if cursor is not None:
            query = query.where(_after(column, key, cursor, descending))
        order = column.desc() if descending else column.asc()
        if name == "due_at":
            order = order.nulls_last()
        query = query.order_by(order, key.asc()).limit(max(q.limit, 0))
        with self._transaction("querying cases") as connection:
            return [orjson.loads(doc) for doc in connection.execute(query).scalars()]

    def count_cases(self, q: CaseQuery) -> int:
        query = self._matching(select(func.count()).select_from(t.cases), q)
        return self._scalar(query, "counting cases")

    def _matching(self, query: Select[Any], q: CaseQuery) -> Select[Any]:
        """``query`` restricted to the cases matching the filters of ``q``."""
        c, r = t.cases.c, t.case_refs.c
        for column, values in ((c.type, q.types), (c.owner_team, q.teams), (c.status, q.statuses)):
            if values:
                query = query.where(column.in_(list(values)))
        for ref_name, ref_value in q.refs:
            owners = select(r.case_id).where(r.ref_name == ref_name, r.ref_value == str(ref_value))
            query = query.where(c.id.in_(owners))
        if q.min_priority is not None:
            query = query.where(c.priority >= float(q.min_priority))
        if q.max_priority is not None:
            query = query.where(c.priority <= float(q.max_priority))
        if q.due_before is not None:
            query = query.where(c.due_at < utc(q.due_before))
        if q.opened_from is not None:
            query = query.where(c.opened_at >= utc(q.opened_from))
        if q.opened_to is not None:
            query = query.where(c.opened_at < utc(q.opened_to))
        return query

    def case_counts(self, by: str, statuses: tuple[str, ...] = ()) -> dict[str, int]:
        if by not in COUNT_BY:
            raise ValueError(f"cannot count cases by {by!r}; use one of {', '.join(COUNT_BY)}")
        column = t.cases.c[by]
        query = select(column, func.count()).group_by(column)
        if statuses:
            query = query.where(t.cases.c.status.in_(list(statuses)))
        with self._transaction("counting cases") as connection:
            return {str(value): int(n) for value, n in connection.execute(query)}

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

    # --- decisions: cases, outbox and audit in one transaction -------------------------

    def save_decisions(
        self,
        cases: Sequence[Case],
        actions: Sequence[OutboxItem],
        audit: Sequence[AuditEntry],
    ) -> None:
        rows, refs = _case_rows(cases)  # everything is checked before anything is written
        items = [outbox_columns(item) for item in actions]
        entries = [chainable(entry) for entry in audit]
        if not (rows or items or entries):
            return
        with self._transaction("saving decisions") as connection:
            self._write_cases(connection, rows, refs)
            if items:
                new_only = self._insert(t.outbox).on_conflict_do_nothing(index_elements=["key"])
                connection.execute(new_only, items)
            if entries:
                self._chain(connection, entries)

    def _chain(self, connection: Connection, entries: list[AuditEntry]) -> None:
        """Append the entries not chained yet after the chain's head, holding its lock."""
        prev = self._lock_head(connection)
        chained = self._chained_ids(connection, [entry.id for entry in entries])
        rows = []
        for entry in entries:
            if entry.id in chained:
                continue
            chained.add(entry.id)
            digest = entry_hash(prev, entry)
            rows.append(_audit_row(entry, prev, digest))
            prev = digest
        if rows:
            connection.execute(t.audit.insert(), rows)
            head = t.chain_heads.c
            connection.execute(
                update(t.chain_heads).where(head.chain == AUDIT_CHAIN).values(hash=prev)
            )

    def _lock_head(self, connection: Connection) -> str:
        """The chain's newest hash, its row locked until the transaction ends."""
        insert = self._insert(t.chain_heads).values(chain=AUDIT_CHAIN, hash=GENESIS)
        touch = insert.on_conflict_do_update(
            index_elements=["chain"], set_={"chain": insert.excluded.chain}
        ).returning(t.chain_heads.c.hash)
        return str(connection.execute(touch).scalar_one())

    def _chained_ids(self, connection: Connection, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(set(ids))):
            query = select(t.audit.c.id).where(t.audit.c.id.in_(chunk))
            found.update(connection.execute(query).scalars())
        return found

    # --- outbox ------------------------------------------------------------------------

    def claim_actions(self, now: datetime, limit: int, lease_s: float) -> list[StoredAction]:
        now = utc(now)
        c = t.outbox.c
        due = and_(c.status == PENDING, c.next_attempt_at <= now)
        picked = select(c.key).where(due).order_by(c.created_at, self._binary(c.key))
        picked = picked.limit(max(limit, 0))
        lease = {
            "attempts": c.attempts + 1,
            "next_attempt_at": now + timedelta(seconds=lease_s),
            "updated_at": now,
        }
        with self._transaction("claiming actions") as connection:
            if self._postgres:
                # Lock first, then update what was locked. In one statement, PostgreSQL
                # may re-run an ``IN (SELECT … LIMIT)`` subquery per row, and rows the
                # statement itself just updated no longer count against the LIMIT.
                locked = picked.with_for_update(skip_locked=True)
                chosen: Any = list(connection.execute(locked).scalars())
            else:
                chosen = picked  # one statement: SQLite's single writer serialises it
            # ``due`` again: a row another claim took meanwhile is never taken twice
            claim = update(t.outbox).where(c.key.in_(chosen), due).values(lease)
            rows = connection.execute(claim.returning(*t.outbox.c)).mappings().all()
        claimed = [_action(row) for row in rows]
        return sorted(claimed, key=lambda action: (action.created_at, action.key))

    def mark_delivered(self, key: str, at: datetime, response: str | None = None) -> None:
        at = utc(at)
        values = {"status": DELIVERED, "delivered_at": at, "response": response, "updated_at": at}
        self._settle(key, values, "marking an action delivered")

    def mark_retry(self, key: str, next_attempt_at: datetime, error: str) -> None:
        values = {
            "next_attempt_at": utc(next_attempt_at),
            "last_error": error,
            "updated_at": datetime.now(UTC),
        }
        self._settle(key, values, "scheduling a retry")

    def mark_failed(self, key: str, at: datetime, error: str) -> None:
        at = utc(at)
        values = {"status": FAILED, "last_error": error, "updated_at": at}
        self._settle(key, values, "marking an action failed")

    def _settle(self, key: str, values: dict[str, Any], action: str) -> None:
        """Change a pending row; a final one is left alone, an unknown key is NotFound."""
        c = t.outbox.c
        change = update(t.outbox).where(c.key == key, c.status == PENDING).values(values)
        with self._transaction(action) as connection:
            if connection.execute(change).rowcount:
                return
            known = connection.execute(select(c.key).where(c.key == key)).first()
        if known is None:
            raise NotFound(f"no action {key!r} in the outbox")

    def list_actions(
        self,
        case_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        by_due: bool = False,
    ) -> list[StoredAction]:
        c = t.outbox.c
        query = select(t.outbox)
        for column, value in ((c.case_id, case_id), (c.status, status)):
            if value is not None:
                query = query.where(column == value)
        first = c.next_attempt_at if by_due else c.created_at
        query = query.order_by(first, self._binary(c.key)).limit(limit)
        with self._transaction("listing actions") as connection:
            return [_action(row) for row in connection.execute(query).mappings()]

    # --- audit -------------------------------------------------------------------------

    def iter_audit(self, after_seq: int = 0, batch_size: int = 5000) -> Iterator[ChainedEntry]:
        last, batch_size = after_seq, max(batch_size, 1)
        while True:
            query = (
                select(t.audit)
                .where(t.audit.c.seq > last)
                .order_by(t.audit.c.seq)
                .limit(batch_size)
            )
            with self._transaction("reading the audit trail") as connection:
                rows = connection.execute(query).mappings().all()
            yield from (_chained(row) for row in rows)
            if len(rows) < batch_size:
                return
            last = rows[-1]["seq"]

    def audit_for_case(self, case_id: str) -> list[ChainedEntry]:
        a = t.audit.c
        query = select(t.audit).where(a.case_id == case_id).order_by(a.seq)
        with self._transaction("reading a case's audit trail") as connection:
            return [_chained(row) for row in connection.execute(query).mappings()]

    # --- the HTTP API: keys, idempotency, stats ---------------------------------------

    def add_api_key(self, key: ApiKey) -> None:
        row = _api_key_row(key)
        insert = self._insert(t.api_keys).values(row)
        new_only = insert.on_conflict_do_nothing(index_elements=["id"])
        with self._transaction("adding an API key") as connection:
            added = connection.execute(new_only.returning(t.api_keys.c.id)).first()
        if added is None:
            raise Conflict(f"API key {key.id!r} exists already")

    def get_api_key(self, key_id: str) -> ApiKey:
        query = select(t.api_keys).where(t.api_keys.c.id == key_id)
        with self._transaction("reading an API key") as connection:
            row = connection.execute(query).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no API key {key_id!r}")
        return _api_key(row)

    def list_api_keys(self) -> list[ApiKey]:
        c = t.api_keys.c
        query = select(t.api_keys).order_by(c.created_at, self._binary(c.id))
        with self._transaction("listing API keys") as connection:
            return [_api_key(row) for row in connection.execute(query).mappings()]

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        self._stamp_once(t.api_keys, key_id, "revoked_at", at, "API key")

    def _stamp_once(self, table: Any, id: Any, column: str, at: datetime, what: str) -> None:
        """Set ``column`` of the row ``id`` to ``at`` unless it is set already (the first
        time stays); :class:`NotFound` if there is no such row."""
        c = table.c
        change = update(table).where(c.id == id, c[column].is_(None)).values({column: utc(at)})
        with self._transaction(f"stamping {what} {column}") as connection:
            if connection.execute(change).rowcount:
                return
            known = connection.execute(select(c.id).where(c.id == id)).first()
        if known is None:
            raise NotFound(f"no {what} {id!r}")

    def get_idempotent(self, scope: str, key: str) -> IdempotentResponse | None:
        c = t.idempotency.c
        query = select(t.idempotency).where(c.scope == scope, c.key == key)
        with self._transaction("reading an idempotency record") as connection:
            row = connection.execute(query).mappings().one_or_none()
        return None if row is None else _idempotent(row)

    def put_idempotent(self, record: IdempotentResponse) -> bool:
        insert = self._insert(t.idempotency).values(_idempotent_row(record))
        first = insert.on_conflict_do_nothing(index_elements=["scope", "key"])
        with self._transaction("storing an idempotency record") as connection:
            stored = connection.execute(first.returning(t.idempotency.c.scope)).first()
        return stored is not None

    def prune_idempotent(self, before: datetime) -> int:
        old = delete(t.idempotency).where(t.idempotency.c.created_at < utc(before))
        with self._transaction("pruning idempotency records") as connection:
            return int(connection.execute(old).rowcount)

    def event_counts(
        self, since: datetime, until: datetime | None = None, by: str = "received_at"
    ) -> list[tuple[str, datetime, int]]:
        """Bucketed in SQL (``strftime`` on SQLite, ``date_trunc`` of the UTC time on
        PostgreSQL), so only the counts travel; both clocks are indexed."""
        if by not in EVENT_CLOCKS:
            raise ValueError(f"cannot count events by {by!r}; use one of {', '.join(EVENT_CLOCKS)}")
        c = t.events.c
        clock = c.received_at if by == "received_at" else c.time
        window = [clock >= utc(since)]
        if until is not None:
            window.append(clock < utc(until))
        counts = self._hourly(c.source, clock, *window)
        return sorted(((str(s), hour, n) for s, hour, n in counts), key=lambda r: (r[1], r[0]))

    # --- lifecycle ---------------------------------------------------------------------

    def optimize(self) -> None:
        """Refresh the planner's statistics of the case tables (``ANALYZE``): without them
        SQLite sorts every case for a page of the queue rather than walk the index."""
        with self._transaction("analysing the case tables") as connection:
            for table in ("cases", "case_refs"):
                connection.exec_driver_sql(f"ANALYZE {table}")

    def close(self) -> None:
        """Release every pooled connection; the store is not usable afterwards."""
        self._engine.dispose()


def _case_rows(cases: Sequence[Case]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Checked case rows (the last version of an id wins) and their ref rows."""
    latest = {str(case.get("id")): case for case in cases}
    rows = [case_columns(case) | {"doc": dump(case)} for case in latest.values()]
    refs = [
        {"case_id": row["id"], "ref_name": name, "ref_value": value}
        for row, case in zip(rows, latest.values(), strict=True)
        for name, value in sorted(case_refs(case))
    ]
    return rows, refs


def _after(
    column: Any, key: Any, cursor: tuple[float | datetime | None, str], descending: bool
) -> ColumnElement[bool]:
    """Rows strictly after the cursor in (column, id) order, nulls last."""
    value, last_id = cursor
    if value is None:  # only due_at is nullable: the cursor is among the trailing nulls
        return and_(column.is_(None), key > last_id)
    beyond = column < value if descending else column > value
    after = or_(beyond, and_(column == value, key > last_id))
    return or_(after, column.is_(None)) if column.nullable else after


def _hour(value: Any) -> datetime:
    """A bucket as the database gives it (naive UTC, or text on SQLite), aware in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return value.astimezone(UTC)  # type: ignore[no-any-return]


def _api_key_row(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "hash": key.hash,
        "role": key.role,
        "team": key.team,
        "name": key.name,
        "created_at": utc(key.created_at),
        "revoked_at": None if key.revoked_at is None else utc(key.revoked_at),
    }


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row["id"],
        hash=row["hash"],
        role=row["role"],
        team=row["team"],
        name=row["name"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _idempotent_row(record: IdempotentResponse) -> dict[str, Any]:
    return {
        "scope": record.scope,
        "key": record.key,
        "request_hash": record.request_hash,
        "status": int(record.status),
        "body": record.body,
        "created_at": utc(record.created_at),
    }


def _idempotent(row: Any) -> IdempotentResponse:
    return IdempotentResponse(
        scope=row["scope"],
        key=row["key"],
        request_hash=row["request_hash"],
        status=row["status"],
        body=row["body"],
        created_at=row["created_at"],
    )


def _action(row: Any) -> StoredAction:
    return StoredAction(
        key=row["key"],
        case_id=row["case_id"],
        kind=row["kind"],
        connector=row["connector"],
        params=orjson.loads(row["params"]),
        created_at=row["created_at"],
        requested_by=row["requested_by"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        response=row["response"],
    )


def _audit_row(entry: AuditEntry, prev: str, digest: str) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "case_id": entry.case_id,
        "kind": entry.kind,
        "actor": entry.actor,
        "detail": dump(entry.detail),
        "prev_hash": prev,
        "hash": digest,
    }


def _chained(row: Any) -> ChainedEntry:
    entry = AuditEntry(
        id=row["id"],
        at=row["at"],
        case_id=row["case_id"],
        kind=row["kind"],
        actor=row["actor"],
        detail=orjson.loads(row["detail"]),
    )
    return ChainedEntry(seq=row["seq"], entry=entry, prev=row["prev_hash"], hash=row["hash"])


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
