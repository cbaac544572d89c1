"""The XLSForm expression language: parsed once, compiled to closures, evaluated on a context."""

from __future__ import annotations

import datetime
import functools
import importlib
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from types import MappingProxyType
from typing import Any, Final, NamedTuple, Protocol, TypeAlias, cast

__all__ = [
    "ALLOWED_FUNCTIONS",
    "Bare",
    "Call",
    "Chain",
    "Current",
    "Literal",
    "Negation",
    "Parent",
    "Ref",
    "SyntaxNode",
    "syntax_tree",
    "EvalContext",
    "Expression",
    "ExpressionError",
    "Value",
    "parse",
    "to_boolean",
    "to_number",
    "to_string",
]

Value: TypeAlias = (
    None | bool | int | float | str | datetime.date | datetime.datetime | list["Value"]
)
"""A value in an expression: None is the empty answer, a list is a node-set."""


class ExpressionError(ValueError):
    """An expression that does not parse, calls an unknown function or miscounts arguments."""

    message: str
    position: int
    code: str

    def __init__(self, message: str, position: int, code: str = "syntax") -> None:
        super().__init__(message, position, code)
        self.message = message
        self.position = position
        self.code = code

    def __str__(self) -> str:
        return self.message


class EvalContext(Protocol):
    """What an expression reads while it is evaluated."""

    def resolve(self, name: str) -> Value:
        """The value of ${name} relative to the current node (a list for a node-set)."""
        ...

    def current(self) -> Value:
        """The value of '.'."""
        ...

    def position(self) -> int:
        """The 1-based index of the current repeat instance, for position(..)."""
        ...

    def choice_label(self, question: str, value: str) -> str:
        """The label of choice `value` of the question's list, for jr:choice-name."""
        ...

    def choice_property(self, name: str) -> Value:
        """A bare name inside a choice_filter: the property of the choice being filtered."""
        ...

    def now(self) -> datetime.datetime:
        """The timezone-aware current time; today() is its date."""
        ...


_Fn: TypeAlias = Callable[[EvalContext], Value]
_BoolFn: TypeAlias = Callable[[EvalContext], bool]

ALLOWED_FUNCTIONS: Final[Mapping[str, tuple[int, int | None]]] = MappingProxyType(
    {
        "if": (3, 3),
        "not": (1, 1),
        "true": (0, 0),
        "false": (0, 0),
        "selected": (2, 2),
        "count-selected": (1, 1),
        "selected-at": (2, 2),
        "string-length": (1, 1),
        "regex": (2, 2),
        "contains": (2, 2),
        "starts-with": (2, 2),
        "concat": (1, None),
        "coalesce": (2, 2),
        "int": (1, 1),
        "number": (1, 1),
        "string": (1, 1),
        "round": (1, 2),
        "today": (0, 0),
        "now": (0, 0),
        "date": (1, 1),
        "decimal-date-time": (1, 1),
        "position": (1, 1),
        "count": (1, 1),
        "sum": (1, 1),
        "max": (1, None),
        "min": (1, None),
        "jr:choice-name": (2, 2),
    }
)
"""Function name -> (least, most arguments; None when variadic)."""

# --------------------------------------------------------------------------- conversions

_NAN: Final = math.nan
_INF: Final = math.inf
_EPOCH_ORDINAL: Final = datetime.date(1970, 1, 1).toordinal()
_EPOCH_UTC: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_EPOCH_NAIVE: Final = datetime.datetime(1970, 1, 1)
_ONE_DAY: Final = datetime.timedelta(days=1)
_EQUAL_TOLERANCE: Final = 1e-12  # JavaRosa's: 0.1 + 0.2 = 0.3 holds in a form
_XPATH_NUMBER: Final = re.compile(r"[ \t\r\n]*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))[ \t\r\n]*")
_DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)


def _first(v: Value) -> Value:
    """XPath's unpacking of a node-set to its first item (None when empty)."""
    while isinstance(v, list):
        v = v[0] if v else None
    return v


def _nodes(v: Value) -> list[Value]:
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


def _as_float(x: int | float) -> float:
    if type(x) is float:
        return x
    try:
        return float(x)
    except OverflowError:
        return _INF if x > 0 else -_INF


def _parse_date_text(text: str) -> datetime.date | datetime.datetime | None:
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


def _days(d: datetime.date) -> int | float:
    """Days since 1970-01-01: whole for a date, fractional (UTC) for a date-time."""
    if isinstance(d, datetime.datetime):
        return _days_of_datetime(d)
    return d.toordinal() - _EPOCH_ORDINAL


def _number(v: Value, date_text: bool) -> int | float:
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
            parsed = _parse_date_text(v)
            if parsed is not None:
                return _days(parsed)
        return _NAN
    if v is None:
        return _NAN
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, datetime.date):
        return _days(v)
    if isinstance(v, list):
        return _number(_first(v), date_text)
    try:  # not a Value (a Decimal, say): take what float() makes of it
        return float(cast(Any, v))
    except (TypeError, ValueError, OverflowError):
        return _NAN


def to_number(v: Value) -> float:
    """XPath number(): NaN when v is not a number; dates count days since 1970-01-01."""
    if type(v) is float:
        return v
    return _as_float(_number(v, False))


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
            return _float_text(_as_float(v))
    if isinstance(v, float):
        return _float_text(v)
    if isinstance(v, datetime.datetime):
        return v.isoformat(timespec="milliseconds")
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, list):
        return to_string(_first(v))
    return str(v)


# --------------------------------------------------------------------------- operators


def _numbers_equal(x: int | float, y: int | float) -> bool:
    if x == y:
        return True
    return abs(_as_float(x) - _as_float(y)) < _EQUAL_TOLERANCE


