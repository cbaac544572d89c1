"""RFC 9457 problem details for every error the service returns."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, json, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from survey_service import error_codes
from survey_service.errors import FieldError, ServiceError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)

# Stable codes for the HTTP errors raised by Flask and webargs themselves.
_HTTP_CODES = {
    400: error_codes.REQUEST_BAD_REQUEST,
    401: error_codes.AUTH_REQUIRED,
    403: error_codes.AUTH_FORBIDDEN,
    404: error_codes.REQUEST_NOT_FOUND,
    405: error_codes.REQUEST_METHOD_NOT_ALLOWED,
    406: error_codes.REQUEST_NOT_ACCEPTABLE,
    409: error_codes.REQUEST_CONFLICT,
    413: error_codes.REQUEST_TOO_LARGE,
    415: error_codes.REQUEST_UNSUPPORTED_MEDIA_TYPE,
    422: error_codes.REQUEST_INVALID,
    429: error_codes.REQUEST_TOO_MANY,
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A problem+json response; `type` is a URN built on the stable code."""
    body: dict[str, Any] = {
        "type": f"urn:survey-service:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.path,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn marshmallow's nested error messages into [{path, code, message}] with JSON paths."""
    out: list[dict[str, str]] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_messages(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            out.append(FieldError(prefix, error_codes.REQUEST_INVALID_FIELD, message).as_dict())
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            out.extend(flatten_messages(value, f"{prefix}[{index}]"))
    else:
        out.append(FieldError(prefix, error_codes.REQUEST_INVALID_FIELD, str(messages)).as_dict())
    return out


def _from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, Mapping) else None
    headers = dict(data.get("headers") or {}) if isinstance(data, Mapping) else {}
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    if status == 400 and "JSON" in (exc.description or ""):
        return problem(
            400,
            error_codes.REQUEST_INVALID_JSON,
            "Malformed JSON",
            "The request body is not valid JSON.",
        )
    if messages is not None:
        # webargs nests messages by location ("json", "query"); paths start inside each
        errors = [e for located in messages.values() for e in flatten_messages(located)]
        return problem(
            status,
            error_codes.REQUEST_INVALID,
            "Invalid request",
            f"{len(errors)} field(s) failed validation.",
            errors=errors,
            headers=headers,
        )
    return problem(
        status,
        _HTTP_CODES.get(status, f"http.{status}"),
        exc.name,
        exc.description or exc.name,
        headers=headers,
    )


def database_unavailable(exc: Exception) -> Response:
    """The reply to every database outage (connection refused or lost, the pool exhausted, a
    failed commit): 503 with Retry-After, logged as a warning, not as an unhandled error."""
    log.warning("database error on %s %s: %s", request.method, request.path, exc)
    return problem(
        503,
        error_codes.DATABASE_UNAVAILABLE,
        "Service unavailable",
        "The database did not answer; retry the request (submissions are idempotent).",
        headers={"Retry-After": "5"},
    )


def register_problem_handlers(app: Flask) -> None:
    """Render every error, expected or not, as problem+json (never an HTML page)."""

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        headers = {"WWW-Authenticate": 'Bearer realm="survey-service"'} if exc.status == 401 else {}
        return problem(
            exc.status,
            exc.code,
            exc.title,
            exc.detail,
            errors=exc.errors,
            extra=exc.extra,
            headers=headers,
        )

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return _from_http_exception(exc)

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeoutError)
    def _database_unavailable(exc: OperationalError | PoolTimeoutError) -> Response:
        return database_unavailable(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(
            500,
            error_codes.SERVER_INTERNAL_ERROR,
            "Internal server error",
            "The server failed to handle this request; it has been logged.",
        )
