"""The Blueprint of every API module (flask-smorest's, reading JSON bodies as `json_body` does)
and the integer converter of their paths."""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.routing import IntegerConverter

from survey_service.api.body import read_json


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


class Int64Converter(IntegerConverter):
    """`<int:...>` in paths, up to 2**63 - 1: a larger id or version matches no route (404)
    rather than reaching the database, whose drivers refuse it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(*args, **kwargs)

    @staticmethod
    def schema(converter: IntegerConverter) -> dict[str, Any]:
        """The path parameter in the OpenAPI document, with the converter's own bounds."""
        return {
            "type": "integer",
            "format": "int64",
            "minimum": converter.min or 0,
            "maximum": converter.max,
        }
