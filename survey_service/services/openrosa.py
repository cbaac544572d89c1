"""OpenRosa use cases: the forms a client may fill, their XForms, and submissions with files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from survey_service.errors import NotFound, Unprocessable
from survey_service.models import (
    Attachment,
    Principal,
    Questionnaire,
    QuestionnaireStatus,
    QuestionnaireVersion,
    Response,
)
from survey_service.openrosa.xml import Instance
from survey_service.questionnaire.definition import Definition
from survey_service.services import responses
from survey_service.services.versions import XForm, published_version
from survey_service.storage import AttachmentStore, content_key


@dataclass(frozen=True)
class PublishedForm:
    """A questionnaire a client can download: its latest published version."""

    qid: str
    title: str
    version: int
    version_id: int


def published_forms(session: Session) -> list[PublishedForm]:
    """Open questionnaires with a published version, latest version each."""
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
    forms = []
    for qid, version, key, digest in rows:
        definition = definition_for(session, (key, digest))
        title = definition.raw["title"].get(definition.default_language, qid)
        forms.append(PublishedForm(qid, title, version, key))
    return forms


VersionRef = tuple[int, str]  # a published version's id and content hash


def version_ref(session: Session, qid: str, version: int | None) -> VersionRef | None:
    """Id and content hash of version `version` of `qid` (the latest when None), or None."""
    query = select(QuestionnaireVersion.id, QuestionnaireVersion.content_hash).where(
        QuestionnaireVersion.questionnaire_id == qid
    )
    if version is None:
        query = query.join(
            Questionnaire,
            (Questionnaire.id == qid)
            & (Questionnaire.latest_version == QuestionnaireVersion.version),
        )
    else:
        query = query.where(QuestionnaireVersion.version == version)
    found = session.execute(query).first()
    return (found[0], found[1]) if found is not None else None


def definition_for(session: Session, ref: VersionRef) -> Definition:
    """The typed definition of a published version: the one its cached validator holds."""
    return published_version(session, *ref).definition


def xform_for(session: Session, qid: str, version: int) -> XForm:
    """The XForm of a published version and its OpenRosa hash (built once per process)."""
    ref = version_ref(session, qid, version)
    if ref is None:
        raise NotFound(
            "questionnaire.version_not_found", f"Questionnaire {qid!r} has no version {version}."
        )
    return published_version(session, *ref).xform


@dataclass(frozen=True)
class Upload:
    """A file part of a submission."""

    filename: str
    data: bytes
    media_type: str


@dataclass
class Received:
    """What became of an OpenRosa submission."""

    status: int  # 201 stored or already stored, 4xx otherwise
    message: str
    code: str | None = None
    response: Response | None = None
    errors: list[dict[str, Any]] | None = None


def receive(
    session: Session,
    instance: Instance,
    user: Principal,
    uploads: Sequence[Upload],
    store: AttachmentStore,
    *,
    language: str | None,
) -> Received:
    """Validate and store a parsed instance exactly as the JSON API would, then its files.

    An instance with `deprecatedID` is an edit: it becomes the next revision of the earlier
    response. A resend of the same instance (or of a split submission's next part) stores
    nothing new but the files it carries.
    """
    if instance.problems:
        return Received(
            422,
            "; ".join(f"{p['path']}: {p['message']}" for p in instance.problems[:5]),
            "response.invalid",
            errors=instance.problems,
        )
    if instance.deprecated_id:
        try:
            earlier = responses.get_response(session, instance.deprecated_id, user)
        except NotFound:
            earlier = None
        if earlier is not None:
            try:
                revised, _ = responses.revise_response(
                    session,
                    instance.deprecated_id,
                    instance.answers,
                    f"edited on a device as {instance.instance_id}",
                    user,
                    language=language,
                )
            except Unprocessable as exc:
                return Received(422, _summary(exc.errors), exc.code, errors=exc.errors)
            _store_files(session, revised.id, uploads, store)
            return Received(201, "Edit received.", response=revised)
    submission = responses.Submission(
        instance_id=instance.instance_id,
        answers=instance.answers,
        version=instance.version,
        language=language,
        meta=dict(instance.meta),
    )
    (result,) = responses.submit_responses(session, instance.form_id, [submission], user)
    if result.status not in (200, 201):
        return Received(
            result.status,
            _summary(result.errors) or result.detail or "Refused.",
            result.code,
            errors=result.errors,
        )
    record = result.response
    response_id = record["id"] if isinstance(record, dict) else getattr(record, "id", None)
    if response_id is None:  # a single submission always comes back with its record
        raise RuntimeError("stored response without a record")
    _store_files(session, response_id, uploads, store)
    message = "Household received." if result.status == 201 else "Already received."
    return Received(201, message)


def _summary(errors: Sequence[dict[str, Any]] | None) -> str:
    """The first errors as one line a phone can show."""
    if not errors:
        return ""
    shown = [f"{e.get('path') or 'form'}: {e.get('message')}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(shown) + more


def _store_files(
    session: Session, response_id: int, uploads: Sequence[Upload], store: AttachmentStore
) -> None:
    """Store each file once by content hash; a file resent under the same name is kept once."""
    if not uploads:
        return
    rows = []
    for upload in uploads:
        key = content_key(upload.data)
        store.put(key, upload.data)
        rows.append(
            {
                "response_id": response_id,
                "filename": upload.filename,
                "content_hash": key,
                "size": len(upload.data),
                "media_type": upload.media_type,
            }
        )
    insert_for = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert_for(Attachment).on_conflict_do_nothing(index_elements=["response_id", "filename"]),
        rows,
    )


def attachments_of(session: Session, response_id: int) -> Sequence[Attachment]:
    return session.scalars(
        select(Attachment).where(Attachment.response_id == response_id).order_by(Attachment.id)
    ).all()
