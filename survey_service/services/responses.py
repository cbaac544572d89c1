"""Response intake and reading: validated, idempotent submissions, revisions and review."""

from __future__ import annotations

import base64
import binascii
import enum
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from survey_service import error_codes
from survey_service.codes import DESIGN_ROLES, TAGS
from survey_service.db import utcnow
from survey_service.errors import (
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    Unprocessable,
    invalid_request,
)
from survey_service.instance_ids import normalize_instance_id
from survey_service.jsonutil import (
    MAX_CLIENT_DEPTH,
    content_digest,
    nested_deeper,
)
from survey_service.media import plausible_answer_file
from survey_service.models import (
    Principal,
    QuestionnaireStatus,
    Response,
    ResponseRevision,
    ReviewEvent,
    ReviewState,
    Role,
)
from survey_service.queries import attachments as attachment_queries
from survey_service.queries import questionnaires as questionnaire_queries
from survey_service.queries import responses as queries
from survey_service.queries.responses import ResponseFilter
from survey_service.questionnaire.definition import Definition
from survey_service.services import form_media
from survey_service.services.questionnaires import get_questionnaire
from survey_service.services.versions import published_version
from survey_service.storage import AttachmentStore, content_key
from survey_service.validation.files import MediaAnswer, file_problems, media_answers


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
        error_codes.RESPONSE_INVALID,
        "The response is not valid.",
        errors=[
            FieldError(
                path,
                error_codes.RESPONSE_INVALID_TYPE,
                "an ISO 8601 date-time with a UTC offset is expected",
            ).as_dict()
        ],
    )


# The answers that say when the interview happened, best first: ODK's `start` is when the
# form was opened (the interview's start), `end` when it was last saved, `today` only a day.
_COLLECTION_TIME_TYPES = ("start", "end", "today")


def _collection_time(
    questions: Iterable[Any], answers: Any, started: datetime | None, ended: datetime | None
) -> datetime | None:
    """When the response was collected: meta.started_at, else the top-level `start` answer,
    else meta.ended_at, else `end`, else `today` at 00:00 UTC; None when nothing says."""
    if started is not None:
        return started
    found: dict[str, datetime] = {}
    if isinstance(answers, Mapping):
        for question in questions:
            value = answers.get(question.name)
            if question.type in _COLLECTION_TIME_TYPES and isinstance(value, str) and value:
                moment = _answer_time(value)
                if moment is not None:
                    found.setdefault(question.type, moment)
    return found.get("start") or ended or found.get("end") or found.get("today")


def _answer_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # a `today` date: its midnight in UTC
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass
class Submission:
    """One response as a client sends it."""

    instance_id: Any
    answers: Any
    version: int | None = None
    language: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)


#: Chooses, among the languages a questionnaire version offers, the one its messages come in
#: when a submission names none: the JSON API passes the best match of the client's
#: `Accept-Language` (None: the questionnaire's default language).
LanguageChooser = Callable[[Iterable[str]], str | None]

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


class Outcome(enum.Enum):
    """What became of one submission."""

    STORED = "stored"  # new: stored now
    IDENTICAL_RESEND = "identical_resend"  # stored before with the same content
    REVISED = "revised"  # an edit, stored as the next revision of an earlier response
    NOT_FOUND = "not_found"  # an edit of a response that is not stored (or not visible)
    CONFLICT = "conflict"  # stored before with different content
    VERSION_NOT_FOUND = "version_not_found"  # the questionnaire has no such version
    INVALID = "invalid"  # not a valid response; nothing stored
    FORBIDDEN = "forbidden"  # outside the countries of the account

    @property
    def accepted(self) -> bool:
        """Whether the submission is stored (now or before)."""
        return self in (Outcome.STORED, Outcome.IDENTICAL_RESEND, Outcome.REVISED)


@dataclass
class SubmitResult:
    """What became of one submission, with the stored record or the problem's details."""

    instance_id: str
    outcome: Outcome
    response: Response | dict[str, Any] | None = None  # a new one as its stored row
    code: str | None = None
    detail: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def _forbidden_country(user: Principal, country: str | None) -> dict[str, Any]:
    return FieldError(
        "answers",
        error_codes.RESPONSE_COUNTRY_FORBIDDEN,
        f"{user.name!r} may submit for {', '.join(user.countries)}, "
        f"not for {country or 'a response without a country'}",
    ).as_dict()


@dataclass
class _Prepared:
    index: int
    instance_id: str
    row: dict[str, Any]
    units: list[dict[str, Any]]  # response_units rows, without the response's id yet


