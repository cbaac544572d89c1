"""OpenRosa 1.0 endpoints: formList, form download, manifest and submission, for field clients."""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import HTTPException

from survey_service import error_codes
from survey_service.api.context import current_user, db_session
from survey_service.api.form_media import media_store, send_media
from survey_service.errors import Forbidden, ServiceError, Unauthorized
from survey_service.models import Role
from survey_service.openrosa.xml import (
    OPENROSA_HEADERS,
    XML_CONTENT_TYPE,
    FormEntry,
    InstanceError,
    MediaEntry,
    form_list_xml,
    manifest_xml,
    openrosa_response,
    parse_instance,
)
from survey_service.services import form_media
from survey_service.services import openrosa as service
from survey_service.services.accounts import PERMISSIONS
from survey_service.services.responses import Outcome
from survey_service.storage import LocalStore

bp = Blueprint("openrosa", __name__, url_prefix="/openrosa")

_STATUS_FOR_CODE = {error_codes.OPENROSA_TOO_LARGE: 413}
# accepted submissions all answer 201, with a message a phone shows
_RECEIVED_MESSAGES = {
    Outcome.STORED: "Household received.",
    Outcome.IDENTICAL_RESEND: "Already received.",
    Outcome.REVISED: "Edit received.",
}
# OpenRosa has no 422: an invalid instance answers 400, as other OpenRosa servers do
_REFUSED_STATUS = {
    Outcome.INVALID: 400,
    Outcome.FORBIDDEN: 403,
    Outcome.VERSION_NOT_FOUND: 404,
    Outcome.NOT_FOUND: 404,
    Outcome.CONFLICT: 409,
}


# the one challenge: Collect answers Basic (with the user name and a token or password);
# Digest is not offered, since tokens and passwords are stored only as hashes
_CHALLENGE = 'Basic realm="survey-service", charset="UTF-8"'
# why a phone was not let in, in its words (never the API's Bearer advice)
_SIGN_IN_PROBLEMS = {
    error_codes.AUTH_INVALID_CREDENTIALS: "Wrong user name or password.",
    error_codes.AUTH_INVALID_TOKEN: "Wrong user name or password.",
    error_codes.AUTH_MALFORMED: "The user name or password could not be read.",
}
_SIGN_IN_ADVICE = (
    "In Collect's server settings (Settings, Project settings, Server), enter your "
    "enumerator user name, and as the password one of your API tokens or your password."
)


def _reply(body: bytes, status: int = 200, **headers: str) -> Response:
    response = Response(body, status=status, content_type=XML_CONTENT_TYPE)
    response.headers.update(OPENROSA_HEADERS)
    response.headers["X-OpenRosa-Accept-Content-Length"] = str(
        current_app.config["MAX_CONTENT_LENGTH"]
    )
    response.headers.update(headers)
    return response


def _error(status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": _CHALLENGE} if status == 401 else {}
    return _reply(openrosa_response(message, nature="error"), status, **headers)


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError) -> Response:
    return _error(exc.status, exc.detail)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    # e.g. 413 for a body over the accepted length: still an OpenRosa reply a phone can show
    return _error(exc.code or 400, exc.description or exc.name)


@bp.before_request
def _check_protocol() -> Response | None:
    # media files are plain downloads: Enketo's server fetches them without the header
    if request.endpoint == "openrosa.media_file":
        return None
    if request.headers.get("X-OpenRosa-Version") != "1.0":
        return _error(400, "This endpoint speaks OpenRosa: send 'X-OpenRosa-Version: 1.0'.")
    return None


def _submitter() -> Any:
    user = current_user()
    if Role(user.role) not in PERMISSIONS["responses.submit"]:
        raise Forbidden(
            error_codes.AUTH_FORBIDDEN,
            f"The account {user.name!r} ({user.role}) may not fill in forms: sign in with an "
            "enumerator's account.",
        )
    return user


