"""Account statements: users by name and role, and the token lookup every request makes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from survey_service.db import HotQuery
from survey_service.models import ApiToken, User

# every request authenticates: one round trip for the user and the token's state, built once
_TOKEN_HOLDER = HotQuery(
    select(
        User.id,
        User.name,
        User.role,
        User.countries,
        User.active,
        ApiToken.id,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def token_holder(session: Session, token_hash: str) -> tuple[Any, ...] | None:
    """(user id, name, role, countries, active, token id, revoked_at, last_used_at) of the
    token with this hash, or None."""
    found = _TOKEN_HOLDER.rows(session, token_hash=token_hash)
    return found[0] if found else None


def mark_token_used(session: Session, token_id: int, now: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def user_named(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def all_names(session: Session) -> Sequence[str]:
    return session.scalars(select(User.name)).all()


def name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(User.id).where(User.name == name)) is not None


def all_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.id)).all()


def count_with_role(session: Session, role: str) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == role)) or 0
