"""Turning a database URL into a SQLAlchemy engine tuned for the store.

Only SQLite and PostgreSQL are supported: the store relies on ``INSERT … ON CONFLICT``
and ``RETURNING``, which both have. A bare ``postgresql://`` URL is pointed at psycopg 3
(the driver unsnag ships) instead of SQLAlchemy's default psycopg2. SQLite gets WAL
journaling, so readers do not block the writer, and ``synchronous=NORMAL``, which in WAL
mode is still crash-safe for the database and far faster on every commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from unsnag.errors import StoreError

SUPPORTED = ("sqlite", "postgresql")


def normalise_url(url: str | URL) -> URL:
    """Parse a database URL, choosing psycopg 3 for PostgreSQL when no driver is named."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r} ({exc})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in SUPPORTED:
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r}; use sqlite:/// or postgresql://"
        )
    return parsed


def describe(exc: SQLAlchemyError) -> str:
    """The driver's own first line for a database error, without SQL or parameters."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def make_engine(url: str | URL) -> Engine:
    """An engine for the store; nothing connects until it is first used."""
    parsed = normalise_url(url)
    try:
        engine = create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {parsed!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
