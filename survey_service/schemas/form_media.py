"""Schemas for form media: a file's description, and the bodies of uploads and downloads."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from survey_service.media import MEDIA_TYPES

_BINARY = {"type": "string", "format": "binary"}
_MEDIA_TYPES = sorted(set(MEDIA_TYPES.values()))

MEDIA_RULES = (
    "A plain file name (no path, no leading dot, at most 255 bytes) ending in one of: "
    + ", ".join(f"`.{e}`" for e in MEDIA_TYPES)
    + ". A CSV file is UTF-8, comma-separated, with a header row of distinct names and as many "
    "fields on every line; an XML file has no DTD or entities; a GeoJSON file is one "
    "FeatureCollection whose features each have a geometry and an id (`id` or `properties.id`); "
    "pictures and sounds start as their extension says. The media type kept and served is the "
    "extension's, whatever Content-Type the upload had."
)

#: The request body of an upload: the file's bytes, as any media type (not multipart).
MEDIA_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"The file itself. {MEDIA_RULES}",
        "content": {
            media_type: {"schema": _BINARY}
            for media_type in ("application/octet-stream", *_MEDIA_TYPES)
        },
    }
}

#: The reply of a download: the file, under the media type of its extension.
MEDIA_DOWNLOAD: dict[str, Any] = {
    "responses": {
        "200": {"content": {media_type: {"schema": _BINARY} for media_type in _MEDIA_TYPES}}
    }
}


class MediaFileSchema(Schema):
    """One media file of a draft or of a published version."""

    filename = fields.String(required=True)
    media_type = fields.String(
        required=True, metadata={"description": "From the extension: what it is served as."}
    )
    size = fields.Integer(required=True, metadata={"description": "In bytes."})
    md5 = fields.String(
        required=True, metadata={"description": "Hex digest, as the OpenRosa manifest gives it."}
    )
    sha256 = fields.String(required=True, metadata={"description": "Hex digest."})
    updated_at = fields.DateTime(required=True)
    updated_by = fields.Integer(allow_none=True, metadata={"description": "A user id."})