@bp.get("/formList")
def form_list() -> Response:
    """The forms the authenticated user may fill: latest published version of each."""
    _submitter()
    session = db_session()
    entries = []
    for form in service.published_forms(session):
        digest = service.xform_for(session, form.qid, form.version).hash
        entries.append(
            FormEntry(
                form_id=form.qid,
                name=form.title,
                version=str(form.version),
                hash=digest,
                download_url=url_for(
                    "openrosa.form", qid=form.qid, version=form.version, _external=True
                ),
                manifest_url=url_for(
                    "openrosa.manifest", qid=form.qid, version=form.version, _external=True
                ),
            )
        )
    return _reply(form_list_xml(entries))


@bp.get("/forms/<string:qid>/<int:version>/form.xml")
def form(qid: str, version: int) -> Response:
    """The XForm of one published version."""
    _submitter()
    xml = service.xform_for(db_session(), qid, version).xml
    return _reply(xml.encode("utf-8"))


@bp.get("/forms/<string:qid>/<int:version>/manifest")
def manifest(qid: str, version: int) -> Response:
    """The media files of a published version: name, MD5 and where to download each."""
    _submitter()
    entries = [
        MediaEntry(
            filename=media.filename,
            hash=media.md5,
            download_url=url_for(
                "openrosa.media_file",
                qid=qid,
                version=version,
                filename=media.filename,
                _external=True,
            ),
        )
        for media in form_media.list_version_media(db_session(), qid, version)
    ]
    return _reply(manifest_xml(entries))


@bp.get("/forms/<string:qid>/<int:version>/media/<string:filename>")
def media_file(qid: str, version: int, filename: str) -> Response:
    """One media file of a published version, as the media type of its extension."""
    _submitter()
    media = form_media.version_media_file(db_session(), qid, version, filename)
    response = send_media(media_store(), media)
    response.headers.update(OPENROSA_HEADERS)
    return response


@bp.route("/submission", methods=["HEAD", "POST"])
def submission() -> Response:
    """HEAD: the pre-flight clients send; POST: an instance with its files (multipart)."""
    user = _submitter()
    if request.method == "HEAD":
        return _reply(b"", 204)
    xml_part = request.files.get("xml_submission_file")
    if xml_part is None:
        return _error(400, "The multipart part 'xml_submission_file' is missing.")
    uploads = [
        service.Upload(
            part.filename or name, part.read(), part.mimetype or "application/octet-stream"
        )
        for name, part in request.files.items(multi=True)
        if name != "xml_submission_file"
    ]
    session = db_session()

    @functools.cache  # the instance's form is looked up once, by the parser and below
    def resolve(form_id: str, version: int | None) -> Any:
        return service.published_definition(session, form_id, version)

    try:
        instance = parse_instance(
            xml_part.read(),
            max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
            media_names=[u.filename for u in uploads],
            resolve=resolve,
        )
    except InstanceError as exc:
        return _error(_STATUS_FOR_CODE.get(exc.code, 400), exc.message)
    definition = resolve(instance.form_id, instance.version)
    if definition is None:
        return _error(
            404 if instance.version is None else 400,
            f"Form {instance.form_id!r} version {instance.version} is not published here; "
            "download the current form.",
        )
    language = request.accept_languages.best_match(definition.languages)
    store = LocalStore(current_app.extensions["survey"]["settings"].resolved_attachments_dir())
    received = service.receive(
        session,
        instance,
        user,
        uploads,
        store,
        language=language,
        definition=definition,
        # Collect marks every part of a split submission but the last
        complete=request.form.get("*isIncomplete*", "").lower() != "yes",
        max_file_bytes=current_app.config["MAX_CONTENT_LENGTH"],
    )
    if received.outcome.accepted:
        return _reply(openrosa_response(_RECEIVED_MESSAGES[received.outcome]), 201)
    return _error(_REFUSED_STATUS[received.outcome], received.detail or "")


def unauthorized_as_basic(exc: Unauthorized) -> Response:
    """A 401 with the Basic challenge and how to sign in from Collect."""
    problem = _SIGN_IN_PROBLEMS.get(exc.code, "This server needs a user name and password.")
    return _error(401, f"{problem} {_SIGN_IN_ADVICE}")


bp.register_error_handler(Unauthorized, unauthorized_as_basic)
