"""Response intake and reading: validated, idempotent submissions, revisions and review."""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Select, bindparam, delete, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from survey_service.db import HotQuery, pg_array_literal, utcnow
from survey_service.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    invalid_request,
)
from survey_service.jsonutil import (
    MAX_CLIENT_DEPTH,
    content_digest,
    dumps_document,
    nested_deeper,
)
from survey_service.models import (
    Principal,
    Questionnaire,
    QuestionnaireStatus,
    QuestionnaireVersion,
    Response,
    ResponseRevision,
    ResponseUnit,
    ReviewEvent,
    ReviewState,
    Role,
)
from survey_service.services.questionnaires import get_questionnaire
from survey_service.services.versions import published_version

_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalize_instance_id(raw: Any) -> str:
    """A client's instance id as a canonical UUID string ('uuid:' prefix, as OpenRosa has, ok)."""
    if isinstance(raw, str):
        if _CANONICAL_UUID.fullmatch(raw):  # as clients usually send it: already canonical
            return raw
        text = raw.strip().removeprefix("uuid:")
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
    raise Unprocessable(
        "response.invalid_instance_id",
        "instance_id must be a UUID chosen by the client (optionally prefixed 'uuid:').",
        errors=[
            {
                "path": "instance_id",
                "code": "response.invalid_instance_id",
                "message": f"{raw!r} is not a UUID",
            }
        ],
    )


