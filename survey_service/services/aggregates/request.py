"""What a statistician asks an aggregate for, and the problems found checking it."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from survey_service import error_codes
from survey_service.analysis.layout import HOUSEHOLD
from survey_service.codes import TAGS
from survey_service.errors import FieldError, Unprocessable


@dataclass(frozen=True)
class AggregateRequest:
    """What a statistician asks for (see the API documentation of each field)."""

    stat: str
    variable: str | None = None
    value: str | None = None
    denominator: str | None = None
    unit: str = HOUSEHOLD
    by: tuple[str, ...] = ()
    age_groups: str = "five_year"
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    review_states: tuple[str, ...] | None = None
    versions: tuple[int, ...] | None = None
    collected_from: datetime.datetime | None = None
    collected_to: datetime.datetime | None = None
    weights: str | None = None
    weights_version: int | None = None
    confidence: float = 0.95
    single_psu: str | None = None
    population_psus: Mapping[str, int] | None = None
    margins: bool = False
    suppression: bool = True


class RequestProblems:
    """The problems of a request, all reported at once with what is allowed instead.

    Not `errors.Problems`: that one adds `problem_count` to the 422 and words it "has N
    problem(s); nothing was stored", where this 422 lists every problem and, per field,
    the `allowed` names, a body clients already read.
    """

    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.allowed: dict[str, list[str]] = {}

    def add(self, path: str, code: str, message: str) -> None:
        self.errors.append(FieldError(path, code, message))

    def raise_if_any(self) -> None:
        if self.errors:
            raise invalid(self.errors, self.allowed)


def invalid(errors: list[FieldError], allowed: Mapping[str, list[str]]) -> Unprocessable:
    """The 422 of a request with problems, saying what each field allows where known."""
    return Unprocessable(
        error_codes.AGGREGATE_INVALID,
        f"The aggregate request has {len(errors)} problem(s).",
        errors=[e.as_dict() for e in errors],
        extra={"allowed": dict(allowed)} if allowed else None,
    )


def parse_tag_filters(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The tag filters of a request (each a list of codes)."""
    return {tag: tuple(raw[tag]) for tag in TAGS if raw.get(tag)}
