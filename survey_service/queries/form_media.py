"""Form media statements: the files of a draft (version NULL) and of each published version."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, insert, literal, select
from sqlalchemy.orm import Session

from survey_service.models import FormMedia


def _of(qid: str, version: int | None) -> ColumnElement[bool]:
    """The rows of the draft of `qid` (version None) or of one of its published versions."""
    which = FormMedia.version.is_(None) if version is None else FormMedia.version == version
    return (FormMedia.questionnaire_id == qid) & which


def media_files(session: Session, qid: str, version: int | None) -> Sequence[FormMedia]:
    """The files of the draft (None) or of a version of `qid`, by name."""
    return session.scalars(
        select(FormMedia).where(_of(qid, version)).order_by(FormMedia.filename)
    ).all()


def media_file(session: Session, qid: str, version: int | None, filename: str) -> FormMedia | None:
    """The file `filename` of the draft (None) or of a version of `qid`, if there is one."""
    return session.scalar(
        select(FormMedia).where(_of(qid, version), FormMedia.filename == filename)
    )


def contents(session: Session, qid: str, version: int | None) -> set[tuple[str, str]]:
    """(file name, SHA-256) of every file of the draft (None) or of a version: equal sets,
    equal media (the media type follows from the name)."""
    rows = session.execute(
        select(FormMedia.filename, FormMedia.sha256).where(_of(qid, version))
    ).all()
    return {(filename, digest) for filename, digest in rows}


def delete_draft_file(session: Session, qid: str, filename: str) -> int:
    """Delete a file of the draft of `qid`; how many rows went (0 or 1)."""
    result = session.execute(
        delete(FormMedia).where(_of(qid, None), FormMedia.filename == filename)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def freeze_draft(session: Session, qid: str, version: int) -> None:
    """Copy every file of the draft of `qid` into its published version `version`."""
    copied = (
        FormMedia.filename,
        FormMedia.media_type,
        FormMedia.size,
        FormMedia.md5,
        FormMedia.sha256,
        FormMedia.updated_at,
        FormMedia.updated_by,
    )
    session.execute(
        insert(FormMedia).from_select(
            ["questionnaire_id", "version", *(column.key for column in copied)],
            select(literal(qid), literal(version), *copied).where(_of(qid, None)),
        )
    )
