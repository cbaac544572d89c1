"""Weight sets: final weights (and design codes) delivered after fieldwork, named and versioned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey_service.db import Base, UTCDateTime, utcnow
from survey_service.models.response import BigId


class WeightSet(Base):
    """One version of a named set of weights for the responses of a questionnaire."""

    __tablename__ = "weight_sets"
    __table_args__ = (UniqueConstraint("questionnaire_id", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="RESTRICT")
    )
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    entries: Mapped[int]
    # responses of the questionnaire (not rejected) the set gives no weight, when uploaded
    missing: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WeightSetEntry(Base):
    """The weight of one response in a weight set, with its stratum and PSU if the set
    gives them (otherwise the response's own design codes are used)."""

    __tablename__ = "weight_set_entries"

    weight_set_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("weight_sets.id", ondelete="CASCADE"), primary_key=True
    )
    response_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[float]
    stratum: Mapped[str | None] = mapped_column(String(100))
    psu: Mapped[str | None] = mapped_column(String(100))
