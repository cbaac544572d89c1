"""Form media endpoints: attach files to a draft; list and download those of drafts and versions."""

from __future__ import annotations

import io
from typing import Any

from flask import Response, current_app, request, send_file, url_for
from flask.views import MethodView

from survey_service import error_codes
from survey_service.api.blueprint import Blueprint
from survey_service.api.body import UnsupportedMediaType, spooled_body
from survey_service.api.context import authenticated, current_user, db_session, require
from survey_service.models import FormMedia
from survey_service.schemas.form_media import (
    MEDIA_DOWNLOAD,
    MEDIA_UPLOAD_BODY,
    MediaFileSchema,
)
from survey_service.services import form_media as service
from survey_service.storage import AttachmentStore, LocalStore

blp = Blueprint(
    "form_media",
    __name__,
    url_prefix="/api/v1/questionnaires",
    description="Form media: files of a questionnaire (CSV, XML, GeoJSON, pictures, sounds) "
    "for ODK Collect and Enketo, attached to the draft and frozen into each published version",
)


def media_store() -> AttachmentStore:
    """Where media bytes are kept: the attachment store, by SHA-256."""
    settings = current_app.extensions["survey"]["settings"]
    return LocalStore(settings.resolved_attachments_dir())


def file_body() -> bytes:
    """The uploaded file: the raw body, up to SURVEY_MAX_MEDIA_LENGTH (413 beyond)."""
    request.max_content_length = current_app.extensions["survey"]["settings"].max_media_length
    if request.mimetype == "multipart/form-data":
        raise UnsupportedMediaType(
            error_codes.REQUEST_UNSUPPORTED_MEDIA_TYPE,
            "Send the file itself as the body (curl -T file URL), not a multipart form.",
        )
    return spooled_body()


def send_media(store: AttachmentStore, media: FormMedia) -> Response:
    """A file as its extension's media type, never sniffed as another (read whole: the
    largest is SURVEY_MAX_MEDIA_LENGTH, and no file handle outlives the request)."""
    with service.open_media(store, media) as blob:
        data = blob.read()
    response = send_file(
        io.BytesIO(data),
        mimetype=media.media_type,
        as_attachment=True,
        download_name=media.filename,
        etag=media.sha256,
        conditional=True,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/<qid:qid>/draft/media")
class DraftMedia(MethodView):
    @authenticated
    @blp.response(200, MediaFileSchema(many=True))
    def get(self, qid: str) -> Any:
        """The media files of the draft, by name."""
        return service.list_draft_media(db_session(), qid)


@blp.route("/<qid:qid>/draft/media/<media_name:filename>")
class DraftMediaFile(MethodView):
    @authenticated
    @blp.response(200, description="The file, as the media type of its extension.")
    @blp.doc(**MEDIA_DOWNLOAD)
    def get(self, qid: str, filename: str) -> Any:
        """Download a media file of the draft."""
        return send_media(media_store(), service.draft_media_file(db_session(), qid, filename))

    @require("questionnaires.edit")
    @blp.doc(**MEDIA_UPLOAD_BODY)
    @blp.response(201, MediaFileSchema, description="Added to the draft.")
    @blp.alt_response(200, schema=MediaFileSchema, description="Replaced a file of that name.")
    def put(self, qid: str, filename: str) -> Any:
        """Attach a file to the draft under `filename`, replacing any of that name; it is
        checked first (name, kind, content) and refused whole (422, 413) with a stable code."""
        outcome = service.put_draft_media(
            db_session(), media_store(), qid, filename, file_body(), current_user()
        )
        location = url_for("form_media.DraftMediaFile", qid=qid, filename=filename)
        return outcome.media, 201 if outcome.created else 200, {"Location": location}

    @require("questionnaires.edit")
    @blp.response(204)
    def delete(self, qid: str, filename: str) -> Any:
        """Remove a file from the draft (published versions keep theirs)."""
        service.delete_draft_media(db_session(), qid, filename, current_user())
        return None


@blp.route("/<qid:qid>/versions/<int:version>/media")
class VersionMedia(MethodView):
    @authenticated
    @blp.response(200, MediaFileSchema(many=True))
    def get(self, qid: str, version: int) -> Any:
        """The media files of a published version (they never change), by name."""
        return service.list_version_media(db_session(), qid, version)


@blp.route("/<qid:qid>/versions/<int:version>/media/<media_name:filename>")
class VersionMediaFile(MethodView):
    @authenticated
    @blp.response(200, description="The file, as the media type of its extension.")
    @blp.doc(**MEDIA_DOWNLOAD)
    def get(self, qid: str, version: int, filename: str) -> Any:
        """Download a media file of a published version."""
        media = service.version_media_file(db_session(), qid, version, filename)
        return send_media(media_store(), media)
