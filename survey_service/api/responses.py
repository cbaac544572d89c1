"""Response endpoints: submit (one or a batch), list, read, revise and review."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError

from survey_service.api.context import current_user, db_session, require
from survey_service.api.problems import flatten_messages
from survey_service.errors import Conflict, Forbidden, NotFound, ServiceError, Unprocessable
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
)
from survey_service.services import responses as service

blp = Blueprint(
    "responses",
    __name__,
    url_prefix="/api/v1",
    description="Household responses: validated intake, revisions, review",
)

_STATUS_ERRORS: dict[int, type[ServiceError]] = {
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Unprocessable,
}


class BatchTooLarge(ServiceError):
    status = 413
    title = "Content too large"


def _raise_for(result: service.SubmitResult) -> None:
    error = _STATUS_ERRORS[result.status]
    raise error(result.code or "response.invalid", result.detail or "", errors=result.errors)


def _location(instance_id: str) -> str:
    return url_for("responses.ResponseById", instance_id=instance_id)


def _submission(data: dict[str, Any]) -> service.Submission:
    return service.Submission(
        instance_id=data["instance_id"],
        answers=data["answers"],
        version=data.get("version"),
        language=data.get("language"),
        meta=data.get("meta") or {},
    )


@blp.route("/questionnaires/<string:qid>/responses")
class Responses(MethodView):
    @require("responses.submit")
    @blp.arguments(ResponseCreateSchema)
    @blp.response(201, ResponseSchema)
    @blp.alt_response(200, schema=ResponseSchema, description="Stored before: an identical resend.")
    def post(self, data: dict[str, Any], qid: str) -> Any:
        """Submit one household response; it is validated completely before it is stored."""
        (result,) = service.submit_responses(db_session(), qid, [_submission(data)], current_user())
        if result.status not in (200, 201):
            _raise_for(result)
        return result.response, result.status, {"Location": _location(result.instance_id)}

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
            service.ResponseFilter(**query),
            limit=limit,
            cursor=cursor,
        )
        return {"items": items, "next_cursor": next_cursor}


@blp.route("/questionnaires/<string:qid>/responses/batch")
class ResponseBatch(MethodView):
    @require("responses.submit")
    @blp.arguments(BatchCreateSchema)
    @blp.response(200, BatchResponseSchema)
    def post(self, data: dict[str, Any], qid: str) -> Any:
        """Submit many responses; each is judged on its own, results in request order."""
        items = data["responses"]
        limit = current_app.extensions["survey"]["settings"].max_batch_size
        if len(items) > limit:
            raise BatchTooLarge(
                "batch.too_large", f"A batch holds at most {limit} responses, not {len(items)}."
            )
        schema = ResponseCreateSchema()
        submissions: list[service.Submission] = []
        early: dict[int, service.SubmitResult] = {}
        for index, item in enumerate(items):
            try:
                submissions.append(_submission(schema.load(item)))
            except ValidationError as exc:
                instance_id = item.get("instance_id") if isinstance(item, dict) else None
                early[index] = service.SubmitResult(
                    str(instance_id),
                    422,
                    code="request.invalid",
                    detail="The item does not have the shape of a response.",
                    errors=flatten_messages(exc.messages),
                )
        stored = iter(service.submit_responses(db_session(), qid, submissions, current_user()))
        results = [early.get(i) or next(stored) for i in range(len(items))]
        summary: dict[str, int] = {}
        for result in results:
            summary[str(result.status)] = summary.get(str(result.status), 0) + 1
        return {"results": results, "summary": summary}


@blp.route("/responses/<string:instance_id>")
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
        )
        return response


@blp.route("/responses/<string:instance_id>/revisions")
class Revisions(MethodView):
    @require("responses.read")
    @blp.response(200, RevisionSchema(many=True))
    def get(self, instance_id: str) -> Any:
        """Every revision, the original submission first, with author, time and reason."""
        return service.list_revisions(db_session(), instance_id, current_user())


@blp.route("/responses/<string:instance_id>/revisions/<int:revision>")
class RevisionByNumber(MethodView):
    @require("responses.read")
    @blp.response(200, RevisionSchema)
    def get(self, instance_id: str, revision: int) -> Any:
        """One revision."""
        return service.get_revision(db_session(), instance_id, revision, current_user())


@blp.route("/responses/<string:instance_id>/review")
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