def _existential(a: Value, b: Value, scalar: Callable[[Value, Value], bool]) -> bool:
    """XPath comparison when a node-set is involved: true when some pair of items compares."""
    if isinstance(a, list) and isinstance(b, list):
        right = _nodes(b)
        return any(scalar(x, y) for x in _nodes(a) for y in right)
    if isinstance(a, list):
        if isinstance(b, bool):
            return scalar(to_boolean(a), b)
        return any(scalar(x, b) for x in _nodes(a))
    if isinstance(a, bool):
        return scalar(a, to_boolean(b))
    return any(scalar(a, y) for y in _nodes(b))


def _equals(a: Value, b: Value) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return _existential(a, b, _equals)
    if isinstance(a, bool) or isinstance(b, bool):
        return to_boolean(a) == to_boolean(b)
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        return _numbers_equal(_number(a, False), _number(b, False))
    if isinstance(a, datetime.date) or isinstance(b, datetime.date):
        return _numbers_equal(_number(a, True), _number(b, True))
    return to_string(a) == to_string(b)


def _not_equals(a: Value, b: Value) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return _existential(a, b, _not_equals)
    return not _equals(a, b)


def _relation(cmp: Callable[[Any, Any], Any]) -> Callable[[Value, Value], bool]:
    def relation(a: Value, b: Value) -> bool:
        if isinstance(a, list) or isinstance(b, list):
            return _existential(a, b, relation)
        return cmp(_number(a, True), _number(b, True)) is True

    return relation


_less = _relation(operator.lt)
_less_equal = _relation(operator.le)
_greater = _relation(operator.gt)
_greater_equal = _relation(operator.ge)

_COMPARISONS: Final[Mapping[str, Callable[[Value, Value], bool]]] = {
    "=": _equals,
    "!=": _not_equals,
    "<": _less,
    "<=": _less_equal,
    ">": _greater,
    ">=": _greater_equal,
}
_MIRRORED: Final = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _add(a: Value, b: Value) -> int | float:
    x, y = _number(a, True), _number(b, True)
    if type(x) is int and type(y) is int:
        return x + y
    return _as_float(x) + _as_float(y)


def _subtract(a: Value, b: Value) -> int | float:
    x, y = _number(a, True), _number(b, True)
    if type(x) is int and type(y) is int:
        return x - y
    return _as_float(x) - _as_float(y)


def _multiply(a: Value, b: Value) -> int | float:
    x, y = _number(a, True), _number(b, True)
    if type(x) is int and type(y) is int:
        return x * y
    return _as_float(x) * _as_float(y)


def _divide(a: Value, b: Value) -> float:
    x, y = _as_float(_number(a, True)), _as_float(_number(b, True))
    if y == 0:
        if x == 0 or x != x:
            return _NAN
        return math.copysign(_INF, x) * math.copysign(1.0, y)
    return x / y


def _modulo(a: Value, b: Value) -> int | float:
    """XPath mod: the remainder of truncating division, with the dividend's sign."""
    x, y = _number(a, True), _number(b, True)
    if type(x) is int and type(y) is int:
        if y == 0:
            return _NAN
        rest = abs(x) % abs(y)
        return rest if x >= 0 else -rest
    fx, fy = _as_float(x), _as_float(y)
    if fy == 0 or math.isinf(fx) or fx != fx or fy != fy:
        return _NAN
    if math.isinf(fy):
        return fx
    return math.fmod(fx, fy)


def _negate(v: Value) -> int | float:
    x = _number(v, True)
    return -float(x) if x == 0 else -x  # -0 is negative zero, as XPath's numbers are doubles


def _to_number_value(v: Value) -> int | float:
    return _number(v, True)


_ARITHMETIC: Final[Mapping[str, Callable[[Value, Value], Value]]] = {
    "+": _add,
    "-": _subtract,
    "*": _multiply,
    "div": _divide,
    "mod": _modulo,
}

# --------------------------------------------------------------------------- functions


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
        return "".join(to_string(item) for item in _nodes(v))
    return to_string(v)


def _is_null(v: Value) -> bool:
    """JavaRosa's emptiness for coalesce(): None, '' or NaN (of a node-set, its first item)."""
    v = _first(v)
    if v is None:
        return True
    if isinstance(v, str):
        return v == ""
    if isinstance(v, float):
        return v != v
    return False


def _int(v: Value) -> int | float:
    """Truncation toward zero; NaN and the infinities stay as they are."""
    x = _number(v, False)
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


def _today(ctx: EvalContext) -> datetime.date:
    return ctx.now().date()


