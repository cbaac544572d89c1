"""Questionnaire lifecycle: drafts, immutable published versions, closing and reopening."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from survey_service import error_codes
from survey_service.analysis.layout import AnalysisLayout
from survey_service.db import utcnow
from survey_service.errors import Conflict, FieldError, NotFound, Unprocessable
from survey_service.models import (
    Principal,
    Questionnaire,
    QuestionnaireStatus,
    QuestionnaireVersion,
)
from survey_service.queries import form_media as media_queries
from survey_service.queries import questionnaires as queries
from survey_service.questionnaire.definition import (
    Definition,
    DefinitionError,
    check_definition,
    content_hash,
    load_definition,
)
from survey_service.questionnaire.xform import xform_problems


def _invalid(problems: Sequence[FieldError]) -> Unprocessable:
    return Unprocessable(
        error_codes.DEFINITION_INVALID,
        f"The questionnaire definition has {len(problems)} problem(s).",
        errors=[p.as_dict() for p in problems],
    )


def _checked(definition: Any) -> dict[str, Any]:
    """The definition, when it passes the definition checks."""
    problems = check_definition(definition)
    if problems:
        raise _invalid(problems)
    assert isinstance(definition, dict)  # noqa: S101 - check_definition refuses non-objects
    return definition


def _require_xform(data: dict[str, Any]) -> None:
    """Refuse a checked definition pyxform cannot build an XForm from, as spreadsheets are:
    clients download the XForm of every published version.

    Kept apart from `_checked` because the build costs more than all the checks (a sixth of
    a second for the reference questionnaire): it runs once per stored draft, not on publish
    nor for a definition `load_file` finds unchanged.
    """
    problems = xform_problems(data)
    if problems:
        raise _invalid(problems)


def _loaded(definition: Any) -> Definition:
    """The typed tree of a definition that passes the definition checks (checked once)."""
    try:
        return load_definition(definition)
    except DefinitionError as exc:
        raise _invalid(exc.problems) from exc


def get_questionnaire(session: Session, qid: str, *, for_update: bool = False) -> Questionnaire:
    """The questionnaire `qid` (locked for the transaction when `for_update`)."""
    questionnaire = queries.questionnaire(session, qid, for_update=for_update)
    if questionnaire is None:
        raise NotFound(error_codes.QUESTIONNAIRE_NOT_FOUND, f"No questionnaire {qid!r}.")
    return questionnaire


def list_questionnaires(session: Session) -> Sequence[Questionnaire]:
    return queries.all_questionnaires(session)


def create_questionnaire(
    session: Session,
    definition: Any,
    user: Principal | None,
    *,
    warnings: Sequence[dict[str, str]] | None = None,
) -> Questionnaire:
    """Check a definition and store it as the draft of a new questionnaire, with the
    warnings of reading it from an XLSForm (None when it came as JSON)."""
    return _add_questionnaire(session, _checked(definition), user, warnings)


def _add_questionnaire(
    session: Session,
    data: dict[str, Any],
    user: Principal | None,
    warnings: Sequence[dict[str, str]] | None = None,
) -> Questionnaire:
    """Store a checked definition as a new questionnaire's draft, once its XForm builds."""
    qid = data["id"]
    if session.get(Questionnaire, qid) is not None:
        raise Conflict(
            error_codes.QUESTIONNAIRE_EXISTS,
            f"A questionnaire {qid!r} exists already; edit its draft with PUT .../draft.",
        )
    _require_xform(data)
    user_id = user.id if user else None
    questionnaire = Questionnaire(
        id=qid,
        status=QuestionnaireStatus.OPEN.value,
        draft=data,
        draft_hash=content_hash(data),
        draft_warnings=None if warnings is None else list(warnings),
        latest_version=0,
        created_by=user_id,
        updated_by=user_id,
    )
    session.add(questionnaire)
    session.flush()
    return questionnaire


def update_draft(
    session: Session,
    qid: str,
    definition: Any,
    user: Principal | None,
    *,
    warnings: Sequence[dict[str, str]] | None = None,
) -> Questionnaire:
    """Replace the draft of `qid` with a checked definition (its `id` must stay `qid`); the
    draft's warnings become `warnings` (those of its XLSForm; None clears them)."""
    questionnaire = get_questionnaire(session, qid, for_update=True)
    if isinstance(definition, dict) and definition.get("id", qid) != qid:
        raise Unprocessable(
            error_codes.DEFINITION_INVALID,
            "The definition's id differs from the questionnaire's.",
            errors=[
                FieldError(
                    "id", error_codes.DEFINITION_ID_MISMATCH, f"the id is {qid!r} and cannot change"
                ).as_dict()
            ],
        )
    return _replace_draft(session, questionnaire, _checked(definition), user, warnings)


