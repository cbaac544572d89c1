"""Weight set endpoints: upload final weights as CSV, list and read the stored versions."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask.views import MethodView

from survey_service import error_codes
from survey_service.api.blueprint import Blueprint
from survey_service.api.body import UnsupportedMediaType, spooled_body
from survey_service.api.context import current_user, db_session, require
from survey_service.errors import BadRequest
from survey_service.schemas.weights import (
    WEIGHTS_UPLOAD_BODY,
    WeightSetHistorySchema,
    WeightSetQuerySchema,
    WeightSetSchema,
    WeightSetSummarySchema,
)
from survey_service.services import weights as service
from survey_service.statistics.weight_csv import parse_weights_csv

blp = Blueprint(
    "weights",
    __name__,
    url_prefix="/api/v1",
    description="Weight sets: final survey weights uploaded after fieldwork, named and versioned",
)


def csv_body() -> bytes:
    """The uploaded CSV: the raw body as text/csv, or the multipart part 'file'.

    A weight set may be larger than other requests (50 MB for a million households):
    SURVEY_MAX_UPLOAD_LENGTH bounds it instead of SURVEY_MAX_CONTENT_LENGTH.
    """
    request.max_content_length = current_app.extensions["survey"]["settings"].max_upload_length
    if request.mimetype == "text/csv":
        return spooled_body()
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest(
                error_codes.REQUEST_MISSING_FILE, "Send the CSV in the multipart part 'file'."
            )
        content: bytes = upload.read()
        return content
    raise UnsupportedMediaType(
        error_codes.REQUEST_UNSUPPORTED_MEDIA_TYPE,
        f"Send the weights as text/csv or multipart/form-data (part 'file'), "
        f"not {request.mimetype or 'nothing'}.",
    )


@blp.route("/questionnaires/<qid:qid>/weights")
class WeightSets(MethodView):
    @require("aggregates.read")
    @blp.response(200, WeightSetHistorySchema(many=True))
    def get(self, qid: str) -> Any:
        """The weight sets of a questionnaire: each name's latest version and all its versions."""
        return service.list_weight_sets(db_session(), qid, current_user())


@blp.route("/questionnaires/<qid:qid>/weights/<weight_set:name>")
class WeightSetByName(MethodView):
    @require("aggregates.read")
    @blp.arguments(WeightSetQuerySchema, location="query")
    @blp.response(200, WeightSetSchema)
    def get(self, query: dict[str, Any], qid: str, name: str) -> Any:
        """A weight set at its latest version, or at `?version=N`."""
        return service.get_weight_set(db_session(), qid, name, current_user(), query.get("version"))

    @require("weights.manage")
    @blp.doc(**WEIGHTS_UPLOAD_BODY)
    @blp.response(201, WeightSetSummarySchema)
    def put(self, qid: str, name: str) -> Any:
        """Upload weights as the next version of the set `name`; nothing is stored unless
        every row is valid and names a response of the questionnaire that you may see."""
        rows = parse_weights_csv(csv_body())
        summary = service.put_weight_set(db_session(), qid, name, rows, current_user())
        location = url_for("weights.WeightSetByName", qid=qid, name=name, version=summary.version)
        return summary, 201, {"Location": location}
