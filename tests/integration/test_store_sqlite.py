"""The SQL store on a SQLite file passes the store contract."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from store_contract import DurableStoreContract, event

from unsnag.errors import StoreError
from unsnag.store import Store, StorePort, open_store


class TestSqliteStore(DurableStoreContract):
    @pytest.fixture
    def store(self, sqlite_url: str) -> Iterator[StorePort]:
        self.url = sqlite_url
        with open_store(sqlite_url) as store:
            yield store

    def reopen(self, store: StorePort) -> StorePort:
        store.close()
        return open_store(self.url)


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store, store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_driver_errors_become_store_errors(sqlite_url: str) -> None:
    with open_store(sqlite_url, migrate=False) as store, pytest.raises(StoreError, match="events"):
        store.append_events([event("a")])  # no tables: never migrated


def test_an_unsupported_database_is_refused() -> None:
    with pytest.raises(StoreError, match="unsupported"):
        open_store("mysql://localhost/unsnag")


def test_open_store_returns_the_sql_store(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        assert isinstance(store, Store)