def _replace_draft(
    session: Session,
    questionnaire: Questionnaire,
    data: dict[str, Any],
    user: Principal | None,
    warnings: Sequence[dict[str, str]] | None = None,
) -> Questionnaire:
    """Replace a questionnaire's draft with a checked definition, once its XForm builds."""
    _require_xform(data)
    questionnaire.draft = data
    questionnaire.draft_hash = content_hash(data)
    questionnaire.draft_warnings = None if warnings is None else list(warnings)
    questionnaire.updated_at = utcnow()
    questionnaire.updated_by = user.id if user else None
    session.flush()
    return questionnaire


def latest_version(session: Session, questionnaire: Questionnaire) -> QuestionnaireVersion | None:
    if questionnaire.latest_version == 0:
        return None
    return get_version(session, questionnaire.id, questionnaire.latest_version)


def publish(session: Session, qid: str, user: Principal | None) -> QuestionnaireVersion:
    """Publish the draft, with its media files, as the next immutable version; a draft whose
    definition and files are both those of the latest version is refused."""
    questionnaire = get_questionnaire(session, qid, for_update=True)
    current = latest_version(session, questionnaire)
    if (
        current is not None
        and current.content_hash == questionnaire.draft_hash
        and media_queries.contents(session, qid, None)
        == media_queries.contents(session, qid, current.version)
    ):
        raise Conflict(
            error_codes.QUESTIONNAIRE_UNCHANGED,
            f"The draft and its media files are identical to version {current.version}; "
            "edit them before publishing.",
        )
    # drafts are checked on save, but the checker may have grown stricter since
    definition = _loaded(questionnaire.draft)
    draft_files = {name for name, _ in media_queries.contents(session, qid, None)}
    # a pulldata() table may be missing: its calculations then keep the client's value
    missing = [name for name in definition.choices_files if name not in draft_files]
    if missing:
        raise Conflict(
            error_codes.QUESTIONNAIRE_MISSING_MEDIA,
            f"The definition takes choices from {', '.join(map(repr, missing))}, which the "
            "draft's media files lack: attach them before publishing.",
            errors=[
                FieldError("choices_file", error_codes.QUESTIONNAIRE_MISSING_MEDIA, name).as_dict()
                for name in missing
            ],
        )
    # the analysis slots of every earlier version stay where they are; new questions get more
    earlier = AnalysisLayout.from_json(current.analysis_layout if current is not None else None)
    layout = earlier.extended(definition)
    version = QuestionnaireVersion(
        questionnaire_id=qid,
        version=questionnaire.latest_version + 1,
        definition=questionnaire.draft,
        content_hash=questionnaire.draft_hash,
        analysis_layout=layout.to_json(),
        published_by=user.id if user else None,
    )
    session.add(version)
    questionnaire.latest_version = version.version
    session.flush()
    media_queries.freeze_draft(session, qid, version.version)
    return version


def list_versions(session: Session, qid: str) -> Sequence[QuestionnaireVersion]:
    get_questionnaire(session, qid)
    return queries.versions_of(session, qid)


def get_version(session: Session, qid: str, version: int) -> QuestionnaireVersion:
    found = queries.version(session, qid, version)
    if found is None:
        get_questionnaire(session, qid)
        raise NotFound(
            error_codes.QUESTIONNAIRE_VERSION_NOT_FOUND,
            f"Questionnaire {qid!r} has no version {version}.",
        )
    return found


def set_status(
    session: Session, qid: str, status: QuestionnaireStatus, user: Principal | None
) -> Questionnaire:
    """Close (stop accepting responses) or reopen a questionnaire; idempotent."""
    questionnaire = get_questionnaire(session, qid, for_update=True)
    if questionnaire.status != status.value:
        questionnaire.status = status.value
        questionnaire.updated_at = utcnow()
        questionnaire.updated_by = user.id if user else None
        session.flush()
    return questionnaire


@dataclass(frozen=True)
class LoadOutcome:
    """What loading one definition file did."""

    path: Path
    qid: str
    action: str  # "created", "published", "unchanged"
    version: int


def load_file(session: Session, path: Path, user: Principal | None = None) -> LoadOutcome:
    """Create or update the questionnaire in `path`, publishing only when its content changed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unprocessable(
            error_codes.DEFINITION_UNREADABLE, f"{path}: not a readable JSON file ({exc})."
        ) from exc
    data = _checked(data)
    qid = data["id"]
    existing = session.get(Questionnaire, qid)
    if existing is None:
        _add_questionnaire(session, data, user)
        version = publish(session, qid, user)
        return LoadOutcome(path, qid, "created", version.version)
    current = latest_version(session, existing)
    if current is not None and current.content_hash == content_hash(data):
        return LoadOutcome(path, qid, "unchanged", current.version)
    questionnaire = get_questionnaire(session, qid, for_update=True)
    _replace_draft(session, questionnaire, data, user)
    version = publish(session, qid, user)
    return LoadOutcome(path, qid, "published", version.version)


def definition_files(path: Path) -> list[Path]:
    """The *.json definitions in a folder (sorted), or the file itself."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.json") if p.is_file())
    return [path]
