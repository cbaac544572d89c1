"""Reading request bodies that are not described by a marshmallow schema."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from flask import request

from survey_service import error_codes
from survey_service.errors import BadRequest, Problems, ServiceError
from survey_service.questionnaire.xlsform.reader import (
    WorkbookTooLarge,
    XLSFormError,
    read_xlsform,
)


class UnsupportedMediaType(ServiceError):
    status = 415
    title = "Unsupported media type"


class ContentTooLarge(ServiceError):
    status = 413
    title = "Content too large"


# the problems of a spreadsheet listed in one reply (all are counted in `problem_count`)
XLSFORM_PROBLEMS_LISTED = 100


_SPREADSHEET_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel",
    }
)


def definition_body() -> tuple[Any, list[dict[str, str]] | None]:
    """A definition sent as JSON, or as an XLSForm spreadsheet (multipart or raw body), with
    the warnings of reading the spreadsheet (None for JSON)."""
    upload = None
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file") or next(iter(request.files.values()), None)
        if upload is None:
            raise BadRequest(
                error_codes.REQUEST_MISSING_FILE,
                "Send the spreadsheet in the multipart part 'file'.",
            )
        content, filename = upload.read(), upload.filename or "form.xlsx"
    elif request.mimetype in _SPREADSHEET_TYPES:
        content = request.get_data()
        xls = request.mimetype == "application/vnd.ms-excel"
        filename = "form.xls" if xls else "form.xlsx"
    else:
        return json_body(), None
    try:
        return read_xlsform(content, filename)
    except WorkbookTooLarge as exc:
        raise ContentTooLarge(
            exc.code,
            f"The spreadsheet is refused unread: {exc.message}; nothing was stored.",
            extra={"limit": exc.limit, "maximum": exc.maximum},
        ) from exc
    except XLSFormError as exc:
        problems = Problems(limit=XLSFORM_PROBLEMS_LISTED)
        for problem in exc.problems:
            problems.add(problem["path"], problem["code"], problem["message"])
        raise problems.error(error_codes.XLSFORM_INVALID, "The spreadsheet") from exc


def spooled_body() -> bytes:
    """The raw body, first copied in chunks to a temporary file (in memory up to 1 MiB), so
    that one over the limit is refused (413) once past it, having held little in memory."""
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        shutil.copyfileobj(request.stream, spool, _CHUNK)
        spool.seek(0)
        return spool.read()


_SPOOL_IN_MEMORY, _CHUNK = 1 << 20, 1 << 16


def json_body() -> Any:
    """The request's JSON document, or a problem saying why there is none."""
    if not request.is_json:
        raise UnsupportedMediaType(
            error_codes.REQUEST_UNSUPPORTED_MEDIA_TYPE,
            f"Send the body as application/json, not {request.mimetype or 'nothing'}.",
        )
    # not request.get_json(silent=True): it answers None both for `null` and for garbage
    return read_json(request.get_data())


def read_json(data: bytes) -> Any:
    """A JSON document as every request body is read; BadRequest ("request.invalid_json")
    when it is not one (also for bytes not in UTF-8, and nesting deeper than 1,024 levels
    or Python's stack), Unprocessable ("request.invalid_text") when a string or key holds
    text that cannot be stored (`refuse_unstorable`)."""
    try:
        if _LONG_NUMBER in data.translate(_DIGITS):
            # orjson reads integers beyond 64 bits as floats, which would change an answer
            document = json.loads(data)
        else:
            document = _orjson_or_escapes(data)  # three times faster on a batch of households
    except (ValueError, RecursionError) as exc:
        raise BadRequest(
            error_codes.REQUEST_INVALID_JSON, "The request body is not valid JSON."
        ) from exc
    if b"\\u" in data and _UNSTORABLE_ESCAPE.search(data):  # else no string can hold one
        refuse_unstorable(_texts(document))
    return document


def _orjson_or_escapes(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        if not _UNSTORABLE_ESCAPE.search(data):
            raise
        # orjson refuses a lone surrogate: read as json.loads does, to say where it is
        return json.loads(data)


#: Text PostgreSQL cannot store: U+0000, and UTF-16 surrogates not in a pair (which Python
#: keeps from a JSON escape). SQLite would store them: both databases refuse them alike.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_MAX_LISTED = 100


def refuse_unstorable(texts: Iterable[tuple[str, str]]) -> None:
    """Unprocessable ("request.invalid_text") listing the paths of the (path, text) pairs
    holding text that cannot be stored; nothing when there are none."""
    problems = Problems(_MAX_LISTED)
    for path, text in texts:
        if _UNSTORABLE.search(text):
            problems.add(
                path,
                error_codes.REQUEST_INVALID_TEXT,
                "holds U+0000 or a lone UTF-16 surrogate, which cannot be stored",
            )
    if problems:
        raise problems.error(error_codes.REQUEST_INVALID_TEXT, "The request")


def printable(text: str) -> str:
    """`text` with what cannot be stored written as a \\uXXXX escape (for a path)."""
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _texts(document: Any) -> Iterator[tuple[str, str]]:
    """Each string and key of a JSON document, with its path (`meta.notes[2]`)."""
    stack: list[tuple[str, Any]] = [("", document)]  # not recursive: 1,024 levels may come
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                inner = f"{path}.{printable(key)}" if path else printable(key)
                yield inner, key
                stack.append((inner, item))
        elif isinstance(value, list):
            stack.extend(
                (f"{path}[{index}]", item) for index, item in reversed(list(enumerate(value)))
            )


# 19 digits in a row: maybe an integer beyond 64 bits (2**63 has 19 digits). Digits are
# mapped to "0" and the rest to "." first: ten times faster than a regular expression.
_DIGITS = bytes(48 if 48 <= byte <= 57 else 46 for byte in range(256))
_LONG_NUMBER = b"0" * 19
