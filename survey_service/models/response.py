"""Responses: one row per household (current state, tags in indexed columns) and its history."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey_service.db import (
    Base,
    CatArray,
    CatMatrix,
    JSONDocument,
    NumArray,
    NumMatrix,
    UTCDateTime,
    utcnow,
)

# BIGINT on PostgreSQL, INTEGER (the rowid alias, so it autoincrements) on SQLite
BigId = BigInteger().with_variant(Integer(), "sqlite")


class ReviewState(enum.StrEnum):
    """Where a response stands in supervisors' review."""

    RECEIVED = "received"
    APPROVED = "approved"
    REJECTED = "rejected"
    HAS_ISSUES = "has_issues"


class Response(Base):
    """The current revision of one household response, pinned to a questionnaire version.

    Tags and design variables are columns so that filters and aggregates never parse JSON
    for them; every answer sits in `answers` (JSONB on PostgreSQL). Indexes serve paging
    (by arrival, or since a time) and the selective review states; the tags have none:
    a tag holds a few values per questionnaire, so an index on it would not be used by a
    listing and would slow every insert (aggregates scan the table anyway).
    """

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_questionnaire_id_id", "questionnaire_id", "id"),
        Index("ix_responses_questionnaire_id_received_at", "questionnaire_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64), unique=True)
    questionnaire_id: Mapped[str] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="RESTRICT")
    )
    version: Mapped[int]
    version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_versions.id", ondelete="RESTRICT")
    )
    revision: Mapped[int] = mapped_column(default=1)
    # SHA-256 of the original submission's version and answers: a resend is recognised
    content_hash: Mapped[str] = mapped_column(String(64))

    country: Mapped[str | None] = mapped_column(String(8))
    admin1: Mapped[str | None] = mapped_column(String(16))
    hazard_type: Mapped[str | None] = mapped_column(String(16))
    displacement_status: Mapped[str | None] = mapped_column(String(32))
    weight: Mapped[float | None]
    stratum: Mapped[str | None] = mapped_column(String(100))
    psu: Mapped[str | None] = mapped_column(String(100))

    review_state: Mapped[str] = mapped_column(
        String(16), default=ReviewState.RECEIVED.value, index=True
    )
    language: Mapped[str | None] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    warnings: Mapped[list[dict[str, str]]] = mapped_column(JSONDocument, default=list)

    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # the household's answers as the analysis layout of the version places them
    num: Mapped[list[float | None]] = mapped_column(NumArray, default=list)
    cat: Mapped[list[str | None]] = mapped_column(CatArray, default=list)


class ResponseUnit(Base):
    """The answers of one roster (repeat) of a response, in the analysis layout: a row per
    instance in each array, a slot per question (see survey_service.analysis.layout)."""

    __tablename__ = "response_units"

    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    instances: Mapped[int]
    # None when the unit has no slot of that kind (PostgreSQL has no arrays of empty rows)
    num: Mapped[list[list[float | None]] | None] = mapped_column(NumMatrix)
    cat: Mapped[list[list[str | None]] | None] = mapped_column(CatMatrix)


class ResponseRevision(Base):
    """The revisions of a revised response, the original submission first, with author and reason.

    An unrevised response keeps its only revision in its own row: the first revision copies
    the original here, so intake writes one row per household. `instance_id` is the id a
    device gave an edit (OpenRosa `meta/instanceID`, its `deprecatedID` naming the revision
    it replaces): the original's id stays in `responses`, so every id a household has had
    finds it, and a resent edit is recognised. Revisions made over the JSON API have none.
    """

    __tablename__ = "response_revisions"
    __table_args__ = (UniqueConstraint("response_id", "revision"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int]
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    reason: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """A file sent with a response (photo, audio), stored by content hash."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("response_id", "filename"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewEvent(Base):
    """One change of a response's review state, kept forever."""

    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
