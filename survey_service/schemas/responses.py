"""Schemas for submitting, listing, revising and reviewing responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, validate

from survey_service.codes import DESIGN_ROLES, TAGS
from survey_service.models import ReviewState
from survey_service.schemas import POSITIVE, UtcDateTime

_STATES = [s.value for s in ReviewState]


class ResponseCreateSchema(Schema):
    instance_id = fields.String(
        required=True, metadata={"description": "A UUID chosen by the client ('uuid:' ok)."}
    )
    version = fields.Integer(
        strict=True,
        validate=POSITIVE,
        metadata={"description": "Questionnaire version; default: the latest published."},
    )
    language = fields.String(validate=validate.Length(max=16))
    answers = fields.Dict(required=True, metadata={"description": "Nested by group and repeat."})
    meta = fields.Dict(
        load_default=dict,
        metadata={"description": "device_id, started_at, ended_at (ISO 8601 with offset), ..."},
    )


class BatchCreateSchema(Schema):
    responses = fields.List(
        fields.Raw(), required=True, validate=validate.Length(min=1), metadata={"type": "array"}
    )


class BatchResultSchema(Schema):
    instance_id = fields.String()
    status = fields.Integer(metadata={"description": "201, 200, 403, 404, 409 or 422"})
    code = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)
    errors = fields.List(fields.Dict())


class BatchResponseSchema(Schema):
    results = fields.List(fields.Nested(BatchResultSchema))
    summary = fields.Dict(metadata={"description": "How many items got each status."})


def _pick(response: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Named columns of a stored response (an ORM object, or a freshly inserted row)."""
    if isinstance(response, dict):
        return {name: response[name] for name in names}
    return {name: getattr(response, name) for name in names}


def _tags(response: Any) -> dict[str, Any]:
    return _pick(response, TAGS)


def _design(response: Any) -> dict[str, Any]:
    return _pick(response, DESIGN_ROLES)


class ResponseSchema(Schema):
    instance_id = fields.String()
    questionnaire_id = fields.String()
    version = fields.Integer()
    revision = fields.Integer()
    tags = fields.Function(_tags, metadata={"type": "object"})
    design = fields.Function(_design, metadata={"type": "object"})
    review_state = fields.String(metadata={"enum": _STATES})
    language = fields.String(allow_none=True)
    answers = fields.Dict()
    meta = fields.Dict()
    warnings = fields.List(fields.Dict())
    collected_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime()
    updated_at = fields.DateTime()
    submitted_by = fields.Integer(allow_none=True)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def response_record(response: Any) -> dict[str, Any]:
    """`ResponseSchema().dump(response)` written out by hand, for the intake hot path.

    `response` is an ORM `Response` or a freshly inserted row (a dict of its columns).
    """
    get = response.__getitem__ if isinstance(response, dict) else response.__getattribute__
    return {
        "instance_id": get("instance_id"),
        "questionnaire_id": get("questionnaire_id"),
        "version": get("version"),
        "revision": get("revision"),
        "tags": {name: get(name) for name in TAGS},
        "design": {name: get(name) for name in DESIGN_ROLES},
        "review_state": get("review_state"),
        "language": get("language"),
        "answers": get("answers"),
        "meta": get("meta"),
        "warnings": get("warnings"),
        "collected_at": _iso(get("collected_at")),
        "received_at": _iso(get("received_at")),
        "updated_at": _iso(get("updated_at")),
        "submitted_by": get("submitted_by"),
    }


def batch_result(result: Any, status: int) -> dict[str, Any]:
    """`BatchResultSchema().dump(result)` with its HTTP `status`, written out by hand (500 of
    them a batch)."""
    return {
        "instance_id": result.instance_id,
        "status": status,
        "code": result.code,
        "detail": result.detail,
        "errors": result.errors,
    }


class ResponsePageSchema(Schema):
    items = fields.List(fields.Nested(ResponseSchema))
    next_cursor = fields.String(allow_none=True)


class ResponseQuerySchema(Schema):
    country = fields.String()
    admin1 = fields.String()
    hazard_type = fields.String()
    displacement_status = fields.String()
    review_state = fields.String(validate=validate.OneOf(_STATES))
    version = fields.Integer(validate=POSITIVE)
    received_from = UtcDateTime()
    received_to = UtcDateTime()
    collected_from = UtcDateTime()
    collected_to = UtcDateTime()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    cursor = fields.String()


class RevisionCreateSchema(Schema):
    answers = fields.Dict(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    language = fields.String(validate=validate.Length(max=16))


class RevisionSchema(Schema):
    revision = fields.Integer()
    version = fields.Integer()
    content_hash = fields.String()
    answers = fields.Dict()
    reason = fields.String(allow_none=True)
    author_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class ReviewCreateSchema(Schema):
    state = fields.String(required=True, validate=validate.OneOf(_STATES))
    comment = fields.String(validate=validate.Length(max=5000))


class ReviewEventSchema(Schema):
    from_state = fields.String()
    to_state = fields.String()
    comment = fields.String(allow_none=True)
    author_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
