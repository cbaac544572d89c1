"""Schemas for questionnaires, their versions and their lifecycle."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_dump

from survey_service.schemas.problems import FieldErrorSchema


class VersionSummarySchema(Schema):
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    published_at = fields.DateTime(required=True)
    published_by = fields.Integer(allow_none=True)


class VersionSchema(VersionSummarySchema):
    questionnaire_id = fields.String(required=True)
    definition = fields.Dict(required=True, metadata={"description": "The published definition."})


class QuestionnaireSchema(Schema):
    id = fields.String(required=True)
    title = fields.Function(lambda q: q.draft.get("title"), metadata={"type": "object"})
    status = fields.String(required=True, metadata={"enum": ["open", "closed"]})
    latest_version = fields.Integer(
        required=True, metadata={"description": "0 while nothing is published."}
    )
    draft_changed = fields.Method(
        "_draft_changed",
        metadata={"type": "boolean", "description": "The draft differs from the latest version."},
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _draft_changed(self, obj: Any) -> bool:
        versions = obj.versions
        return not versions or versions[-1].content_hash != obj.draft_hash


class QuestionnaireDetailSchema(QuestionnaireSchema):
    draft = fields.Dict(required=True)
    warnings = fields.List(
        fields.Nested(FieldErrorSchema),
        attribute="draft_warnings",
        metadata={
            "description": "What reading the draft's XLSForm accepted but ignored or fixed, "
            "each at its cell (`survey!D12`); empty for a draft sent as JSON."
        },
    )
    versions = fields.List(fields.Nested(VersionSummarySchema))

    @post_dump
    def _no_warnings(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("warnings") is None:  # a draft sent as JSON, or stored before warnings
            data["warnings"] = []
        return data
