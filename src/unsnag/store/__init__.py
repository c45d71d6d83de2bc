"""Persistence at the edge: the event log, dead letters, cases and engine checkpoints.

The core never imports this package; the composition root calls :func:`open_store` with
the configured URL and hands the result to the service layer, which only knows the
:class:`StorePort` interface. :class:`MemoryStore` is the in-memory twin for tests.
"""

from __future__ import annotations

from unsnag.store.connect import make_engine
from unsnag.store.memory import MemoryStore
from unsnag.store.migrate import upgrade
from unsnag.store.port import (
    COUNT_BY,
    SORTS,
    ApiKey,
    Case,
    CaseQuery,
    DeadLetter,
    IdempotentResponse,
    StoredDeadLetter,
    StorePort,
    cursor_of,
)
from unsnag.store.sql import Store
from unsnag.store.tables import metadata

__all__ = [
    "COUNT_BY",
    "SORTS",
    "ApiKey",
    "Case",
    "CaseQuery",
    "DeadLetter",
    "IdempotentResponse",
    "MemoryStore",
    "Store",
    "StorePort",
    "StoredDeadLetter",
    "cursor_of",
    "metadata",
    "open_store",
    "upgrade",
]


def open_store(url: str, *, migrate: bool = True) -> Store:
    """A :class:`Store` on the database at ``url``, its schema brought up to date first.

    ``sqlite:///path.db`` or ``postgresql://user@host/db`` (psycopg 3 is used). Pass
    ``migrate=False`` when a deployment runs migrations as a separate step.
    """
    engine = make_engine(url)
    if migrate:
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
    return Store(engine)
