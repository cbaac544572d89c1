"""Per-request plumbing: one database session per request and the authenticated user."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from survey_service import error_codes
from survey_service.api.problems import database_unavailable, problem
from survey_service.db import SQLITE_BEGIN
from survey_service.errors import Forbidden, Unauthorized
from survey_service.models import Principal, Role
from survey_service.services import accounts

F = TypeVar("F", bound=Callable[..., Any])
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session() -> Session:
    """The request's session, opened on first use; committed or rolled back once at the end."""
    session: Session | None = g.get("db_session")
    if session is None:
        factory = cast(sessionmaker[Session], current_app.extensions["survey"]["sessions"])
        session = factory()
        if request.method not in _SAFE_METHODS:
            # on SQLite, a writing request takes the write lock when its transaction begins
            session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        g.db_session = session
    return session


def _finish_request(response: Response) -> Response:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return response
    try:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    except IntegrityError:
        session.rollback()
        return problem(
            409,
            error_codes.REQUEST_CONFLICT,
            "Conflict",
            "A concurrent request changed the same record.",
        )
    except OperationalError as exc:
        session.rollback()
        return database_unavailable(exc)
    finally:
        session.close()
    return response


def _teardown(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def init_request_session(app: Flask) -> None:
    """Commit on success, roll back on error: the single decision point of each request."""
    app.after_request(_finish_request)
    app.teardown_request(_teardown)


def _credentials() -> Principal | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if not header:
        return None
    if request.method not in _SAFE_METHODS:
        # on SQLite this request holds the write lock already (a second writer would wait
        # for it in vain): the last use of a token is written with the request's changes
        return _authenticate(scheme.lower(), value, db_session())
    # A reading request writes a token's last use in a short transaction of its own
    # (opened only if it writes): on SQLite its read transaction could not become a write
    # once another connection has written (SQLITE_BUSY at once, whatever the timeout).
    factory = cast(sessionmaker[Session], current_app.extensions["survey"]["sessions"])
    with factory() as bookkeeping:
        user = _authenticate(scheme.lower(), value, bookkeeping)
        bookkeeping.commit()
    return user


def _authenticate(scheme: str, value: str, bookkeeping: Session) -> Principal | None:
    session = db_session()
    if scheme == "bearer" and value:
        user = accounts.authenticate_token(session, value, bookkeeping=bookkeeping)
        if user is None:
            raise Unauthorized(
                error_codes.AUTH_INVALID_TOKEN, "The bearer token is unknown or revoked."
            )
        return user
    if scheme == "basic" and value:
        try:
            name, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthorized(error_codes.AUTH_MALFORMED, "Malformed Basic credentials.") from exc
        if "\x00" in name or "\x00" in password:  # no account holds it; PostgreSQL refuses it
            raise Unauthorized(error_codes.AUTH_MALFORMED, "Malformed Basic credentials.")
        user = accounts.authenticate_password(session, name, password, bookkeeping=bookkeeping)
        if user is None:
            raise Unauthorized(error_codes.AUTH_INVALID_CREDENTIALS, "Wrong user name or password.")
        return user
    raise Unauthorized(
        error_codes.AUTH_UNSUPPORTED_SCHEME, "Use 'Authorization: Bearer <token>' (or Basic)."
    )


def current_user() -> Principal:
    """The authenticated user; 401 problem when the request carries no valid credentials."""
    user: Principal | None = g.get("user")
    if user is None:
        user = _credentials()
        if user is None:
            raise Unauthorized(
                error_codes.AUTH_REQUIRED, "This endpoint needs 'Authorization: Bearer <token>'."
            )
        g.user = user
    return user


def require(permission: str) -> Callable[[F], F]:
    """Decorator: the view needs an authenticated user whose role grants `permission`."""
    roles = accounts.PERMISSIONS[permission]

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if Role(user.role) not in roles:
                raise Forbidden(
                    error_codes.AUTH_FORBIDDEN,
                    f"Role {user.role!r} may not do this; it needs one of "
                    f"{', '.join(sorted(r.value for r in roles))}.",
                )
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def authenticated(view: F) -> F:
    """Decorator: any authenticated user."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_user()
        return view(*args, **kwargs)

    return cast(F, wrapper)
