"""Questionnaire endpoints: create, edit the draft, publish, versions, close and reopen."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, url_for
from flask.views import MethodView

from survey_service.api.blueprint import Blueprint
from survey_service.api.body import definition_body
from survey_service.api.context import authenticated, current_user, db_session, require
from survey_service.models import QuestionnaireStatus
from survey_service.questionnaire.definition import definition_schema
from survey_service.questionnaire.xlsform.vocabulary import XLSX_MEDIA_TYPE
from survey_service.questionnaire.xlsform.writer import xlsform_from_definition
from survey_service.schemas.questionnaires import (
    QuestionnaireDetailSchema,
    QuestionnaireSchema,
    VersionSchema,
    VersionSummarySchema,
)
from survey_service.services import openrosa
from survey_service.services import questionnaires as service

blp = Blueprint(
    "questionnaires",
    __name__,
    url_prefix="/api/v1/questionnaires",
    description="Questionnaire definitions, drafts and published versions",
)

_SPREADSHEET = {"type": "string", "format": "binary"}
_DEFINITION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Definition"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": _SPREADSHEET}}
            },
            XLSX_MEDIA_TYPE: {"schema": _SPREADSHEET},
        },
    }
}


@blp.route("")
class Questionnaires(MethodView):
    @authenticated
    @blp.response(200, QuestionnaireSchema(many=True))
    def get(self) -> Any:
        """List questionnaires."""
        return service.list_questionnaires(db_session())

    @require("questionnaires.edit")
    @blp.doc(**_DEFINITION_BODY)
    @blp.response(201, QuestionnaireDetailSchema)
    def post(self) -> Any:
        """Create a questionnaire from a definition; it starts as a draft."""
        definition, warnings = definition_body()
        questionnaire = service.create_questionnaire(
            db_session(), definition, current_user(), warnings=warnings
        )
        location = url_for("questionnaires.QuestionnaireById", qid=questionnaire.id)
        return questionnaire, 201, {"Location": location}


@blp.route("/<qid:qid>")
class QuestionnaireById(MethodView):
    @authenticated
    @blp.response(200, QuestionnaireDetailSchema)
    def get(self, qid: str) -> Any:
        """A questionnaire with its draft and the list of its versions."""
        return service.get_questionnaire(db_session(), qid)


@blp.route("/<qid:qid>/draft")
class Draft(MethodView):
    @authenticated
    @blp.response(200, description="The draft definition.")
    def get(self, qid: str) -> Any:
        """The current draft definition."""
        return service.get_questionnaire(db_session(), qid).draft

    @require("questionnaires.edit")
    @blp.doc(**_DEFINITION_BODY)
    @blp.response(200, QuestionnaireDetailSchema)
    def put(self, qid: str) -> Any:
        """Replace the draft with a new definition (checked completely)."""
        definition, warnings = definition_body()
        return service.update_draft(
            db_session(), qid, definition, current_user(), warnings=warnings
        )


@blp.route("/<qid:qid>/publish")
class Publish(MethodView):
    @require("questionnaires.edit")
    @blp.response(201, VersionSchema)
    def post(self, qid: str) -> Any:
        """Publish the draft as the next immutable version."""
        version = service.publish(db_session(), qid, current_user())
        location = url_for("questionnaires.VersionByNumber", qid=qid, version=version.version)
        return version, 201, {"Location": location}


@blp.route("/<qid:qid>/versions")
class Versions(MethodView):
    @authenticated
    @blp.response(200, VersionSummarySchema(many=True))
    def get(self, qid: str) -> Any:
        """The published versions, oldest first."""
        return service.list_versions(db_session(), qid)


@blp.route("/<qid:qid>/versions/<int:version>")
class VersionByNumber(MethodView):
    @authenticated
    @blp.response(200, VersionSchema)
    def get(self, qid: str, version: int) -> Any:
        """One published version with its definition."""
        return service.get_version(db_session(), qid, version)


@blp.route("/<qid:qid>/versions/<int:version>/xlsform")
class VersionXLSForm(MethodView):
    @authenticated
    @blp.response(200, description="The version as an XLSForm workbook.")
    @blp.doc(responses={"200": {"content": {XLSX_MEDIA_TYPE: {"schema": _SPREADSHEET}}}})
    def get(self, qid: str, version: int) -> Any:
        """The version as an XLSForm spreadsheet (reads back into the same definition)."""
        found = service.get_version(db_session(), qid, version)
        return Response(
            xlsform_from_definition(found.definition),
            mimetype=XLSX_MEDIA_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{qid}-v{version}.xlsx"'},
        )


@blp.route("/<qid:qid>/versions/<int:version>/xform")
class VersionXForm(MethodView):
    @authenticated
    @blp.response(200, description="The XForm XML that ODK Collect and Enketo download.")
    @blp.doc(responses={"200": {"content": {"text/xml": {"schema": {"type": "string"}}}}})
    def get(self, qid: str, version: int) -> Any:
        """The version as an XForm."""
        xform = openrosa.xform_for(db_session(), qid, version)
        return Response(xform.xml, mimetype="text/xml", headers={"ETag": f'"{xform.hash}"'})


@blp.route("/<qid:qid>/close")
class Close(MethodView):
    @require("questionnaires.edit")
    @blp.response(200, QuestionnaireSchema)
    def post(self, qid: str) -> Any:
        """Stop accepting responses."""
        return service.set_status(db_session(), qid, QuestionnaireStatus.CLOSED, current_user())


@blp.route("/<qid:qid>/open")
class Open(MethodView):
    @require("questionnaires.edit")
    @blp.response(200, QuestionnaireSchema)
    def post(self, qid: str) -> Any:
        """Accept responses again."""
        return service.set_status(db_session(), qid, QuestionnaireStatus.OPEN, current_user())


def register_definition_schema(spec: Any) -> None:
    """Put the definition's JSON Schema into the OpenAPI components as `Definition`."""
    schema = {k: v for k, v in definition_schema().items() if k not in ("$schema", "$id")}
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; only the local $refs need re-anchoring
    text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/Definition/$defs/')
    spec.components.schema("Definition", json.loads(text))
