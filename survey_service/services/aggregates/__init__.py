"""Aggregates: design-based estimates with standard errors, published under disclosure control."""

# How a request becomes a table
# -----------------------------
# 1. Plan (`planning.Planner`): the request is checked against the questionnaire's latest
#    published version -- its definition says what each name means, its analysis layout
#    where the answers sit (every slot of every earlier version included). Every problem is
#    collected and reported at once with what is allowed instead.
# 2. One SQL statement (`queries.aggregates.sums_statement`) reduces the responses in scope
#    to one row per (domain cell, stratum, PSU) with n, sum(w), sum(w*y), ...: the heavy
#    work runs in the database, reading typed array slots, and Python never holds a row per
#    household. Rows left out of the cells by a tag filter (country=KG) or without a value
#    for the variable still form PSUs: domains are estimated on the full design.
# 3. `estimation` hands those rows as arrays to `statistics.estimation.estimate_arrays`,
#    which computes estimates, SEs and intervals (Taylor linearisation); margins are the
#    same rows with cell ids remapped.
# 4. `publishing` applies `statistics.disclosure.protect`: it suppresses small cells and,
#    when margins are published, enough others that no suppressed value can be recovered
#    by subtraction.
#
# Scope and design
# ----------------
# In scope: the questionnaire's responses whose review state is allowed (default: all but
# rejected), of the versions asked for, collected in the period asked for, and in the
# countries of the requesting account. Tag filters (country, admin1, hazard_type,
# displacement_status) restrict the *domain*, not the design.
# Weight: the weight set named in `weights` (its latest version unless one is asked for),
# else the design weight bound in the definition, else 1. A response without a weight is
# left out and counted in `excluded_without_weight`. Stratum: the weight set's when it gives
# one, else the response's, else a single stratum. PSU: likewise; without any, each
# household is its own PSU (persons stay clustered in their household).

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Final

from sqlalchemy.orm import Session

from survey_service import error_codes
from survey_service.config import Settings
from survey_service.errors import FieldError, Forbidden, NotFound, Unprocessable
from survey_service.exports.tables import Table
from survey_service.models import Principal, QuestionnaireVersion, ReviewState, WeightSet
from survey_service.queries import aggregates as queries
from survey_service.queries import questionnaires as questionnaire_queries
from survey_service.queries import weights as weight_queries
from survey_service.services import versions
from survey_service.services.aggregates.estimation import as_arrays, design_of, estimate_cells
from survey_service.services.aggregates.planning import Planner
from survey_service.services.aggregates.publishing import published_table
from survey_service.services.aggregates.request import (
    AggregateRequest,
    RequestProblems,
    parse_tag_filters,
)

__all__ = [
    "AggregateRequest",
    "parse_tag_filters",
    "run_aggregate",
]

_EXCLUDED_STATES: Final = frozenset({ReviewState.REJECTED.value})


def run_aggregate(
    session: Session,
    qid: str,
    request: AggregateRequest,
    user: Principal,
    settings: Settings,
    *,
    now: datetime.datetime | None = None,
) -> Table:
    """Estimate the request's statistic for every cell, then apply disclosure control."""
    now = now or datetime.datetime.now(datetime.UTC)
    if not request.suppression and not settings.allow_unsuppressed:
        raise Forbidden(
            error_codes.AGGREGATE_SUPPRESSION_REQUIRED,
            "Disclosure control cannot be switched off on this service.",
        )
    version = _latest_version(session, qid, request.versions)
    derived = versions.published(version)
    definition, layout = derived.definition, derived.layout
    tables = queries.AggregateTables.of(session, request.unit)
    plan = Planner(request, definition, layout, tables, now).plan(version.version)
    weight_set = (
        _weight_set(session, qid, request.weights, request.weights_version)
        if request.weights
        else None
    )
    states = request.review_states or tuple(
        s.value for s in ReviewState if s.value not in _EXCLUDED_STATES
    )
    scope = queries.Scope(
        qid,
        states,
        request.versions,
        request.collected_from,
        request.collected_to,
        user.countries,
        weight_set,
        "weight" in definition.design,
    )
    statement = queries.sums_statement(plan.measures, scope, tables, request.stat)
    collected = queries.collect_sums(session, statement)
    data = as_arrays(collected, len(plan.dimensions), request.stat, ratio=plan.x is not None)
    design = design_of(
        data, request.single_psu or settings.single_psu_rule, request.population_psus
    )
    estimates = estimate_cells(request.stat, data, design, request.confidence, request.margins)
    threshold = int(
        (definition.raw.get("settings") or {}).get("disclosure_threshold")
        or settings.disclosure_threshold
    )
    return published_table(
        request,
        plan,
        estimates,
        data,
        design,
        threshold=threshold,
        weights=weight_set,
        now=now,
        qid=qid,
    )


def _latest_version(
    session: Session, qid: str, versions: Sequence[int] | None
) -> QuestionnaireVersion:
    """The latest published version among those asked for, or why there is none."""
    found = questionnaire_queries.latest_version_among(session, qid, versions)
    if found is None:
        if questionnaire_queries.questionnaire(session, qid) is None:
            raise NotFound(error_codes.QUESTIONNAIRE_NOT_FOUND, f"No questionnaire {qid!r}.")
        raise Unprocessable(
            error_codes.AGGREGATE_NO_VERSION,
            "The questionnaire has no published version"
            + (" among the versions asked for." if versions else "."),
            errors=[
                FieldError("version", error_codes.AGGREGATE_NO_VERSION, "no such version").as_dict()
            ]
            if versions
            else None,
        )
    return found


def _weight_set(session: Session, qid: str, name: str, version: int | None) -> WeightSet:
    """The weight set asked for, or a 422 naming the sets there are."""
    found = weight_queries.weight_set(session, qid, name, version)
    if found is None:
        names = weight_queries.weight_set_names(session, qid)
        message = (
            f"no weight set {name!r}"
            + (f" version {version}" if version is not None else "")
            + (f"; the sets are {', '.join(names)}" if names else "; none is uploaded")
        )
        problems = RequestProblems()
        problems.allowed["weights"] = names
        problems.add("weights", error_codes.AGGREGATE_UNKNOWN_WEIGHTS, message)
        raise problems.refusal()
    return found