def _to_date(v: Value) -> Value:
    """date(): from 'YYYY-MM-DD' (a date-time text keeps its time) or days since the epoch."""
    v = _first(v)
    if isinstance(v, datetime.datetime):
        return v.date()
    if isinstance(v, datetime.date):
        return v
    if isinstance(v, str):
        return _parse_date_text(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    n = _int(v)
    if not isinstance(n, int):
        return None
    try:
        return datetime.date.fromordinal(_EPOCH_ORDINAL + n)
    except (ValueError, OverflowError):
        return None


def _decimal_date_time(v: Value) -> Value:
    """Fractional days since 1970-01-01T00:00Z of a date, date-time, their text or a number."""
    v = _first(v)
    if v is None or v == "":
        return None
    if isinstance(v, str):
        parsed = _parse_date_text(v)
        return _NAN if parsed is None else _as_float(_days(parsed))
    if isinstance(v, datetime.date):
        return _as_float(_days(v))
    return to_number(v)


def _count(v: Value) -> int:
    return len(_nodes(v))


def _sum(v: Value) -> int | float:
    """Sum of a node-set; like JavaRosa, items that are not numbers (empty answers) are skipped."""
    whole = 0
    fraction = 0.0
    floats = False
    for item in _nodes(v):
        x = _number(item, False)
        if type(x) is int:
            whole += x
        elif x == x:
            fraction += x
            floats = True
    if not floats:
        return whole
    return _as_float(whole) + fraction


def _extreme(pick_greater: bool) -> Callable[..., int | float]:
    def extreme(*values: Value) -> int | float:
        best: int | float | None = None
        for value in values:
            for item in _nodes(value):
                x = _number(item, False)
                if x != x:
                    continue
                if best is None or (x > best if pick_greater else x < best):
                    best = x
        return _NAN if best is None else best

    return extreme


_max = _extreme(True)
_min = _extreme(False)

# --------------------------------------------------------------------------- regex()
#
# Python's re backtracks, so a pattern like ^(a+)+$ can take exponential time on an answer.
# regex() only asks whether there is a match, which a Thompson NFA answers in time linear in
# the answer's length. The NFA is built from the re module's own parse tree (so the syntax,
# escapes, classes and flags are exactly Python's); each single-character test is delegated
# to a tiny compiled re. Backreferences, conditional groups, atomic groups and possessive
# quantifiers are not regular and are refused.

_RE_PARSER: Any = None
_RE_CONSTANTS: Any = None
try:
    _RE_PARSER = importlib.import_module("re._parser")
    _RE_CONSTANTS = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - every Python >= 3.11 has them
    pass

_REGEX_MAX_STATES: Final = 10_000
_REGEX_MAX_LOOKAROUND_DEPTH: Final = 8
_REGEX_MAX_STEPS: Final = 4096  # remembered steps of one pattern (cleared when full)
_CHAR, _SPLIT, _ASSERT, _MATCH = 0, 1, 2, 3
_CHAR_FLAGS: Final = re.IGNORECASE | re.ASCII | re.DOTALL | re.UNICODE
_CATEGORY_ESCAPES: Final = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}
_UNSUPPORTED_REGEX: Final = {
    "GROUPREF": "backreferences",
    "GROUPREF_EXISTS": "conditional groups",
    "ATOMIC_GROUP": "atomic groups",
    "POSSESSIVE_REPEAT": "possessive quantifiers",
}

_CharTest: TypeAlias = Callable[[str], bool]
_PositionTest: TypeAlias = Callable[[str, int], bool]


class _RegexError(Exception):
    """A pattern the linear-time matcher cannot take."""


def _char_flags(flags: int) -> int:
    flags &= _CHAR_FLAGS
    if flags & re.ASCII:
        flags &= ~re.UNICODE
    return flags


def _any_char(ch: str) -> bool:
    return True


def _not_newline(ch: str) -> bool:
    return ch != "\n"


