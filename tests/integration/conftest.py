"""Fixtures for adapter tests against real backends: a SQLite file, a PostgreSQL schema.

Each PostgreSQL test gets a schema of its own (``t_<uuid>``), reached through the URL's
``options=-csearch_path=…`` exactly as a deployment would put unsnag in a schema, and
dropped afterwards; so tests can run in parallel against one server and leave nothing.
Set ``UNSNAG_TEST_PG_URL`` to use another server than the local one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("UNSNAG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # any failure means "no server here"
        engine.dispose()
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable ({exc}); deselect: -m 'not postgres'")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: Engine) -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex}"
    with pg_admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with pg_admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'unsnag.db'}"
