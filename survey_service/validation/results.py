"""What validating a response gives back: the `ValidatedResponse` with its field errors.

Every problem is a `FieldError` with the JSON path of the answer
(`household.members[2].member_age`, 0-based), one of the stable `response.*` codes of
`survey_service.error_codes` (which says what each means) and a message in the response's
language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from survey_service.errors import FieldError

__all__ = ["ValidatedResponse"]


@dataclass
class ValidatedResponse:
    """The outcome of validating one response: what to store, its tags, and every problem."""

    answers: dict[str, Any]
    tags: dict[str, str | None]
    design: dict[str, Any]
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)
    # paths of the calculations whose client value was kept rather than recomputed (they
    # call random(), once(), uuid() ...); each also has a response.calculation_trusted warning
    trusted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
