"""Database plumbing: declarative base with stable constraint names, engines, portable types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final, cast

import orjson
import psycopg
from sqlalchemy import (
    ARRAY,
    JSON,
    Connection,
    DateTime,
    Engine,
    Float,
    MetaData,
    Select,
    Text,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from survey_service.jsonutil import dumps_text

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")

#: The analysis arrays (survey_service.analysis.layout): float8[] and text[] on PostgreSQL,
#: JSON arrays on SQLite; the 2-D forms hold one row per roster instance.
NumArray = ARRAY(Float()).with_variant(JSON(), "sqlite")
CatArray = ARRAY(Text()).with_variant(JSON(), "sqlite")
NumMatrix = ARRAY(Float(), dimensions=2).with_variant(JSON(), "sqlite")
CatMatrix = ARRAY(Text(), dimensions=2).with_variant(JSON(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every model; constraint names follow NAMING_CONVENTION."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: Execution option naming how a SQLite transaction begins: "DEFERRED" (reads) or "IMMEDIATE"
#: (writes: the write lock is taken at BEGIN, so concurrent writers queue instead of failing
#: with SQLITE_BUSY_SNAPSHOT when their read snapshot went stale).
SQLITE_BEGIN = "sqlite_begin"


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # let SQLAlchemy emit BEGIN itself (pysqlite's own handling breaks SAVEPOINT)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout for several workers."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=dumps_text)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # no pre-ping (a round trip per request): after a database restart the pool is
    # invalidated by the first failing request, which gets a retryable 503
    return create_engine(
        url, pool_size=10, max_overflow=20, pool_recycle=3600, json_serializer=dumps_text
    )


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    """Sessions that keep loaded objects usable after commit (views serialise after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def driver_cursor(session: Session, *, binary: bool = False) -> Iterator[psycopg.Cursor[Any]]:
    """A psycopg cursor on the session's connection, for the PostgreSQL paths that bypass
    SQLAlchemy's execution for speed (hot queries, COPY, large aggregates).

    A driver error leaving the block is raised as SQLAlchemy's own (sqlalchemy.exc.DBAPIError:
    OperationalError, IntegrityError, ...), as if SQLAlchemy had run the statement, and a lost
    connection is invalidated: one handler then answers a database outage with a retryable
    503 on every path, and the pool does not hand the dead connection out again. Errors the
    block catches itself (a unique violation it recovers from) stay psycopg's.
    """
    connection = session.connection()
    driver = cast(psycopg.Connection[Any], connection.connection.driver_connection)
    try:
        with driver.cursor(binary=binary) as cursor:
            yield cursor
    except psycopg.Error as exc:
        dialect = connection.dialect
        dbapi = connection.connection.dbapi_connection
        lost = dialect.is_disconnect(exc, dbapi, None)  # type: ignore[arg-type] # psycopg's
        if lost and not connection.invalidated:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            None, None, exc, psycopg.Error, connection_invalidated=lost, dialect=dialect
        ) from exc


class HotQuery:
    """A prebuilt SELECT for the hottest paths (authentication, intake).

    On PostgreSQL it runs straight on psycopg as a server-side prepared statement: SQLAlchemy's
    execution and result machinery cost more CPU than the query itself there, and psycopg
    already returns the right Python types (aware datetimes, decoded JSON). Elsewhere it runs
    through SQLAlchemy, whose result processing SQLite needs.
    """

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        dialect = PGDialect_psycopg()  # type: ignore[no-untyped-call] # untyped in SQLAlchemy
        self.sql = str(statement.compile(dialect=dialect))

    def rows(self, session: Session, **params: Any) -> list[tuple[Any, ...]]:
        """Every row, as plain tuples."""
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return [tuple(row) for row in connection.execute(self.statement, params)]
        with driver_cursor(session) as cursor:
            cursor.execute(self.sql, params, prepare=True)
            return cast(list[tuple[Any, ...]], cursor.fetchall())


def pg_array_literal(values: list[Any] | None) -> str | None:
    """A PostgreSQL array literal of floats or texts (a list of rows for a 2-D array).

    psycopg adapts lists element by element in Python, which cost intake more than the
    validation of a household; the analysis arrays are written as literals instead
    (cast in the statement: `%s::float8[]`).
    """
    if values is None:
        return None
    if values and type(values[0]) is list:
        text = orjson.dumps(values).decode("utf-8")
        brackets = len(values) + 1
        if "\\" not in text and text.count("[") == brackets == text.count("]"):
            # every bracket is the array's own (none inside a text): JSON's [["KG",null]]
            # is PostgreSQL's {{"KG",null}}
            return text.replace("[", "{").replace("]", "}")
        return "{" + ",".join(_flat_array_literal(row) for row in values) + "}"
    return _flat_array_literal(values)


def _flat_array_literal(values: list[Any]) -> str:
    text = orjson.dumps(values).decode("utf-8")
    if "\\" not in text:
        # Without escapes, JSON's ["KG",null,1.5] is PostgreSQL's {"KG",null,1.5}: texts are
        # double-quoted the same way and an unquoted null is NULL.
        return "{" + text[1:-1] + "}"
    parts = []  # a quote, a backslash or a control character: escape as arrays want
    for value in values:
        if value is None:
            parts.append("NULL")
        elif type(value) is str:
            parts.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            parts.append(repr(float(value)))
    return "{" + ",".join(parts) + "}"


#: Session settings of a large aggregate on PostgreSQL, for its transaction only. work_mem:
#: with the default 4 MB, a hash table of 100,000+ (cell, stratum, PSU) groups spills to disk
#: and takes several times longer. jit: compiling the expressions of such a query costs more
#: than it saves. The parallel costs: the planner's defaults keep a scan of a million narrow
#: rows serial, while two workers read it about a third faster on two cores. enable_sort:
#: unnesting rosters, the planner expects millions of groups where there are 100,000s, and
#: would sort five million person rows (12 s) instead of hashing them (4 s); a hash table
#: that outgrows work_mem spills to disk, so nothing is lost by refusing the sort.
AGGREGATE_SETTINGS: Final = (
    ("work_mem", "256MB"),
    ("jit", "off"),
    ("parallel_setup_cost", "0"),
    ("parallel_tuple_cost", "0.001"),
    ("enable_sort", "off"),
)


def fetch_aggregate(session: Session, statement: Select[Any]) -> tuple[Any, ...] | None:
    """The one row of a large aggregate on PostgreSQL, read in binary (arrays arrive as
    lists of numbers ready for numpy), run with AGGREGATE_SETTINGS."""
    connection = session.connection()
    for name, value in AGGREGATE_SETTINGS:
        connection.exec_driver_sql(f"SET LOCAL {name} = '{value}'")
    # IN lists are expanded parameters: render them, then run the SQL on psycopg
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    with driver_cursor(session, binary=True) as cursor:
        cursor.execute(str(compiled), compiled.params)
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row
