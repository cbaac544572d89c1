"""The types of answers: checking a JSON answer against its question's type, and turning
computed values back into JSON.

A checker takes the JSON value of one answer and returns its typed value for expressions
(None when empty) or an `Invalid` saying what is wrong; it never raises.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from survey_service import error_codes
from survey_service.expressions import Value, to_number, to_string
from survey_service.jsonutil import MAX_CLIENT_DEPTH
from survey_service.questionnaire.definition import (
    ACKNOWLEDGE_TYPES,
    EXTERNAL_TYPES,
    MEDIA_TYPES,
    Question,
    range_parameters,
)
from survey_service.validation.messages import message


class Invalid:
    """A rejected answer; the message is worded only when it is reported."""

    __slots__ = ("code", "key", "params")

    def __init__(self, code: str, key: str, **params: str) -> None:
        self.code = code
        self.key = key
        self.params = params

    def text(self, language: str) -> str:
        if self.key.startswith("expected_"):
            expected = message(self.key, language, **self.params)
            return message("invalid_type", language, expected=expected)
        return message(self.key, language, **self.params)


Checker = Callable[[Any], "Value | Invalid"]

BAD_OBJECT: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_object")
BAD_ARRAY: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_array")
_BAD_INTEGER: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_integer")
_BIG_INTEGER: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_integer_in_range")
_BAD_DECIMAL: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_decimal")
_BAD_TEXT: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_text")
_BAD_SELECT_ONE: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_select_one")
_BAD_SELECT_MULTIPLE: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_select_multiple")
_BAD_DATE: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_date")
_BAD_DATETIME: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_datetime")
_BAD_GEOPOINT_TYPE: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_geopoint")
_BAD_GEOPOINT: Final = Invalid(error_codes.RESPONSE_INVALID_GEOPOINT, "invalid_geopoint")
_NOTE_ANSWERED: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "note_answered")
_BAD_TIME: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_time")
_BAD_ACKNOWLEDGE: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_acknowledge")
_BAD_RANGE: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_range")
_BAD_RANK: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_rank")
_BAD_GEOMETRY_TYPE: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "expected_geometry")
_BAD_GEOMETRY: Final = Invalid(error_codes.RESPONSE_INVALID_GEOPOINT, "invalid_geopoint")
_SHAPE_NOT_CLOSED: Final = Invalid(error_codes.RESPONSE_INVALID_GEOMETRY, "shape_not_closed")
_NEVER_ANSWERED: Final = Invalid(error_codes.RESPONSE_INVALID_TYPE, "never_answered")
# a client's value of a calculation is replaced by the server's, but it is part of the
# content hash and may be quoted in a warning
TOO_DEEP: Final = Invalid(
    error_codes.RESPONSE_INVALID_TYPE, "expected_shallow", depth=str(MAX_CLIENT_DEPTH)
)

_DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
)
_GEOPOINT_KEYS: Final = frozenset({"lat", "lon", "alt", "accuracy"})
_TIME_TEXT: Final = re.compile(
    r"([01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?"
)
_NUMBER_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
# a file name as ODK clients send it: no folders, no control characters
_FILE_NAME: Final = re.compile(r"[^/\\\x00-\x1f\x7f]{1,255}")
# the fewest points of a trace and of a closed shape (its first point again at the end)
_MIN_POINTS: Final = {"geotrace": 2, "geoshape": 4}
_LARGEST_FLOAT_INT: Final = int(1.7976931348623157e308)
# integer answers: signed 64 bits, as PostgreSQL's bigint, Stata, SPSS and Parquet hold them
# (XForms' int is narrower still); `in` a range is one comparison in C
INTEGER_RANGE: Final = range(-(2**63), 2**63)
_MESSAGE_VALUE_LENGTH: Final = 80
_TOLERANCE: Final = 1e-9


def quote(value: Any) -> str:
    """A value for a message: JSON, shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    except RecursionError:  # only its start is shown anyway
        text = "[…]" if isinstance(value, list) else "{…}"
    if len(text) > _MESSAGE_VALUE_LENGTH:
        text = text[: _MESSAGE_VALUE_LENGTH - 1] + "…"
    return text


