"""Reading request bodies that are not described by a marshmallow schema."""

from __future__ import annotations

from typing import Any

from flask import request

from survey_service.errors import BadRequest, ServiceError


class UnsupportedMediaType(ServiceError):
    status = 415
    title = "Unsupported media type"


def json_body() -> Any:
    """The request's JSON document, or a problem saying why there is none."""
    if not request.is_json:
        raise UnsupportedMediaType(
            "request.unsupported_media_type",
            f"Send the body as application/json, not {request.mimetype or 'nothing'}.",
        )
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("request.invalid_json", "The request body is not valid JSON.")
    return data