class _Nfa:
    """A Thompson NFA equivalent to a Python pattern, answering re.search(...) is not None."""

    def __init__(self, pattern: str) -> None:
        parsed = _RE_PARSER.parse(pattern, 0)
        flags = int(parsed.state.flags)
        self.kind: list[int] = []
        self.test: list[Any] = []
        self.out: list[Any] = []
        self.lookaround_depth = 0
        self.lookarounds = False
        self.charsets: dict[tuple[str, int], _CharTest] = {}
        # steps of `search` already taken: see _search_cached
        self.steps: dict[tuple[tuple[int, ...], str, bool], tuple[tuple[int, ...], bool]] = {}
        items = list(parsed)
        self.start = self._sequence(items, flags, self._state(_MATCH, None, None))
        constants = _RE_CONSTANTS
        self.anchored = bool(items) and (
            items[0] == (constants.AT, constants.AT_BEGINNING_STRING)
            or (items[0] == (constants.AT, constants.AT_BEGINNING) and not flags & re.MULTILINE)
        )

    def _state(self, kind: int, test: Any, out: Any) -> int:
        if len(self.kind) >= _REGEX_MAX_STATES:
            raise _RegexError("regular expression is too complex")
        self.kind.append(kind)
        self.test.append(test)
        self.out.append(out)
        return len(self.kind) - 1

    def _sequence(self, items: Sequence[Any], flags: int, follow: int) -> int:
        for op, arg in reversed(items):
            follow = self._item(op, arg, flags, follow)
        return follow

    def _item(self, op: Any, arg: Any, flags: int, follow: int) -> int:
        c = _RE_CONSTANTS
        if op is c.LITERAL:
            if flags & re.IGNORECASE:
                return self._state(_CHAR, self._charset([(c.LITERAL, arg)], flags), follow)
            return self._state(_CHAR, chr(arg).__eq__, follow)
        if op is c.NOT_LITERAL:
            test = self._charset([(c.NEGATE, None), (c.LITERAL, arg)], flags)
            return self._state(_CHAR, test, follow)
        if op is c.ANY:
            return self._state(_CHAR, _any_char if flags & re.DOTALL else _not_newline, follow)
        if op is c.IN:
            return self._state(_CHAR, self._charset(arg, flags), follow)
        if op is c.BRANCH:
            starts = tuple(self._sequence(list(branch), flags, follow) for branch in arg[1])
            return self._state(_SPLIT, None, starts)
        if op is c.SUBPATTERN:
            _group, add_flags, del_flags, sub = arg
            return self._sequence(list(sub), (flags | add_flags) & ~del_flags, follow)
        if op is c.MAX_REPEAT or op is c.MIN_REPEAT:
            return self._repeat(arg, flags, follow)
        if op is c.AT:
            return self._state(_ASSERT, self._anchor(arg, flags), follow)
        if op is c.ASSERT or op is c.ASSERT_NOT:
            look = self._lookaround(arg, flags, negate=op is c.ASSERT_NOT)
            return self._state(_ASSERT, look, follow)
        feature = _UNSUPPORTED_REGEX.get(str(op), str(op).lower())
        raise _RegexError(f"regular expression feature not supported: {feature}")

    def _repeat(self, arg: Any, flags: int, follow: int) -> int:
        least, most, sub = arg
        items = list(sub)
        if most == _RE_CONSTANTS.MAXREPEAT:
            loop = self._state(_SPLIT, None, None)
            self.out[loop] = (self._sequence(items, flags, loop), follow)
            current = loop
        else:
            current = follow
            for _ in range(int(most) - int(least)):
                current = self._state(_SPLIT, None, (self._sequence(items, flags, current), follow))
        for _ in range(int(least)):
            current = self._sequence(items, flags, current)
        return current

    def _charset(self, items: Sequence[Any], flags: int) -> _CharTest:
        c = _RE_CONSTANTS
        negate = False
        parts: list[str] = []
        for op, arg in items:
            if op is c.NEGATE:
                negate = True
            elif op is c.LITERAL:
                parts.append(f"\\U{arg:08x}")
            elif op is c.RANGE:
                parts.append(f"\\U{arg[0]:08x}-\\U{arg[1]:08x}")
            elif op is c.CATEGORY and str(arg) in _CATEGORY_ESCAPES:
                parts.append(_CATEGORY_ESCAPES[str(arg)])
            else:
                raise _RegexError(f"regular expression feature not supported: {op}")
        source = "[" + ("^" if negate else "") + "".join(parts) + "]"
        key = (source, _char_flags(flags))
        known = self.charsets.get(key)
        if known is not None:
            return known
        fullmatch = re.compile(source, key[1]).fullmatch

        def test(ch: str) -> bool:
            return fullmatch(ch) is not None

        self.charsets[key] = test
        return test

    def _anchor(self, code: Any, flags: int) -> _PositionTest:
        c = _RE_CONSTANTS
        multiline = bool(flags & re.MULTILINE)
        if code is c.AT_BEGINNING_STRING or (code is c.AT_BEGINNING and not multiline):
            return lambda s, i: i == 0
        if code is c.AT_BEGINNING:
            return lambda s, i: i == 0 or s[i - 1] == "\n"
        if code is c.AT_END_STRING:
            return lambda s, i: i == len(s)
        if code is c.AT_END and multiline:
            return lambda s, i: i == len(s) or s[i] == "\n"
        if code is c.AT_END:
            return lambda s, i: i == len(s) or (i == len(s) - 1 and s[i] == "\n")
        if code is c.AT_BOUNDARY or code is c.AT_NON_BOUNDARY:
            word = re.compile(r"\w", _char_flags(flags)).fullmatch
            want_boundary = code is c.AT_BOUNDARY

            def boundary(s: str, i: int) -> bool:
                if not s:
                    return False  # as re does: neither \b nor \B matches an empty string
                before = i > 0 and word(s[i - 1]) is not None
                after = i < len(s) and word(s[i]) is not None
                return (before != after) == want_boundary

            return boundary
        raise _RegexError(f"regular expression feature not supported: {code}")

    def _lookaround(self, arg: Any, flags: int, negate: bool) -> _PositionTest:
        direction, sub = arg
        self.lookarounds = True
        self.lookaround_depth += 1
        if self.lookaround_depth > _REGEX_MAX_LOOKAROUND_DEPTH:
            raise _RegexError("regular expression is too complex")
        start = self._sequence(list(sub), flags, self._state(_MATCH, None, None))
        self.lookaround_depth -= 1
        run = self._run
        if direction == 1:
            return lambda s, i: run(s, start, i, True, None) != negate
        width = int(sub.getwidth()[0])  # re only compiles fixed-width look-behinds
        return lambda s, i: (i >= width and run(s, start, i - width, True, i)) != negate

    def search(self, s: str) -> bool:
        if self.lookarounds:  # they read more than the next character: simulate each time
            return self._run(s, self.start, 0, self.anchored, None)
        return self._search_cached(s)

    def _search_cached(self, s: str) -> bool:
        """`_run` for a whole subject, remembering each step across subjects (a lazy DFA).

        Without lookarounds, the step over s[pos] depends only on the active states, that
        character, the next one (or none) and whether that next one is the last: the
        anchors at pos + 1 (^ $ \\A \\Z \\b \\B) read nothing else. Those make the key.
        """
        chars, matched = self._close([self.start], s, 0, None)
        if matched:
            return True
        steps, anchored, length = self.steps, self.anchored, len(s)
        for pos in range(length):
            key = (chars, s[pos : pos + 2], pos + 2 == length)
            step = steps.get(key)
            if step is None:
                step = self._step(chars, s, pos, self.start, anchored, None)
                if len(steps) >= _REGEX_MAX_STEPS:
                    steps.clear()
                steps[key] = step
            chars, matched = step
            if matched:
                return True
            if anchored and not chars:
                return False
        return False

    def _close(
        self, seeds: list[int], s: str, pos: int, end: int | None
    ) -> tuple[tuple[int, ...], bool]:
        """The character states reachable from `seeds` at `pos` without reading, and
        whether a match (ending at `end`, when given) is reachable."""
        kind, test, out = self.kind, self.test, self.out
        chars: list[int] = []
        stack = seeds
        seen: set[int] = set()
        while stack:
            state = stack.pop()
            if state in seen:
                continue
            seen.add(state)
            k = kind[state]
            if k == _CHAR:
                chars.append(state)
            elif k == _SPLIT:
                stack.extend(out[state])
            elif k == _ASSERT:
                if test[state](s, pos):
                    stack.append(out[state])
            elif end is None or pos == end:
                return tuple(chars), True
        return tuple(chars), False

    def _step(
        self,
        chars: tuple[int, ...],
        s: str,
        pos: int,
        start: int,
        anchored: bool,
        end: int | None,
    ) -> tuple[tuple[int, ...], bool]:
        """From the character states `chars`, read s[pos]: `_close` at pos + 1 (where an
        unanchored search may also begin anew from `start`)."""
        ch, test, out = s[pos], self.test, self.out
        seeds = [out[state] for state in chars if test[state](ch)]
        if not anchored:
            seeds.append(start)
        return self._close(seeds, s, pos + 1, end)

    def _run(self, s: str, start: int, begin: int, anchored: bool, end: int | None) -> bool:
        """Whether the NFA from `start` matches s from `begin` (anywhere after, unless
        anchored), ending at `end` when given. Time: len(s) times the number of states."""
        limit = len(s) if end is None else end
        chars, matched = self._close([start], s, begin, end)
        for pos in range(begin, limit):
            if matched:
                return True
            if anchored and not chars:
                return False
            chars, matched = self._step(chars, s, pos, start, anchored, end)
        return matched


