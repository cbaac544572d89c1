"""The schema of every error reply: RFC 9457 problem details with the service's members."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class FieldErrorSchema(Schema):
    path = fields.String(
        required=True, metadata={"description": "Where: `members[0].age`, `line 12`; '' the whole."}
    )
    code = fields.String(required=True, metadata={"description": "A stable code."})
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """application/problem+json; further members may be added (RFC 9457, section 3.2)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(
        required=True, metadata={"description": "urn:survey-service:problem:<code>"}
    )
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(
        required=True,
        metadata={"description": "A stable code (`response.constraint_failed`) to branch on."},
    )
    instance = fields.String(required=True, metadata={"description": "The request's path."})
    errors = fields.List(
        fields.Nested(FieldErrorSchema),
        metadata={"description": "Every field at fault, for a validation problem."},
    )
    problem_count = fields.Integer(
        metadata={"description": "How many problems there are, when `errors` lists only some."}
    )
    allowed = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "What each field at fault allows instead (aggregates)."},
    )
