"""The shipped migrations build exactly the schema ``tables.metadata`` describes."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from unsnag.store import metadata, upgrade
from unsnag.store.connect import make_engine


def schema_diffs(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def migrated(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    upgrade(engine)  # a second run finds nothing to do
    return engine


def test_sqlite_schema_matches_the_tables(sqlite_url: str) -> None:
    engine = migrated(sqlite_url)
    assert schema_diffs(engine) == []
    engine.dispose()


@pytest.mark.postgres
def test_postgres_schema_matches_the_tables(pg_url: str) -> None:
    engine = migrated(pg_url)
    assert schema_diffs(engine) == []
    assert "alembic_version" in inspect(engine).get_table_names()
    engine.dispose()


def test_upgrade_accepts_a_url(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
    engine.dispose()
