"""Form media use cases: attach files to a draft, read those of a version, its CSV tables.

A draft's files change freely (each change is an edit of the draft: it locks the
questionnaire as `update_draft` does); publishing copies them into the new version
(`queries.form_media.freeze_draft`, called by `services.questionnaires.publish`), whose files
never change afterwards. The bytes live in the attachment store under their SHA-256, so a
file kept by several versions, or also sent as a response's attachment, is stored once. What
is accepted is decided by `survey_service.media`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.orm import Session

from survey_service import error_codes
from survey_service.db import utcnow
from survey_service.errors import NotFound, Unprocessable
from survey_service.media import MediaError, check_content, check_filename, extension, read_csv
from survey_service.models import FormMedia, Principal
from survey_service.queries import form_media as queries
from survey_service.services.questionnaires import get_questionnaire, get_version
from survey_service.storage import AttachmentStore


def _refused(exc: MediaError) -> Unprocessable:
    extra = {"problem_count": exc.problem_count} if exc.problems else None
    errors = [p.as_dict() for p in exc.problems] if exc.problems else None
    return Unprocessable(exc.code, exc.message, errors=errors, extra=extra)


def _not_found(filename: str, where: str) -> NotFound:
    return NotFound(error_codes.MEDIA_NOT_FOUND, f"No media file {filename!r} on {where}.")


@dataclass(frozen=True)
class PutOutcome:
    """The file stored, and whether it is new to the draft (else it replaced one)."""

    media: FormMedia
    created: bool


def put_draft_media(
    session: Session,
    store: AttachmentStore,
    qid: str,
    filename: str,
    data: bytes,
    user: Principal | None,
) -> PutOutcome:
    """Check a file and keep it on the draft of `qid` under `filename`, replacing any of that
    name. The blob is written before the row: a transaction rolled back leaves only an
    unreferenced blob, never a row without its bytes."""
    try:  # before the lock: reading a large table takes a while
        media_type = check_filename(filename)
        check_content(filename, data)
    except MediaError as exc:
        raise _refused(exc) from exc
    questionnaire = get_questionnaire(session, qid, for_update=True)
    sha256 = hashlib.sha256(data).hexdigest()
    store.put(sha256, data)
    media = queries.media_file(session, qid, None, filename)
    created = media is None
    if media is None:
        media = FormMedia(questionnaire_id=qid, version=None, filename=filename)
        session.add(media)
    media.media_type = media_type
    media.size = len(data)
    media.md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    media.sha256 = sha256
    media.updated_at = questionnaire.updated_at = utcnow()
    media.updated_by = questionnaire.updated_by = user.id if user else None
    session.flush()
    return PutOutcome(media, created)


def delete_draft_media(session: Session, qid: str, filename: str, user: Principal | None) -> None:
    """Remove a file from the draft of `qid` (the versions that have it keep it)."""
    questionnaire = get_questionnaire(session, qid, for_update=True)
    if not queries.delete_draft_file(session, qid, filename):
        raise _not_found(filename, f"the draft of {qid!r}")
    questionnaire.updated_at = utcnow()
    questionnaire.updated_by = user.id if user else None
    session.flush()


def list_draft_media(session: Session, qid: str) -> Sequence[FormMedia]:
    """The files of the draft of `qid`, by name."""
    get_questionnaire(session, qid)
    return queries.media_files(session, qid, None)


def list_version_media(session: Session, qid: str, version: int) -> Sequence[FormMedia]:
    """The files of a published version of `qid`, by name."""
    get_version(session, qid, version)
    return queries.media_files(session, qid, version)


def draft_media_file(session: Session, qid: str, filename: str) -> FormMedia:
    """The file `filename` of the draft of `qid`."""
    media = queries.media_file(session, qid, None, filename)
    if media is None:
        get_questionnaire(session, qid)
        raise _not_found(filename, f"the draft of {qid!r}")
    return media


def version_media_file(session: Session, qid: str, version: int, filename: str) -> FormMedia:
    """The file `filename` of a published version of `qid`."""
    media = queries.media_file(session, qid, version, filename)
    if media is None:
        get_version(session, qid, version)
        raise _not_found(filename, f"version {version} of {qid!r}")
    return media


def open_media(store: AttachmentStore, media: FormMedia) -> BinaryIO:
    """The bytes of a file, as a stream (the caller closes it)."""
    return store.open(media.sha256)


# --------------------------------------------------------------------------- CSV tables

_CSV_CACHE_SIZE = 32
_csv_cache: dict[str, Sequence[Mapping[str, str]]] = {}
_csv_lock = threading.Lock()


def media_csv_rows(
    session: Session, store: AttachmentStore, qid: str, version: int, filename: str
) -> Sequence[Mapping[str, str]]:
    """The rows of a CSV file of a published version, each by column name, for
    `select_one_from_file` and `pulldata`: read-only, shared, parsed once per process.

    Kept by the file's SHA-256 (a version's files never change, and the same table in several
    versions is read once); the 32 most recently read tables are kept. NotFound
    (`media.not_found`) when the version has no such file, Unprocessable
    (`media.unsupported_type`) when it is not a CSV file.
    """
    media = version_media_file(session, qid, version, filename)
    if extension(filename) != "csv":
        raise Unprocessable(error_codes.MEDIA_UNSUPPORTED_TYPE, f"{filename!r} is not a CSV file.")
    with _csv_lock:
        rows = _csv_cache.pop(media.sha256, None)
        if rows is not None:
            _csv_cache[media.sha256] = rows  # now the most recent
            return rows
    with store.open(media.sha256) as blob:
        data = blob.read()
    try:
        rows = tuple(read_csv(data))  # checked on upload; a store's bytes may still surprise
    except MediaError as exc:
        raise _refused(exc) from exc
    with _csv_lock:
        while len(_csv_cache) >= _CSV_CACHE_SIZE:
            _csv_cache.pop(next(iter(_csv_cache)))
        _csv_cache[media.sha256] = rows
    return rows
