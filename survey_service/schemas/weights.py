"""Schemas for weight sets: the CSV upload, the upload's summary and the stored versions."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from survey_service.schemas import POSITIVE

CSV_FORMAT = (
    "UTF-8 (a BOM is fine), separated by commas or semicolons. The header row names the "
    "columns `instance_id` (a response's UUID, 'uuid:' ok) and `weight` (a number > 0 with a "
    "decimal point), and optionally `stratum` and `psu` (1 to 100 characters each), in any "
    "order and case. At most 2,000,000 rows; every instance id once."
)


class WeightsUploadSchema(Schema):
    """The multipart form of an upload."""

    file = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": f"The CSV. {CSV_FORMAT}"},
    )


#: The request body of an upload: raw CSV or a multipart form (a marshmallow schema can
#: only describe objects, so the raw form is a plain string schema).
WEIGHTS_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": CSV_FORMAT,
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "instance_id,weight,stratum,psu\n"
                "6f1c8a52-4f0e-4b8e-9d1e-0c9a4a7e2b11,152.75,KG-urban,KG-017\n",
            },
            "multipart/form-data": {"schema": WeightsUploadSchema},
        },
    }
}


class WeightSetSummarySchema(Schema):
    """What an upload stored."""

    name = fields.String(required=True)
    version = fields.Integer(required=True)
    entries = fields.Integer(required=True, metadata={"description": "Responses given a weight."})
    missing = fields.Integer(
        required=True,
        metadata={
            "description": "Responses of the questionnaire that you may see, not rejected, "
            "given no weight."
        },
    )
    missing_instance_ids = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Up to 100 of the missing responses that the uploader may see."},
    )
    created_at = fields.DateTime(required=True)


class WeightSetVersionSchema(Schema):
    """One stored version of a weight set."""

    version = fields.Integer(required=True)
    entries = fields.Integer(
        required=True, metadata={"description": "Responses given a weight, that you may see."}
    )
    missing = fields.Integer(
        required=True,
        metadata={
            "description": "Responses received by the upload, not rejected, given no weight, "
            "that you may see."
        },
    )
    created_at = fields.DateTime(required=True)
    created_by = fields.Integer(allow_none=True, metadata={"description": "A user id."})


class WeightSetSchema(WeightSetVersionSchema):
    """A weight set at one version."""

    questionnaire_id = fields.String(required=True)
    name = fields.String(required=True)


class WeightSetHistorySchema(WeightSetSchema):
    """A named weight set: its latest version's fields, and every version oldest first."""

    versions = fields.List(fields.Nested(WeightSetVersionSchema), required=True)


class WeightSetQuerySchema(Schema):
    version = fields.Integer(
        validate=POSITIVE,
        metadata={"description": "Which version; default: the latest."},
    )
