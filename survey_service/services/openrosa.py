"""OpenRosa use cases: the forms a client may fill, their XForms, and submissions with files."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from survey_service import error_codes
from survey_service.errors import NotFound, Unprocessable
from survey_service.instance_ids import normalize_instance_id
from survey_service.jsonutil import content_digest
from survey_service.models import Principal, Response, ResponseRevision
from survey_service.openrosa.xml import Instance, phone_path
from survey_service.queries import questionnaires as questionnaire_queries
from survey_service.queries import responses as response_queries
from survey_service.questionnaire.definition import Definition
from survey_service.services import responses
from survey_service.services.responses import Outcome, SubmitResult, store_files
from survey_service.services.responses import Upload as Upload  # re-exported for the views
from survey_service.services.versions import XForm, published_version
from survey_service.storage import AttachmentStore
from survey_service.validation.files import MediaAnswer, media_answers


@dataclass(frozen=True)
class PublishedForm:
    """A questionnaire a client can download: its latest published version."""

    qid: str
    title: str
    version: int
    version_id: int


def published_forms(session: Session) -> list[PublishedForm]:
    """Open questionnaires with a published version, latest version each."""
    forms = []
    for qid, version, key, digest in questionnaire_queries.open_latest_versions(session):
        definition = published_version(session, key, digest).definition
        title = definition.raw["title"].get(definition.default_language, qid)
        forms.append(PublishedForm(qid, title, version, key))
    return forms


def published_definition(session: Session, qid: str, version: int | None) -> Definition | None:
    """The definition of version `version` of `qid` (the latest when None), if published."""
    ref = questionnaire_queries.version_ref(session, qid, version)
    return published_version(session, *ref).definition if ref is not None else None


def xform_for(session: Session, qid: str, version: int) -> XForm:
    """The XForm of a published version and its OpenRosa hash (built once per process)."""
    ref = questionnaire_queries.version_ref(session, qid, version)
    if ref is None:
        raise NotFound(
            error_codes.QUESTIONNAIRE_VERSION_NOT_FOUND,
            f"Questionnaire {qid!r} has no version {version}.",
        )
    return published_version(session, *ref).xform


def receive(
    session: Session,
    instance: Instance,
    user: Principal,
    uploads: Sequence[Upload],
    store: AttachmentStore,
    *,
    language: str | None,
    definition: Definition | None = None,
    complete: bool = True,
    max_file_bytes: int | None = None,
) -> SubmitResult:
    """Validate and store a parsed instance exactly as the JSON API would, then its files.

    A file that no element of the instance names (its `attachments`) refuses the whole
    submission before anything is stored: each part of a split submission carries the whole
    instance, so a file of any part is checked against every answer. An instance with
    `deprecatedID` is an edit: it becomes the next revision of the household whose current
    revision that id names (the original's instanceID, or its latest edit's, so an edit of
    an edit continues the same household); an id the sender cannot see is refused (not
    found), and so is an edit of a revision that another edit has replaced since (conflict).
    A resend of the same instance or edit (or of a split submission's next part) stores
    nothing new but the files it carries. A refused instance's `detail` says why in a line a
    phone can show, each failing answer named by its labels in `language` (`definition`:
    the instance's questionnaire).

    Each media answer (and meta/audit) must name a file that arrived with the instance, in
    this part or an earlier one of the same instance, of a plausible kind for its question
    (`responses.check_files`); a part marked incomplete (`complete` false, Collect's
    `*isIncomplete*`) is not refused for files that are still to come.
    """
    words = functools.partial(_summary, definition=definition, language=language)
    unreferenced = _unreferenced_files(instance, uploads)
    if unreferenced:
        return SubmitResult(
            instance.instance_id,
            Outcome.INVALID,
            code=error_codes.OPENROSA_UNREFERENCED_ATTACHMENT,
            detail=_unreferenced_detail(unreferenced),
        )
    if instance.problems:
        return SubmitResult(
            instance.instance_id,
            Outcome.INVALID,
            code=error_codes.RESPONSE_INVALID,
            detail=words(instance.problems),
            errors=list(instance.problems),
        )
    try:
        instance_id = normalize_instance_id(instance.instance_id)
        deprecated_id = (
            normalize_instance_id(instance.deprecated_id) if instance.deprecated_id else None
        )
    except Unprocessable as exc:
        return SubmitResult(
            instance.instance_id,
            Outcome.INVALID,
            code=exc.code,
            detail="meta/instanceID and meta/deprecatedID must be UUIDs ('uuid:...'): "
            "nothing was stored.",
            errors=exc.errors or [],
        )
    files = _FileCheck(definition, instance, uploads, store, complete, max_file_bytes)
    edited = response_queries.revision_by_instance_id(session, instance_id)
    if edited is not None:  # an edit sent before: its reply was lost, or a split submission
        refused = files.refusal(session, edited.response_id, words)
        if refused is not None:
            return refused
        return _edit_resent(session, edited, instance, uploads, store)
    if deprecated_id is not None:
        return _edit(
            session, instance, instance_id, deprecated_id, user, files, store, words, language
        )
    # a later part of a split submission: the files of earlier parts count
    earlier = response_queries.by_instance_ids(session, [instance_id]).get(instance_id)
    refused = files.refusal(session, earlier.id if earlier is not None else None, words)
    if refused is not None:
        return refused
    submission = responses.Submission(
        instance_id=instance.instance_id,
        answers=instance.answers,
        version=instance.version,
        language=language,
        meta=dict(instance.meta),
    )
    (result,) = responses.submit_responses(
        session, instance.form_id, [submission], user, media_store=store
    )
    if result.outcome is Outcome.CONFLICT:
        result.detail = _conflict_detail(instance_id)
        return result
    if not result.outcome.accepted:
        result.detail = words(result.errors) or result.detail or "Refused."
        return result
    record = result.response
    response_id = record["id"] if isinstance(record, dict) else getattr(record, "id", None)
    if response_id is None:  # a single submission always comes back with its record
        raise RuntimeError("stored response without a record")
    store_files(session, response_id, uploads, store)
    return result


def _edit(
    session: Session,
    instance: Instance,
    instance_id: str,
    deprecated_id: str,
    user: Principal,
    files: _FileCheck,
    store: AttachmentStore,
    words: Callable[[Sequence[dict[str, Any]] | None], str],
    language: str | None,
) -> SubmitResult:
    """An edit: the next revision of the household whose current instance id is
    `deprecated_id` (its original's, or the id of its latest edit)."""
    try:
        earlier = responses.get_response(session, deprecated_id, user)
    except NotFound:
        return SubmitResult(
            instance_id,
            Outcome.NOT_FOUND,
            code=error_codes.OPENROSA_UNKNOWN_DEPRECATED_ID,
            detail=f"This is an edit of form data uuid:{deprecated_id}, which this server "
            "has not received from this account: nothing was stored. Send the original "
            "form first, or ask your supervisor.",
        )
    uploads = files.uploads
    refused = files.refusal(session, earlier.id, words)
    if refused is not None:
        return refused
    if _revision_named(session, earlier, deprecated_id) != earlier.revision:
        return SubmitResult(
            instance_id,
            Outcome.CONFLICT,
            code=error_codes.OPENROSA_STALE_EDIT,
            detail="This household was edited since this copy was made (the server holds "
            f"revision {earlier.revision}): nothing was stored. Ask your supervisor to "
            "make the change.",
        )
    try:
        revised, _ = responses.revise_response(
            session,
            earlier.instance_id,
            instance.answers,
            f"edited on a device as uuid:{instance_id}",
            user,
            language=language,
            device_instance_id=instance_id,
            media_store=store,
        )
    except Unprocessable as exc:
        return SubmitResult(
            instance_id,
            Outcome.INVALID,
            code=exc.code,
            detail=words(exc.errors),
            errors=exc.errors or [],
        )
    store_files(session, revised.id, uploads, store)
    return SubmitResult(instance_id, Outcome.REVISED, revised)


@dataclass(frozen=True)
class _FileCheck:
    """What checking an instance's media answers against its files needs."""

    definition: Definition | None
    instance: Instance
    uploads: Sequence[Upload]
    store: AttachmentStore
    complete: bool
    max_bytes: int | None

    def refusal(
        self,
        session: Session,
        response_id: int | None,
        words: Callable[[Sequence[dict[str, Any]] | None], str],
    ) -> SubmitResult | None:
        """The refusal of files missing or implausible, counting those stored before with
        `response_id` (an earlier part of the same instance, or the edited response)."""
        if self.definition is None:
            return None
        audit = self.instance.meta.get("audit")
        extra = [MediaAnswer("meta.audit", "audit", audit)] if audit else []
        named = [m.filename for m in media_answers(self.definition, self.instance.answers)]
        files = (
            responses.stored_files(
                session, response_id, self.store, [*named, *(m.filename for m in extra)]
            )
            if response_id is not None
            else {}
        )
        files.update((u.filename, u.data) for u in self.uploads)
        refused = responses.check_files(
            self.definition,
            self.instance.answers,
            files,
            max_bytes=self.max_bytes,
            complete=self.complete,
            extra=extra,
        )
        if refused is None:
            return None
        return SubmitResult(
            self.instance.instance_id,
            Outcome.INVALID,
            code=refused.code,
            detail=words(refused.errors),
            errors=refused.errors or [],
        )


def _revision_named(session: Session, response: Response, instance_id: str) -> int | None:
    """The revision of `response` that `instance_id` names: 1 for its original."""
    if instance_id == response.instance_id:
        return 1
    revision = response_queries.revision_by_instance_id(session, instance_id)
    return revision.revision if revision is not None else None


def _edit_resent(
    session: Session,
    revision: ResponseRevision,
    instance: Instance,
    uploads: Sequence[Upload],
    store: AttachmentStore,
) -> SubmitResult:
    """An edit whose instance id is stored: the same content stores nothing new (but the
    files a split submission brings), even after later edits; other content conflicts."""
    digest = content_digest({"version": revision.version, "answers": instance.answers})
    if digest != revision.content_hash:
        return SubmitResult(
            revision.instance_id or "",
            Outcome.CONFLICT,
            code=error_codes.RESPONSE_CONFLICT,
            detail=_conflict_detail(revision.instance_id or ""),
        )
    store_files(session, revision.response_id, uploads, store)
    return SubmitResult(revision.instance_id or "", Outcome.IDENTICAL_RESEND)


def _conflict_detail(instance_id: str) -> str:
    """The refusal of an instance id already stored with other answers, for a phone."""
    return (
        f"Different form data with the same instanceID (uuid:{instance_id}) was received "
        "already: nothing was stored. Ask your supervisor."
    )


def _unreferenced_files(instance: Instance, uploads: Sequence[Upload]) -> list[str]:
    """The names of the uploaded files that no element of the instance names, in order."""
    named = set(instance.attachments)
    return list(dict.fromkeys(u.filename for u in uploads if u.filename not in named))


def _unreferenced_detail(names: Sequence[str], shown: int = 3) -> str:
    """The refusal of unreferenced files as one line a phone can show, naming a few."""
    quoted = ", ".join(f"'{_shorten(name)}'" for name in names[:shown])
    more = f" (and {len(names) - shown} more)" if len(names) > shown else ""
    subject = f"The file {quoted} is" if len(names) == 1 else f"The files {quoted}{more} are"
    return f"{subject} named by no answer of the form data: nothing was stored."


def _shorten(text: str, limit: int = 60) -> str:
    """A sent file name cut to `limit` characters for a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(
    errors: Sequence[dict[str, Any]] | None,
    *,
    definition: Definition | None,
    language: str | None,
    shown: int = 5,
) -> str:
    """The first errors as one line a phone can show: each answer by its labels, counted
    from one (not the validator's JSON path), then the message."""
    if not errors:
        return ""
    lines = [
        f"{phone_path(str(e.get('path') or ''), definition, language)} — {e.get('message')}"
        for e in errors[:shown]
    ]
    more = f" (and {len(errors) - shown} more)" if len(errors) > shown else ""
    text = "; ".join(lines) + more
    return text + ("" if text.endswith(".") else ".") + " Nothing was stored."
