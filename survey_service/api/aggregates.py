"""The aggregates endpoint: estimates with standard errors as JSON, CSV, XLSX or SDMX-CSV."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app
from flask.views import MethodView
from marshmallow import RAISE

from survey_service import error_codes
from survey_service.api.blueprint import Blueprint
from survey_service.api.context import current_user, db_session, require
from survey_service.errors import FieldError, Problems, StatementTooComplex, Unprocessable
from survey_service.exports.tables import (
    CSV_MEDIA_TYPE,
    SDMX_CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Table,
    to_csv,
    to_json,
    to_sdmx_csv,
    to_xlsx,
)
from survey_service.jsonutil import dumps
from survey_service.schemas.aggregates import (
    AggregateBodySchema,
    AggregateQuerySchema,
    AggregateTableSchema,
)
from survey_service.services import aggregates as service

blp = Blueprint(
    "aggregates",
    __name__,
    url_prefix="/api/v1",
    description="Design-based estimates with standard errors, under disclosure control",
)

_FILE_MEDIA_TYPES = {
    "csv": (CSV_MEDIA_TYPE, "csv"),
    "xlsx": (XLSX_MEDIA_TYPE, "xlsx"),
    "sdmx-csv": (SDMX_CSV_MEDIA_TYPE, "csv"),
}
_FILE_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
#: the 200 reply's media types, chosen by `format`, for the document (this replaces the
#: content `blp.response` declares, so JSON is named again)
_FILES_DOC = {
    "responses": {
        "200": {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/AggregateTable"}},
                **{
                    media_type: {"schema": {"type": "string", "format": "binary"}}
                    for media_type, _ in _FILE_MEDIA_TYPES.values()
                },
            }
        }
    }
}


def _request(data: dict[str, Any]) -> service.AggregateRequest:
    versions = data.get("version")
    return service.AggregateRequest(
        stat=data["stat"],
        variable=data.get("variable"),
        value=data.get("value"),
        denominator=data.get("denominator"),
        unit=data["unit"],
        by=tuple(data["by"]),
        age_groups=data["age_groups"],
        filters=service.parse_tag_filters(data),
        review_states=tuple(data["review_state"]) if data.get("review_state") else None,
        versions=tuple(versions) if versions else None,
        collected_from=data.get("collected_from"),
        collected_to=data.get("collected_to"),
        weights=data.get("weights"),
        weights_version=data.get("weights_version"),
        confidence=data["confidence"],
        single_psu=data.get("single_psu"),
        population_psus=data.get("population_psus"),
        margins=data["margins"],
        suppression=data["suppression"] == "on",
    )


def _answer(qid: str, data: dict[str, Any]) -> Response:
    settings = current_app.extensions["survey"]["settings"]
    try:
        table = service.run_aggregate(db_session(), qid, _request(data), current_user(), settings)
    except StatementTooComplex as exc:
        raise _too_complex(data) from exc
    return _render(qid, table, data["format"], data.get("lang"))


def _too_complex(data: dict[str, Any]) -> Unprocessable:
    """The 422 for an expression within the limits that the database still refused: only the
    variable and the denominator are expressions a client writes, so they are at fault."""
    # not the database's own text: it can carry hints about the server's configuration
    problems = Problems()
    for path in [p for p in ("variable", "denominator") if data.get(p)] or ["variable"]:
        problems.add(
            path,
            error_codes.AGGREGATE_EXPRESSION_TOO_LARGE,
            "the expression is too large for the database: it refused its SQL as too large "
            "or too deeply nested; write it with fewer terms or less nesting",
        )
    return problems.error(
        error_codes.AGGREGATE_INVALID, "The aggregate request", nothing_stored=False
    )


def _render(qid: str, table: Table, form: str, lang: str | None) -> Response:
    if form == "json":
        return Response(dumps(to_json(table)), mimetype="application/json")
    media_type, extension = _FILE_MEDIA_TYPES[form]
    try:
        # the writers check the whole table before writing anything
        if form == "csv":
            body: Any = (line.encode("utf-8") for line in to_csv(table, lang=lang))
        elif form == "xlsx":
            body = to_xlsx(table, lang=lang)
        else:
            body = (line.encode("utf-8") for line in to_sdmx_csv(table))
    except ValueError as exc:
        raise Unprocessable(
            error_codes.AGGREGATE_FORMAT_UNAVAILABLE,
            f"This table cannot be written as {form}: {exc}",
            errors=[
                FieldError("format", error_codes.AGGREGATE_FORMAT_UNAVAILABLE, str(exc)).as_dict()
            ],
        ) from exc
    metadata = table.metadata
    name = "-".join(
        str(part)
        for part in (qid, metadata.get("stat"), metadata.get("variable"), *table.dimensions)
        if part
    )
    filename = _FILE_NAME_UNSAFE.sub("_", name)[:150] + "." + extension
    response = Response(body, content_type=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@blp.route("/questionnaires/<qid:qid>/aggregates")
class Aggregates(MethodView):
    @require("aggregates.read")
    @blp.arguments(AggregateQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, AggregateTableSchema)
    @blp.doc(**_FILES_DOC)
    def get(self, data: dict[str, Any], qid: str) -> Any:
        """Estimates for every cell of a table, with standard errors, under disclosure control.

        `format=csv|xlsx|sdmx-csv` returns a file instead of JSON. Suppressed cells carry
        only their flags, in every format.
        """
        return _answer(qid, data)

    @require("aggregates.read")
    @blp.arguments(AggregateBodySchema, unknown=RAISE)
    @blp.response(200, AggregateTableSchema)
    @blp.doc(**_FILES_DOC)
    def post(self, data: dict[str, Any], qid: str) -> Any:
        """The same as GET, with the specification as a JSON body (for long ones)."""
        return _answer(qid, data)
