"""XPath values: the coercions of number(), string() and boolean(), comparisons and arithmetic."""

from __future__ import annotations

import datetime
import math
import operator
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final, TypeAlias, cast

Value: TypeAlias = (
    None | bool | int | float | str | datetime.date | datetime.datetime | list["Value"]
)
"""A value in an expression: None is the empty answer, a list is a node-set."""


_NAN: Final = math.nan
_INF: Final = math.inf
EPOCH_ORDINAL: Final = datetime.date(1970, 1, 1).toordinal()
_EPOCH_UTC: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_EPOCH_NAIVE: Final = datetime.datetime(1970, 1, 1)
_ONE_DAY: Final = datetime.timedelta(days=1)
EQUAL_TOLERANCE: Final = 1e-12  # JavaRosa's: 0.1 + 0.2 = 0.3 holds in a form
_XPATH_NUMBER: Final = re.compile(r"[ \t\r\n]*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))[ \t\r\n]*")
_DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)


def first(v: Value) -> Value:
    """XPath's unpacking of a node-set to its first item (None when empty)."""
    while isinstance(v, list):
        v = v[0] if v else None
    return v


def nodes(v: Value) -> list[Value]:
    """The items of a node-set, nested node-sets flattened; a single value is a set of one."""
    if v is None:
        return []
    if not isinstance(v, list):
        return [v]
    if not any(isinstance(item, list) for item in v):
        return v
    out: list[Value] = []
    stack: list[list[Value]] = [v]
    positions = [0]
    while stack:
        items, index = stack[-1], positions[-1]
        if index >= len(items):
            stack.pop()
            positions.pop()
            continue
        positions[-1] = index + 1
        item = items[index]
        if isinstance(item, list):
            stack.append(item)
            positions.append(0)
        else:
            out.append(item)
    return out


def as_float(x: int | float) -> float:
    """x as a double; an int too large for one is an infinity, as in JavaRosa."""
    if type(x) is float:
        return x
    try:
        return float(x)
    except OverflowError:
        return _INF if x > 0 else -_INF


def parse_date_text(text: str) -> datetime.date | datetime.datetime | None:
    """A date or date-time written the ISO 8601 way XForms use, or None."""
    text = text.strip()
    try:
        if _DATE_TEXT.fullmatch(text):
            return datetime.date.fromisoformat(text)
        if _DATETIME_TEXT.fullmatch(text):
            return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return None


def _days_of_datetime(dt: datetime.datetime) -> float:
    try:
        if dt.utcoffset() is None:
            return (dt.replace(tzinfo=None) - _EPOCH_NAIVE) / _ONE_DAY
        return (dt - _EPOCH_UTC) / _ONE_DAY
    except (OverflowError, ValueError):
        return _NAN


def days(d: datetime.date) -> int | float:
    """Days since 1970-01-01: whole for a date, fractional (UTC) for a date-time."""
    if isinstance(d, datetime.datetime):
        return _days_of_datetime(d)
    return d.toordinal() - EPOCH_ORDINAL


def numeric(v: Value, date_text: bool) -> int | float:
    """The numeric value (ints stay ints); date-like text counts as days when date_text."""
    if type(v) is int or type(v) is float:
        return v
    if isinstance(v, str):
        if v.isdigit() and v.isascii() and len(v) <= 15:
            return int(v)
        match = _XPATH_NUMBER.fullmatch(v)
        if match is not None:
            digits = match.group(1)
            if "." in digits or len(digits) > 15:
                return float(digits)
            return int(digits)
        if date_text:
            parsed = parse_date_text(v)
            if parsed is not None:
                return days(parsed)
        return _NAN
    if v is None:
        return _NAN
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, datetime.date):
        return days(v)
    if isinstance(v, list):
        return numeric(first(v), date_text)
    try:  # not a Value (a Decimal, say): take what float() makes of it
        return float(cast(Any, v))
    except (TypeError, ValueError, OverflowError):
        return _NAN


def to_number(v: Value) -> float:
    """XPath number(): NaN when v is not a number; dates count days since 1970-01-01."""
    if type(v) is float:
        return v
    return as_float(numeric(v, False))


def to_boolean(v: Value) -> bool:
    """XPath boolean(): empty text, zero, NaN, None and empty node-sets are false."""
    if isinstance(v, str):
        return v != ""
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v == v and v != 0
    if isinstance(v, list):
        return len(v) > 0
    return True


def _float_text(x: float) -> str:
    if x != x:
        return "NaN"
    if x == _INF:
        return "Infinity"
    if x == -_INF:
        return "-Infinity"
    if x.is_integer():
        return int.__repr__(int(x))
    text = repr(x)
    if "e" in text:
        text = format(Decimal(text), "f")
    return text


def to_string(v: Value) -> str:
    """XPath string(): '' for None, 'true'/'false', numbers without exponent, ISO dates."""
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        try:
            return int.__repr__(v)
        except ValueError:  # more digits than int -> str allows
            return _float_text(as_float(v))
    if isinstance(v, float):
        return _float_text(v)
    if isinstance(v, datetime.datetime):
        return v.isoformat(timespec="milliseconds")
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, list):
        return to_string(first(v))
    return str(v)


