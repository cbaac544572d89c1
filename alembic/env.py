"""Alembic environment: the service's metadata and database URL, batch mode for SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from alembic import context
from survey_service import models  # noqa: F401 - registers every table on the metadata
from survey_service.config import load_settings, resolve_sqlite_path
from survey_service.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return resolve_sqlite_path(url) if url else load_settings().resolved_database_url()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a SQLite table to alter it (copy, drop, rename): with foreign keys
        # enforced, dropping a table that others reference fails (a downgrade with data). The
        # pragma is ignored inside a transaction, so it is set before the migrations' begins;
        # the keys are checked once the migrations are done.
        _sqlite(connection, "PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite and (broken := _sqlite(connection, "PRAGMA foreign_key_check")):
            raise RuntimeError(f"the migrations broke foreign keys: {broken[:10]}")
    finally:
        if sqlite:
            _sqlite(connection, "PRAGMA foreign_keys=ON")


def _sqlite(connection: Connection, pragma: str) -> list[Any]:
    """A pragma run on the driver's connection, outside SQLAlchemy's transaction."""
    return list(connection.connection.driver_connection.execute(pragma))  # type: ignore[union-attr]


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
