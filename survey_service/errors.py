"""Domain errors with stable codes; the API renders each as application/problem+json."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from survey_service import error_codes


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with one field of a request, at its path (`questions[3].constraint`,
    `members[0].age`, `line 12`): the items of a problem's `errors` list."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


class ServiceError(Exception):
    """A request that cannot be honoured; `code` is stable, `errors` lists fields at fault."""

    status = 400
    title = "Bad request"

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.extra = extra or {}


class BadRequest(ServiceError):
    status = 400
    title = "Bad request"


class Unauthorized(ServiceError):
    status = 401
    title = "Authentication required"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class Unprocessable(ServiceError):
    status = 422
    title = "Unprocessable content"


class StatementTooComplex(Exception):
    """The database, or SQLAlchemy compiling for it, refused a statement as too large or too
    deeply nested (SQLite's expression depth or parser stack, PostgreSQL's SQLSTATE 54001,
    Python's recursion limit): the request asked for too much, the database is fine. The
    caller knows which part of the request built the statement and answers a 422."""


class Problems:
    """Field errors collected while checking a request, raised as one 422. With a `limit`,
    the first `limit` are listed, all are counted (`problem_count`), and the detail says how
    many were left out."""

    def __init__(self, limit: int | None = None) -> None:
        self.listed: list[FieldError] = []
        self.total = 0
        self.limit = limit

    def add(self, path: str, code: str, message: str) -> None:
        self.total += 1
        if self.limit is None or len(self.listed) < self.limit:
            self.listed.append(FieldError(path, code, message))

    def __bool__(self) -> bool:
        return self.total > 0

    def error(
        self,
        code: str,
        what: str,
        *,
        nothing_stored: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> Unprocessable:
        """The 422 for them all: "`what` (the CSV file) has N problem(s); nothing was stored."."""
        stored = "; nothing was stored" if nothing_stored else ""
        detail = f"{what} has {self.total} problem(s){stored}."
        if self.total > len(self.listed):
            more = self.total - len(self.listed)
            detail += f" The first {len(self.listed)} are listed, {more} more are not."
        counted = {"problem_count": self.total} if self.limit is not None else {}
        return Unprocessable(
            code,
            detail,
            errors=[e.as_dict() for e in self.listed],
            extra={**counted, **(extra or {})},
        )


def invalid_request(problems: Sequence[tuple[str, str]]) -> Unprocessable:
    """422 "request.invalid" for a body of the wrong shape: each (path, message) a field error."""
    return Unprocessable(
        error_codes.REQUEST_INVALID,
        f"{len(problems)} field(s) failed validation.",
        errors=[
            FieldError(path, error_codes.REQUEST_INVALID_FIELD, message).as_dict()
            for path, message in problems
        ],
    )
