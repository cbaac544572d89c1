"""Attachment statements: the files of OpenRosa submissions, one row per response and name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from survey_service.models import Attachment


def insert_new(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert attachment rows, skipping the (response, filename) pairs stored already."""
    insert_for = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert_for(Attachment).on_conflict_do_nothing(index_elements=["response_id", "filename"]),
        rows,
    )


def of_response(session: Session, response_id: int) -> Sequence[Attachment]:
    """The files stored with a response (every revision's), by name."""
    return session.scalars(
        select(Attachment)
        .where(Attachment.response_id == response_id)
        .order_by(Attachment.filename)
    ).all()
