"""The store's tables, in one ``MetaData`` that the migrations are checked against.

Everything is SQLAlchemy Core and portable: the same tables run on SQLite (the embedded
default) and PostgreSQL (at scale). Documents (event envelopes, cases) are kept as JSON
text rather than a JSON column type, because the log must hand back exactly what it was
given and the two databases' JSON types normalise differently; the columns beside the
document exist only to filter and order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

SeqId = BigInteger().with_variant(Integer, "sqlite")
"""64-bit ids on PostgreSQL; SQLite only autoincrements an ``INTEGER PRIMARY KEY``."""


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime in, an aware UTC datetime out, on every database.

    SQLite has no time zones and hands back naive values; PostgreSQL hands them back in
    the session's zone. Both are normalised to UTC so the two backends read the same.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only keeps aware instants")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


events = Table(
    "events",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("source", String(), nullable=False),
    Column("event_id", String(), nullable=False),
    Column("type", String(), nullable=False),
    Column("subject", String(), nullable=True),
    Column("time", UtcDateTime, nullable=False),
    Column("raw", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    UniqueConstraint("source", "event_id"),
    Index(None, "type"),
    Index(None, "subject"),
    Index(None, "received_at"),
    Index(None, "time"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", SeqId, primary_key=True, autoincrement=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("field", String(), nullable=True),
    Column("raw", Text, nullable=False),
    Column("origin", String(), nullable=True),
    Column("replayed_at", UtcDateTime, nullable=True),
    Index(None, "received_at"),
)

cases = Table(
    "cases",
    metadata,
    Column("id", String(), primary_key=True),
    Column("type", String(), nullable=False),
    Column("status", String(), nullable=False),
    Column("subject", String(), nullable=False),
    Column("priority", Float, nullable=False),
    Column("owner_team", String(), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("doc", Text, nullable=False),
    Index(None, "status", "priority"),
    Index(None, "type"),
    Index(None, "owner_team"),
    Index(None, "subject"),
    Index(None, "status", "owner_team", "priority"),
    Index(None, "due_at"),
    Index(None, "opened_at"),
    Index(None, "updated_at"),
    Index(None, "priority", "id"),
    Index(None, "due_at", "id"),
)

case_refs = Table(
    "case_refs",
    metadata,
    Column("case_id", String(), primary_key=True),
    Column("ref_name", String(), primary_key=True),
    Column("ref_value", String(), primary_key=True),
    Index(None, "ref_name", "ref_value"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("name", String(), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("policy_version", String(), nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("blob", LargeBinary, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("key", String(), primary_key=True),
    Column("case_id", String(), nullable=False),
    Column("kind", String(), nullable=False),
    Column("connector", String(), nullable=False),
    Column("params", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("requested_by", String(), nullable=False),
    Column("status", String(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("response", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "case_id"),
    Index(None, "status", "next_attempt_at"),
)
"""Outbound actions; ``key`` is the idempotency key. A claimed row stays ``pending`` with
``next_attempt_at`` pushed to the end of its lease."""

audit = Table(
    "audit",
    metadata,
    Column("seq", SeqId, primary_key=True, autoincrement=True),
    Column("id", String(), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("case_id", String(), nullable=False),
    Column("kind", String(), nullable=False),
    Column("actor", String(), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("id"),
    Index(None, "case_id"),
)
"""The hash-chained audit trail, in chain order by ``seq``."""

chain_heads = Table(
    "chain_heads",
    metadata,
    Column("chain", String(), primary_key=True),
    Column("hash", String(64), nullable=False),
)
"""The newest hash of each chain (``audit``). Appenders lock this row, so two writers
never chain onto the same entry; and since it is kept apart from the entries, deleting
the newest entries shows up as a broken link once the next entry is appended."""

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("role", String(), nullable=False),
    Column("team", String(), nullable=True),
    Column("name", String(), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)
"""API keys: the public id and the SHA-256 of the secret, never the secret itself."""

idempotency = Table(
    "idempotency",
    metadata,
    Column("scope", String(), primary_key=True),
    Column("key", String(), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "created_at"),
)
"""The first response per (sender, ``Idempotency-Key``) of ``POST /v1/events``."""