def _check_integer(v: Any) -> Value | Invalid:
    t = type(v)
    if t is float and v.is_integer():
        v = int(v)
    elif t is not int:
        return _BAD_INTEGER
    return v if v in INTEGER_RANGE else _BIG_INTEGER


def _check_decimal(v: Any) -> Value | Invalid:
    t = type(v)
    if t is float:
        return v if math.isfinite(v) else _BAD_DECIMAL
    if t is int and -_LARGEST_FLOAT_INT <= v <= _LARGEST_FLOAT_INT:
        return v  # type: ignore[no-any-return]
    return _BAD_DECIMAL


def _check_text(v: Any) -> Value | Invalid:
    if type(v) is str:
        return v or None
    return _BAD_TEXT


def _select_one(names: frozenset[str]) -> Checker:
    def check_select_one(v: Any) -> Value | Invalid:
        if type(v) is str:
            if v in names:
                return v
            if not v:
                return None
            return Invalid(error_codes.RESPONSE_INVALID_CHOICE, "invalid_choice", values=quote(v))
        return _BAD_SELECT_ONE

    return check_select_one


def _select_multiple(names: frozenset[str]) -> Checker:
    def check_select_multiple(v: Any) -> Value | Invalid:
        if type(v) is not list:
            return _BAD_SELECT_MULTIPLE
        if not v:
            return None
        for item in v:
            if type(item) is not str:
                return _BAD_SELECT_MULTIPLE
        if len(v) > 1 and len(set(v)) != len(v):
            seen: set[str] = set()
            for item in v:
                if item in seen:
                    return Invalid(
                        error_codes.RESPONSE_INVALID_TYPE, "duplicate_choice", value=quote(item)
                    )
                seen.add(item)
        if not names.issuperset(v):
            unknown = [item for item in v if item not in names]
            return Invalid(
                error_codes.RESPONSE_INVALID_CHOICE,
                "invalid_choice",
                values=", ".join(quote(u) for u in unknown),
            )
        return " ".join(v)

    return check_select_multiple


def _check_date(v: Any) -> Value | Invalid:
    if type(v) is str:
        if _DATE_TEXT.fullmatch(v):
            try:
                return datetime.date.fromisoformat(v)
            except ValueError:
                return _BAD_DATE
        if not v:
            return None
    return _BAD_DATE


def _check_datetime(v: Any) -> Value | Invalid:
    if type(v) is str:
        if _DATETIME_TEXT.fullmatch(v):
            try:
                return datetime.datetime.fromisoformat(v)
            except ValueError:
                return _BAD_DATETIME
        if not v:
            return None
    return _BAD_DATETIME


def _finite_number(v: Any) -> bool:
    t = type(v)
    if t is float:
        return math.isfinite(v)
    return t is int and -_LARGEST_FLOAT_INT <= v <= _LARGEST_FLOAT_INT


def _check_geopoint(v: Any) -> Value | Invalid:
    if type(v) is not dict:
        return _BAD_GEOPOINT_TYPE
    if not _GEOPOINT_KEYS.issuperset(v):
        return _BAD_GEOPOINT_TYPE
    lat: Any = v.get("lat")
    lon: Any = v.get("lon")
    alt, accuracy = v.get("alt"), v.get("accuracy")
    if not (_finite_number(lat) and _finite_number(lon)):
        return _BAD_GEOPOINT_TYPE
    if (alt is not None and not _finite_number(alt)) or (
        accuracy is not None and not _finite_number(accuracy)
    ):
        return _BAD_GEOPOINT_TYPE
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (accuracy is not None and accuracy < 0):
        return _BAD_GEOPOINT
    return " ".join(to_string(x) for x in (lat, lon, alt or 0, accuracy or 0))


def _check_time(v: Any) -> Value | Invalid:
    if type(v) is str:
        if _TIME_TEXT.fullmatch(v):
            return v
        if not v:
            return None
    return _BAD_TIME


def _check_acknowledge(v: Any) -> Value | Invalid:
    if type(v) is str:
        if v == "OK":
            return v
        if not v:
            return None
    return _BAD_ACKNOWLEDGE


