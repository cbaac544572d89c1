"""Accounts: creating users, issuing and revoking API tokens, checking credentials.

Who may manage whom: an admin with no countries (unrestricted) may do everything. An admin
restricted to some countries never grants more than it has: every user it creates or edits,
itself included, must end restricted to a non-empty subset of its countries (403
`user.beyond_scope`), and it may not change, issue or revoke tokens of, or deactivate a user
beyond its countries, that is one with a country it lacks or with none (403
`user.out_of_scope`). Reading the list of users is not restricted.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from survey_service import codes, error_codes, user_names
from survey_service.db import utcnow
from survey_service.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from survey_service.models import ApiToken, Principal, Role, User
from survey_service.queries import accounts as queries

TOKEN_PREFIX = "sst_"  # noqa: S105 - a public marker that starts every token, not a secret
# last_used_at is refreshed at most this often, so authentication is not a write per request
_LAST_USED_RESOLUTION = timedelta(minutes=5)
_password_hasher = PasswordHasher()

#: What each role may do (checked by the API's `require` decorator).
PERMISSIONS: dict[str, frozenset[Role]] = {
    "questionnaires.edit": frozenset({Role.ADMIN, Role.RESEARCHER}),
    "users.manage": frozenset({Role.ADMIN}),
    "responses.submit": frozenset({Role.ADMIN, Role.SUPERVISOR, Role.ENUMERATOR}),
    "responses.review": frozenset({Role.ADMIN, Role.SUPERVISOR}),
    # enumerators read only what they submitted (services.responses applies row rules)
    "responses.read": frozenset({Role.ADMIN, Role.SUPERVISOR, Role.RESEARCHER, Role.ENUMERATOR}),
    "aggregates.read": frozenset(Role),
    "weights.manage": frozenset({Role.ADMIN, Role.RESEARCHER, Role.STATISTICIAN}),
}


def hash_token(secret: str) -> str:
    """SHA-256 of a token: tokens carry 256 random bits, so a slow hash adds nothing."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _password_hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches an argon2 hash (False for malformed hashes)."""
    try:
        return _password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _name_errors(name: str) -> list[dict[str, str]]:
    """The field errors of a new user's name (names never change: existing ones stay)."""
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        message = "1 to 64 letters, digits, '.', '_', '-' or '@'"
        return [FieldError("name", error_codes.USER_INVALID_NAME, message).as_dict()]
    if user_names.mixes_scripts(name):
        mixed = ", ".join(sorted(user_names.scripts(name)))
        message = f"letters of one script only, not {mixed}"
        return [FieldError("name", error_codes.USER_MIXED_SCRIPT_NAME, message).as_dict()]
    return []


def _check_user_fields(role: str, countries: Sequence[str]) -> list[dict[str, str]]:
    errors = []
    if role not in {r.value for r in Role}:
        errors.append(
            FieldError(
                "role",
                error_codes.USER_INVALID_ROLE,
                f"role must be one of {', '.join(r.value for r in Role)}",
            ).as_dict()
        )
    for index, country in enumerate(countries):
        if not codes.is_country_code(country):
            errors.append(
                FieldError(
                    f"countries[{index}]",
                    error_codes.USER_INVALID_COUNTRY,
                    f"{country!r} is not an ISO 3166-1 alpha-2 country code",
                ).as_dict()
            )
    return errors


def _within(actor: Principal, countries: Sequence[str]) -> bool:
    """Whether `countries` (empty: every country) grant no more than the actor has."""
    return not actor.countries or (bool(countries) and set(countries) <= set(actor.countries))


def check_grant(actor: Principal | None, countries: Sequence[str]) -> None:
    """403 `user.beyond_scope` unless the actor may give a user these countries (`actor`
    None: the service itself, as in the command line, which may do anything)."""
    if actor is None or _within(actor, countries):
        return
    mine = ", ".join(actor.countries)
    raise Forbidden(
        error_codes.USER_BEYOND_SCOPE,
        f"You are restricted to {mine}: a user you create or change must be restricted to "
        f"some of these countries.",
        errors=[
            FieldError(
                "countries", error_codes.USER_BEYOND_SCOPE, f"a non-empty subset of {mine}"
            ).as_dict()
        ],
    )


def check_may_manage(actor: Principal, user: User) -> None:
    """403 `user.out_of_scope` unless the actor's countries cover all of the user's."""
    if not _within(actor, user.countries):
        raise Forbidden(
            error_codes.USER_OUT_OF_SCOPE,
            f"User {user.id} works beyond your countries ({', '.join(actor.countries)}).",
        )


def _check_not_look_alike(session: Session, name: str) -> None:
    """422 `user.confusable_name` when the name looks like an existing user's."""
    shape = user_names.skeleton(name)
    # accounts are few (hundreds): their skeletons are computed, not stored
    for existing in queries.all_names(session):
        if user_names.skeleton(existing) == shape:
            message = f"looks like the name of the existing user {existing!r}"
            raise Unprocessable(
                error_codes.USER_CONFUSABLE_NAME,
                f"{name!r} {message}.",
                errors=[FieldError("name", error_codes.USER_CONFUSABLE_NAME, message).as_dict()],
            )


