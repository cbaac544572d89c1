"""Weight sets: storing uploaded weights as named, versioned sets of a questionnaire."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from survey_service import error_codes
from survey_service.errors import FieldError, NotFound, Problems, Unprocessable
from survey_service.models import Principal, WeightSet
from survey_service.queries import questionnaires as questionnaire_queries
from survey_service.queries import weights as queries
from survey_service.queries.responses import sees_every_response
from survey_service.services.questionnaires import get_questionnaire
from survey_service.statistics.weight_csv import MAX_PROBLEMS, WeightRow, file_error

MAX_MISSING_LISTED = 100
CHUNK = 10_000  # rows per INSERT batch and instance ids per lookup

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,63}")


@dataclass(frozen=True)
class WeightSetSummary:
    """What an upload stored, and which responses of the questionnaire it leaves unweighted."""

    questionnaire_id: str
    name: str
    version: int
    entries: int
    missing: int
    missing_instance_ids: list[str]
    created_at: datetime


@dataclass(frozen=True)
class WeightSetVersion:
    """One stored version of a weight set, counted among the responses its reader may see:
    a reader restricted to some countries (or an enumerator) learns nothing of the rest."""

    questionnaire_id: str
    name: str
    version: int
    entries: int
    missing: int
    created_at: datetime
    created_by: int | None


@dataclass(frozen=True)
class WeightSetHistory(WeightSetVersion):
    """A named weight set: the fields of its latest version, and every version oldest first."""

    versions: list[WeightSetVersion]


def _as_seen_by(session: Session, weight_set: WeightSet, user: Principal) -> WeightSetVersion:
    """The stored counts for a reader who sees every response; counted again among the
    responses the user may see otherwise (missing: those received by the upload)."""
    if sees_every_response(user):
        entries, missing = weight_set.entries, weight_set.missing
    else:
        entries, missing = queries.visible_counts(session, weight_set, user)
    return WeightSetVersion(
        questionnaire_id=weight_set.questionnaire_id,
        name=weight_set.name,
        version=weight_set.version,
        entries=entries,
        missing=missing,
        created_at=weight_set.created_at,
        created_by=weight_set.created_by,
    )


@dataclass(frozen=True, slots=True)
class _Found:
    id: int
    rejected: bool


def _find_responses(
    session: Session, qid: str, instance_ids: Sequence[str], user: Principal
) -> dict[str, _Found]:
    """The responses of `qid` among `instance_ids` that the user may see, by instance id."""
    found: dict[str, _Found] = {}
    for start in range(0, len(instance_ids), CHUNK):
        chunk = instance_ids[start : start + CHUNK]
        for instance_id, response_id, rejected in queries.responses_among(
            session, qid, chunk, user
        ):
            found[instance_id] = _Found(response_id, rejected)
    return found


def _first_unweighted(
    session: Session, qid: str, weighted: set[int], user: Principal, limit: int
) -> list[str]:
    """Instance ids of the first `limit` responses of `qid` (not rejected, visible to the
    user) outside `weighted`, in arrival order.

    Walked in pages against a set in memory rather than as an anti-join with the new entries:
    those are not analysed yet, and PostgreSQL then picks a nested loop over every pair.
    """
    listed: list[str] = []
    after = 0
    while len(listed) < limit:
        page = queries.unrejected_after(session, qid, user, after, CHUNK)
        if not page:
            break
        listed.extend(
            instance_id for response_id, instance_id in page if response_id not in weighted
        )
        after = page[-1][0]
    return listed[:limit]


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise Unprocessable(
            error_codes.WEIGHTS_INVALID_NAME,
            "A weight set's name is 1 to 64 lowercase letters, digits, '_' or '-', "
            "starting with a letter.",
            errors=[
                FieldError(
                    "name",
                    error_codes.WEIGHTS_INVALID_NAME,
                    f"{name!r} does not match ^[a-z][a-z0-9_-]{{0,63}}$",
                ).as_dict()
            ],
        )


def put_weight_set(
    session: Session, qid: str, name: str, rows: Sequence[WeightRow], user: Principal
) -> WeightSetSummary:
    """Store `rows` as the next version of the weight set `name` of questionnaire `qid`.

    Every instance id must be a response of `qid` the user may see, or nothing is stored
    (422 `weights.unknown_instance` listing the lines). The set stores as `missing` the
    responses of the questionnaire, not rejected, that it gives no weight; the summary
    counts and lists only those the user may see.
    """
    _check_name(name)
    # uploads of one questionnaire queue for the next version number; submissions go on
    if not questionnaire_queries.lock_for_key_share(session, qid):
        raise NotFound(error_codes.QUESTIONNAIRE_NOT_FOUND, f"No questionnaire {qid!r}.")
    if not rows:
        raise file_error(1, "the weight set has no rows")

    problems = Problems(MAX_PROBLEMS)
    first_line: dict[str, int] = {}
    for row in rows:
        earlier = first_line.get(row.instance_id)
        if earlier is None:
            first_line[row.instance_id] = row.line
        else:
            problems.add(
                f"line {row.line}.instance_id",
                error_codes.WEIGHTS_DUPLICATE_INSTANCE,
                f"{row.instance_id} is already on line {earlier}",
            )
    if problems.total:
        raise problems.error(error_codes.WEIGHTS_DUPLICATE_INSTANCE, "The weight set")
    found = _find_responses(session, qid, list(first_line), user)
    for row in rows:
        if row.instance_id not in found:
            problems.add(
                f"line {row.line}.instance_id",
                error_codes.WEIGHTS_UNKNOWN_INSTANCE,
                f"{row.instance_id} is not a response of {qid!r} that you may see",
            )
    if problems.total:
        raise problems.error(error_codes.WEIGHTS_UNKNOWN_INSTANCE, "The weight set")

    latest = queries.latest_version(session, qid, name)
    weight_set = WeightSet(
        questionnaire_id=qid,
        name=name,
        version=(latest or 0) + 1,
        entries=len(rows),
        missing=0,
        created_by=user.id,
    )
    session.add(weight_set)
    session.flush()
    entries = (
        (weight_set.id, found[row.instance_id].id, row.weight, row.stratum, row.psu) for row in rows
    )
    queries.insert_entries(session, entries, chunk=CHUNK)

    # every entry is a response of the questionnaire: the unweighted ones are the rest
    weighted_counted = sum(1 for response in found.values() if not response.rejected)
    weight_set.missing = max(queries.count_unrejected(session, qid) - weighted_counted, 0)
    # every entry is visible to the uploader: the unweighted ones it may see are the rest
    missing_seen = max(queries.count_unrejected(session, qid, user) - weighted_counted, 0)
    weighted = {response.id for response in found.values()}
    missing_ids = _first_unweighted(session, qid, weighted, user, MAX_MISSING_LISTED)
    session.flush()
    return WeightSetSummary(
        questionnaire_id=qid,
        name=name,
        version=weight_set.version,
        entries=weight_set.entries,
        missing=missing_seen,
        missing_instance_ids=list(missing_ids),
        created_at=weight_set.created_at,
    )


def list_weight_sets(session: Session, qid: str, user: Principal) -> list[WeightSetHistory]:
    """Every named weight set of a questionnaire, by name, each with all its versions, as
    the user may see them."""
    get_questionnaire(session, qid)
    found = queries.weight_sets_of(session, qid)
    by_name: dict[str, list[WeightSetVersion]] = {}
    for weight_set in found:
        by_name.setdefault(weight_set.name, []).append(_as_seen_by(session, weight_set, user))
    return [
        WeightSetHistory(**vars(versions[-1]), versions=versions) for versions in by_name.values()
    ]


def get_weight_set(
    session: Session, qid: str, name: str, user: Principal, version: int | None = None
) -> WeightSetVersion:
    """One version of a weight set (the latest when `version` is None) as the user may see
    it; 404 otherwise."""
    found = queries.weight_set(session, qid, name, version)
    if found is None:
        get_questionnaire(session, qid)
        which = f"version {version} of " if version is not None else ""
        raise NotFound(
            error_codes.WEIGHTS_NOT_FOUND,
            f"Questionnaire {qid!r} has no {which}weight set {name!r}.",
        )
    return _as_seen_by(session, found, user)