def submit_responses(
    session: Session,
    qid: str,
    submissions: Sequence[Submission],
    user: Principal,
    *,
    now: datetime | None = None,
    choose_language: LanguageChooser | None = None,
    files: Mapping[str, bytes] | None = None,
    max_file_bytes: int | None = None,
    media_store: AttachmentStore | None = None,
) -> list[SubmitResult]:
    """Validate and store each submission on its own; identical resends are not stored again.

    `files` (by name), when given, are the files sent with a single submission: each media
    answer must name one of them, of a plausible kind for its question and at most
    `max_file_bytes` long, and each must be named by a media answer (`check_files`); the
    caller stores them (`store_files`) once the response is accepted. `media_store` holds
    the versions' media files: select questions with a `choices_file` take their choices
    from it (without it, no answer of theirs is accepted).

    Every item gets a result in request order. A good household is never held back by a
    bad one; nothing of a rejected one is stored. A submission that names no `language` has
    its messages in the language `choose_language` picks among its version's languages (else
    the questionnaire's default); its stored `language` stays unset.
    """
    now = now or utcnow()
    rows = questionnaire_queries.intake_versions(session, qid)
    if not rows:
        raise NotFound(error_codes.QUESTIONNAIRE_NOT_FOUND, f"No questionnaire {qid!r}.")
    status = rows[0][0]
    versions = {
        number: _VersionRef(version_id, number, digest)
        for _, number, version_id, digest in rows
        if number
    }
    if status == QuestionnaireStatus.CLOSED.value:
        raise Conflict(
            error_codes.QUESTIONNAIRE_CLOSED, f"Questionnaire {qid!r} accepts no responses."
        )
    if not versions:
        raise Conflict(
            error_codes.QUESTIONNAIRE_UNPUBLISHED, f"Questionnaire {qid!r} has no version yet."
        )
    results: list[SubmitResult | None] = [None] * len(submissions)
    prepared: dict[str, _Prepared] = {}
    latest = max(versions)
    for index, submission in enumerate(submissions):
        outcome = _prepare(
            session,
            submission,
            qid,
            latest,
            versions,
            user,
            now,
            choose_language,
            None if files is None else (files, max_file_bytes),
            media_store,
        )
        if isinstance(outcome, SubmitResult):
            results[index] = outcome
            continue
        outcome.index = index
        twin = prepared.get(outcome.instance_id)
        if twin is not None:  # the same instance twice in one batch
            same = twin.row["content_hash"] == outcome.row["content_hash"]
            results[index] = (
                SubmitResult(outcome.instance_id, Outcome.IDENTICAL_RESEND)
                if same
                else _conflict(outcome.instance_id)
            )
            continue
        prepared[outcome.instance_id] = outcome

    # new instances are the common case: insert first, read back only what was there
    inserted = queries.insert_new(session, [p.row for p in prepared.values()])
    queries.insert_units(
        session,
        [
            {"response_id": inserted[item.instance_id], **unit}
            for item in prepared.values()
            if item.instance_id in inserted
            for unit in item.units
        ],
    )
    stored = queries.by_instance_ids(session, [key for key in prepared if key not in inserted])
    for item in prepared.values():
        if item.instance_id in inserted:
            record = {"id": inserted[item.instance_id], **item.row}
            results[item.index] = SubmitResult(item.instance_id, Outcome.STORED, record)
            continue
        existing = stored[item.instance_id]
        results[item.index] = (
            SubmitResult(item.instance_id, Outcome.IDENTICAL_RESEND, existing)
            if existing.content_hash == item.row["content_hash"]
            else _conflict(item.instance_id)
        )
    return [r for r in results if r is not None]


