"""Schema migrations, run from code: the package carries its Alembic scripts.

No ``alembic.ini`` is needed at run time; :func:`upgrade` points Alembic at
``unsnag/store/migrations`` and hands it an open connection, so whatever that connection
was configured with (a PostgreSQL ``search_path`` in the URL's ``options``, for one)
applies to the migrated tables and to ``alembic_version`` alike.

To write a new revision after changing :mod:`unsnag.store.tables`::

    python -c "from unsnag.store.migrate import revision; revision('add outbox', 'sqlite:///dev.db')"

then review the generated file under ``migrations/versions``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from unsnag.errors import StoreError
from unsnag.store.connect import describe, make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration that runs this package's scripts on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _engine(engine_or_url: Engine | str) -> Iterator[Engine]:
    if isinstance(engine_or_url, Engine):
        yield engine_or_url
        return
    engine = make_engine(engine_or_url)
    try:
        yield engine
    finally:
        engine.dispose()


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default), in one transaction."""
    try:
        with _engine(engine_or_url) as engine, engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"migrating the store failed: {describe(exc)}") from exc


def revision(message: str, engine_or_url: Engine | str) -> None:
    """Autogenerate a new revision by comparing ``tables.metadata`` with a migrated DB."""
    with _engine(engine_or_url) as engine, engine.begin() as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
