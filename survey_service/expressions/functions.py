"""The functions of the language: one registry saying which exist and how each evaluates.

`FUNCTIONS` is the one place a function is declared. The parser checks names and argument
counts against it (and so do the definition checker and the XLSForm reader, through
`parse`); the evaluator calls its implementation, or compiles it itself when it has none
(it reads the context, skips arguments or is a constant: see `evaluator.SPECIAL_FORMS`);
the SQL compiler (`expressions.sql`) compiles the functions it marks `sql`. Adding a
function means an entry here, its implementation, and where it applies an SQL compile.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from types import MappingProxyType
from typing import Final

from survey_service.expressions.regex import regex_matcher
from survey_service.expressions.values import (
    EPOCH_ORDINAL,
    Value,
    as_float,
    days,
    first,
    nodes,
    numeric,
    parse_date_text,
    to_number,
    to_string,
)

_NAN: Final = math.nan


@dataclass(frozen=True, slots=True)
class Function:
    """One function: its argument counts, its implementation, and where it may be used."""

    least: int  # fewest arguments
    most: int | None  # most arguments; None when variadic
    # of its arguments' values; None when the evaluator compiles it itself (SPECIAL_FORMS)
    implementation: Callable[..., Value] | None
    returns_bool: bool = False  # always gives a bool (so no boolean() conversion is needed)
    sql: bool = False  # aggregates compile it to SQL (expressions/sql.py)
    repeats: bool = False  # reads repeat instances (a node-set or the instance's position)


def _selected(multi: Value, choice: Value) -> bool:
    wanted = to_string(choice).strip()
    return wanted != "" and wanted in to_string(multi).split()


def _count_selected(multi: Value) -> int:
    return len(to_string(multi).split())


def _selected_at(multi: Value, index: Value) -> str:
    n = to_number(index)
    if not math.isfinite(n):
        return ""
    i = int(n)
    parts = to_string(multi).split()
    return parts[i] if 0 <= i < len(parts) else ""


def _string_length(v: Value) -> int:
    return len(to_string(v))


def _contains(a: Value, b: Value) -> bool:
    return to_string(b) in to_string(a)


def _starts_with(a: Value, b: Value) -> bool:
    return to_string(a).startswith(to_string(b))


def _concat_part(v: Value) -> str:
    if isinstance(v, list):
        return "".join(to_string(item) for item in nodes(v))
    return to_string(v)


def _concat(*values: Value) -> str:
    """The texts of the arguments joined; of a node-set, all its items (as JavaRosa does)."""
    return "".join(_concat_part(v) for v in values)


def _int(v: Value) -> int | float:
    """Truncation toward zero; NaN and the infinities stay as they are."""
    x = numeric(v, False)
    if isinstance(x, int):
        return int(x)
    if math.isfinite(x):
        return int(x)
    return x


def _round(v: Value, places: Value = 0) -> float:
    """Round to `places` decimals, halves away from zero, on the shortest decimal of v."""
    x = to_number(v)
    digits = to_number(places)
    if not math.isfinite(x):
        return x
    if digits != digits:
        digits = 0.0
    if not -30 <= digits <= 30:
        return _NAN
    exponent = Decimal(1).scaleb(-int(digits))
    with localcontext() as context:
        context.prec = 400
        rounded = Decimal(repr(x)).quantize(exponent, rounding=ROUND_HALF_UP)
    return float(rounded)


def _to_date(v: Value) -> Value:
    """date(): from 'YYYY-MM-DD' (a date-time text keeps its time) or days since the epoch."""
    v = first(v)
    if isinstance(v, datetime.datetime):
        return v.date()
    if isinstance(v, datetime.date):
        return v
    if isinstance(v, str):
        return parse_date_text(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    n = _int(v)
    if not isinstance(n, int):
        return None
    try:
        return datetime.date.fromordinal(EPOCH_ORDINAL + n)
    except (ValueError, OverflowError):
        return None


def _decimal_date_time(v: Value) -> Value:
    """Fractional days since 1970-01-01T00:00Z of a date, date-time, their text or a number."""
    v = first(v)
    if v is None or v == "":
        return None
    if isinstance(v, str):
        parsed = parse_date_text(v)
        return _NAN if parsed is None else as_float(days(parsed))
    if isinstance(v, datetime.date):
        return as_float(days(v))
    return to_number(v)


def _count(v: Value) -> int:
    return len(nodes(v))


def _sum(v: Value) -> int | float:
    """Sum of a node-set; like JavaRosa, items that are not numbers (empty answers) are skipped."""
    whole = 0
    fraction = 0.0
    floats = False
    for item in nodes(v):
        x = numeric(item, False)
        if type(x) is int:
            whole += x
        elif x == x:
            fraction += x
            floats = True
    if not floats:
        return whole
    return as_float(whole) + fraction


def _extreme(pick_greater: bool) -> Callable[..., int | float]:
    def extreme(*values: Value) -> int | float:
        best: int | float | None = None
        for value in values:
            for item in nodes(value):
                x = numeric(item, False)
                if x != x:
                    continue
                if best is None or (x > best if pick_greater else x < best):
                    best = x
        return _NAN if best is None else best

    return extreme


_max = _extreme(True)
_min = _extreme(False)


def _regex(subject: Value, pattern: Value) -> bool:
    matcher = regex_matcher(to_string(pattern))
    if isinstance(matcher, str):
        return False
    return matcher(to_string(subject))


FUNCTIONS: Final[Mapping[str, Function]] = MappingProxyType(
    {
        "if": Function(3, 3, None, sql=True),
        "not": Function(1, 1, None, returns_bool=True, sql=True),
        "true": Function(0, 0, None, returns_bool=True, sql=True),
        "false": Function(0, 0, None, returns_bool=True, sql=True),
        "selected": Function(2, 2, _selected, returns_bool=True, sql=True),
        "count-selected": Function(1, 1, _count_selected, sql=True),
        "selected-at": Function(2, 2, _selected_at),
        "string-length": Function(1, 1, _string_length, sql=True),
        "regex": Function(2, 2, _regex, returns_bool=True),
        "contains": Function(2, 2, _contains, returns_bool=True, sql=True),
        "starts-with": Function(2, 2, _starts_with, returns_bool=True, sql=True),
        "concat": Function(1, None, _concat, sql=True),
        "coalesce": Function(2, 2, None, sql=True),
        "int": Function(1, 1, _int, sql=True),
        "number": Function(1, 1, to_number, sql=True),
        "string": Function(1, 1, to_string),
        "round": Function(1, 2, _round, sql=True),
        "today": Function(0, 0, None, sql=True),
        "now": Function(0, 0, None, sql=True),
        "date": Function(1, 1, _to_date, sql=True),
        "decimal-date-time": Function(1, 1, _decimal_date_time, sql=True),
        "position": Function(1, 1, None, repeats=True),
        "count": Function(1, 1, _count, repeats=True),
        "sum": Function(1, 1, _sum, repeats=True),
        "max": Function(1, None, _max, repeats=True),
        "min": Function(1, None, _min, repeats=True),
        "jr:choice-name": Function(2, 2, None),
    }
)
"""Function name -> its declaration; the names, in this order, are the language's functions."""