def _conflict(instance_id: str) -> SubmitResult:
    return SubmitResult(
        instance_id,
        Outcome.CONFLICT,
        code=error_codes.RESPONSE_CONFLICT,
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
    choose_language: LanguageChooser | None,
    files: tuple[Mapping[str, bytes], int | None] | None = None,
    media_store: AttachmentStore | None = None,
) -> _Prepared | SubmitResult:
    raw_id = submission.instance_id
    try:
        instance_id = normalize_instance_id(raw_id)
        number = submission.version or latest
        version = versions.get(number)
        if version is None:
            return SubmitResult(
                instance_id,
                Outcome.VERSION_NOT_FOUND,
                code=error_codes.QUESTIONNAIRE_VERSION_NOT_FOUND,
                detail=f"Questionnaire {qid!r} has no version {number}.",
            )
        meta = dict(submission.meta or {})
        started = _parse_time(meta.get("started_at"), "meta.started_at")
        ended = _parse_time(meta.get("ended_at"), "meta.ended_at")
    except Unprocessable as exc:
        return SubmitResult(
            str(raw_id), Outcome.INVALID, code=exc.code, detail=exc.detail, errors=exc.errors or []
        )
    compiled = published_version(session, version.id, version.content_hash)
    language = submission.language
    if language is None and choose_language is not None:
        language = choose_language(compiled.definition.languages)
    validator = compiled.validator
    if media_store is not None:
        store = media_store
        validator = compiled.file_validator(
            lambda name: _csv_rows(session, store, qid, version.version, name)
        )
    validated = validator.validate(submission.answers, language=language, now=now)
    if not validated.ok:
        return SubmitResult(
            instance_id,
            Outcome.INVALID,
            code=error_codes.RESPONSE_INVALID,
            detail=f"{len(validated.errors)} answer(s) failed validation; nothing was stored.",
            errors=[e.as_dict() for e in validated.errors],
        )
    if files is not None:
        refused = check_files(
            compiled.definition, validated.answers, files[0], max_bytes=files[1], unreferenced=True
        )
        if refused is not None:
            return SubmitResult(
                instance_id,
                Outcome.INVALID,
                code=refused.code,
                detail=refused.detail,
                errors=refused.errors or [],
            )
    country = validated.tags.get("country")
    if not user.may_work_on(country):
        return SubmitResult(
            instance_id,
            Outcome.FORBIDDEN,
            code=error_codes.RESPONSE_COUNTRY_FORBIDDEN,
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
        "collected_at": _collection_time(
            compiled.definition.questions, validated.answers, started, ended
        ),
        "received_at": now,
        "updated_at": now,
        "submitted_by": user.id,
        "num": projection.num,
        "cat": projection.cat,
    }
    return _Prepared(-1, instance_id, row, list(projection.unit_rows()))


# --------------------------------------------------------------------------------------------
# Files


def _csv_rows(
    session: Session, store: AttachmentStore, qid: str, version: int, filename: str
) -> Sequence[Mapping[str, str]] | None:
    """The rows of a CSV file of a published version; None when it has no such file."""
    try:
        return form_media.media_csv_rows(session, store, qid, version, filename)
    except (NotFound, Unprocessable):
        return None


@dataclass(frozen=True)
class Upload:
    """A file sent with a response (a multipart part)."""

    filename: str
    data: bytes
    media_type: str


def check_files(
    definition: Definition,
    answers: Any,
    files: Mapping[str, bytes],
    *,
    max_bytes: int | None = None,
    complete: bool = True,
    unreferenced: bool = False,
    extra: Sequence[MediaAnswer] = (),
) -> Unprocessable | None:
    """The refusal (not raised) of a response's files, None when they are fine.

    With `unreferenced`, a file that no media answer names refuses the response first
    (`response.unreferenced_file`, listing them). Then each media answer (and each of
    `extra`, such as the OpenRosa meta/audit) must name a file of `files` that is plausible
    for its question (`response.missing_file`, `response.invalid_file` at its path); an
    incomplete (split) submission is not refused for files still to come.
    """
    media = media_answers(definition, answers) + list(extra)
    if unreferenced:
        named = {m.filename for m in media}
        stray = [name for name in files if name not in named]
        if stray:
            return Unprocessable(
                error_codes.RESPONSE_UNREFERENCED_FILE,
                f"No media answer names the file(s) {', '.join(map(repr, stray[:10]))}: "
                "nothing was stored.",
                errors=[
                    FieldError(
                        name, error_codes.RESPONSE_UNREFERENCED_FILE, "no answer names this file"
                    ).as_dict()
                    for name in stray
                ],
            )
    if not complete:
        media = [m for m in media if m.filename in files]
    problems = file_problems(media, files, plausible_answer_file, max_bytes=max_bytes)
    if not problems:
        return None
    codes = {p.code for p in problems}
    return Unprocessable(
        codes.pop() if len(codes) == 1 else error_codes.RESPONSE_INVALID,
        f"{len(problems)} file(s) of the response are missing or invalid; nothing was stored.",
        errors=[p.as_dict() for p in problems],
    )


def stored_files(
    session: Session, response_id: int, store: AttachmentStore, names: Iterable[str]
) -> dict[str, bytes]:
    """The files among `names` stored with a response before (read back from the store)."""
    wanted = set(names)
    files = {}
    for row in attachment_queries.of_response(session, response_id):
        if row.filename not in wanted:
            continue
        with store.open(row.content_hash) as stream:
            files[row.filename] = stream.read()
    return files


def store_files(
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
    attachment_queries.insert_new(session, rows)


# --------------------------------------------------------------------------------------------
# Reading


def get_response(session: Session, instance_id: str, user: Principal) -> Response:
    """A response the user may see; 404 otherwise (so its existence does not leak)."""
    try:
        key = normalize_instance_id(instance_id)
    except Unprocessable:
        key = None
    response = queries.visible_response(session, key, user) if key else None
    if response is None:
        raise NotFound(error_codes.RESPONSE_NOT_FOUND, f"No response {instance_id!r}.")
    return response


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"r{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith("r") and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadRequest(
        error_codes.REQUEST_INVALID_CURSOR, "The cursor is not one this service issued."
    )


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
    after = decode_cursor(cursor) if cursor else None
    rows = queries.listing(session, qid, user, filters, after=after, limit=limit + 1)
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return page, next_cursor


