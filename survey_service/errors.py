"""Domain errors with stable codes; the API renders each as application/problem+json."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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


def invalid_request(problems: Sequence[tuple[str, str]]) -> Unprocessable:
    """422 "request.invalid" for a body of the wrong shape: each (path, message) a field error."""
    return Unprocessable(
        "request.invalid",
        f"{len(problems)} field(s) failed validation.",
        errors=[
            {"path": path, "code": "request.invalid_field", "message": message}
            for path, message in problems
        ],
    )
