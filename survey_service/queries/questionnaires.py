"""Questionnaire and version statements: lookups by id and number, locks, published forms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from survey_service.db import HotQuery
from survey_service.models import Questionnaire, QuestionnaireStatus, QuestionnaireVersion

# status and version ids only: definitions are read once per process (validator cache)
_INTAKE_VERSIONS = HotQuery(
    select(
        Questionnaire.status,
        QuestionnaireVersion.version,
        QuestionnaireVersion.id,
        QuestionnaireVersion.content_hash,
    )
    .outerjoin(QuestionnaireVersion, QuestionnaireVersion.questionnaire_id == Questionnaire.id)
    .where(Questionnaire.id == bindparam("qid"))
)


def intake_versions(session: Session, qid: str) -> list[tuple[Any, ...]]:
    """(status, version number, version id, content hash) of each version of `qid`; one row
    with a None version when it has none, no row when there is no such questionnaire."""
    return _INTAKE_VERSIONS.rows(session, qid=qid)


def questionnaire(session: Session, qid: str, *, for_update: bool = False) -> Questionnaire | None:
    """The questionnaire `qid` (locked for the transaction when `for_update`)."""
    query = select(Questionnaire).where(Questionnaire.id == qid)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def lock_for_key_share(session: Session, qid: str) -> bool:
    """Lock `qid` FOR NO KEY UPDATE; whether it exists.

    Writers of one questionnaire's children queue for their next version number, while
    submissions (whose foreign key check takes FOR KEY SHARE) go on.
    """
    locked = select(Questionnaire.id).where(Questionnaire.id == qid).with_for_update(key_share=True)
    return session.scalar(locked) is not None


def all_questionnaires(session: Session) -> Sequence[Questionnaire]:
    return session.scalars(select(Questionnaire).order_by(Questionnaire.id)).all()


def versions_of(session: Session, qid: str) -> Sequence[QuestionnaireVersion]:
    """Every published version of `qid`, oldest first."""
    return session.scalars(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.questionnaire_id == qid)
        .order_by(QuestionnaireVersion.version)
    ).all()


def version(session: Session, qid: str, number: int) -> QuestionnaireVersion | None:
    return session.scalar(
        select(QuestionnaireVersion).where(
            QuestionnaireVersion.questionnaire_id == qid,
            QuestionnaireVersion.version == number,
        )
    )


def version_hash(session: Session, version_id: int) -> str | None:
    """The content hash of the version `version_id`."""
    return session.scalar(
        select(QuestionnaireVersion.content_hash).where(QuestionnaireVersion.id == version_id)
    )


def version_content(session: Session, version_id: int) -> tuple[int, Any, Any]:
    """Number, definition and analysis layout of the version `version_id`, which must exist."""
    row = session.execute(
        select(
            QuestionnaireVersion.version,
            QuestionnaireVersion.definition,
            QuestionnaireVersion.analysis_layout,
        ).where(QuestionnaireVersion.id == version_id)
    ).one()
    return row.version, row.definition, row.analysis_layout


VersionRef = tuple[int, str]  # a published version's id and content hash


def version_ref(session: Session, qid: str, number: int | None) -> VersionRef | None:
    """Id and content hash of version `number` of `qid` (the latest when None), or None."""
    query = select(QuestionnaireVersion.id, QuestionnaireVersion.content_hash).where(
        QuestionnaireVersion.questionnaire_id == qid
    )
    if number is None:
        query = query.join(
            Questionnaire,
            (Questionnaire.id == qid)
            & (Questionnaire.latest_version == QuestionnaireVersion.version),
        )
    else:
        query = query.where(QuestionnaireVersion.version == number)
    found = session.execute(query).first()
    return (found[0], found[1]) if found is not None else None


def open_latest_versions(session: Session) -> list[tuple[str, int, int, str]]:
    """(questionnaire id, version number, version id, content hash) of the latest version of
    each open questionnaire that has one, by questionnaire id."""
    rows = session.execute(
        select(
            Questionnaire.id,
            QuestionnaireVersion.version,
            QuestionnaireVersion.id,
            QuestionnaireVersion.content_hash,
        )
        .join(
            QuestionnaireVersion,
            (QuestionnaireVersion.questionnaire_id == Questionnaire.id)
            & (QuestionnaireVersion.version == Questionnaire.latest_version),
        )
        .where(Questionnaire.status == QuestionnaireStatus.OPEN.value)
        .order_by(Questionnaire.id)
    ).all()
    return [(qid, number, key, digest) for qid, number, key, digest in rows]


def latest_version_among(
    session: Session, qid: str, numbers: Sequence[int] | None
) -> QuestionnaireVersion | None:
    """The latest published version of `qid` among `numbers` (among all when None)."""
    query = select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == qid)
    if numbers:
        query = query.where(QuestionnaireVersion.version.in_(numbers))
    return session.scalar(query.order_by(QuestionnaireVersion.version.desc()).limit(1))