@functools.lru_cache(maxsize=512)
def _regex_matcher(pattern: str) -> _CharTest | str:
    """A linear-time test with re.search's answer, or why the pattern is refused."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc.msg}"
    except (RecursionError, OverflowError, ValueError, TypeError) as exc:
        return f"invalid regular expression: {exc}"
    if _RE_PARSER is None:  # pragma: no cover
        return lambda s: compiled.search(s) is not None
    try:
        return _Nfa(pattern).search
    except _RegexError as exc:
        return str(exc)
    except RecursionError:
        return "regular expression is too complex"
    except (AttributeError, TypeError, ValueError, IndexError):  # pragma: no cover
        return "regular expression not supported by this version of Python"


def _regex(subject: Value, pattern: Value) -> bool:
    matcher = _regex_matcher(to_string(pattern))
    if isinstance(matcher, str):
        return False
    return matcher(to_string(subject))


# --------------------------------------------------------------------------- lexer

_WHITESPACE: Final = frozenset(" \t\r\n")
_OPERAND_ENDS: Final = frozenset({"num", "str", "ref", "dot", "dotdot", "name", ")"})
_OPERATOR_NAMES: Final = frozenset({"and", "or", "div", "mod"})
_ASCII_DIGITS: Final = frozenset("0123456789")


class _Token(NamedTuple):
    kind: str  # num str ref dot dotdot name func op ( ) , end
    text: str  # the literal's value, the reference's name, or the token itself
    pos: int


def _is_name_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_-."


def _is_name(text: str) -> bool:
    return bool(text) and _is_name_start(text[0]) and all(_is_name_char(ch) for ch in text)


def _syntax(message: str, position: int) -> ExpressionError:
    return ExpressionError(f"{message} at position {position}", position, "syntax")


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while True:
        while i < n and source[i] in _WHITESPACE:
            i += 1
        if i >= n:
            tokens.append(_Token("end", "", n))
            return tokens
        ch = source[i]
        after_operand = bool(tokens) and tokens[-1].kind in _OPERAND_ENDS
        if ch == "$":
            if not source.startswith("${", i):
                raise _syntax("'$' must start a reference like ${name}", i)
            close = source.find("}", i + 2)
            if close < 0:
                raise _syntax("unterminated reference", i)
            name = source[i + 2 : close]
            if not _is_name(name):
                raise _syntax(f"invalid question name {name!r} in reference", i)
            tokens.append(_Token("ref", name, i))
            i = close + 1
        elif ch in "'\"":
            close = source.find(ch, i + 1)
            if close < 0:
                raise _syntax("unterminated string", i)
            tokens.append(_Token("str", source[i + 1 : close], i))
            i = close + 1
        elif ch in _ASCII_DIGITS or (ch == "." and i + 1 < n and source[i + 1] in _ASCII_DIGITS):
            j = i
            while j < n and source[j] in _ASCII_DIGITS:
                j += 1
            if j < n and source[j] == ".":
                j += 1
                while j < n and source[j] in _ASCII_DIGITS:
                    j += 1
            tokens.append(_Token("num", source[i:j], i))
            i = j
        elif ch == ".":
            if source.startswith("..", i):
                tokens.append(_Token("dotdot", "..", i))
                i += 2
            else:
                tokens.append(_Token("dot", ".", i))
                i += 1
        elif _is_name_start(ch):
            j = i + 1
            while j < n and _is_name_char(source[j]):
                j += 1
            if j + 1 < n and source[j] == ":" and _is_name_start(source[j + 1]):
                j += 2
                while j < n and _is_name_char(source[j]):
                    j += 1
            text = source[i:j]
            if after_operand and text in _OPERATOR_NAMES:
                tokens.append(_Token("op", text, i))
            else:
                k = j
                while k < n and source[k] in _WHITESPACE:
                    k += 1
                if k < n and source[k] == "(":
                    tokens.append(_Token("func", text, i))
                elif ":" in text:
                    raise _syntax(f"unexpected '{text}'", i)
                else:
                    tokens.append(_Token("name", text, i))
            i = j
        elif source.startswith(("!=", "<=", ">="), i):
            tokens.append(_Token("op", source[i : i + 2], i))
            i += 2
        elif ch in "=<>+-" or (ch == "*" and after_operand):
            tokens.append(_Token("op", ch, i))
            i += 1
        elif ch == "*":
            raise _syntax("unexpected '*'", i)
        elif ch in "(),":
            tokens.append(_Token(ch, ch, i))
            i += 1
        else:
            raise _syntax(f"unexpected character {ch!r}", i)


# --------------------------------------------------------------------------- parser

_PRECEDENCE: Final = {
    "or": 1,
    "and": 2,
    "=": 3,
    "!=": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "div": 6,
    "mod": 6,
}
_MAX_NESTING: Final = 200  # parser calls in progress; keeps parse, compile and eval stacks short


# The syntax tree. Public for compilers other than the closures below (aggregates compile
# an expression to SQL); treat it as read-only.


@dataclass(slots=True)
class Literal:
    value: int | float | str
    pos: int


@dataclass(slots=True)
class Ref:
    name: str


@dataclass(slots=True)
class Current:
    pass


@dataclass(slots=True)
class Bare:
    name: str


@dataclass(slots=True)
class Parent:
    pos: int


@dataclass(slots=True)
class Negation:
    operand: SyntaxNode
    negate: bool  # an even number of minus signs still converts to a number


@dataclass(slots=True)
class Chain:
    """Operands joined left to right by operators of one precedence level."""

    level: int
    operands: list[SyntaxNode]
    operators: list[str]


@dataclass(slots=True)
class Call:
    name: str
    args: list[SyntaxNode]
    pos: int


SyntaxNode: TypeAlias = Literal | Ref | Current | Bare | Parent | Negation | Chain | Call


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0
        self.references: set[str] = set()
        self.functions: set[str] = set()
        self.bare_names: set[str] = set()
        self.uses_current = False

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def unexpected(self, token: _Token) -> ExpressionError:
        if token.kind == "end":
            return _syntax("unexpected end of expression", token.pos)
        if token.kind == "str":
            return _syntax("unexpected string", token.pos)
        shown = "${" + token.text + "}" if token.kind == "ref" else token.text
        return _syntax(f"unexpected '{shown}'", token.pos)

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise _syntax("expression nested too deeply", token.pos)

    def parse(self) -> SyntaxNode:
        if self.peek().kind == "end":
            raise _syntax("empty expression", 0)
        node = self.binary(1)
        token = self.peek()
        if token.kind != "end":
            raise self.unexpected(token)
        return node

    def binary(self, min_level: int) -> SyntaxNode:
        self.enter(self.peek())
        left = self.unary()
        while True:
            token = self.peek()
            level = _PRECEDENCE.get(token.text, 0) if token.kind == "op" else 0
            if level < min_level:
                break
            self.advance()
            right = self.binary(level + 1)
            if isinstance(left, Chain) and left.level == level:
                left.operands.append(right)
                left.operators.append(token.text)
            else:
                left = Chain(level, [left, right], [token.text])
        self.depth -= 1
        return left

    def unary(self) -> SyntaxNode:
        minus = 0
        while self.peek().kind == "op" and self.peek().text == "-":
            self.advance()
            minus += 1
        node = self.primary()
        return Negation(node, minus % 2 == 1) if minus else node

    def primary(self) -> SyntaxNode:
        token = self.advance()
        kind = token.kind
        if kind == "num":
            text = token.text
            number: int | float = float(text) if "." in text or len(text) > 15 else int(text)
            return Literal(number, token.pos)
        if kind == "str":
            return Literal(token.text, token.pos)
        if kind == "ref":
            self.references.add(token.text)
            return Ref(token.text)
        if kind == "dot":
            self.uses_current = True
            return Current()
        if kind == "name":
            self.bare_names.add(token.text)
            return Bare(token.text)
        if kind == "func":
            return self.call(token)
        if kind == "(":
            self.enter(token)
            node = self.binary(1)
            closing = self.advance()
            if closing.kind != ")":
                raise self.unexpected(closing)
            self.depth -= 1
            return node
        if kind == "dotdot":
            raise _syntax("'..' is only allowed as the argument of position(..)", token.pos)
        raise self.unexpected(token)

    def call(self, token: _Token) -> SyntaxNode:
        name = token.text
        bounds = ALLOWED_FUNCTIONS.get(name)
        if bounds is None:
            raise ExpressionError(f"unknown function '{name}'", token.pos, "unknown_function")
        self.functions.add(name)
        self.enter(token)
        self.advance()  # the '(' the lexer saw
        args: list[SyntaxNode] = []
        starts: list[int] = []
        if self.peek().kind == ")":
            self.advance()
        else:
            while True:
                start = self.peek()
                starts.append(start.pos)
                after = self.tokens[self.index + 1] if start.kind == "dotdot" else None
                if after is not None and after.kind in (",", ")"):
                    self.advance()
                    args.append(Parent(start.pos))
                else:
                    args.append(self.binary(1))
                separator = self.advance()
                if separator.kind == ")":
                    break
                if separator.kind != ",":
                    raise self.unexpected(separator)
        self.depth -= 1
        least, most = bounds
        if len(args) < least or (most is not None and len(args) > most):
            raise ExpressionError(
                f"{name}() takes {_arity_text(least, most)}, got {len(args)}",
                token.pos,
                "arity",
            )
        for arg in args:
            if isinstance(arg, Parent) and name != "position":
                raise _syntax("'..' is only allowed as the argument of position(..)", arg.pos)
        if name == "position" and not isinstance(args[0], Parent):
            raise _syntax("position() takes '..' as its argument", starts[0])
        if name == "jr:choice-name":
            question = _quoted_reference(args[1])
            if question is None:
                raise _syntax(
                    "the second argument of jr:choice-name() must be the question "
                    "in quotes, like '${name}'",
                    starts[1],
                )
            self.references.add(question)
        if name == "regex":
            pattern = args[1]
            if isinstance(pattern, Literal) and isinstance(pattern.value, str):
                matcher = _regex_matcher(pattern.value)
                if isinstance(matcher, str):
                    raise _syntax(matcher, pattern.pos)
        return Call(name, args, token.pos)


def _arity_text(least: int, most: int | None) -> str:
    def count(n: int) -> str:
        return f"{n} argument" if n == 1 else f"{n} arguments"

    if most is None:
        return f"at least {count(least)}"
    if least == most:
        return count(least)
    return f"{least} or {count(most)}" if most == least + 1 else f"{least} to {count(most)}"


_QUOTED_REFERENCE: Final = re.compile(r"[ \t\r\n]*\$\{([^{}]*)\}[ \t\r\n]*")


def _quoted_reference(node: SyntaxNode) -> str | None:
    if not isinstance(node, Literal) or not isinstance(node.value, str):
        return None
    match = _QUOTED_REFERENCE.fullmatch(node.value)
    if match is None or not _is_name(match.group(1)):
        return None
    return match.group(1)


# --------------------------------------------------------------------------- compiler


class _Compiled(NamedTuple):
    fn: _Fn
    is_bool: bool  # the closure always returns a bool


def _constant(value: Value) -> _Fn:
    return lambda ctx: value


def _as_bool_fn(compiled: _Compiled) -> _BoolFn:
    if compiled.is_bool:
        return cast(_BoolFn, compiled.fn)
    fn = compiled.fn
    return lambda ctx: to_boolean(fn(ctx))


def _compile(node: SyntaxNode) -> _Compiled:
    if isinstance(node, Literal):
        return _Compiled(_constant(node.value), False)
    if isinstance(node, Current):
        return _Compiled(operator.methodcaller("current"), False)
    if isinstance(node, Ref):
        return _Compiled(operator.methodcaller("resolve", node.name), False)
    if isinstance(node, Bare):
        return _Compiled(operator.methodcaller("choice_property", node.name), False)
    if isinstance(node, Negation):
        operand = _compile(node.operand).fn
        convert = _negate if node.negate else _to_number_value
        return _Compiled(lambda ctx: convert(operand(ctx)), False)
    if isinstance(node, Chain):
        return _compile_chain(node)
    if isinstance(node, Call):
        return _compile_call(node)
    raise TypeError(f"cannot compile {node!r}")  # Parent never reaches here


def _compile_chain(node: Chain) -> _Compiled:
    if node.level <= 2:
        return _compile_logic(node)
    if node.level <= 4:
        return _compile_comparisons(node)
    return _compile_arithmetic(node)


def _compile_logic(node: Chain) -> _Compiled:
    tests = [_as_bool_fn(_compile(operand)) for operand in node.operands]
    if node.level == 1:
        if len(tests) == 2:
            a, b = tests
            return _Compiled(lambda ctx: a(ctx) or b(ctx), True)

        def any_of(ctx: EvalContext) -> bool:
            return any(test(ctx) for test in tests)

        return _Compiled(any_of, True)
    if len(tests) == 2:
        a, b = tests
        return _Compiled(lambda ctx: a(ctx) and b(ctx), True)

    def all_of(ctx: EvalContext) -> bool:
        return all(test(ctx) for test in tests)

    return _Compiled(all_of, True)


def _compile_comparisons(node: Chain) -> _Compiled:
    if len(node.operands) == 2:
        left, right = node.operands
        op = node.operators[0]
        if _is_literal(right):
            return _Compiled(_compare_constant(_compile(left).fn, op, _literal(right)), True)
        if _is_literal(left):
            return _Compiled(
                _compare_constant(_compile(right).fn, _MIRRORED[op], _literal(left)), True
            )
        a, b = _compile(left).fn, _compile(right).fn
        compare = _COMPARISONS[op]
        return _Compiled(lambda ctx: compare(a(ctx), b(ctx)), True)
    first = _compile(node.operands[0]).fn
    rest = [
        (_COMPARISONS[op], _compile(operand).fn)
        for op, operand in zip(node.operators, node.operands[1:], strict=True)
    ]

    def fold(ctx: EvalContext) -> bool:
        value: Value = first(ctx)
        for compare, fn in rest:
            value = compare(value, fn(ctx))
        return bool(value)

    return _Compiled(fold, True)


def _is_literal(node: SyntaxNode) -> bool:
    return isinstance(node, Literal)


def _literal(node: SyntaxNode) -> int | float | str:
    return cast(Literal, node).value


def _compare_constant(fn: _Fn, op: str, constant: int | float | str) -> _BoolFn:
    """`fn(ctx) op constant`, with a shortcut for the usual types of the two sides."""
    compare = _COMPARISONS[op]
    if isinstance(constant, str):
        if op == "=":

            def equals_text(ctx: EvalContext) -> bool:
                v = fn(ctx)
                if type(v) is str:
                    return v == constant
                # an unanswered or skipped question: string('') (the usual other case)
                return constant == "" if v is None else _equals(v, constant)

            return equals_text
        if op == "!=":

            def differs_from_text(ctx: EvalContext) -> bool:
                v = fn(ctx)
                if type(v) is str:
                    return v != constant
                return constant != "" if v is None else _not_equals(v, constant)

            return differs_from_text
        return lambda ctx: compare(fn(ctx), constant)
    return _compare_number(fn, op, constant, compare)


def _compare_number(
    fn: _Fn, op: str, number: int | float, compare: Callable[[Value, Value], bool]
) -> _BoolFn:
    """`fn(ctx) op number`: plain Python comparison when fn gives an int or a float."""
    if op == "=" or op == "!=":
        want = op == "="
        whole = type(number) is int  # literals of more than 15 digits are floats

        def equals_number(ctx: EvalContext) -> bool:
            v = fn(ctx)
            if type(v) is float:
                return (v == number or abs(v - number) < _EQUAL_TOLERANCE) == want
            if type(v) is int:
                return (v == number if whole else _numbers_equal(v, number)) == want
            return compare(v, number)

        return equals_number
    if op == "<":

        def less(ctx: EvalContext) -> bool:
            v = fn(ctx)
            if type(v) is int or type(v) is float:
                return v < number
            return compare(v, number)

        return less
    if op == "<=":

        def less_equal(ctx: EvalContext) -> bool:
            v = fn(ctx)
            if type(v) is int or type(v) is float:
                return v <= number
            return compare(v, number)

        return less_equal
    if op == ">":

        def greater(ctx: EvalContext) -> bool:
            v = fn(ctx)
            if type(v) is int or type(v) is float:
                return v > number
            return compare(v, number)

        return greater

    def greater_equal(ctx: EvalContext) -> bool:
        v = fn(ctx)
        if type(v) is int or type(v) is float:
            return v >= number
        return compare(v, number)

    return greater_equal


def _compile_arithmetic(node: Chain) -> _Compiled:
    fns = [_compile(operand).fn for operand in node.operands]
    if len(fns) == 2:
        a, b = fns
        apply = _ARITHMETIC[node.operators[0]]
        return _Compiled(lambda ctx: apply(a(ctx), b(ctx)), False)
    first = fns[0]
    rest = [(_ARITHMETIC[op], fn) for op, fn in zip(node.operators, fns[1:], strict=True)]

    def fold(ctx: EvalContext) -> Value:
        value = first(ctx)
        for apply, fn in rest:
            value = apply(value, fn(ctx))
        return value

    return _Compiled(fold, False)


def _unary(function: Callable[[Value], Value], arg: _Fn) -> _Fn:
    return lambda ctx: function(arg(ctx))


def _binary(function: Callable[[Value, Value], Value], a: _Fn, b: _Fn) -> _Fn:
    return lambda ctx: function(a(ctx), b(ctx))


def _compile_call(node: Call) -> _Compiled:
    name = node.name
    args = node.args
    if name == "if":
        test = _as_bool_fn(_compile(args[0]))
        then, otherwise = _compile(args[1]), _compile(args[2])
        a, b = then.fn, otherwise.fn
        return _Compiled(
            lambda ctx: a(ctx) if test(ctx) else b(ctx), then.is_bool and otherwise.is_bool
        )
    if name == "coalesce":
        first, second = _compile(args[0]).fn, _compile(args[1]).fn

        def coalesce(ctx: EvalContext) -> Value:
            value = first(ctx)
            return second(ctx) if _is_null(value) else value

        return _Compiled(coalesce, False)
    if name == "true":
        return _Compiled(_constant(True), True)
    if name == "false":
        return _Compiled(_constant(False), True)
    if name == "today":
        return _Compiled(_today, False)
    if name == "now":
        return _Compiled(operator.methodcaller("now"), False)
    if name == "position":
        return _Compiled(operator.methodcaller("position"), False)
    if name == "not":
        test = _as_bool_fn(_compile(args[0]))
        return _Compiled(lambda ctx: not test(ctx), True)
    if name == "jr:choice-name":
        value = _compile(args[0]).fn
        question = cast(str, _quoted_reference(args[1]))

        def choice_name(ctx: EvalContext) -> Value:
            text = to_string(value(ctx))
            return ctx.choice_label(question, text) if text else ""

        return _Compiled(choice_name, False)
    if name == "regex":
        subject = _compile(args[0]).fn
        pattern = args[1]
        if isinstance(pattern, Literal) and isinstance(pattern.value, str):
            matcher = cast(_CharTest, _regex_matcher(pattern.value))
            return _Compiled(lambda ctx: matcher(to_string(subject(ctx))), True)
        return _Compiled(_binary(_regex, subject, _compile(pattern).fn), True)
    fns = [_compile(arg).fn for arg in args]
    if name in _UNARY_FUNCTIONS:
        function, is_bool = _UNARY_FUNCTIONS[name]
        return _Compiled(_unary(function, fns[0]), is_bool)
    if name in _BINARY_FUNCTIONS:
        function2, is_bool = _BINARY_FUNCTIONS[name]
        return _Compiled(_binary(function2, fns[0], fns[1]), is_bool)
    if name == "round":
        if len(fns) == 1:
            return _Compiled(_unary(_round, fns[0]), False)
        return _Compiled(_binary(_round, fns[0], fns[1]), False)
    if name == "concat":
        return _Compiled(lambda ctx: "".join(_concat_part(fn(ctx)) for fn in fns), False)
    if name in ("max", "min"):
        extreme = _max if name == "max" else _min
        return _Compiled(lambda ctx: extreme(*(fn(ctx) for fn in fns)), False)
    raise TypeError(f"no implementation for {name}()")  # ALLOWED_FUNCTIONS and this disagree


_UNARY_FUNCTIONS: Final[Mapping[str, tuple[Callable[[Value], Value], bool]]] = {
    "count-selected": (_count_selected, False),
    "string-length": (_string_length, False),
    "int": (_int, False),
    "number": (to_number, False),
    "string": (to_string, False),
    "date": (_to_date, False),
    "decimal-date-time": (_decimal_date_time, False),
    "count": (_count, False),
    "sum": (_sum, False),
}
_BINARY_FUNCTIONS: Final[Mapping[str, tuple[Callable[[Value, Value], Value], bool]]] = {
    "selected": (_selected, True),
    "selected-at": (_selected_at, False),
    "contains": (_contains, True),
    "starts-with": (_starts_with, True),
}

# --------------------------------------------------------------------------- public


@dataclass(frozen=True)
class Expression:
    """A parsed and compiled expression; evaluate it against any number of contexts.

    `evaluate(ctx)` gives the expression's value (None, bool, int, float, str, date,
    date-time or a list); `evaluate_bool(ctx)` its XPath boolean(), for relevant, constraint
    and required. Both are the compiled closures themselves: a call goes straight to them.
    """

    source: str
    references: frozenset[str]
    functions: frozenset[str]
    uses_current: bool
    bare_names: frozenset[str]
    evaluate: _Fn = field(repr=False, compare=False)
    evaluate_bool: _BoolFn = field(repr=False, compare=False)


def _parse(source: str) -> Expression:
    if not isinstance(source, str):
        raise TypeError(f"an expression is text, not {type(source).__name__}")
    try:
        parser = _Parser(source)
        tree = parser.parse()
        compiled = _compile(tree)
    except RecursionError:  # only when called from deep in the stack already
        raise ExpressionError("expression nested too deeply", 0, "syntax") from None
    return Expression(
        source=source,
        references=frozenset(parser.references),
        functions=frozenset(parser.functions),
        uses_current=parser.uses_current,
        bare_names=frozenset(parser.bare_names),
        evaluate=compiled.fn,
        evaluate_bool=_as_bool_fn(compiled),
    )


_parse_cached = functools.lru_cache(maxsize=4096)(_parse)


def parse(source: str) -> Expression:
    """Parse and compile an expression (cached by source); raises ExpressionError."""
    return _parse_cached(source)


def syntax_tree(source: str) -> SyntaxNode:
    """The syntax tree of an expression, checked as `parse` checks it; raises ExpressionError."""
    try:
        return _Parser(source).parse()
    except RecursionError:  # only when called from deep in the stack already
        raise ExpressionError("expression nested too deeply", 0, "syntax") from None