# --------------------------------------------------------------------------- operators


def numbers_equal(x: int | float, y: int | float) -> bool:
    """XPath `=` of two numbers, within JavaRosa's tolerance."""
    if x == y:
        return True
    return abs(as_float(x) - as_float(y)) < EQUAL_TOLERANCE


def _existential(a: Value, b: Value, scalar: Callable[[Value, Value], bool]) -> bool:
    """XPath comparison when a node-set is involved: true when some pair of items compares."""
    if isinstance(a, list) and isinstance(b, list):
        right = nodes(b)
        return any(scalar(x, y) for x in nodes(a) for y in right)
    if isinstance(a, list):
        if isinstance(b, bool):
            return scalar(to_boolean(a), b)
        return any(scalar(x, b) for x in nodes(a))
    if isinstance(a, bool):
        return scalar(a, to_boolean(b))
    return any(scalar(a, y) for y in nodes(b))


def equals(a: Value, b: Value) -> bool:
    """XPath `=`: booleans, numbers, dates or texts, by the types of the two sides."""
    if isinstance(a, list) or isinstance(b, list):
        return _existential(a, b, equals)
    if isinstance(a, bool) or isinstance(b, bool):
        return to_boolean(a) == to_boolean(b)
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return numbers_equal(numeric(a, False), numeric(b, False))
    if isinstance(a, datetime.date) or isinstance(b, datetime.date):
        return numbers_equal(numeric(a, True), numeric(b, True))
    return to_string(a) == to_string(b)


def not_equals(a: Value, b: Value) -> bool:
    """XPath `!=` (of node-sets: some pair differs, so not simply `not equals`)."""
    if isinstance(a, list) or isinstance(b, list):
        return _existential(a, b, not_equals)
    return not equals(a, b)


def _relation(cmp: Callable[[Any, Any], Any]) -> Callable[[Value, Value], bool]:
    def relation(a: Value, b: Value) -> bool:
        if isinstance(a, list) or isinstance(b, list):
            return _existential(a, b, relation)
        return cmp(numeric(a, True), numeric(b, True)) is True

    return relation


_less = _relation(operator.lt)
_less_equal = _relation(operator.le)
_greater = _relation(operator.gt)
_greater_equal = _relation(operator.ge)

COMPARISONS: Final[Mapping[str, Callable[[Value, Value], bool]]] = {
    "=": equals,
    "!=": not_equals,
    "<": _less,
    "<=": _less_equal,
    ">": _greater,
    ">=": _greater_equal,
}
"""Comparison operator -> its XPath semantics."""
MIRRORED: Final = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
"""Comparison operator -> the same comparison with its sides swapped (`3 < x` is `x > 3`)."""


def _add(a: Value, b: Value) -> int | float:
    x, y = numeric(a, True), numeric(b, True)
    if type(x) is int and type(y) is int:
        return x + y
    return as_float(x) + as_float(y)


def _subtract(a: Value, b: Value) -> int | float:
    x, y = numeric(a, True), numeric(b, True)
    if type(x) is int and type(y) is int:
        return x - y
    return as_float(x) - as_float(y)


def _multiply(a: Value, b: Value) -> int | float:
    x, y = numeric(a, True), numeric(b, True)
    if type(x) is int and type(y) is int:
        return x * y
    return as_float(x) * as_float(y)


def _divide(a: Value, b: Value) -> float:
    x, y = as_float(numeric(a, True)), as_float(numeric(b, True))
    if y == 0:
        if x == 0 or x != x:
            return _NAN
        return math.copysign(_INF, x) * math.copysign(1.0, y)
    return x / y


def _modulo(a: Value, b: Value) -> int | float:
    """XPath mod: the remainder of truncating division, with the dividend's sign."""
    x, y = numeric(a, True), numeric(b, True)
    if type(x) is int and type(y) is int:
        if y == 0:
            return _NAN
        rest = abs(x) % abs(y)
        return rest if x >= 0 else -rest
    fx, fy = as_float(x), as_float(y)
    if fy == 0 or math.isinf(fx) or fx != fx or fy != fy:
        return _NAN
    if math.isinf(fy):
        return fx
    return math.fmod(fx, fy)


def negate(v: Value) -> int | float:
    """Unary minus."""
    x = numeric(v, True)
    return -float(x) if x == 0 else -x  # -0 is negative zero, as XPath's numbers are doubles


def arithmetic_number(v: Value) -> int | float:
    """The number arithmetic reads (dates and date text count days): an even run of minus signs."""
    return numeric(v, True)


ARITHMETIC: Final[Mapping[str, Callable[[Value, Value], Value]]] = {
    "+": _add,
    "-": _subtract,
    "*": _multiply,
    "div": _divide,
    "mod": _modulo,
}
"""Arithmetic operator -> its XPath semantics (ints stay ints where XPath's doubles agree)."""


def is_null(v: Value) -> bool:
    """JavaRosa's emptiness for coalesce(): None, '' or NaN (of a node-set, its first item)."""
    v = first(v)
    if v is None:
        return True
    if isinstance(v, str):
        return v == ""
    if isinstance(v, float):
        return v != v
    return False