def _check_file_name(v: Any) -> Value | Invalid:
    """A media answer: the name of the file sent with the response (checked elsewhere)."""
    if type(v) is not str:
        return _BAD_TEXT
    if not v:
        return None
    if _FILE_NAME.fullmatch(v) and v.strip() == v and v not in (".", ".."):
        return v
    return Invalid(error_codes.RESPONSE_INVALID_FILE_NAME, "invalid_file_name", value=quote(v))


def _check_never_answered(v: Any) -> Value | Invalid:
    return None if v == "" else _NEVER_ANSWERED


def _range(question: Question) -> Checker:
    try:
        start, end, step = range_parameters(question.raw.get("parameters"))
    except ValueError:  # the definition checks refuse it; nothing is then in range
        start, end, step = 1.0, 0.0, 1.0
    low, high = min(start, end), max(start, end)
    whole = all(x.is_integer() for x in (start, end, step))

    def check_range(v: Any) -> Value | Invalid:
        t = type(v)
        if t is str:
            if not v:
                return None
            if not _NUMBER_TEXT.fullmatch(v.strip()):
                return _BAD_RANGE
            v = float(v)
        elif t is bool or not _finite_number(v):
            return _BAD_RANGE
        number = float(v)
        steps = (number - start) / step
        if not (low - _TOLERANCE <= number <= high + _TOLERANCE) or not math.isclose(
            steps, round(steps), abs_tol=1e-6
        ):
            return Invalid(
                error_codes.RESPONSE_OUT_OF_RANGE,
                "out_of_range",
                value=quote(v),
                start=to_string(start),
                end=to_string(end),
                step=to_string(step),
            )
        return int(number) if whole and number.is_integer() else number

    return check_range


def _rank(names: frozenset[str], question: Question) -> Checker:
    complete = "choice_filter" not in question.raw  # filtered: the filter's choices are ranked

    def check_rank(v: Any) -> Value | Invalid:
        if type(v) is str:
            v = v.split()
        if type(v) is not list or not all(type(item) is str for item in v):
            return _BAD_RANK
        if not v:
            return None
        if len(set(v)) != len(v):
            twice = next(item for i, item in enumerate(v) if item in v[:i])
            return Invalid(
                error_codes.RESPONSE_INVALID_RANK, "duplicate_choice", value=quote(twice)
            )
        unknown = [item for item in v if item not in names]
        if unknown:
            return Invalid(
                error_codes.RESPONSE_INVALID_CHOICE,
                "invalid_choice",
                values=", ".join(quote(u) for u in unknown),
            )
        missing = sorted(names - set(v)) if complete else []
        if missing:
            return Invalid(
                error_codes.RESPONSE_INVALID_RANK,
                "incomplete_rank",
                values=", ".join(quote(m) for m in missing),
            )
        return " ".join(v)

    return check_rank


def _points(v: Any) -> list[tuple[float, ...]] | None:
    """The points of a trace or shape: an array of geopoint objects or ODK's text."""
    points: list[tuple[float, ...]] = []
    if type(v) is str:
        for part in v.strip().rstrip(";").split(";"):
            fields = part.split()
            if not 2 <= len(fields) <= 4 or not all(_NUMBER_TEXT.fullmatch(f) for f in fields):
                return None
            points.append(tuple(float(f) for f in fields))
        return points
    if type(v) is not list:
        return None
    for item in v:
        if type(item) is not dict or not _GEOPOINT_KEYS.issuperset(item):
            return None
        values = [item.get(k) for k in ("lat", "lon", "alt", "accuracy")]
        if not (_finite_number(values[0]) and _finite_number(values[1])):
            return None
        if any(x is not None and not _finite_number(x) for x in values[2:]):
            return None
        points.append(tuple(float(x or 0) for x in values))
    return points


def _geometry(kind: str) -> Checker:
    minimum = _MIN_POINTS[kind]

    def check_geometry(v: Any) -> Value | Invalid:
        if v == "" or v == []:
            return None
        points = _points(v)
        if points is None:
            return _BAD_GEOMETRY_TYPE
        for point in points:
            if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
                return _BAD_GEOMETRY
            if len(point) > 3 and point[3] < 0:
                return _BAD_GEOMETRY
        if len(points) < minimum:
            return Invalid(
                error_codes.RESPONSE_INVALID_GEOMETRY,
                "too_few_points",
                kind=kind,
                minimum=str(minimum),
                count=str(len(points)),
            )
        if kind == "geoshape" and points[0][:2] != points[-1][:2]:
            return _SHAPE_NOT_CLOSED
        padded = [(*p, 0.0, 0.0)[:4] for p in points]
        return ";".join(" ".join(to_string(x) for x in p) for p in padded)

    return check_geometry


