"""Response statements: intake inserts (COPY on PostgreSQL), row-level access, listing,
revisions and review events."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Select, delete, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from survey_service.codes import TAGS
from survey_service.db import driver_cursor, pg_array_literal
from survey_service.jsonutil import dumps_document
from survey_service.models import (
    Principal,
    Response,
    ResponseRevision,
    ResponseUnit,
    ReviewEvent,
    Role,
)

# --------------------------------------------------------------------------------------------
# Intake

_PG_COLUMNS = tuple(c.name for c in Response.__table__.columns if c.name != "id")
_JSON_COLUMNS = frozenset({"answers", "meta", "warnings"})
_ARRAY_COLUMNS = frozenset({"num", "cat"})
# JSON documents and analysis arrays go to PostgreSQL as text (`_pg_row`), cast in the
# statement or by COPY itself
_CASTS = {**dict.fromkeys(_JSON_COLUMNS, "::jsonb"), "num": "::float8[]", "cat": "::text[]"}


def _pg_values(columns: Sequence[str]) -> str:
    """The VALUES list of a one-row INSERT of `columns`, with the casts `_pg_row` needs."""
    return "(" + ", ".join("%s" + _CASTS.get(c, "") for c in columns) + ")"


_PG_INSERT = (
    f"INSERT INTO responses ({', '.join(_PG_COLUMNS)}) "  # noqa: S608 - model column names
    f"VALUES {_pg_values(_PG_COLUMNS)} "
    "ON CONFLICT (instance_id) DO NOTHING RETURNING id, instance_id"
)


def _pg_row(row: Mapping[str, Any], columns: tuple[str, ...]) -> list[Any]:
    """A row's values in `columns` order as PostgreSQL takes them, in an INSERT's parameters
    or a COPY row: JSON documents and arrays as text."""
    values = [row[c] for c in columns]
    for index, convert in _text_conversions(columns):
        values[index] = convert(values[index])
    return values


@functools.cache
def _text_conversions(columns: tuple[str, ...]) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """Where `columns` has JSON documents or arrays, and how each is written as text."""
    return tuple(
        (index, dumps_document if column in _JSON_COLUMNS else pg_array_literal)
        for index, column in enumerate(columns)
        if column in _JSON_COLUMNS or column in _ARRAY_COLUMNS
    )


# SQLite's path (PostgreSQL inserts through _insert_postgresql)
_SQLITE_INSERT = (
    sqlite_insert(Response)
    .on_conflict_do_nothing(index_elements=["instance_id"])
    .returning(Response.id, Response.instance_id)
)


def insert_new(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert responses, skipping instance ids stored meanwhile; returns instance_id → id."""
    if not rows:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        return _insert_postgresql(session, rows)
    result = session.execute(_SQLITE_INSERT, rows)
    return {instance_id: row_id for row_id, instance_id in result.all()}


