"""Weight-set statements: the responses an upload names, its entries (COPY on PostgreSQL),
the unweighted rest, and the stored sets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam, exists, func, insert, select
from sqlalchemy.orm import Session

from survey_service.db import driver_cursor
from survey_service.models import Principal, Response, ReviewState, WeightSet, WeightSetEntry
from survey_service.queries.responses import visible_to


def responses_among(
    session: Session, qid: str, instance_ids: Sequence[str], user: Principal
) -> list[tuple[str, int, bool]]:
    """(instance id, response id, whether rejected) of the responses of `qid` among
    `instance_ids` that the user may see."""
    # one array parameter: twice as fast on PostgreSQL as IN with 10,000 parameters
    among = (
        Response.instance_id == any_(bindparam("instance_ids", instance_ids, type_=ARRAY(String)))
        if session.get_bind().dialect.name == "postgresql"
        else Response.instance_id.in_(instance_ids)
    )
    query = select(Response.instance_id, Response.id, Response.review_state).where(
        Response.questionnaire_id == qid, among
    )
    return [
        (instance_id, response_id, state == ReviewState.REJECTED.value)
        for instance_id, response_id, state in session.execute(visible_to(query, user))
    ]


def unrejected_after(
    session: Session, qid: str, user: Principal, after: int, limit: int
) -> list[tuple[int, str]]:
    """(id, instance id) of the first `limit` responses of `qid` after the id `after`, not
    rejected and visible to the user, in arrival order."""
    page = session.execute(
        visible_to(
            select(Response.id, Response.instance_id)
            .where(
                Response.questionnaire_id == qid,
                Response.review_state != ReviewState.REJECTED.value,
                Response.id > after,
            )
            .order_by(Response.id)
            .limit(limit),
            user,
        )
    ).all()
    return [(response_id, instance_id) for response_id, instance_id in page]


def count_unrejected(session: Session, qid: str, user: Principal | None = None) -> int:
    """How many responses of `qid` are not rejected (that the user may see, when given)."""
    counted = select(func.count(Response.id)).where(
        Response.questionnaire_id == qid, Response.review_state != ReviewState.REJECTED.value
    )
    return session.scalar(counted if user is None else visible_to(counted, user)) or 0


def visible_counts(session: Session, weight_set: WeightSet, user: Principal) -> tuple[int, int]:
    """(entries, missing) of a stored set among the responses the user may see: its entries,
    and the responses of its questionnaire received by its upload, not rejected, given no
    weight by it."""
    entries = select(func.count()).select_from(WeightSetEntry).join(Response)
    entries = entries.where(WeightSetEntry.weight_set_id == weight_set.id)
    weighted = exists().where(
        WeightSetEntry.weight_set_id == weight_set.id, WeightSetEntry.response_id == Response.id
    )
    missing = select(func.count(Response.id)).where(
        Response.questionnaire_id == weight_set.questionnaire_id,
        Response.review_state != ReviewState.REJECTED.value,
        Response.received_at <= weight_set.created_at,
        ~weighted,
    )
    return (
        session.scalar(visible_to(entries, user)) or 0,
        session.scalar(visible_to(missing, user)) or 0,
    )


def latest_version(session: Session, qid: str, name: str) -> int | None:
    """The latest version number of the weight set `name` of `qid`, None if it has none."""
    return session.scalar(
        select(func.max(WeightSet.version)).where(
            WeightSet.questionnaire_id == qid, WeightSet.name == name
        )
    )


_ENTRY_COLUMNS = ("weight_set_id", "response_id", "weight", "stratum", "psu")


def insert_entries(session: Session, entries: Iterable[tuple[Any, ...]], *, chunk: int) -> None:
    """Store entries (weight set id, response id, weight, stratum, psu): COPY on PostgreSQL
    (a million take seconds, not a minute), multi-row inserts of `chunk` rows elsewhere."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        statement = f"COPY weight_set_entries ({', '.join(_ENTRY_COLUMNS)}) FROM STDIN"
        with driver_cursor(session) as cursor, cursor.copy(statement) as copy:
            for entry in entries:
                copy.write_row(entry)
        return
    batch: list[dict[str, Any]] = []
    for entry in entries:
        batch.append(dict(zip(_ENTRY_COLUMNS, entry, strict=True)))
        if len(batch) == chunk:
            session.execute(insert(WeightSetEntry), batch)
            batch = []
    if batch:
        session.execute(insert(WeightSetEntry), batch)


def weight_sets_of(session: Session, qid: str) -> Sequence[WeightSet]:
    """Every version of every weight set of `qid`, by name then version."""
    return session.scalars(
        select(WeightSet)
        .where(WeightSet.questionnaire_id == qid)
        .order_by(WeightSet.name, WeightSet.version)
    ).all()


def weight_set(session: Session, qid: str, name: str, version: int | None) -> WeightSet | None:
    """Version `version` of the weight set `name` of `qid` (the latest when None)."""
    query = select(WeightSet).where(WeightSet.questionnaire_id == qid, WeightSet.name == name)
    if version is None:
        query = query.order_by(WeightSet.version.desc()).limit(1)
    else:
        query = query.where(WeightSet.version == version)
    return session.scalar(query)


def weight_set_names(session: Session, qid: str) -> list[str]:
    """The names of the questionnaire's weight sets, sorted."""
    names = session.scalars(
        select(WeightSet.name).where(WeightSet.questionnaire_id == qid).distinct()
    ).all()
    return sorted(names)
