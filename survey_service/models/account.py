"""Accounts: users with a role and the countries they may work on, and their API tokens."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_service.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a user may do; see `survey_service.services.accounts.PERMISSIONS`."""

    ADMIN = "admin"
    RESEARCHER = "researcher"
    SUPERVISOR = "supervisor"
    ENUMERATOR = "enumerator"
    STATISTICIAN = "statistician"


@dataclass(frozen=True)
class Principal:
    """Who is making a request: what authorisation needs, without loading the ORM user."""

    id: int
    name: str
    role: str
    countries: tuple[str, ...]

    def may_work_on(self, country: str | None) -> bool:
        """Whether the user's countries cover `country` (an empty list covers all)."""
        return not self.countries or (country is not None and country in self.countries)

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(user.id, user.name, user.role, tuple(user.countries))


class User(Base):
    """A person or system account; `countries` empty means every country."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", order_by="ApiToken.id", cascade="all, delete-orphan"
    )


class ApiToken(Base):
    """A bearer token, stored only as the SHA-256 of its secret; shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # the first characters of the token, so a user can tell tokens apart without the secret
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")
