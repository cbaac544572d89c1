"""What a statistician asks an aggregate for, and the problems found checking it."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from survey_service import error_codes
from survey_service.analysis.layout import HOUSEHOLD
from survey_service.codes import TAGS
from survey_service.errors import Problems, Unprocessable


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


class RequestProblems(Problems):
    """The problems of a request, all listed at once with what each field allows instead
    (`allowed`, a body clients read)."""

    def __init__(self) -> None:
        super().__init__()
        self.allowed: dict[str, list[str]] = {}

    def raise_if_any(self) -> None:
        if self:
            raise self.refusal()

    def refusal(self) -> Unprocessable:
        """The 422 listing them all."""
        return self.error(
            error_codes.AGGREGATE_INVALID,
            "The aggregate request",
            nothing_stored=False,
            extra={"allowed": self.allowed} if self.allowed else None,
        )


def parse_tag_filters(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The tag filters of a request (each a list of codes)."""
    return {tag: tuple(raw[tag]) for tag in TAGS if raw.get(tag)}
