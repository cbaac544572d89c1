"""Schemas for users and API tokens."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from survey_service.models import Role

_ROLES = [r.value for r in Role]


class TokenCreateSchema(Schema):
    """The optional body of a token request."""

    label = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "What the token is for ('tablet 7'); default empty."},
    )


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    prefix = fields.String(dump_only=True, metadata={"description": "First characters."})
    label = fields.String()
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(
        dump_only=True, metadata={"description": "The secret, shown this once only."}
    )


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    role = fields.String(required=True, validate=validate.OneOf(_ROLES))
    countries = fields.List(
        fields.String(validate=validate.Length(equal=2)),
        load_default=list,
        metadata={"description": "ISO 3166-1 alpha-2 codes; empty means every country."},
    )
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    tokens = fields.List(fields.Nested(TokenSchema), dump_only=True)


class UserCreateSchema(UserSchema):
    password = fields.String(
        load_only=True,
        validate=validate.Length(min=12, max=1000),
        metadata={"description": "Optional; for HTTP Basic (OpenRosa clients)."},
    )


class UserUpdateSchema(Schema):
    role = fields.String(validate=validate.OneOf(_ROLES))
    countries = fields.List(fields.String(validate=validate.Length(equal=2)))
    active = fields.Boolean()


class CreatedUserSchema(UserSchema):
    token = fields.String(metadata={"description": "The first API token, shown this once only."})
