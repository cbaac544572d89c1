"""The Api and Blueprint of every API module (flask-smorest's, reading JSON bodies as
`json_body` does, declaring errors as problem+json) and the converters of their paths."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any, ClassVar

import flask
import flask_smorest
from flask_smorest.utils import prepare_response
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import BaseConverter, IntegerConverter, UnicodeConverter

from survey_service.api.body import read_json
from survey_service.api.problems import PROBLEM_MEDIA_TYPE
from survey_service.instance_ids import INSTANCE_ID_PATTERN
from survey_service.media import NAME_PATTERN as MEDIA_NAME_PATTERN
from survey_service.questionnaire.definition import definition_schema
from survey_service.schemas import INT32_MAX
from survey_service.schemas.problems import ProblemSchema
from survey_service.services.weights import NAME_PATTERN


class _Parser(FlaskParser):
    """webargs' parser with the service's JSON reading (`read_json`): a body nested deeper
    than Python's stack is a 400 like any malformed body (webargs' json.loads recurses), and
    the same problem as `json_body` gives for one (`request.invalid_json`)."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        return read_json(data) if data else core.missing  # empty: no body, as for webargs


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc] # flask-smorest is untyped
    """flask-smorest's Blueprint with `_Parser` for arguments."""

    ARGUMENTS_PARSER = _Parser()


class Int32Converter(IntegerConverter):
    """`<int:...>` in paths, up to 2**31 - 1 (the ids, versions and revisions are integer
    columns): a larger one matches no route (404) rather than reaching the database, which
    refuses it (PostgreSQL: integer out of range; SQLite's driver beyond 64 bits)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT32_MAX)
        super().__init__(*args, **kwargs)

    @staticmethod
    def schema(converter: IntegerConverter) -> dict[str, Any]:
        """The path parameter in the OpenAPI document, with the converter's own bounds."""
        return {
            "type": "integer",
            "format": "int32",
            "minimum": converter.min or 0,
            "maximum": converter.max,
        }


class _PatternConverter(UnicodeConverter):
    """A string path segment documented with the pattern of the values that name something;
    routing still takes any segment, so a value outside it gets the resource's own 404 or 422."""

    pattern: ClassVar[str]

    @staticmethod
    def schema(converter: UnicodeConverter) -> dict[str, Any]:
        """The path parameter in the OpenAPI document."""
        return {"type": "string", "pattern": getattr(converter, "pattern")}  # noqa: B009


class QuestionnaireIdConverter(_PatternConverter):
    """`<qid:...>`: a questionnaire id, as its definition's `id`."""

    pattern = definition_schema()["properties"]["id"]["pattern"]


class InstanceIdConverter(_PatternConverter):
    """`<instance_id:...>`: a response's UUID, canonical or not, 'uuid:' ok."""

    pattern = INSTANCE_ID_PATTERN


class WeightSetNameConverter(_PatternConverter):
    """`<weight_set:...>`: a weight set's name."""

    pattern = f"^{NAME_PATTERN.pattern}$"


class MediaNameConverter(_PatternConverter):
    """`<media_name:...>`: a form media file's name (survey_service.media)."""

    pattern = MEDIA_NAME_PATTERN


#: the converters of the paths, by the name routes use (`<qid:qid>`), with their schemas
CONVERTERS: dict[str, tuple[type[BaseConverter], Callable[[Any], dict[str, Any]]]] = {
    "int": (Int32Converter, Int32Converter.schema),
    "qid": (QuestionnaireIdConverter, QuestionnaireIdConverter.schema),
    "instance_id": (InstanceIdConverter, InstanceIdConverter.schema),
    "weight_set": (WeightSetNameConverter, WeightSetNameConverter.schema),
    "media_name": (MediaNameConverter, MediaNameConverter.schema),
}


class Api(flask_smorest.Api):  # type: ignore[misc] # flask-smorest is untyped
    """flask-smorest's Api whose error responses are problem+json (`ProblemSchema`), as
    `api.problems` sends them, rather than its own `application/json` error schema."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # as flask-smorest's own, with the problem media type
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "An error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)

    def register_converters(self, app: flask.Flask) -> None:
        """Every converter of `CONVERTERS` in the app's routing and in the document."""
        for name, (converter, schema) in CONVERTERS.items():
            app.url_map.converters[name] = converter
            self.register_converter(converter, schema)
