"""The store port: what the service layer needs from persistence, and nothing more.

The SQL store and the in-memory store both satisfy :class:`StorePort`, and both pass one
shared contract test suite, so the service layer and the core's tests can run on the
fast in-memory twin and trust that the database behaves the same. The helpers at the
bottom hold the case rules both implementations share (which refs a case has, how cases
are ordered), so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

import orjson

from unsnag.errors import StoreError
from unsnag.events import Event, parse_instant
from unsnag.resolve.audit import normalise
from unsnag.resolve.model import AuditEntry, OutboxItem

Case = dict[str, Any]
"""A case as ``Case.to_dict()`` gives it; the store keeps the whole dict."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input that broke the contract, kept exactly as it arrived so it can be fixed."""

    raw: str
    reason: str
    field: str | None
    origin: str | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StoredDeadLetter(DeadLetter):
    """A dead letter as read back: with the id the store gave it."""

    id: int
    replayed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredAction:
    """An outbox row as the store keeps it."""

    key: str
    case_id: str
    kind: str
    connector: str
    params: dict[str, Any]
    created_at: datetime
    requested_by: str
    status: str
    """pending, delivered or failed."""
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    delivered_at: datetime | None = None
    response: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as the store keeps it: the secret itself is never stored."""

    id: str
    """The public key id, e.g. ``k3f9a1c2d``; unique."""
    hash: str
    """Hex SHA-256 of the secret part."""
    role: str
    team: str | None
    name: str | None
    """A label."""
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IdempotentResponse:
    """The first response to a request sent with an ``Idempotency-Key``."""

    scope: str
    """Who sent it (API key id / subject)."""
    key: str
    """The ``Idempotency-Key`` header."""
    request_hash: str
    """Hex SHA-256 of the request body."""
    status: int
    """HTTP status of the first response."""
    body: str
    """JSON text of the first response."""
    created_at: datetime


SORTS = ("priority", "due_at", "opened_at", "updated_at")
"""The columns cases can be sorted by; prefix ``-`` for descending."""

COUNT_BY = ("type", "owner_team", "status")
"""The columns :meth:`StorePort.case_counts` can group by."""

EVENT_CLOCKS = ("received_at", "time")
"""The clocks :meth:`StorePort.event_counts` can bucket events by."""


@dataclass(frozen=True, slots=True)
class CaseQuery:
    """Which cases to list, in what order, and which page.

    Filters combine with AND; a tuple filter matches any of its values (empty = no
    filter), except ``refs``, every one of which must be on the case. Rows come in
    ``sort`` order with the id (ascending, by code point) as tie-breaker in both
    directions; a null ``due_at`` sorts last in both directions. ``after`` is a keyset
    cursor, ``cursor_of(last_row, sort)``: the page starts strictly after that row.
    """

    types: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    refs: tuple[tuple[str, str], ...] = ()
    min_priority: float | None = None
    """priority >= this."""
    max_priority: float | None = None
    """priority <= this."""
    due_before: datetime | None = None
    """due_at < this (a case with no due_at never matches)."""
    opened_from: datetime | None = None
    """opened_at >= this."""
    opened_to: datetime | None = None
    """opened_at < this."""
    sort: str = "-priority"
    after: tuple[Any, str] | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class ChainedEntry:
    """An audit entry as chained by the store: ``hash`` covers the entry and ``prev``."""

    seq: int
    entry: AuditEntry
    prev: str
    hash: str


class Closing:
    """``with store: ...`` closes the store at the end, for every implementation."""

    def close(self) -> None:
        """Release what the store holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class StorePort(Protocol):
    """The event log, dead letters, cases and engine checkpoints of one deployment."""

    def append_events(self, events: Sequence[Event]) -> list[bool]:
        """Append in one transaction; True per newly stored event, False per duplicate."""
        ...

    def iter_events(
        self, after_seq: int = 0, batch_size: int = 5000
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(seq, raw envelope)`` pairs after ``after_seq``, in log order."""
        ...

    def events_about(self, subjects: Sequence[str], limit: int = 500) -> list[dict[str, Any]]:
        """Raw events whose ``subject`` is one of ``subjects`` (a case's keys), in event
        time order (then log order), the first ``limit``: a case's cross-system timeline."""
        ...

    def event_count(self) -> int: ...

    def last_seq(self) -> int:
        """The seq of the newest event, 0 for an empty log."""
        ...

    def add_dead_letters(self, rows: Sequence[DeadLetter]) -> None: ...

    def list_dead_letters(
        self, limit: int = 100, after_id: int = 0, replayed: bool | None = None
    ) -> list[StoredDeadLetter]:
        """Dead letters in arrival order, starting after ``after_id``; with ``replayed``
        False only those not replayed yet, with True only those replayed."""
        ...

    def dead_letter_count(self) -> int: ...

    def get_dead_letter(self, id: int) -> StoredDeadLetter:
        """The dead letter with this id; :class:`~unsnag.errors.NotFound` if none."""
        ...

    def mark_dead_letter_replayed(self, id: int, at: datetime) -> None:
        """Record that the (fixed) dead letter was replayed; NotFound if there is none.
        Marking it again keeps the first time."""
        ...

    def dead_letter_counts(self, since: datetime) -> list[tuple[str | None, datetime, int]]:
        """``(origin, hour, count)`` of dead letters received at or after ``since``, by
        the UTC hour their ``received_at`` falls in; sorted by hour, then origin (None
        first)."""
        ...

    def upsert_cases(self, cases: Sequence[Case]) -> None:
        """Insert or replace each case by id, with its refs."""
        ...

    def list_cases(
        self,
        type: str | None = None,
        team: str | None = None,
        status: str | None = None,
        ref: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        """Matching cases, highest priority first, then oldest, then by id."""
        ...

    def get_case(self, case_id: str) -> Case:
        """The case with this id; :class:`~unsnag.errors.NotFound` if there is none."""
        ...

    def query_cases(self, q: CaseQuery) -> list[Case]:
        """One page of the cases matching ``q``, in its order (see :class:`CaseQuery`).
        A sort not in :data:`SORTS` (or a malformed cursor) is a ``ValueError``."""
        ...

    def count_cases(self, q: CaseQuery) -> int:
        """How many cases match ``q``'s filters (its sort, cursor and limit ignored)."""
        ...

    def case_counts(self, by: str, statuses: tuple[str, ...] = ()) -> dict[str, int]:
        """Cases per value of ``by`` (one of :data:`COUNT_BY`), among the cases in one
        of ``statuses`` (empty = all); values with no case are absent."""
        ...

    def save_checkpoint(
        self, name: str, last_seq: int, policy_version: str, blob: bytes
    ) -> None: ...

    def load_checkpoint(self, name: str) -> tuple[int, str, bytes] | None:
        """``(last_seq, policy_version, blob)`` of the named checkpoint, if saved."""
        ...

    # --- resolution: decisions, outbox, audit (see docs/resolution.md) -----------------

    def save_decisions(
        self,
        cases: Sequence[Case],
        actions: Sequence[OutboxItem],
        audit: Sequence[AuditEntry],
    ) -> None:
        """In ONE transaction: upsert the cases, add the outbox items (a key already in
        the outbox is left as it is), and append the audit entries to the hash chain (an
        entry id already chained is skipped). Decisions and their effects land together
        or not at all."""
        ...

    def claim_actions(self, now: datetime, limit: int, lease_s: float) -> list[StoredAction]:
        """Pending actions due at ``now`` (next_attempt_at <= now), oldest first, at most
        ``limit``; each claimed one gets next_attempt_at = now + lease_s and attempts + 1
        in the same transaction, so concurrent dispatchers never take the same row (on
        PostgreSQL: ``FOR UPDATE SKIP LOCKED``). A dispatcher that dies mid-send loses
        nothing: the lease runs out and the action is due again."""
        ...

    def mark_delivered(self, key: str, at: datetime, response: str | None = None) -> None:
        """Status ``delivered``. Like every ``mark_*``: a key not in the outbox is
        :class:`~unsnag.errors.NotFound`, and a row already delivered or failed is left
        as it is (a dispatcher whose lease ran out cannot undo another's verdict)."""
        ...

    def mark_retry(self, key: str, next_attempt_at: datetime, error: str) -> None:
        """Leave the action pending, due again at ``next_attempt_at``, with its last error."""
        ...

    def mark_failed(self, key: str, at: datetime, error: str) -> None:
        """Out of retries (or a permanent refusal): status ``failed``; a human takes over."""
        ...

    def list_actions(
        self,
        case_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        by_due: bool = False,
    ) -> list[StoredAction]:
        """Outbox rows by (created_at, key); with ``by_due``, by (next_attempt_at, key),
        so ``list_actions(status="pending", limit=1, by_due=True)`` is the next one due."""
        ...

    def iter_audit(self, after_seq: int = 0) -> Iterator[ChainedEntry]:
        """The audit chain in order."""
        ...

    def audit_for_case(self, case_id: str) -> list[ChainedEntry]: ...

    # --- the HTTP API: keys, idempotency, stats -------------------------------------------

    def add_api_key(self, key: ApiKey) -> None:
        """Store a new key; an id already present is :class:`~unsnag.errors.Conflict`."""
        ...

    def get_api_key(self, key_id: str) -> ApiKey:
        """The key with this id, revoked or not; NotFound if there is none."""
        ...

    def list_api_keys(self) -> list[ApiKey]:
        """Every key, revoked ones too, by (created_at, id)."""
        ...

    def revoke_api_key(self, key_id: str, at: datetime) -> None:
        """Revoke the key at ``at``; NotFound if missing; revoking twice keeps the first."""
        ...

    def get_idempotent(self, scope: str, key: str) -> IdempotentResponse | None:
        """The response recorded for ``(scope, key)``, if any."""
        ...

    def put_idempotent(self, record: IdempotentResponse) -> bool:
        """Record the response: True if stored, False if ``(scope, key)`` already had
        one (the first writer wins; a race never raises)."""
        ...

    def prune_idempotent(self, before: datetime) -> int:
        """Delete the records created before ``before``; how many were deleted."""
        ...

    def event_counts(
        self, since: datetime, until: datetime | None = None, by: str = "received_at"
    ) -> list[tuple[str, datetime, int]]:
        """``(source, hour, count)`` of the events in ``[since, until)``, by the UTC hour
        their clock falls in; sorted by hour, then source. ``by`` picks the clock:
        ``received_at`` (when the store took them, the default) or ``time`` (when the
        event says it happened: a replayed or simulated history lands on its own hours).
        Any other ``by`` is a ``ValueError``."""
        ...

    def optimize(self) -> None:
        """Refresh the database's query statistics (after large changes; cheap)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


# --- rules shared by every implementation ---------------------------------------------


def case_refs(case: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Every (name, value) business key of a case; a ref may hold one value or a list."""
    pairs: set[tuple[str, str]] = set()
    for name, value in (case.get("refs") or {}).items():
        values: Iterable[Any] = value if isinstance(value, list | tuple | set) else [value]
        pairs.update((str(name), str(item)) for item in values if item is not None)
    return pairs


def first_occurrences(events: Sequence[Event], stored: set[tuple[str, str]]) -> list[bool]:
    """Per event: was it newly stored? Only the first of several equal keys in a batch was."""
    seen: set[tuple[str, str]] = set()
    marks: list[bool] = []
    for event in events:
        marks.append(event.key in stored and event.key not in seen)
        seen.add(event.key)
    return marks


def dump(document: Any) -> str:
    """A document as JSON text, as both stores keep it."""
    try:
        return orjson.dumps(document).decode()
    except orjson.JSONEncodeError as exc:
        raise StoreError(f"cannot store as JSON: {exc}") from None


def utc(moment: datetime) -> datetime:
    """An aware instant in UTC; the store refuses naive datetimes rather than guess."""
    if moment.tzinfo is None:
        raise StoreError(f"naive datetime {moment.isoformat()}: the store keeps aware instants")
    return moment.astimezone(UTC)


def _instant(case: Mapping[str, Any], name: str) -> datetime | None:
    value = case.get(name)
    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise StoreError(f"case {case.get('id')!r}: {name}: {exc}") from None


def case_columns(case: Mapping[str, Any]) -> dict[str, Any]:
    """The indexed columns of a case row, checked the same way by every implementation."""
    missing = [key for key in REQUIRED if case.get(key) is None]
    if missing:
        raise StoreError(f"case {case.get('id')!r} lacks {', '.join(missing)}")
    opened = _instant(case, "opened_at")
    if isinstance(case["priority"], bool) or not isinstance(case["priority"], int | float):
        raise StoreError(f"case {case['id']!r}: priority must be a number")
    return {
        "id": str(case["id"]),
        "type": str(case["type"]),
        "status": str(case["status"]),
        "subject": str(case["subject"]),
        "priority": float(case["priority"]),
        "owner_team": str(case["owner_team"]),
        "opened_at": opened,
        "due_at": _instant(case, "due_at"),
        "updated_at": _instant(case, "updated_at") or opened,
        "closed_at": _instant(case, "closed_at"),
    }


REQUIRED = ("id", "type", "status", "subject", "priority", "owner_team", "opened_at")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
"""Outbox statuses: pending (due, leased or waiting to retry), then one final verdict."""


def outbox_columns(item: OutboxItem) -> dict[str, Any]:
    """A new outbox row for ``item``, checked the same way by every implementation:
    pending, no attempts yet, due at once."""
    created = utc(item.created_at)
    return {
        "key": item.key,
        "case_id": item.case_id,
        "kind": item.kind,
        "connector": item.connector,
        "params": dump(item.params),
        "created_at": created,
        "requested_by": item.requested_by,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": created,
        "last_error": None,
        "delivered_at": None,
        "response": None,
        "updated_at": created,
    }


def chainable(entry: AuditEntry) -> AuditEntry:
    """The audit entry in the form the store hashes and hands back (UTC, JSON detail)."""
    utc(entry.at)
    dump(entry.detail)
    return normalise(entry)


def parse_sort(sort: str) -> tuple[str, bool]:
    """``(column, descending)`` of a :class:`CaseQuery` sort; ValueError if unknown."""
    name = sort[1:] if sort.startswith("-") else sort
    if name not in SORTS:
        allowed = ", ".join(f"{s}, -{s}" for s in SORTS)
        raise ValueError(f"cannot sort cases by {sort!r}; use one of {allowed}")
    return name, sort.startswith("-")


def cursor_of(case: Mapping[str, Any], sort: str) -> tuple[Any, str]:
    """The keyset cursor of ``case`` under ``sort``: ``(value, id)``, JSON-serialisable
    (an ISO string for a time, a float for priority, None for a missing due_at)."""
    name, _ = parse_sort(sort)
    columns = case_columns(case)
    value = columns[name]
    return (value.isoformat() if isinstance(value, datetime) else value), columns["id"]


def cursor_value(sort: str, value: Any) -> float | datetime | None:
    """The column value a cursor's ``value`` stands for; ValueError if it cannot be one."""
    name, _ = parse_sort(sort)
    if value is None:
        if name == "due_at":
            return None
        raise ValueError(f"a cursor for {sort!r} needs a value")
    if name == "priority":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"bad cursor value for {sort!r}: {value!r}")
        return float(value)
    if isinstance(value, datetime):
        return utc(value)
    return parse_instant(value)  # ValueError if not an instant


def check_query(q: CaseQuery) -> tuple[str, bool, tuple[float | datetime | None, str] | None]:
    """``(column, descending, cursor)`` of a query, checked the same way everywhere."""
    name, descending = parse_sort(q.sort)
    if q.after is None:
        return name, descending, None
    try:
        value, last_id = q.after
    except (TypeError, ValueError):
        raise ValueError(f"a cursor is (value, id), not {q.after!r}") from None
    return name, descending, (cursor_value(q.sort, value), str(last_id))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sort_key(
    value: float | datetime | None, case_id: str, descending: bool
) -> tuple[bool, float | int, str]:
    """The total order of :class:`CaseQuery`: nulls last, then the value (ascending or
    descending), then the id ascending; a row is after a cursor when its key is greater."""
    if value is None:
        return True, 0, case_id
    number = (value - _EPOCH) // timedelta(microseconds=1) if isinstance(value, datetime) else value
    return False, -number if descending else number, case_id


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour ``moment`` falls in."""
    return utc(moment).replace(minute=0, second=0, microsecond=0)


def case_order(case: Mapping[str, Any]) -> tuple[float, datetime, str]:
    """Sort key: priority descending, opened_at ascending, id ascending."""
    columns = case_columns(case)
    return (-columns["priority"], columns["opened_at"], columns["id"])