def issue_token(session: Session, user: User, label: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`; the secret is returned once and only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, token_hash=hash_token(secret), prefix=secret[:10], label=label)
    session.add(token)
    session.flush()
    return token, secret


def create_user(
    session: Session,
    name: str,
    role: str,
    countries: Iterable[str] = (),
    password: str | None = None,
    initial_label: str = "initial",
    actor: Principal | None = None,
) -> tuple[User, str]:
    """Create a user with a first API token; returns the user and the token's secret.
    `actor` is the user creating it (None: the service itself). The name is stored in NFKC
    form; one mixing scripts, or looking like an existing user's, is refused."""
    name = user_names.normal_form(name)
    country_list = sorted({c.upper() for c in countries})
    errors = _name_errors(name) + _check_user_fields(role, country_list)
    if password is not None and len(password) < 12:
        errors.append(
            FieldError(
                "password", error_codes.USER_WEAK_PASSWORD, "a password has at least 12 characters"
            ).as_dict()
        )
    if errors:
        raise Unprocessable(error_codes.USER_INVALID, "The user is not valid.", errors=errors)
    check_grant(actor, country_list)
    if queries.name_taken(session, name):
        raise Conflict(error_codes.USER_EXISTS, f"A user named {name!r} already exists.")
    _check_not_look_alike(session, name)
    user = User(
        name=name,
        role=role,
        countries=country_list,
        password_hash=hash_password(password) if password else None,
        active=True,
    )
    session.add(user)
    session.flush()
    _, secret = issue_token(session, user, initial_label)
    return user, secret


def update_user(
    session: Session,
    user: User,
    *,
    actor: Principal | None = None,
    role: str | None = None,
    countries: Sequence[str] | None = None,
    active: bool | None = None,
) -> User:
    """Change a user's role, countries or active flag, as `actor` (None: the service)."""
    if actor is not None:
        check_may_manage(actor, user)
    country_list = sorted({c.upper() for c in countries}) if countries is not None else None
    errors = _check_user_fields(role or user.role, country_list or [])
    if errors:
        raise Unprocessable(error_codes.USER_INVALID, "The user is not valid.", errors=errors)
    if country_list is not None:
        check_grant(actor, country_list)
    if role is not None:
        user.role = role
    if country_list is not None:
        user.countries = country_list
    if active is not None:
        user.active = active
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(error_codes.USER_NOT_FOUND, f"No user with id {user_id}.")
    return user


def list_users(session: Session) -> Sequence[User]:
    return queries.all_users(session)


def revoke_token(session: Session, token_id: int, user: User | Principal | None = None) -> ApiToken:
    """Revoke a token (only among `user`'s tokens when given); revoking twice is harmless."""
    token = session.get(ApiToken, token_id)
    if token is None or (user is not None and token.user_id != user.id):
        raise NotFound(error_codes.TOKEN_NOT_FOUND, f"No token with id {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def authenticate_token(
    session: Session, secret: str, *, bookkeeping: Session | None = None
) -> Principal | None:
    """The active user holding a live token with this secret, or None.

    The token's last use is written through `bookkeeping` (default: `session`): a reading
    request passes a session of its own, as on SQLite a read transaction cannot turn into a
    write once another connection has written (SQLITE_BUSY at once, whatever the timeout)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    found = queries.token_holder(session, hash_token(secret))
    if found is None:
        return None
    user_id, name, role, countries, active, token_id, revoked_at, last_used_at = found
    if revoked_at is not None or not active:
        return None
    now = utcnow()
    if last_used_at is None or now - last_used_at > _LAST_USED_RESOLUTION:
        queries.mark_token_used(bookkeeping or session, token_id, now)
    return Principal(user_id, name, role, tuple(countries or ()))


def authenticate_password(
    session: Session, name: str, password: str, *, bookkeeping: Session | None = None
) -> Principal | None:
    """The active user `name` (as stored, or in the NFKC form names are stored in) if
    `password` (or one of its API tokens) matches, else None; `bookkeeping` as for
    `authenticate_token`."""
    user = queries.user_named(session, name)
    normal = user_names.normal_form(name)
    if user is None and normal != name:
        user = queries.user_named(session, normal)
    if user is None or not user.active:
        return None
    if password.startswith(TOKEN_PREFIX):
        token_user = authenticate_token(session, password, bookkeeping=bookkeeping)
        return token_user if token_user is not None and token_user.id == user.id else None
    if user.password_hash and verify_password(user.password_hash, password):
        return Principal.of(user)
    return None


def ensure_admin(session: Session, name: str = "admin") -> str | None:
    """Create an admin if the service has none; returns its token's secret, or None."""
    if queries.count_with_role(session, Role.ADMIN.value):
        return None
    _, secret = create_user(session, name, Role.ADMIN.value, initial_label="bootstrap")
    return secret