def check_note(v: Any) -> Value | Invalid:
    return None if v == "" else _NOTE_ANSWERED  # an empty text is how XForms send a note


def checker(question: Question, names: frozenset[str]) -> Checker:
    kind = question.type
    if kind == "select_one":
        return _select_one(names)
    if kind == "select_multiple":
        return _select_multiple(names)
    if kind == "rank":
        return _rank(names, question)
    if kind == "range":
        return _range(question)
    if kind in _MIN_POINTS:
        return _geometry(kind)
    return _SIMPLE_CHECKERS.get(kind, check_note)


_SIMPLE_CHECKERS: Final[Mapping[str, Checker]] = {
    "integer": _check_integer,
    "decimal": _check_decimal,
    "text": _check_text,
    "date": _check_date,
    "datetime": _check_datetime,
    "geopoint": _check_geopoint,
    "note": check_note,
    "time": _check_time,
    "barcode": _check_text,
    "hidden": _check_text,
    **dict.fromkeys(ACKNOWLEDGE_TYPES, _check_acknowledge),
    **dict.fromkeys(MEDIA_TYPES, _check_file_name),
    **dict.fromkeys(EXTERNAL_TYPES, _check_never_answered),
    # metadata the client fills in: the interview's times, the device and the user
    "start": _check_datetime,
    "end": _check_datetime,
    "today": _check_date,
    **dict.fromkeys(
        ("deviceid", "username", "phonenumber", "simserial", "subscriberid", "email"), _check_text
    ),
    "audit": _check_file_name,
}


def to_json(v: Value) -> Any:
    """A computed value as stored: dates as ISO text, NaN and infinities as null."""
    while type(v) is list:
        v = v[0] if v else None
    t = type(v)
    if t is str or t is bool or v is None:
        return v
    if t is int:  # beyond a double's range (only from arithmetic on huge answers): null
        return v if -_LARGEST_FLOAT_INT <= v <= _LARGEST_FLOAT_INT else None  # type: ignore[operator]
    if t is float:
        return v if math.isfinite(v) else None  # type: ignore[arg-type]
    if isinstance(v, datetime.date):
        return v.isoformat()
    return to_string(v)


def json_default(question: Question, v: Value) -> Any:
    """A computed default in the JSON form of the question's answers."""
    j = to_json(v)
    if j is None or j == "":
        return None
    kind = question.type
    if kind in ("integer", "decimal") and type(j) is str:
        number = to_number(j)
        if not math.isfinite(number):
            return None
        return int(number) if kind == "integer" and number.is_integer() else number
    if kind == "select_multiple" and type(j) is str:
        return j.split()
    if kind == "geopoint" and type(j) is str:
        parts = [to_number(p) for p in j.split()]
        if len(parts) < 2:
            return None
        point = dict(zip(("lat", "lon", "alt", "accuracy"), parts, strict=False))
        return point
    return j


def numeric(v: Any) -> float | None:
    t = type(v)
    if t is int or t is float:
        try:
            return float(v)
        except OverflowError:
            return None
    if t is str:
        number = to_number(v)
        return number if math.isfinite(number) else None
    return None


def same_value(client: Any, server: Any) -> bool:
    """Whether a client's calculate value agrees with the server's (numbers with a tolerance)."""
    if server is None or server == "":  # an empty value, or NaN as null
        return client is None or client == "" or client == "NaN"
    if type(server) is int or type(server) is float:
        number = numeric(client)
        return number is not None and math.isclose(
            number, server, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE
        )
    if type(client) in (str, int, float, bool):
        return to_string(client) == to_string(server)
    return False


def text_value(v: Value) -> str | None:
    """A value as the text of a tag or design variable (None when empty)."""
    j = to_json(v)
    if j is None or j == "":
        return None
    return j if type(j) is str else to_string(j)
