"""Form media: the files of a questionnaire draft, and those frozen into each published version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from survey_service.db import Base, UTCDateTime, utcnow


class FormMedia(Base):
    """One media file: of the draft (`version` None) or of a published version, which never
    changes. The bytes are in the attachment store under `sha256`; `md5` is the hash the
    OpenRosa manifest announces."""

    __tablename__ = "form_media"
    __table_args__ = (
        # a published version's files: one per name
        UniqueConstraint("questionnaire_id", "version", "filename"),
        # the draft's files (NULL versions are distinct in a unique constraint): one per name
        Index(
            "uq_form_media_draft_filename",
            "questionnaire_id",
            "filename",
            unique=True,
            sqlite_where=text("version IS NULL"),
            postgresql_where=text("version IS NULL"),
        ),
        ForeignKeyConstraint(
            ["questionnaire_id", "version"],
            ["questionnaire_versions.questionnaire_id", "questionnaire_versions.version"],
            ondelete="RESTRICT",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(
        ForeignKey("questionnaires.id", ondelete="RESTRICT")
    )
    version: Mapped[int | None]
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    md5: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
