"""Alembic environment: runs on the connection :func:`unsnag.store.migrate.upgrade` gives.

Without one (``alembic`` run by hand with ``sqlalchemy.url`` set), it opens its own.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from unsnag.store.connect import make_engine
from unsnag.store.tables import metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        engine.dispose()


main()
