"""Response endpoints: submit (one or a batch), list, read, revise and review."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, url_for
from flask.views import MethodView

from survey_service import error_codes
from survey_service.api.blueprint import Blueprint
from survey_service.api.body import json_body, read_json
from survey_service.api.context import current_user, db_session, require
from survey_service.api.form_media import media_store
from survey_service.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    Unprocessable,
    invalid_request,
)
from survey_service.jsonutil import dumps
from survey_service.queries.responses import ResponseFilter
from survey_service.schemas.responses import (
    BatchCreateSchema,
    BatchResponseSchema,
    ResponseCreateSchema,
    ResponsePageSchema,
    ResponseQuerySchema,
    ResponseSchema,
    ReviewCreateSchema,
    ReviewEventSchema,
    RevisionCreateSchema,
    RevisionSchema,
    batch_result,
    response_record,
)
from survey_service.services import responses as service

blp = Blueprint(
    "responses",
    __name__,
    url_prefix="/api/v1",
    description="Household responses: validated intake, revisions, review",
)

#: The status of each outcome of a submission, as a reply and in a batch's results.
_STATUS = {
    service.Outcome.STORED: 201,
    service.Outcome.IDENTICAL_RESEND: 200,
    service.Outcome.FORBIDDEN: 403,
    service.Outcome.VERSION_NOT_FOUND: 404,
    service.Outcome.CONFLICT: 409,
    service.Outcome.INVALID: 422,
}
_REFUSALS: dict[service.Outcome, type[ServiceError]] = {
    service.Outcome.FORBIDDEN: Forbidden,
    service.Outcome.VERSION_NOT_FOUND: NotFound,
    service.Outcome.CONFLICT: Conflict,
    service.Outcome.INVALID: Unprocessable,
}


class BatchTooLarge(ServiceError):
    status = 413
    title = "Content too large"


def _raise_for(result: service.SubmitResult) -> None:
    error = _REFUSALS[result.outcome]
    raise error(
        result.code or error_codes.RESPONSE_INVALID, result.detail or "", errors=result.errors
    )


def _location(instance_id: str) -> str:
    return url_for("responses.ResponseById", instance_id=instance_id)


def _stored(result: service.SubmitResult) -> Response:
    """The stored record as the reply to a submission (201 new, 200 identical resend)."""
    return Response(
        dumps(response_record(result.response)),
        status=_STATUS[result.outcome],
        mimetype="application/json",
        headers={"Location": _location(result.instance_id)},
    )


_SUBMISSION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ResponseCreateSchema},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["submission"],
                    "properties": {
                        "submission": {
                            "type": "string",
                            "description": "The submission as JSON (the application/json "
                            "body). Every other part is a file, under the name a media "
                            "answer gives it (its part's filename, else the part's name).",
                        }
                    },
                    "additionalProperties": {"type": "string", "format": "binary"},
                },
                "encoding": {"submission": {"contentType": "application/json"}},
            },
        },
    }
}


def _submission_with_files() -> tuple[Any, list[service.Upload]]:
    """The JSON body and the files of a submission: multipart (a `submission` part with
    the JSON, each other part a file) or a plain JSON body without files."""
    if request.mimetype != "multipart/form-data":
        return json_body(), []
    uploads = [
        service.Upload(
            part.filename or name, part.read(), part.mimetype or "application/octet-stream"
        )
        for name, part in request.files.items(multi=True)
        if name != "submission"
    ]
    text: str | bytes | None = request.form.get("submission")
    if text is None and "submission" in request.files:
        text = request.files["submission"].read()
    if text is None:
        raise invalid_request([("submission", "required: the submission as a JSON part")])
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return read_json(raw), uploads


_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": BatchCreateSchema}},
    }
}


@blp.route("/questionnaires/<qid:qid>/responses")
class Responses(MethodView):
    @require("responses.submit")
    @blp.doc(**_SUBMISSION_BODY)
    @blp.response(201, ResponseSchema)
    @blp.alt_response(200, schema=ResponseSchema, description="Stored before: an identical resend.")
    def post(self, qid: str) -> Any:
        """Submit one household response; it is validated completely before it is stored.

        As multipart/form-data, the files that its media answers name come with it: each
        must be named by a media answer and each media answer must name one of them, of a
        plausible kind for its question (pictures, sounds, videos); they are stored with
        the response as OpenRosa's attachments are.
        """
        data, uploads = _submission_with_files()
        submission = service.parse_submission(data)
        session = db_session()
        (result,) = service.submit_responses(
            session,
            qid,
            [submission],
            current_user(),
            choose_language=request.accept_languages.best_match,
            files={u.filename: u.data for u in reversed(uploads)},
            max_file_bytes=current_app.config["MAX_CONTENT_LENGTH"],
            media_store=media_store(),
        )
        if not result.outcome.accepted:
            _raise_for(result)
        record = result.response
        if uploads and record is not None:
            response_id = record["id"] if isinstance(record, dict) else record.id
            service.store_files(session, response_id, uploads, media_store())
        return _stored(result)

    @require("responses.read")
    @blp.arguments(ResponseQuerySchema, location="query")
    @blp.response(200, ResponsePageSchema)
    def get(self, query: dict[str, Any], qid: str) -> Any:
        """List responses with filters, in arrival order, a page at a time (`next_cursor`)."""
        limit, cursor = query.pop("limit"), query.pop("cursor", None)
        items, next_cursor = service.list_responses(
            db_session(),
            qid,
            current_user(),
            ResponseFilter(**query),
            limit=limit,
            cursor=cursor,
        )
        return {"items": items, "next_cursor": next_cursor}


def _batch_items(data: Any) -> list[Any]:
    """The items of a batch body `{"responses": [...]}`, within the configured size."""
    items = data.get("responses") if isinstance(data, dict) else None
    problems = (
        [(str(key), "unknown field") for key in data if key != "responses"]
        if isinstance(data, dict)
        else [("", 'an object {"responses": [...]} is expected')]
    )
    if not isinstance(items, list) or not items:
        problems.append(("responses", "required: a non-empty array of responses"))
    if problems or not isinstance(items, list):
        raise invalid_request(problems)
    limit = current_app.extensions["survey"]["settings"].max_batch_size
    if len(items) > limit:
        raise BatchTooLarge(
            error_codes.BATCH_TOO_LARGE,
            f"A batch holds at most {limit} responses, not {len(items)}.",
        )
    return items


@blp.route("/questionnaires/<qid:qid>/responses/batch")
class ResponseBatch(MethodView):
    @require("responses.submit")
    @blp.doc(**_BATCH_BODY)
    @blp.response(200, BatchResponseSchema)
    def post(self, qid: str) -> Any:
        """Submit many responses; each is judged on its own, results in request order."""
        items = _batch_items(json_body())
        submissions: list[service.Submission] = []
        early: dict[int, service.SubmitResult] = {}
        for index, item in enumerate(items):
            try:
                submissions.append(service.parse_submission(item))
            except Unprocessable as exc:
                instance_id = item.get("instance_id") if isinstance(item, dict) else None
                early[index] = service.SubmitResult(
                    str(instance_id),
                    service.Outcome.INVALID,
                    code=exc.code,
                    detail="The item does not have the shape of a response.",
                    errors=exc.errors or [],
                )
        stored = iter(
            service.submit_responses(
                db_session(),
                qid,
                submissions,
                current_user(),
                choose_language=request.accept_languages.best_match,
                files={},  # a batch carries no files: a media answer cannot name one
                media_store=media_store(),
            )
        )
        results = [early.get(i) or next(stored) for i in range(len(items))]
        statuses = [_STATUS[result.outcome] for result in results]
        summary: dict[str, int] = {}
        for status in statuses:
            summary[str(status)] = summary.get(str(status), 0) + 1
        body = {
            "results": [batch_result(r, s) for r, s in zip(results, statuses, strict=True)],
            "summary": summary,
        }
        return Response(dumps(body), mimetype="application/json")


@blp.route("/responses/<instance_id:instance_id>")
class ResponseById(MethodView):
    @require("responses.read")
    @blp.response(200, ResponseSchema)
    def get(self, instance_id: str) -> Any:
        """One response, as its latest revision."""
        return service.get_response(db_session(), instance_id, current_user())

    @require("responses.submit")
    @blp.arguments(RevisionCreateSchema)
    @blp.response(200, ResponseSchema)
    def put(self, data: dict[str, Any], instance_id: str) -> Any:
        """Revise a response: new answers, validated like a submission, and a reason."""
        response, _ = service.revise_response(
            db_session(),
            instance_id,
            data["answers"],
            data["reason"],
            current_user(),
            language=data.get("language"),
            media_store=media_store(),
        )
        return response


@blp.route("/responses/<instance_id:instance_id>/revisions")
class Revisions(MethodView):
    @require("responses.read")
    @blp.response(200, RevisionSchema(many=True))
    def get(self, instance_id: str) -> Any:
        """Every revision, the original submission first, with author, time and reason."""
        return service.list_revisions(db_session(), instance_id, current_user())


@blp.route("/responses/<instance_id:instance_id>/revisions/<int:revision>")
class RevisionByNumber(MethodView):
    @require("responses.read")
    @blp.response(200, RevisionSchema)
    def get(self, instance_id: str, revision: int) -> Any:
        """One revision."""
        return service.get_revision(db_session(), instance_id, revision, current_user())


@blp.route("/responses/<instance_id:instance_id>/review")
class Review(MethodView):
    @require("responses.review")
    @blp.arguments(ReviewCreateSchema)
    @blp.response(200, ResponseSchema)
    def post(self, data: dict[str, Any], instance_id: str) -> Any:
        """Set the review state (received, approved, rejected, has_issues) with a comment."""
        return service.review_response(
            db_session(), instance_id, data["state"], data.get("comment"), current_user()
        )

    @require("responses.read")
    @blp.response(200, ReviewEventSchema(many=True))
    def get(self, instance_id: str) -> Any:
        """Every review change, oldest first."""
        return service.list_reviews(db_session(), instance_id, current_user())
