"""Questionnaires: an editable draft and immutable published versions with their content hash."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_service.db import Base, JSONDocument, UTCDateTime, utcnow


class QuestionnaireStatus(enum.StrEnum):
    """Whether a questionnaire accepts responses."""

    OPEN = "open"
    CLOSED = "closed"


class Questionnaire(Base):
    """A questionnaire: its current draft and the versions published from it."""

    __tablename__ = "questionnaires"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=QuestionnaireStatus.OPEN.value)
    # large documents (100+ kB), loaded only when read: intake never needs them
    draft: Mapped[dict[str, Any]] = mapped_column(JSONDocument, deferred=True)
    draft_hash: Mapped[str] = mapped_column(String(64))
    # what reading the draft's XLSForm accepted but ignored or fixed, each at its cell
    # ([{path, code, message}]); NULL for a draft sent as JSON
    draft_warnings: Mapped[list[dict[str, str]] | None] = mapped_column(JSONDocument, deferred=True)
    latest_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.version"
    )


class QuestionnaireVersion(Base):
    """One published, immutable version; responses are pinned to it."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDocument, deferred=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    # where answers sit in the analysis arrays (survey_service.analysis.layout): the layout
    # of the version before, extended with this version's new questions
    analysis_layout: Mapped[dict[str, Any]] = mapped_column(JSONDocument, deferred=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")