def _parse_time(value: Any, path: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    raise Unprocessable(
        "response.invalid",
        "The response is not valid.",
        errors=[
            {
                "path": path,
                "code": "response.invalid_type",
                "message": "an ISO 8601 date-time with a UTC offset is expected",
            }
        ],
    )


# status and version ids only: definitions are read once per process (validator cache)
_VERSIONS_LOOKUP = HotQuery(
    select(
        Questionnaire.status,
        QuestionnaireVersion.version,
        QuestionnaireVersion.id,
        QuestionnaireVersion.content_hash,
    )
    .outerjoin(QuestionnaireVersion, QuestionnaireVersion.questionnaire_id == Questionnaire.id)
    .where(Questionnaire.id == bindparam("qid"))
)
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


@dataclass
class Submission:
    """One response as a client sends it."""

    instance_id: Any
    answers: Any
    version: int | None = None
    language: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


_SUBMISSION_FIELDS = frozenset({"instance_id", "version", "language", "answers", "meta"})
_MAX_LANGUAGE = 16


def parse_submission(item: Any) -> Submission:
    """A submission from its JSON body, as `ResponseCreateSchema` documents it.

    Checked by hand rather than by marshmallow: it is the hottest path of the service. Raises
    `Unprocessable` ("request.invalid") listing every field at fault.
    """
    if not isinstance(item, dict):
        raise invalid_request([("", "an object with instance_id and answers is expected")])
    problems: list[tuple[str, str]] = [
        (str(key), "unknown field") for key in item if key not in _SUBMISSION_FIELDS
    ]
    instance_id = item.get("instance_id")
    if not isinstance(instance_id, str):
        problems.append(("instance_id", "required: a UUID chosen by the client"))
    answers = item.get("answers")
    if not isinstance(answers, dict):
        problems.append(("answers", "required: an object of answers"))
    version = item.get("version")
    if version is not None and (type(version) is not int or version < 1):
        problems.append(("version", "a published version number (1, 2, ...)"))
    language = item.get("language")
    if language is not None and (not isinstance(language, str) or len(language) > _MAX_LANGUAGE):
        problems.append(("language", f"a language code of at most {_MAX_LANGUAGE} characters"))
    meta = item.get("meta")
    if meta is not None and not isinstance(meta, dict):
        problems.append(("meta", "an object (device_id, started_at, ended_at, ...)"))
    elif meta:
        problem = _meta_problem(meta)
        if problem:
            problems.append(("meta", problem))
    if problems:
        raise invalid_request(problems)
    return Submission(instance_id, answers, version, language, meta or {})


def _meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with a submission's `meta`, if anything: nesting deeper than anything
    stored could be written back, or NaN and infinities (which JSON cannot store)."""
    if nested_deeper(meta, MAX_CLIENT_DEPTH):
        return f"arrays and objects nested at most {MAX_CLIENT_DEPTH} levels deep"
    return None if _finite(meta) else "numbers must be finite (no NaN or Infinity)"


def _finite(value: Any) -> bool:
    """Whether a parsed JSON value holds no NaN or infinity (which JSON cannot store)."""
    if type(value) is float:
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


@dataclass
class SubmitResult:
    """What became of one submission: 201 stored, 200 already stored, or an error."""

    instance_id: str
    status: int
    response: Response | dict[str, Any] | None = None  # a new one as its stored row
    code: str | None = None
    detail: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def _forbidden_country(user: Principal, country: str | None) -> dict[str, Any]:
    return {
        "path": "answers",
        "code": "response.country_forbidden",
        "message": f"{user.name!r} may submit for {', '.join(user.countries)}, "
        f"not for {country or 'a response without a country'}",
    }


@dataclass
class _Prepared:
    index: int
    instance_id: str
    row: dict[str, Any]
    units: list[dict[str, Any]]  # response_units rows, without the response's id yet


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert responses, skipping instance ids stored meanwhile; returns instance_id → id."""
    if not rows:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        return _insert_postgresql(session, rows)
    result = session.execute(_SQLITE_INSERT, rows)
    return {instance_id: row_id for row_id, instance_id in result.all()}


def _insert_postgresql(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr] # psycopg is the driver here
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


def _insert_units(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the roster rows of new responses (the analysis arrays of their instances)."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(ResponseUnit), rows)
        return
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr] # psycopg is the driver here
        if len(rows) == 1:
            params = _pg_row(rows[0], _UNIT_COLUMNS)
            cursor.execute(_PG_UNIT_INSERT, params, prepare=True)
            return
        with cursor.copy(_PG_UNIT_COPY) as copy:
            for row in rows:
                copy.write_row(_pg_row(row, _UNIT_COLUMNS))


def _existing(session: Session, instance_ids: Sequence[str]) -> dict[str, Response]:
    if not instance_ids:
        return {}
    found = session.scalars(select(Response).where(Response.instance_id.in_(instance_ids)))
    return {r.instance_id: r for r in found}


def submit_responses(
    session: Session,
    qid: str,
    submissions: Sequence[Submission],
    user: Principal,
    *,
    now: datetime | None = None,
) -> list[SubmitResult]:
    """Validate and store each submission on its own; identical resends are not stored again.

    Every item gets a result in request order. A good household is never held back by a
    bad one; nothing of a rejected one is stored.
    """
    now = now or utcnow()
    rows = _VERSIONS_LOOKUP.rows(session, qid=qid)
    if not rows:
        raise NotFound("questionnaire.not_found", f"No questionnaire {qid!r}.")
    status = rows[0][0]
    versions = {
        number: _VersionRef(version_id, number, digest)
        for _, number, version_id, digest in rows
        if number
    }
    if status == QuestionnaireStatus.CLOSED.value:
        raise Conflict("questionnaire.closed", f"Questionnaire {qid!r} accepts no responses.")
    if not versions:
        raise Conflict("questionnaire.unpublished", f"Questionnaire {qid!r} has no version yet.")
    results: list[SubmitResult | None] = [None] * len(submissions)
    prepared: dict[str, _Prepared] = {}
    latest = max(versions)
    for index, submission in enumerate(submissions):
        outcome = _prepare(session, submission, qid, latest, versions, user, now)
        if isinstance(outcome, SubmitResult):
            results[index] = outcome
            continue
        outcome.index = index
        twin = prepared.get(outcome.instance_id)
        if twin is not None:  # the same instance twice in one batch
            same = twin.row["content_hash"] == outcome.row["content_hash"]
            results[index] = (
                SubmitResult(outcome.instance_id, 200) if same else _conflict(outcome.instance_id)
            )
            continue
        prepared[outcome.instance_id] = outcome

    # new instances are the common case: insert first, read back only what was there
    inserted = _insert_ignoring_duplicates(session, [p.row for p in prepared.values()])
    _insert_units(
        session,
        [
            {"response_id": inserted[item.instance_id], **unit}
            for item in prepared.values()
            if item.instance_id in inserted
            for unit in item.units
        ],
    )
    stored = _existing(session, [key for key in prepared if key not in inserted])
    for item in prepared.values():
        if item.instance_id in inserted:
            record = {"id": inserted[item.instance_id], **item.row}
            results[item.index] = SubmitResult(item.instance_id, 201, record)
            continue
        existing = stored[item.instance_id]
        results[item.index] = (
            SubmitResult(item.instance_id, 200, existing)
            if existing.content_hash == item.row["content_hash"]
            else _conflict(item.instance_id)
        )
    return [r for r in results if r is not None]


def _conflict(instance_id: str) -> SubmitResult:
    return SubmitResult(
        instance_id,
        409,
        code="response.conflict",
        detail=f"A different response with instance_id {instance_id} is stored already; "
        "choose a new instance_id, or revise it with PUT /api/v1/responses/{instance_id}.",
    )


@dataclass(frozen=True)
class _VersionRef:
    id: int
    version: int
    content_hash: str


def _prepare(
    session: Session,
    submission: Submission,
    qid: str,
    latest: int,
    versions: Mapping[int, _VersionRef],
    user: Principal,
    now: datetime,
) -> _Prepared | SubmitResult:
    raw_id = submission.instance_id
    try:
        instance_id = normalize_instance_id(raw_id)
        number = submission.version or latest
        version = versions.get(number)
        if version is None:
            return SubmitResult(
                instance_id,
                404,
                code="questionnaire.version_not_found",
                detail=f"Questionnaire {qid!r} has no version {number}.",
            )
        meta = dict(submission.meta or {})
        started = _parse_time(meta.get("started_at"), "meta.started_at")
        ended = _parse_time(meta.get("ended_at"), "meta.ended_at")
    except Unprocessable as exc:
        return SubmitResult(
            str(raw_id), 422, code=exc.code, detail=exc.detail, errors=exc.errors or []
        )
    compiled = published_version(session, version.id, version.content_hash)
    validated = compiled.validator.validate(
        submission.answers, language=submission.language, now=now
    )
    if not validated.ok:
        return SubmitResult(
            instance_id,
            422,
            code="response.invalid",
            detail=f"{len(validated.errors)} answer(s) failed validation; nothing was stored.",
            errors=[e.as_dict() for e in validated.errors],
        )
    country = validated.tags.get("country")
    if not user.may_work_on(country):
        return SubmitResult(
            instance_id,
            403,
            code="response.country_forbidden",
            detail="The response's country is outside the countries of this account.",
            errors=[_forbidden_country(user, country)],
        )
    projection = compiled.projector.project(validated.answers)
    row = {
        "instance_id": instance_id,
        "questionnaire_id": qid,
        "version": version.version,
        "version_id": version.id,
        "revision": 1,
        "content_hash": content_digest({"version": version.version, "answers": submission.answers}),
        "country": country,
        "admin1": validated.tags.get("admin1"),
        "hazard_type": validated.tags.get("hazard_type"),
        "displacement_status": validated.tags.get("displacement_status"),
        "weight": validated.design.get("weight"),
        "stratum": validated.design.get("stratum"),
        "psu": validated.design.get("psu"),
        "review_state": ReviewState.RECEIVED.value,
        "language": submission.language,
        "answers": validated.answers,
        "meta": meta,
        "warnings": [w.as_dict() for w in validated.warnings],
        "collected_at": started or ended,
        "received_at": now,
        "updated_at": now,
        "submitted_by": user.id,
        "num": projection.num,
        "cat": projection.cat,
    }
    return _Prepared(-1, instance_id, row, list(projection.unit_rows()))


# --------------------------------------------------------------------------------------------
# Reading


_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def visible_to(query: _Query, user: Principal) -> _Query:
    """Row-level access to responses: countries of the account; enumerators see their own."""
    if user.countries:
        query = query.where(Response.country.in_(user.countries))
    if user.role == Role.ENUMERATOR.value:
        query = query.where(Response.submitted_by == user.id)
    return query


def get_response(session: Session, instance_id: str, user: Principal) -> Response:
    """A response the user may see; 404 otherwise (so its existence does not leak)."""
    try:
        key = normalize_instance_id(instance_id)
    except Unprocessable:
        key = None
    query = visible_to(select(Response).where(Response.instance_id == key), user)
    response: Response | None = session.scalar(query) if key else None
    if response is None:
        raise NotFound("response.not_found", f"No response {instance_id!r}.")
    return response


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


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"r{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith("r") and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadRequest("request.invalid_cursor", "The cursor is not one this service issued.")


def list_responses(
    session: Session,
    qid: str,
    user: Principal,
    filters: ResponseFilter,
    *,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[Response], str | None]:
    """A page of responses in a stable order (by arrival), and the cursor of the next page."""
    get_questionnaire(session, qid)
    query = select(Response).where(Response.questionnaire_id == qid)
    for name in ("country", "admin1", "hazard_type", "displacement_status", "review_state"):
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
    if cursor:
        query = query.where(Response.id > decode_cursor(cursor))
    query = visible_to(query, user).order_by(Response.id).limit(limit + 1)
    rows = list(session.scalars(query))
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return page, next_cursor


# --------------------------------------------------------------------------------------------
# Revisions and review


def _check_editor(user: Principal, response: Response) -> None:
    if user.role == Role.ENUMERATOR.value and response.submitted_by != user.id:
        raise Forbidden("auth.forbidden", "Enumerators may revise only their own responses.")


def revise_response(
    session: Session,
    instance_id: str,
    answers: Any,
    reason: str,
    user: Principal,
    *,
    language: str | None = None,
    now: datetime | None = None,
) -> tuple[Response, bool]:
    """Store new answers as the next revision; returns (response, whether a revision was made).

    The answers are validated against the response's own questionnaire version, exactly as
    a new submission. Identical answers make no new revision (a retried PUT is harmless).
    """
    now = now or utcnow()
    response = get_response(session, instance_id, user)
    _check_editor(user, response)
    if not reason.strip():
        raise Unprocessable(
            "response.invalid",
            "A revision needs a reason.",
            errors=[{"path": "reason", "code": "response.required", "message": "required"}],
        )
    language = language or response.language
    version_hash = session.scalar(
        select(QuestionnaireVersion.content_hash).where(
            QuestionnaireVersion.id == response.version_id
        )
    )
    compiled = published_version(session, response.version_id, version_hash or "")
    validated = compiled.validator.validate(answers, language=language, now=now)
    if not validated.ok:
        raise Unprocessable(
            "response.invalid",
            f"{len(validated.errors)} answer(s) failed validation; nothing was stored.",
            errors=[e.as_dict() for e in validated.errors],
        )
    country = validated.tags.get("country")
    if not user.may_work_on(country):
        raise Forbidden(
            "response.country_forbidden",
            "The revised country is outside the countries of this account.",
            errors=[_forbidden_country(user, country)],
        )
    new_hash = content_digest({"version": response.version, "answers": answers})
    if new_hash == _current_hash(session, response):
        return response, False
    if response.revision == 1:
        session.add(_original_revision(response))
    response.revision += 1
    response.answers = validated.answers
    response.warnings = [w.as_dict() for w in validated.warnings]
    response.language = language
    for tag in ("country", "admin1", "hazard_type", "displacement_status"):
        setattr(response, tag, validated.tags.get(tag))
    for name in ("weight", "stratum", "psu"):
        setattr(response, name, validated.design.get(name))
    projection = compiled.projector.project(validated.answers)
    response.num, response.cat = projection.num, projection.cat
    session.execute(delete(ResponseUnit).where(ResponseUnit.response_id == response.id))
    _insert_units(session, [{"response_id": response.id, **r} for r in projection.unit_rows()])
    response.updated_at = now
    session.add(
        ResponseRevision(
            response_id=response.id,
            revision=response.revision,
            version=response.version,
            content_hash=new_hash,
            answers=validated.answers,
            reason=reason.strip(),
            author_id=user.id,
            created_at=now,
        )
    )
    session.flush()
    return response, True


def _original_revision(response: Response) -> ResponseRevision:
    """Revision 1 as stored in the response row (an unrevised response has no history rows)."""
    return ResponseRevision(
        response_id=response.id,
        revision=1,
        version=response.version,
        content_hash=response.content_hash,
        answers=response.answers,
        reason=None,
        author_id=response.submitted_by,
        created_at=response.received_at,
    )


def _current_hash(session: Session, response: Response) -> str | None:
    if response.revision == 1:
        return response.content_hash
    return session.scalar(
        select(ResponseRevision.content_hash).where(
            ResponseRevision.response_id == response.id,
            ResponseRevision.revision == response.revision,
        )
    )


def list_revisions(
    session: Session, instance_id: str, user: Principal
) -> Sequence[ResponseRevision]:
    """Every revision, the original submission first."""
    response = get_response(session, instance_id, user)
    if response.revision == 1:
        return [_original_revision(response)]
    return session.scalars(
        select(ResponseRevision)
        .where(ResponseRevision.response_id == response.id)
        .order_by(ResponseRevision.revision)
    ).all()


def get_revision(
    session: Session, instance_id: str, revision: int, user: Principal
) -> ResponseRevision:
    for found in list_revisions(session, instance_id, user):
        if found.revision == revision:
            return found
    raise NotFound("response.revision_not_found", f"No revision {revision}.")


def review_response(
    session: Session, instance_id: str, state: str, comment: str | None, user: Principal
) -> Response:
    """Set the review state; every change is kept as a review event."""
    if state not in {s.value for s in ReviewState}:
        raise Unprocessable(
            "response.invalid_review_state",
            "Unknown review state.",
            errors=[
                {
                    "path": "state",
                    "code": "response.invalid_review_state",
                    "message": f"one of {', '.join(s.value for s in ReviewState)}",
                }
            ],
        )
    response = get_response(session, instance_id, user)
    session.add(
        ReviewEvent(
            response_id=response.id,
            from_state=response.review_state,
            to_state=state,
            comment=comment,
            author_id=user.id,
        )
    )
    response.review_state = state
    response.updated_at = utcnow()
    session.flush()
    return response


def list_reviews(session: Session, instance_id: str, user: Principal) -> Sequence[ReviewEvent]:
    response = get_response(session, instance_id, user)
    return session.scalars(
        select(ReviewEvent).where(ReviewEvent.response_id == response.id).order_by(ReviewEvent.id)
    ).all()