# --------------------------------------------------------------------------------------------
# Revisions and review


def _check_editor(user: Principal, response: Response) -> None:
    if user.role == Role.ENUMERATOR.value and response.submitted_by != user.id:
        raise Forbidden(
            error_codes.AUTH_FORBIDDEN, "Enumerators may revise only their own responses."
        )


def revise_response(
    session: Session,
    instance_id: str,
    answers: Any,
    reason: str,
    user: Principal,
    *,
    language: str | None = None,
    device_instance_id: str | None = None,
    now: datetime | None = None,
    media_store: AttachmentStore | None = None,
) -> tuple[Response, bool]:
    """Store new answers as the next revision; returns (response, whether a revision was made).

    The answers are validated against the response's own questionnaire version, exactly as
    a new submission. Identical answers make no new revision (a retried PUT is harmless),
    except for a device's edit (`device_instance_id`, canonical): its id is recorded on the revision
    it becomes, even one that changes no answer, so that its own edit later finds the
    household.
    """
    now = now or utcnow()
    response = get_response(session, instance_id, user)
    _check_editor(user, response)
    if not reason.strip():
        raise Unprocessable(
            error_codes.RESPONSE_INVALID,
            "A revision needs a reason.",
            errors=[FieldError("reason", error_codes.RESPONSE_REQUIRED, "required").as_dict()],
        )
    language = language or response.language
    version_hash = questionnaire_queries.version_hash(session, response.version_id)
    compiled = published_version(session, response.version_id, version_hash or "")
    validator = compiled.validator
    if media_store is not None:
        store, qid, number = media_store, response.questionnaire_id, response.version
        validator = compiled.file_validator(
            lambda name: _csv_rows(session, store, qid, number, name)
        )
    validated = validator.validate(answers, language=language, now=now)
    if not validated.ok:
        raise Unprocessable(
            error_codes.RESPONSE_INVALID,
            f"{len(validated.errors)} answer(s) failed validation; nothing was stored.",
            errors=[e.as_dict() for e in validated.errors],
        )
    country = validated.tags.get("country")
    if not user.may_work_on(country):
        raise Forbidden(
            error_codes.RESPONSE_COUNTRY_FORBIDDEN,
            "The revised country is outside the countries of this account.",
            errors=[_forbidden_country(user, country)],
        )
    new_hash = content_digest({"version": response.version, "answers": answers})
    if device_instance_id is None and new_hash == _current_hash(session, response):
        return response, False
    if response.revision == 1:
        session.add(_original_revision(response))
    response.revision += 1
    response.answers = validated.answers
    response.warnings = [w.as_dict() for w in validated.warnings]
    response.language = language
    for tag in TAGS:
        setattr(response, tag, validated.tags.get(tag))
    for name in DESIGN_ROLES:
        setattr(response, name, validated.design.get(name))
    projection = compiled.projector.project(validated.answers)
    response.num, response.cat = projection.num, projection.cat
    queries.delete_units(session, response.id)
    queries.insert_units(
        session, [{"response_id": response.id, **r} for r in projection.unit_rows()]
    )
    response.updated_at = now
    session.add(
        ResponseRevision(
            response_id=response.id,
            revision=response.revision,
            version=response.version,
            content_hash=new_hash,
            instance_id=device_instance_id,
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
    return queries.revision_hash(session, response.id, response.revision)


def list_revisions(
    session: Session, instance_id: str, user: Principal
) -> Sequence[ResponseRevision]:
    """Every revision, the original submission first."""
    response = get_response(session, instance_id, user)
    if response.revision == 1:
        return [_original_revision(response)]
    return queries.revisions_of(session, response.id)


def get_revision(
    session: Session, instance_id: str, revision: int, user: Principal
) -> ResponseRevision:
    for found in list_revisions(session, instance_id, user):
        if found.revision == revision:
            return found
    raise NotFound(error_codes.RESPONSE_REVISION_NOT_FOUND, f"No revision {revision}.")


def review_response(
    session: Session, instance_id: str, state: str, comment: str | None, user: Principal
) -> Response:
    """Set the review state; every change is kept as a review event."""
    if state not in {s.value for s in ReviewState}:
        raise Unprocessable(
            error_codes.RESPONSE_INVALID_REVIEW_STATE,
            "Unknown review state.",
            errors=[
                FieldError(
                    "state",
                    error_codes.RESPONSE_INVALID_REVIEW_STATE,
                    f"one of {', '.join(s.value for s in ReviewState)}",
                ).as_dict()
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
    return queries.reviews_of(session, response.id)
