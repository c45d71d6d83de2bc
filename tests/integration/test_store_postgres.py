"""The SQL store on PostgreSQL, in a schema of its own, passes the store contract."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from store_contract import DurableStoreContract

from unsnag.store import Store, StorePort, open_store

pytestmark = pytest.mark.postgres


class TestPostgresStore(DurableStoreContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[StorePort]:
        self.url = pg_url
        with open_store(pg_url) as store:
            yield store

    def reopen(self, store: StorePort) -> StorePort:
        store.close()
        return open_store(self.url)


def test_the_store_and_its_version_table_live_in_the_given_schema(pg_url: str) -> None:
    with open_store(pg_url) as store, store.engine.connect() as connection:
        schema = connection.execute(text("select current_schema()")).scalar_one()
        tables = connection.execute(
            text("select table_name from information_schema.tables where table_schema = :s"),
            {"s": schema},
        ).scalars()
        assert isinstance(store, Store) and schema.startswith("t_")
        assert set(tables) >= {"alembic_version", "events", "cases", "case_refs"}