def _insert_postgresql(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    with driver_cursor(session) as cursor:
        if len(rows) == 1:  # one round trip
            params = _pg_row(rows[0], _PG_COLUMNS)
            found = cursor.execute(_PG_INSERT, params, prepare=True).fetchone()
            return {found[1]: found[0]} if found is not None else {}
        # A batch is copied straight into the table (psycopg writes COPY rows in C, at a
        # third of the CPU its per-row parameters cost), skipping the instances stored
        # already, with ids drawn beforehand so that none has to be read back.
        keys = [row["instance_id"] for row in rows]
        present = {key for (key,) in cursor.execute(_PG_PRESENT, (keys,), prepare=True)}
        new = [row for row in rows if row["instance_id"] not in present]
        if not new:
            return {}
        ids = [row_id for (row_id,) in cursor.execute(_PG_NEW_IDS, (len(new),), prepare=True)]
        cursor.execute("SAVEPOINT intake_copy")
        try:
            with cursor.copy(_PG_COPY) as copy:
                for row_id, row in zip(ids, new, strict=True):
                    copy.write_row([row_id, *_pg_row(row, _PG_COLUMNS)])
        except psycopg.errors.UniqueViolation:
            # A concurrent request stored one of these meanwhile (a client resending before
            # its first reply came). Copy into a temporary table and move the rows with ON
            # CONFLICT DO NOTHING, so that each instance is still stored once.
            cursor.execute("ROLLBACK TO SAVEPOINT intake_copy")
            cursor.execute(_PG_STAGING)
            with cursor.copy(_PG_STAGE) as copy:
                for row in new:
                    copy.write_row(_pg_row(row, _PG_COLUMNS))
            found_rows = cursor.execute(_PG_MOVE).fetchall()
            return {instance_id: row_id for row_id, instance_id in found_rows}
        cursor.execute("RELEASE SAVEPOINT intake_copy")
    return {row["instance_id"]: row_id for row_id, row in zip(ids, new, strict=True)}


_PG_PRESENT = "SELECT instance_id FROM responses WHERE instance_id = ANY(%s)"
_PG_NEW_IDS = "SELECT nextval('responses_id_seq') FROM generate_series(1, %s)"
_PG_COPY = f"COPY responses (id, {', '.join(_PG_COLUMNS)}) FROM STDIN"
_PG_STAGING = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS intake_responses "
    "(LIKE responses INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_PG_STAGE = f"COPY intake_responses ({', '.join(_PG_COLUMNS)}) FROM STDIN"
_PG_MOVE = (
    f"INSERT INTO responses ({', '.join(_PG_COLUMNS)}) "  # noqa: S608 - model column names
    f"SELECT {', '.join(_PG_COLUMNS)} FROM intake_responses "
    "ON CONFLICT (instance_id) DO NOTHING RETURNING id, instance_id"
)
_UNIT_COLUMNS = ("response_id", "unit", "instances", "num", "cat")
_PG_UNIT_INSERT = (
    f"INSERT INTO response_units ({', '.join(_UNIT_COLUMNS)}) "  # noqa: S608 - constants
    f"VALUES {_pg_values(_UNIT_COLUMNS)}"
)
_PG_UNIT_COPY = f"COPY response_units ({', '.join(_UNIT_COLUMNS)}) FROM STDIN"


def insert_units(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the roster rows of responses (the analysis arrays of their instances)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(ResponseUnit), rows)
        return
    with driver_cursor(session) as cursor:
        if len(rows) == 1:
            params = _pg_row(rows[0], _UNIT_COLUMNS)
            cursor.execute(_PG_UNIT_INSERT, params, prepare=True)
            return
        with cursor.copy(_PG_UNIT_COPY) as copy:
            for row in rows:
                copy.write_row(_pg_row(row, _UNIT_COLUMNS))


def delete_units(session: Session, response_id: int) -> None:
    """Delete the roster rows of a response (before its revision writes new ones)."""
    session.execute(delete(ResponseUnit).where(ResponseUnit.response_id == response_id))


def by_instance_ids(session: Session, instance_ids: Sequence[str]) -> dict[str, Response]:
    """The stored responses among `instance_ids`, by instance id."""
    if not instance_ids:
        return {}
    found = session.scalars(select(Response).where(Response.instance_id.in_(instance_ids)))
    return {r.instance_id: r for r in found}


# --------------------------------------------------------------------------------------------
# Reading

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def sees_every_response(user: Principal) -> bool:
    """Whether `visible_to` leaves a query as it is for this user."""
    return not user.countries and user.role != Role.ENUMERATOR.value


def visible_to(query: _Query, user: Principal) -> _Query:
    """Row-level access to responses: countries of the account; enumerators see their own."""
    if user.countries:
        query = query.where(Response.country.in_(user.countries))
    if user.role == Role.ENUMERATOR.value:
        query = query.where(Response.submitted_by == user.id)
    return query


def visible_response(session: Session, instance_id: str, user: Principal) -> Response | None:
    """The response `instance_id` (canonical) if the user may see it: its own instance id,
    or that of one of its revisions (an edit sent by a device)."""
    query = visible_to(select(Response).where(Response.instance_id == instance_id), user)
    found = session.scalar(query)
    if found is not None:
        return found
    # the rare path (an edit's id, or none): a second indexed lookup, never an OR on the first
    revised = select(ResponseRevision.response_id).where(
        ResponseRevision.instance_id == instance_id
    )
    return session.scalar(visible_to(select(Response).where(Response.id.in_(revised)), user))


@dataclass(frozen=True)
class ResponseFilter:
    """Filters of a response listing; None means no filter."""

    country: str | None = None
    admin1: str | None = None
    hazard_type: str | None = None
    displacement_status: str | None = None
    review_state: str | None = None
    version: int | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    collected_from: datetime | None = None
    collected_to: datetime | None = None


def listing(
    session: Session,
    qid: str,
    user: Principal,
    filters: ResponseFilter,
    *,
    after: int | None,
    limit: int,
) -> list[Response]:
    """Up to `limit` responses of `qid` the user may see, in arrival order, after the id
    `after` (from the start when None)."""
    query = select(Response).where(Response.questionnaire_id == qid)
    for name in (*TAGS, "review_state"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(Response, name) == value)
    if filters.version is not None:
        query = query.where(Response.version == filters.version)
    bounds = (
        (Response.received_at, filters.received_from, filters.received_to),
        (Response.collected_at, filters.collected_from, filters.collected_to),
    )
    for column, low, high in bounds:
        if low is not None:
            query = query.where(column >= low)
        if high is not None:
            query = query.where(column < high)
    if after is not None:
        query = query.where(Response.id > after)
    query = visible_to(query, user).order_by(Response.id).limit(limit)
    return list(session.scalars(query))


# --------------------------------------------------------------------------------------------
# Revisions and review


def revision_hash(session: Session, response_id: int, revision: int) -> str | None:
    """The content hash of one stored revision of a response."""
    return session.scalar(
        select(ResponseRevision.content_hash).where(
            ResponseRevision.response_id == response_id,
            ResponseRevision.revision == revision,
        )
    )


def revision_by_instance_id(session: Session, instance_id: str) -> ResponseRevision | None:
    """The revision a device's edit with this instance id became, if any."""
    return session.scalar(
        select(ResponseRevision).where(ResponseRevision.instance_id == instance_id)
    )


def revisions_of(session: Session, response_id: int) -> Sequence[ResponseRevision]:
    """The stored revisions of a response, oldest first."""
    return session.scalars(
        select(ResponseRevision)
        .where(ResponseRevision.response_id == response_id)
        .order_by(ResponseRevision.revision)
    ).all()


def reviews_of(session: Session, response_id: int) -> Sequence[ReviewEvent]:
    """The review events of a response, oldest first."""
    return session.scalars(
        select(ReviewEvent).where(ReviewEvent.response_id == response_id).order_by(ReviewEvent.id)
    ).all()
