"""What validating a response gives back: the `ValidatedResponse` and the codes of its errors.

Every problem is a `FieldError` with the JSON path of the answer
(`household.members[2].member_age`, 0-based), one of these stable codes and a message in the
response's language:

    response.unknown_field          a key the questionnaire does not have there
    response.invalid_type           wrong JSON type, bad date, duplicate choice, answered note
    response.invalid_choice         not a choice of the list, or excluded by the choice_filter
    response.invalid_geopoint       latitude, longitude or accuracy out of range
    response.not_relevant           answered although skipped (at the outermost skipped node)
    response.required               a required, relevant answer is missing
    response.constraint_failed      the constraint is false for the answer
    response.repeat_count_mismatch  the number of instances differs from repeat_count
    response.calculation_mismatch   (a warning) the client's calculate value differs
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from survey_service.errors import FieldError

__all__ = [
    "CALCULATION_MISMATCH",
    "CONSTRAINT_FAILED",
    "INVALID_CHOICE",
    "INVALID_GEOPOINT",
    "INVALID_TYPE",
    "NOT_RELEVANT",
    "REPEAT_COUNT_MISMATCH",
    "REQUIRED",
    "UNKNOWN_FIELD",
    "ValidatedResponse",
]

UNKNOWN_FIELD: Final = "response.unknown_field"
INVALID_TYPE: Final = "response.invalid_type"
INVALID_CHOICE: Final = "response.invalid_choice"
INVALID_GEOPOINT: Final = "response.invalid_geopoint"
NOT_RELEVANT: Final = "response.not_relevant"
REQUIRED: Final = "response.required"
CONSTRAINT_FAILED: Final = "response.constraint_failed"
REPEAT_COUNT_MISMATCH: Final = "response.repeat_count_mismatch"
CALCULATION_MISMATCH: Final = "response.calculation_mismatch"


@dataclass
class ValidatedResponse:
    """The outcome of validating one response: what to store, its tags, and every problem."""

    answers: dict[str, Any]
    tags: dict[str, str | None]
    design: dict[str, Any]
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
