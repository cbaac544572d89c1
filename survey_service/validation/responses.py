"""Server-side validation of submitted answers against a checked questionnaire definition.

`ResponseValidator(definition)` compiles a questionnaire version once (checkers, expressions,
how each ${name} resolves from each scope, work lists per scope); `validate(answers)` then
checks one response in two passes: the shape and types of the answers, then relevance,
required answers, constraints, choice filters, repeat counts and calculations. It never
raises on a JSON value; every problem comes back as a `FieldError` with the JSON path of the
answer (`household.members[2].member_age`, 0-based), a stable code and a message in the
response's language:

    response.unknown_field          a key the questionnaire does not have there
    response.invalid_type           wrong JSON type, bad date, duplicate choice, answered note
    response.invalid_choice         not a choice of the list, or excluded by the choice_filter
    response.invalid_geopoint       latitude, longitude or accuracy out of range
    response.not_relevant           answered although skipped (at the outermost skipped node)
    response.required               a required, relevant answer is missing
    response.constraint_failed      the constraint is false for the answer
    response.repeat_count_mismatch  the number of instances differs from repeat_count
    response.calculation_mismatch   (a warning) the client's calculate value differs

Results of expensive expressions and of constraints on the answer alone are remembered per
validator (bounded), keyed by every value they read, so reusing a validator gets faster.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Callable, Container, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from survey_service.expressions import Expression, Value, to_number, to_string
from survey_service.jsonutil import MAX_CLIENT_DEPTH, nested_deeper
from survey_service.questionnaire.definition import Choice, Definition, Question
from survey_service.validation.messages import languages_of, message

__all__ = [
    "CALCULATION_MISMATCH",
    "CONSTRAINT_FAILED",
    "DESIGN_KEYS",
    "INVALID_CHOICE",
    "INVALID_GEOPOINT",
    "INVALID_TYPE",
    "NOT_RELEVANT",
    "REPEAT_COUNT_MISMATCH",
    "REQUIRED",
    "TAG_KEYS",
    "UNKNOWN_FIELD",
    "FieldError",
    "ResponseValidator",
    "ValidatedResponse",
]

TAG_KEYS: Final = ("country", "admin1", "hazard_type", "displacement_status")
DESIGN_KEYS: Final = ("weight", "stratum", "psu")

UNKNOWN_FIELD: Final = "response.unknown_field"
INVALID_TYPE: Final = "response.invalid_type"
INVALID_CHOICE: Final = "response.invalid_choice"
INVALID_GEOPOINT: Final = "response.invalid_geopoint"
NOT_RELEVANT: Final = "response.not_relevant"
REQUIRED: Final = "response.required"
CONSTRAINT_FAILED: Final = "response.constraint_failed"
REPEAT_COUNT_MISMATCH: Final = "response.repeat_count_mismatch"
CALCULATION_MISMATCH: Final = "response.calculation_mismatch"


@dataclass(frozen=True)
class FieldError:
    """A problem with one answer, at its JSON path in the answers (0-based repeat indices)."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass
class ValidatedResponse:
    """The outcome of validating one response: what to store, its tags, and every problem."""

    answers: dict[str, Any]
    tags: dict[str, str | None]
    design: dict[str, Any]
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- answer types


class _Invalid:
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


_Checker = Callable[[Any], "Value | _Invalid"]
_Fn = Callable[[Any], Value]
_BoolFn = Callable[[Any], bool]

_BAD_OBJECT: Final = _Invalid(INVALID_TYPE, "expected_object")
_BAD_ARRAY: Final = _Invalid(INVALID_TYPE, "expected_array")
_BAD_INTEGER: Final = _Invalid(INVALID_TYPE, "expected_integer")
_BIG_INTEGER: Final = _Invalid(INVALID_TYPE, "expected_integer_in_range")
_BAD_DECIMAL: Final = _Invalid(INVALID_TYPE, "expected_decimal")
_BAD_TEXT: Final = _Invalid(INVALID_TYPE, "expected_text")
_BAD_SELECT_ONE: Final = _Invalid(INVALID_TYPE, "expected_select_one")
_BAD_SELECT_MULTIPLE: Final = _Invalid(INVALID_TYPE, "expected_select_multiple")
_BAD_DATE: Final = _Invalid(INVALID_TYPE, "expected_date")
_BAD_DATETIME: Final = _Invalid(INVALID_TYPE, "expected_datetime")
_BAD_GEOPOINT_TYPE: Final = _Invalid(INVALID_TYPE, "expected_geopoint")
_BAD_GEOPOINT: Final = _Invalid(INVALID_GEOPOINT, "invalid_geopoint")
_NOTE_ANSWERED: Final = _Invalid(INVALID_TYPE, "note_answered")
# a client's value of a calculation is replaced by the server's, but it is part of the
# content hash and may be quoted in a warning
_TOO_DEEP: Final = _Invalid(INVALID_TYPE, "expected_shallow", depth=str(MAX_CLIENT_DEPTH))

_DATE_TEXT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
)
_GEOPOINT_KEYS: Final = frozenset({"lat", "lon", "alt", "accuracy"})
_LARGEST_FLOAT_INT: Final = int(1.7976931348623157e308)
# integer answers: signed 64 bits, as PostgreSQL's bigint, Stata, SPSS and Parquet hold them
# (XForms' int is narrower still); `in` a range is one comparison in C
_INTEGER_RANGE: Final = range(-(2**63), 2**63)
_MESSAGE_VALUE_LENGTH: Final = 80
_TOLERANCE: Final = 1e-9


def _quote(value: Any) -> str:
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


def _check_integer(v: Any) -> Value | _Invalid:
    t = type(v)
    if t is float and v.is_integer():
        v = int(v)
    elif t is not int:
        return _BAD_INTEGER
    return v if v in _INTEGER_RANGE else _BIG_INTEGER


def _check_decimal(v: Any) -> Value | _Invalid:
    t = type(v)
    if t is float:
        return v if math.isfinite(v) else _BAD_DECIMAL
    if t is int and -_LARGEST_FLOAT_INT <= v <= _LARGEST_FLOAT_INT:
        return v  # type: ignore[no-any-return]
    return _BAD_DECIMAL


def _check_text(v: Any) -> Value | _Invalid:
    if type(v) is str:
        return v or None
    return _BAD_TEXT


def _select_one(names: frozenset[str]) -> _Checker:
    def check_select_one(v: Any) -> Value | _Invalid:
        if type(v) is str:
            if v in names:
                return v
            if not v:
                return None
            return _Invalid(INVALID_CHOICE, "invalid_choice", values=_quote(v))
        return _BAD_SELECT_ONE

    return check_select_one


def _select_multiple(names: frozenset[str]) -> _Checker:
    def check_select_multiple(v: Any) -> Value | _Invalid:
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
                    return _Invalid(INVALID_TYPE, "duplicate_choice", value=_quote(item))
                seen.add(item)
        if not names.issuperset(v):
            unknown = [item for item in v if item not in names]
            return _Invalid(
                INVALID_CHOICE, "invalid_choice", values=", ".join(_quote(u) for u in unknown)
            )
        return " ".join(v)

    return check_select_multiple


def _check_date(v: Any) -> Value | _Invalid:
    if type(v) is str:
        if _DATE_TEXT.fullmatch(v):
            try:
                return datetime.date.fromisoformat(v)
            except ValueError:
                return _BAD_DATE
        if not v:
            return None
    return _BAD_DATE


def _check_datetime(v: Any) -> Value | _Invalid:
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


def _check_geopoint(v: Any) -> Value | _Invalid:
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


def _check_note(v: Any) -> Value | _Invalid:
    return None if v == "" else _NOTE_ANSWERED  # an empty text is how XForms send a note


def _checker(question: Question, names: frozenset[str]) -> _Checker:
    kind = question.type
    if kind == "select_one":
        return _select_one(names)
    if kind == "select_multiple":
        return _select_multiple(names)
    return _SIMPLE_CHECKERS.get(kind, _check_note)


_SIMPLE_CHECKERS: Final[Mapping[str, _Checker]] = {
    "integer": _check_integer,
    "decimal": _check_decimal,
    "text": _check_text,
    "date": _check_date,
    "datetime": _check_datetime,
    "geopoint": _check_geopoint,
    "note": _check_note,
}


def _to_json(v: Value) -> Any:
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


def _json_default(question: Question, v: Value) -> Any:
    """A computed default in the JSON form of the question's answers."""
    j = _to_json(v)
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


def _numeric(v: Any) -> float | None:
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


def _same_value(client: Any, server: Any) -> bool:
    """Whether a client's calculate value agrees with the server's (numbers with a tolerance)."""
    if server is None or server == "":  # an empty value, or NaN as null
        return client is None or client == "" or client == "NaN"
    if type(server) is int or type(server) is float:
        number = _numeric(client)
        return number is not None and math.isclose(
            number, server, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE
        )
    if type(client) in (str, int, float, bool):
        return to_string(client) == to_string(server)
    return False


# --------------------------------------------------------------------------- compiled tree

_ANSWER, _NOTE, _CALCULATE, _GROUP, _REPEAT = range(5)
_KINDS: Final = {"note": _NOTE, "calculate": _CALCULATE, "group": _GROUP, "repeat": _REPEAT}
_MISSING: Final[Any] = object()
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_TIME_FUNCTIONS: Final = frozenset({"now", "today"})
_ALWAYS: Final = object()  # the relevance key of nodes without a relevant anywhere above
# functions whose result depends on more than their arguments
_CONTEXT_FUNCTIONS: Final = frozenset({"now", "today", "jr:choice-name", "position"})
_CACHED_TYPES: Final = frozenset(
    {"integer", "decimal", "text", "select_one", "select_multiple", "date", "geopoint"}
)
_CACHE_SIZE: Final = 4096


def _cache_key(value: Any, position: int | None) -> Hashable:
    """The key of a cached constraint result: the answer (and the repeat position)."""
    key: Hashable = value
    if type(value) is float:  # keep 0.0 and -0.0 apart
        key = (value, math.copysign(1.0, value))
    return key if position is None else (key, position)


_SAFE_KEY_TYPES: Final = frozenset({str, int, type(None), datetime.date})
_EXPENSIVE_SOURCE: Final = 40  # characters: shorter expressions are cheaper than a cache lookup
_Evaluate = Callable[[Any], Any]


def _memoised(fn: _Evaluate, expression: Expression, choices: bool = False) -> _Evaluate:
    """Remember the results of an expensive expression by what it reads, across responses.

    The key is the values of its references (as seen from the scope), `.`, the repeat
    position and, in a choice filter, the choice (and the language when it reads `label`).
    Keys are only made of text, whole numbers, dates and nulls, where equal means identical;
    otherwise the expression is evaluated. Cheap expressions are left as they are.
    """
    functions = expression.functions
    if functions & _TIME_FUNCTIONS or "jr:choice-name" in functions:
        return fn
    if not choices and (
        not expression.references
        or (len(expression.source) < _EXPENSIVE_SOURCE and "regex" not in functions)
    ):
        return fn
    references = tuple(sorted(expression.references))
    position = "position" in functions
    current = expression.uses_current
    language = "label" in expression.bare_names
    cache: dict[Hashable, Any] = {}

    def memoised(s: _Scope) -> Any:
        values = tuple(map(s.resolve, references))
        cur = s.cur if current else None
        if not _SAFE_KEY_TYPES.issuperset(map(type, values)) or type(cur) not in _SAFE_KEY_TYPES:
            return fn(s)
        key: Hashable = (values, cur, s.index if position else 0)
        if choices:
            choice = s.choice
            key = (key, choice.name if choice else None, s.run.language if language else None)
        result = cache.get(key, _MISSING)
        if result is _MISSING:
            result = fn(s)
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[key] = result
        return result

    return memoised


_SortKey = tuple[float, ...]
_Resolver = Callable[["_Scope"], Value]


class _Never:
    """A type no JSON value has."""


class _Kind:
    """A kind of scope: the top level, or the instances of one repeat, with its work lists."""

    __slots__ = (
        "by_name",
        "calculates",
        "chain",
        "constrained_names",
        "initial_seeds",
        "plan",
        "defaulted",
        "gated_names",
        "repeat",
        "repeats",
        "required_groups",
        "resolvers",
        "seeds",
        "seeds_by_key",
    )

    def __init__(self, repeat: _Node | None, chain: tuple[_Node, ...]) -> None:
        self.repeat = repeat
        self.chain = chain  # the enclosing repeats, outermost first, this one last
        self.by_name: dict[str, _Node] = {}  # the nodes whose home this is
        self.resolvers: dict[str, _Resolver] = {}  # ${name} seen from here
        self.gated_names: frozenset[str] = frozenset()  # answers and notes with a relevant
        # required answers by relevance key: (a node with that key, their names)
        self.required_groups: list[tuple[_Node, frozenset[str]]] = []
        self.constrained_names: frozenset[str] = frozenset()  # with a constraint or filter
        self.defaulted: list[_Node] = []  # answers with a computed default
        self.calculates: list[_Node] = []
        self.repeats: list[_Node] = []
        # answers referenced here that are always relevant, and the same by relevance key
        self.seeds: tuple[str, ...] = ()
        self.seeds_by_key: dict[object, tuple[str, ...]] = {}
        # what a scope of this kind seeds first: `seeds`, and in a repeat instance also
        # seeds_by_key[self] (relevant whenever the instance is)
        self.initial_seeds: tuple[str, ...] = ()
        self.plan: list[_Node] = []  # a node per relevance key of its own, document order


class _Node:
    """One question, precompiled: its checker, expressions and place in the tree."""

    __slots__ = (
        "anchor",
        "anchor_ups",
        "calculation",
        "calculation_uses_current",
        "cache_position",
        "check",
        "choice_filter",
        "computes",
        "choices",
        "constraint",
        "constraint_cache",
        "constraint_message",
        "constraint_source",
        "fast",
        "fields",
        "home",
        "instances",
        "kind",
        "last",
        "multiple",
        "name",
        "names",
        "order",
        "parent",
        "question",
        "reads",
        "rel_key",
        "rel_path",
        "seeds",
        "relevant",
        "relevant_uses_current",
        "repeat_count",
        "required",
        "required_fn",
        "required_message",
        "up_anchor",
        "up_key",
        "up_ups",
        "volatile",
    )

    def __init__(
        self, question: Question, parent: _Node | None, home: _Kind, path: str, order: int
    ) -> None:
        self.question = question
        self.name = question.name
        self.kind = _KINDS.get(question.type, _ANSWER)
        self.parent = parent
        self.home = home
        self.rel_path = path  # relative to the home scope's object
        self.order = order  # document order
        self.last = order  # document order of the last descendant
        self.fields: dict[str, _Node] = {}
        self.instances: _Kind | None = None
        self.computes = False  # a group or repeat with calculations (or computed defaults) below
        raw = question.raw
        expressions = question.expressions
        relevant = expressions.get("relevant")
        self.relevant: _BoolFn | None = (
            _memoised(relevant.evaluate_bool, relevant) if relevant else None
        )
        self.relevant_uses_current = bool(relevant and relevant.uses_current)
        self.rel_key: object = self
        self.seeds: tuple[str, ...] | None = None  # the seeds of its relevance key
        self.anchor: _Node | None = None  # nearest node, itself or above, with a relevant
        self.anchor_ups = 0  # scopes to climb to the anchor's home
        self.up_anchor: _Node | None = None  # the same strictly above
        self.up_ups = 0
        self.up_key: object = _ALWAYS  # the parent's relevance key, in this scope's memo
        required = expressions.get("required")
        self.required = raw.get("required") is True
        self.required_fn: _BoolFn | None = required.evaluate_bool if required else None
        constraint = expressions.get("constraint")
        self.constraint: _BoolFn | None = None
        if constraint is not None:
            self.constraint = _memoised(constraint.evaluate_bool, constraint)
        self.constraint_source = constraint.source if constraint else ""
        # results of a constraint on the answer alone, shared by every response
        self.constraint_cache: dict[Hashable, bool] | None = None
        self.cache_position = False
        if (
            constraint is not None
            and not constraint.references
            and not constraint.functions & (_CONTEXT_FUNCTIONS - {"position"})
            and question.type in _CACHED_TYPES
        ):
            self.constraint_cache = {}
            self.cache_position = "position" in constraint.functions
        calculation = expressions.get("calculation")
        self.calculation: _Fn | None = (
            _memoised(calculation.evaluate, calculation) if calculation else None
        )
        self.calculation_uses_current = bool(calculation and calculation.uses_current)
        count = expressions.get("repeat_count")
        self.repeat_count: _Fn | None = count.evaluate if count else None
        choice_filter = expressions.get("choice_filter")
        self.choice_filter: _BoolFn | None = (
            _memoised(choice_filter.evaluate_bool, choice_filter, choices=True)
            if choice_filter
            else None
        )
        self.required_message = _texts(raw.get("required_message"))
        self.constraint_message = _texts(raw.get("constraint_message"))
        self.choices: dict[str, Choice] = {}
        self.multiple = question.type == "select_multiple"
        self.check: _Checker = _check_note
        # the fast path of `_load` stores an answer of type `fast` that is `in` `names` (choice
        # names, the integer range), or when `names` is None, any non-empty one
        self.fast: type = _Never
        self.names: Container[Any] | None = None
        self.volatile = False
        # what each of its expressions reads, by key ("relevant", "constraint", ...): the
        # names it refers to and what their values hang on (calculations, relevance)
        self.reads: dict[str, frozenset[str]] = {}


def _texts(value: Any) -> Mapping[str, str] | None:
    return value if isinstance(value, Mapping) else None


def _pick(texts: Mapping[str, str] | None, languages: tuple[str, ...]) -> str | None:
    if texts is None:
        return None
    for language in languages:
        text = texts.get(language)
        if isinstance(text, str):
            return text
    return None


def _key_path(key: Any) -> str:
    text = key if isinstance(key, str) else str(key)
    if _IDENTIFIER.fullmatch(text):
        return text
    return "[" + json.dumps(text, ensure_ascii=False) + "]"


# --------------------------------------------------------------------------- per response


class _Run:
    """What one validation shares across its scopes: language, clock, and the findings."""

    __slots__ = ("errors", "language", "languages", "now", "validator", "warnings")

    def __init__(
        self,
        validator: ResponseValidator,
        language: str,
        languages: tuple[str, ...],
        now: datetime.datetime,
    ) -> None:
        self.validator = validator
        self.language = language
        self.languages = languages
        self.now = now
        self.errors: list[tuple[_SortKey, FieldError]] = []
        self.warnings: list[tuple[_SortKey, FieldError]] = []


class _Env(dict[str, Value]):
    """${name} as seen from one scope: computed on the first look, then a plain dict hit."""

    __slots__ = ("scope",)
    scope: _Scope

    def __missing__(self, name: str) -> Value:
        scope = self.scope
        value = scope.kind.resolvers[name](scope)
        self[name] = value
        return value


class _Scope:
    """The top level or one repeat instance of a response; the EvalContext of expressions."""

    __slots__ = (
        "bad",
        "children",
        "choice",
        "client",
        "counts",
        "cur",
        "env",
        "filled",
        "index",
        "kind",
        "objs",
        "parent",
        "rel",
        "resolve",
        "run",
        "sets",
        "values",
    )

    def __init__(self, kind: _Kind, parent: _Scope | None, index: int, run: _Run) -> None:
        self.kind = kind
        self.parent = parent
        self.index = index
        self.run = run
        self.values: dict[str, Value] = {}  # typed, non-empty, valid answers by name
        self.bad: dict[str, _Invalid] | None = None  # rejected answers by name
        self.filled: set[_Node] | None = None  # groups and repeats with something inside
        self.client: dict[str, Any] | None = None  # calculate values the client sent
        self.env = env = _Env()
        env.scope = self
        # EvalContext.resolve: a C-level dict lookup once a name has been seen
        self.resolve: Callable[[str], Value] = env.__getitem__
        self.rel: dict[object, bool] = {_ALWAYS: True}  # relevance by _Node.rel_key
        self.sets: dict[str, Value] | None = None  # node-sets gathered from below
        self.children: dict[str, list[_Scope]] | None = None
        self.counts: dict[str, int] | None = None
        self.objs: dict[_Node | None, dict[str, Any] | None] = {}  # output object per container
        self.cur: Value = None
        self.choice: Choice | None = None

    # -- EvalContext (resolve is the attribute above)

    def current(self) -> Value:
        return self.cur

    def position(self) -> int:
        return self.index + 1

    def choice_label(self, question: str, value: str) -> str:
        return self.run.validator._label(question, value, self.run)

    def choice_property(self, name: str) -> Value:
        choice = self.choice
        if choice is None:
            return None
        if name == "name":
            return choice.name
        if name == "label":
            return _pick(choice.label, self.run.languages) or ""
        value = choice.properties.get(name)
        return value if value is None or isinstance(value, str) else str(value)

    def now(self) -> datetime.datetime:
        return self.run.now

    # -- relevance, values

    def relevant(self, node: _Node) -> bool:
        """Whether a node whose home is this scope is relevant (itself and its ancestors).

        Memoised under `node.rel_key`: the node itself, or for a node with its own relevant
        expression, the first node with the same expression under the same parent relevance.
        Hot callers look `self.rel.get(node.rel_key)` up first and only call this on a miss.
        """
        memo = self.rel
        key = node.rel_key
        result = memo.get(key)
        if result is not None:
            return result
        anchor = node.anchor
        if anchor is None:
            result = True
        elif anchor is node:
            memo[key] = True  # a guard should relevance refer to itself through calculations
            above = node.up_anchor
            if above is None:
                result = True
            else:
                scope = self
                ups = node.up_ups
                while ups:
                    scope = scope.parent  # type: ignore[assignment]
                    ups -= 1
                result = scope.rel.get(above.rel_key) or scope.relevant(above)
            if result:
                test = node.relevant
                assert test is not None  # noqa: S101 - an anchor has an expression
                if node.relevant_uses_current:
                    old = self.cur
                    self.cur = self.values.get(node.name)
                    result = test(self)
                    self.cur = old
                else:
                    result = test(self)
        else:
            scope = self
            ups = node.anchor_ups
            while ups:
                scope = scope.parent  # type: ignore[assignment]
                ups -= 1
            result = scope.relevant(anchor)
        memo[key] = result
        seeds = node.seeds
        if seeds is not None:
            self.seed(seeds, result)
        return result

    def seed(self, names: tuple[str, ...], relevant: bool) -> None:
        """Put plain answers whose relevance is now known into `env`."""
        if relevant:
            self.env.update(zip(names, map(self.values.get, names), strict=True))
        else:
            self.env.update(dict.fromkeys(names))

    def default(self, node: _Node) -> tuple[Value, Any]:
        """A computed default: its typed value and JSON form (both None when unusable)."""
        fn = node.calculation
        assert fn is not None  # noqa: S101
        old = self.cur
        self.cur = None
        raw = fn(self)
        self.cur = old
        stored = _json_default(node.question, raw)
        if stored is None:
            return None, None
        value = node.check(stored)
        if value is None or type(value) is _Invalid:
            return None, None
        return value, stored  # type: ignore[return-value]

    # -- paths and output

    def prefix(self) -> str:
        parent = self.parent
        if parent is None:
            return ""
        repeat = self.kind.repeat
        assert repeat is not None  # noqa: S101
        return f"{parent.prefix()}{repeat.rel_path}[{self.index}]."

    def order(self) -> _SortKey:
        parent = self.parent
        if parent is None:
            return ()
        repeat = self.kind.repeat
        assert repeat is not None  # noqa: S101
        return (*parent.order(), repeat.order, self.index)

    def obj(self, container: _Node | None) -> dict[str, Any] | None:
        """The output object of a container in this scope, created when the client left it out."""
        objs = self.objs
        found = objs.get(container, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[no-any-return]
        assert container is not None  # noqa: S101 - the scope's own object always exists
        outer = self.obj(container.parent)
        if outer is None:
            objs[container] = None
            return None
        created: dict[str, Any] = {}
        outer[container.name] = created
        objs[container] = created
        return created


# --------------------------------------------------------------------------- resolution


def _getter(node: _Node) -> _Resolver:
    """The value of a question in its home scope, as expressions see it."""
    name = node.name
    if node.kind == _ANSWER:
        if node.calculation is not None:

            def answer_or_default(s: _Scope) -> Value:
                value = s.values.get(name)
                if not s.relevant(node):
                    return None
                if value is not None or (s.bad is not None and name in s.bad):
                    return value
                return s.default(node)[0]

            return answer_or_default
        if node.anchor is None:

            def plain(s: _Scope) -> Value:
                return s.values.get(name)

            return plain

        def conditional(s: _Scope) -> Value:
            value = s.values.get(name)
            if value is None or (s.rel.get(node.rel_key) or s.relevant(node)):
                return value
            return None

        return conditional
    if node.kind == _CALCULATE:
        fn = node.calculation
        assert fn is not None  # noqa: S101
        uses_current = node.calculation_uses_current

        def calculated(s: _Scope) -> Value:
            if node.anchor is not None and not s.relevant(node):
                return None
            s.env[name] = None  # a guard, replaced by the value when it is known
            if uses_current:
                old = s.cur
                s.cur = None
                value = fn(s)
                s.cur = old
            else:
                value = fn(s)
            while type(value) is list:  # a node-set stores its first item, as in XForms
                value = value[0] if value else None
            return value

        return calculated
    if node.kind == _REPEAT:

        def instances(s: _Scope) -> Value:
            if not s.relevant(node) or s.children is None:
                return []
            return [""] * len(s.children.get(name, ()))

        return instances
    return lambda s: None


def _climb(name: str, ups: int) -> _Resolver:
    """A question of an enclosing scope: looked up (and remembered) there."""
    if ups == 1:
        return lambda s: s.parent.env[name]  # type: ignore[union-attr]

    def climb(s: _Scope) -> Value:
        for _ in range(ups):
            s = s.parent  # type: ignore[assignment]
        return s.env[name]

    return climb


def _gather(name: str, ups: int, down: tuple[_Node, ...]) -> _Resolver:
    """A node-set: the question's values in every instance of the repeats below the scope."""
    last = len(down) - 1

    def collect(s: _Scope, level: int) -> list[Value]:
        repeat = down[level]
        if s.children is None or not s.relevant(repeat):
            return []
        instances = s.children.get(repeat.name, ())
        if level == last:
            return [instance.env[name] for instance in instances]
        return [collect(instance, level + 1) for instance in instances]

    def gather(s: _Scope) -> Value:
        for _ in range(ups):
            s = s.parent  # type: ignore[assignment]
        sets = s.sets
        if sets is None:
            sets = s.sets = {}
        found = sets.get(name)
        if found is None:
            found = sets[name] = collect(s, 0)
        return found

    return gather


def _resolver(kind: _Kind, target: _Node) -> _Resolver:
    here = kind.chain
    there = target.home.chain
    common = 0
    while common < len(here) and common < len(there) and here[common] is there[common]:
        common += 1
    ups = len(here) - common
    down = there[common:]
    if not down:
        return _climb(target.name, ups) if ups else _getter(target)
    return _gather(target.name, ups, down)


# --------------------------------------------------------------------------- the validator


class ResponseValidator:
    """Validates responses to one questionnaire version; build once, reuse for every response."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.default_language = definition.default_language
        self._root = _Kind(None, ())
        self._root_fields: dict[str, _Node] = {}
        self._nodes: dict[str, _Node] = {}
        self._kinds = [self._root]
        self._build(definition.questions, None, self._root, "", self._root_fields)
        shared: dict[tuple[Any, ...], _Node] = {}
        for node in self._nodes.values():  # document order: parents first
            self._link(node, shared)
        volatile: dict[str, bool] = {}
        known: dict[str, frozenset[str]] = {}
        for node in self._nodes.values():
            node.volatile = self._volatile(node.name, volatile, set())
            node.reads = {
                key: self._reads(expression, known)
                for key, expression in node.question.expressions.items()
            }
            self._plan(node)
        for node in self._nodes.values():
            node.seeds = node.home.seeds_by_key.get(node.rel_key)
        for kind in self._kinds:
            kind.initial_seeds = kind.seeds + kind.seeds_by_key.get(kind, ())
        for kind in self._kinds:
            for node in self._nodes.values():
                kind.resolvers[node.name] = _resolver(kind, node)
        self._tag_names = [
            (role, name)
            for role, name in definition.tags.items()
            if role in TAG_KEYS and name in self._nodes
        ]
        self._design_names = [
            (role, name)
            for role, name in definition.design.items()
            if role in DESIGN_KEYS and name in self._nodes
        ]
        self._languages: dict[str, tuple[str, ...]] = {}

    def _build(
        self,
        questions: Iterable[Question],
        parent: _Node | None,
        kind: _Kind,
        prefix: str,
        fields: dict[str, _Node],
    ) -> None:
        for question in questions:
            node = _Node(question, parent, kind, prefix + question.name, len(self._nodes))
            fields[question.name] = node
            kind.by_name[question.name] = node
            self._nodes[question.name] = node
            if node.kind == _GROUP:
                self._build(question.questions, node, kind, node.rel_path + ".", node.fields)
            elif node.kind == _REPEAT:
                instances = _Kind(node, (*kind.chain, node))
                node.instances = instances
                self._kinds.append(instances)
                self._build(question.questions, node, instances, "", node.fields)
            elif node.kind == _ANSWER:
                names = self.definition.choice_names(question)
                node.check = _checker(question, names)
                if question.type in ("text", "select_one"):
                    node.fast = str
                    node.names = names if question.type == "select_one" else None
                elif question.type == "integer":
                    node.fast = int
                    node.names = _INTEGER_RANGE
                choices = self.definition.choice_lists.get(question.choice_list or "", [])
                node.choices = {c.name: c for c in choices}
            node.last = len(self._nodes) - 1

    def _link(self, node: _Node, shared: dict[tuple[Any, ...], _Node]) -> None:
        """Where the node's relevance comes from; equal relevant expressions share a result."""
        parent = node.parent
        if parent is None:
            above, ups = None, 0
        else:
            step = 1 if parent.kind == _REPEAT else 0
            above, ups = parent.anchor, parent.anchor_ups + step
        node.up_anchor, node.up_ups = above, ups
        if above is not None:
            # above the scope, the anchor is the repeat's own relevance: true when it is checked
            node.up_key = above.rel_key if ups == 0 else node.home
        if node.relevant is None:
            node.anchor, node.anchor_ups = above, ups
            if above is None:
                node.rel_key = _ALWAYS
            elif ups == 0:
                node.rel_key = above.rel_key
            else:  # every such node of the kind hangs on the same anchor outside it
                node.rel_key = node.home
            return
        node.anchor, node.anchor_ups = node, 0
        if not node.relevant_uses_current:
            source = node.question.expressions["relevant"].source
            signature = (source, id(node.home), above.rel_key if above else None, ups)
            node.rel_key = shared.setdefault(signature, node)

    def _plan(self, node: _Node) -> None:
        """Put the node on its home's work lists."""
        kind = node.home
        if node.kind == _CALCULATE or (node.kind == _ANSWER and node.calculation is not None):
            above = node.parent
            while above is not None:
                above.computes = True
                above = above.parent
        # Plain answers that expressions refer to: their home's `env` gets them as soon as
        # their relevance is known (no lookup through the resolvers then).
        for expression in node.question.expressions.values():
            for name in expression.references:
                target = self._nodes.get(name)
                if target is None or target.kind != _ANSWER or target.calculation is not None:
                    continue
                home = target.home
                if target.rel_key is _ALWAYS:
                    if name not in home.seeds:
                        home.seeds += (name,)
                    continue
                seeds = home.seeds_by_key.get(target.rel_key, ())
                if name not in seeds:
                    home.seeds_by_key[target.rel_key] = (*seeds, name)
        if node.relevant is not None and node.kind <= _NOTE:
            kind.gated_names |= {node.name}
        if node.relevant is not None and all(n.rel_key is not node.rel_key for n in kind.plan):
            kind.plan.append(node)
        if node.kind == _CALCULATE:
            kind.calculates.append(node)
        elif node.kind == _REPEAT:
            kind.repeats.append(node)
        elif node.kind == _ANSWER:
            if node.calculation is not None:
                kind.defaulted.append(node)
            else:
                if node.required or node.required_fn is not None:
                    groups = kind.required_groups
                    for index, (first, names) in enumerate(groups):
                        if first.rel_key is node.rel_key:
                            groups[index] = (first, names | {node.name})
                            break
                    else:
                        groups.append((node, frozenset({node.name})))
                if node.constraint is not None or node.choice_filter is not None:
                    kind.constrained_names |= {node.name}

    def _volatile(self, name: str, known: dict[str, bool], visiting: set[str]) -> bool:
        """Whether a calculation depends on now() or today(), directly or through others."""
        if name in known:
            return known[name]
        node = self._nodes.get(name)
        expression: Expression | None = (
            node.question.expressions.get("calculation") if node is not None else None
        )
        if expression is None or name in visiting:
            return False
        visiting.add(name)
        result = bool(expression.functions & _TIME_FUNCTIONS) or any(
            self._volatile(other, known, visiting) for other in sorted(expression.references)
        )
        visiting.discard(name)
        known[name] = result
        return result

    def _reads(self, expression: Expression, known: dict[str, frozenset[str]]) -> frozenset[str]:
        """The names an expression reads: its references and what their values hang on in
        turn (`known` remembers that by name)."""
        names = set(expression.references)
        for name in expression.references:
            found = known.get(name)
            if found is None:
                known[name] = frozenset()  # a guard against cycles of relevance
                found = known[name] = self._hangs_on(name, known)
            names |= found
        return frozenset(names)

    def _hangs_on(self, name: str, known: dict[str, frozenset[str]]) -> frozenset[str]:
        """What a question's value, as expressions see it, reads: its calculation (or
        computed default), and the relevance of the question and of the groups around it."""
        node = self._nodes.get(name)
        names: frozenset[str] = frozenset()
        if node is not None:
            calculation = node.question.expressions.get("calculation")
            if calculation is not None:
                names |= self._reads(calculation, known)
        while node is not None:
            relevant = node.question.expressions.get("relevant")
            if relevant is not None:
                names |= self._reads(relevant, known)
            node = node.parent
        return names

    def _label(self, question: str, value: str, run: _Run) -> str:
        node = self._nodes.get(question)
        if node is None:
            return ""
        choice = node.choices.get(value)
        if choice is None:
            if value == "other" and node.question.raw.get("or_other"):
                return message("other_choice", run.language)
            return ""
        return _pick(choice.label, run.languages) or value

    # -- validate

    def validate(
        self,
        answers: Any,
        *,
        language: str | None = None,
        now: datetime.datetime | None = None,
    ) -> ValidatedResponse:
        """Check one response; never raises on any JSON value as `answers`."""
        if now is None:
            now = datetime.datetime.now(datetime.UTC)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=datetime.UTC)
        if not language or not isinstance(language, str):
            language = self.default_language
        languages = self._languages.get(language)
        if languages is None:
            languages = (*languages_of(language), self.default_language)
            if len(self._languages) < _CACHE_SIZE:
                self._languages[language] = languages
        run = _Run(self, language, languages, now)
        if not isinstance(answers, dict):
            error = FieldError("", INVALID_TYPE, _BAD_OBJECT.text(language))
            return ValidatedResponse(
                answers={},
                tags=dict.fromkeys(TAG_KEYS),
                design=dict.fromkeys(DESIGN_KEYS),
                errors=[error],
            )
        root = _Scope(self._root, None, 0, run)
        out = dict(answers)
        root.objs[None] = out
        self._load(answers, self._root_fields, None, root, out)
        self._check(root)
        return ValidatedResponse(
            answers=out,
            tags=self._tag_values(root),
            design=self._design_values(root),
            errors=_in_order(run.errors),
            warnings=_in_order(run.warnings),
        )

    def _tag_values(self, root: _Scope) -> dict[str, str | None]:
        tags: dict[str, str | None] = dict.fromkeys(TAG_KEYS)
        env = root.env
        for role, name in self._tag_names:
            value = env[name]
            tags[role] = value if type(value) is str and value else _text_value(value)
        return tags

    def _design_values(self, root: _Scope) -> dict[str, Any]:
        design: dict[str, Any] = dict.fromkeys(DESIGN_KEYS)
        env = root.env
        for role, name in self._design_names:
            value = env[name]
            if role == "weight":
                design[role] = _numeric(_to_json(value))
            else:
                design[role] = value if type(value) is str and value else _text_value(value)
        return design

    # -- the shape of the answers

    def _load(
        self,
        obj: dict[Any, Any],
        fields: dict[str, _Node],
        container: _Node | None,
        scope: _Scope,
        out: dict[str, Any],
    ) -> bool:
        """Read one object into the scope; report unknown fields and misshapen containers."""
        filled = False
        values = scope.values
        for key, value in obj.items():
            node = fields.get(key)
            if node is None:
                self._unknown(scope, container, key)
                continue
            if type(value) is node.fast:  # the usual case of text, integer and select_one
                names = node.names
                if (value in names) if names is not None else (value != ""):
                    values[key] = value  # type: ignore[assignment]
                    filled = True
                    continue
            if value is None:
                continue
            kind = node.kind
            if kind <= _NOTE:
                checked = node.check(value)
                if checked is None:
                    continue
                filled = True
                if type(checked) is _Invalid:
                    if scope.bad is None:
                        scope.bad = {}
                    scope.bad[key] = checked
                else:
                    values[key] = checked  # type: ignore[assignment]
            elif kind == _CALCULATE:  # the server's value replaces it (a warning if it differs)
                if type(value) in (list, dict) and nested_deeper(value, MAX_CLIENT_DEPTH):
                    self._error(scope, node, INVALID_TYPE, _TOO_DEEP.text(scope.run.language))
                    continue
                if scope.client is None:
                    scope.client = {}
                scope.client[key] = value
            elif kind == _GROUP:
                if type(value) is dict:
                    copy = value
                    if node.computes:  # calculations will be stored in it: copy it
                        copy = dict(value)
                        out[key] = copy
                        scope.objs[node] = copy
                    if self._load(value, node.fields, node, scope, copy):
                        filled = True
                        if scope.filled is None:
                            scope.filled = set()
                        scope.filled.add(node)
                else:
                    scope.objs[node] = None
                    self._error(scope, node, INVALID_TYPE, _BAD_OBJECT.text(scope.run.language))
            elif type(value) is list:
                self._load_repeat(value, node, scope, out)
                if value:
                    filled = True
                    if scope.filled is None:
                        scope.filled = set()
                    scope.filled.add(node)
            else:
                self._error(scope, node, INVALID_TYPE, _BAD_ARRAY.text(scope.run.language))
        return filled

    def _load_repeat(
        self, items: list[Any], node: _Node, scope: _Scope, out: dict[str, Any]
    ) -> None:
        kind = node.instances
        assert kind is not None  # noqa: S101
        computes = node.computes  # calculations will be stored in the instances: copy them
        if computes:
            copies: list[Any] = []
            out[node.name] = copies
        instances: list[_Scope] = []
        run = scope.run
        fields = node.fields
        for index, item in enumerate(items):
            if type(item) is dict:
                instance = _Scope(kind, scope, index, run)
                copy = item
                if computes:
                    copy = dict(item)
                    copies.append(copy)
                    instance.objs[node] = copy
                self._load(item, fields, node, instance, copy)
                instances.append(instance)
            else:
                if computes:
                    copies.append(item)
                error = FieldError(
                    f"{scope.prefix()}{node.rel_path}[{index}]",
                    INVALID_TYPE,
                    _BAD_OBJECT.text(run.language),
                )
                run.errors.append(((*scope.order(), node.order, index), error))
        if scope.children is None:
            scope.children = {}
            scope.counts = {}
        scope.children[node.name] = instances
        scope.counts[node.name] = len(items)  # type: ignore[index]

    def _unknown(self, scope: _Scope, container: _Node | None, key: Any) -> None:
        path = scope.prefix()
        if container is not None and container.kind == _GROUP:
            path += container.rel_path + "."
        part = _key_path(key)
        path = path[:-1] + part if part[0] == "[" and path else path + part
        language = scope.run.language
        text = message("unknown_field", language, name=_quote(str(key)))
        after = math.inf if container is None else container.last + 0.5
        scope.run.errors.append(((*scope.order(), after), FieldError(path, UNKNOWN_FIELD, text)))

    @staticmethod
    def _error(scope: _Scope, node: _Node, code: str, text: str) -> None:
        error = FieldError(scope.prefix() + node.rel_path, code, text)
        scope.run.errors.append(((*scope.order(), node.order), error))

    # -- the logic of the answers

    def _check(self, s: _Scope) -> None:
        """Relevance, required, constraints, choice filters, calculations and repeat counts."""
        kind = s.kind
        by_name = kind.by_name
        values = s.values
        bad = s.bad
        rel = s.rel
        env = s.env
        initial = kind.initial_seeds
        if initial:  # Scope.seed, inline
            env.update(zip(initial, map(values.get, initial), strict=True))
        if kind.repeat is not None:
            rel[kind] = True  # a repeat instance that is checked is relevant
        # Every relevance key of the scope, in document order (a parent's before its
        # children's); some may have been worked out already, on demand.
        for node in kind.plan:
            key = node.rel_key
            if key in rel:
                continue
            up = rel.get(node.up_key)
            if up is None:
                s.relevant(node)
                continue
            if up:
                rel[key] = True  # the guard of Scope.relevant
                if node.relevant_uses_current:
                    s.cur = values.get(node.name)
                    result = node.relevant(s)  # type: ignore[misc]
                    s.cur = None
                else:
                    result = node.relevant(s)  # type: ignore[misc]
            else:
                result = False
            rel[key] = result
            seeds = node.seeds
            if seeds is not None:  # Scope.seed, inline
                if result:
                    env.update(zip(seeds, map(values.get, seeds), strict=True))
                else:
                    env.update(dict.fromkeys(seeds))
        # From here on, rel[node.rel_key] is known for every node of the scope.
        # Answers and containers where the questionnaire skips them (at the outermost).
        for name in kind.gated_names.intersection(values):
            node = by_name[name]
            if not rel[node.rel_key] and rel[node.up_key]:
                self._not_relevant(s, node)
        if s.filled is not None:
            for node in s.filled:
                if node.relevant is not None and not rel[node.rel_key] and rel[node.up_key]:
                    self._not_relevant(s, node)
        if bad is not None:
            for name, rejected in bad.items():
                node = by_name[name]
                if rel[node.rel_key]:
                    self._error(s, node, rejected.code, rejected.text(s.run.language))
                elif node.relevant is not None and rel[node.up_key]:
                    self._not_relevant(s, node)
        for first, names in kind.required_groups:  # one relevance check per relevance key
            if not rel[first.rel_key]:
                continue
            missing = names.difference(values)
            if not missing:
                continue
            for name in missing:
                if bad is not None and name in bad:
                    continue
                node = by_name[name]
                if node.required or (node.required_fn is not None and node.required_fn(s)):
                    self._required(s, node)
        for name in kind.constrained_names.intersection(values):
            node = by_name[name]
            value = values[name]
            if not rel[node.rel_key]:
                continue
            constraint = node.constraint
            if constraint is not None:
                cache = node.constraint_cache
                if cache is None:
                    s.cur = value
                    passed = constraint(s)
                    s.cur = None
                else:  # a constraint that depends on the answer alone (and its position)
                    if node.cache_position or type(value) is float:
                        key = _cache_key(value, s.index if node.cache_position else None)
                    else:
                        key = value
                    known = cache.get(key)
                    if known is None:
                        s.cur = value
                        passed = constraint(s)
                        s.cur = None
                        if len(cache) >= _CACHE_SIZE:
                            cache.clear()
                        cache[key] = passed
                    else:
                        passed = known
                if not passed:
                    self._constraint_failed(s, node)
            if node.choice_filter is not None:
                self._check_filter(s, node, value)
        for node in kind.defaulted:
            self._check_default(s, node)
        for node in kind.calculates:
            self._calculate(s, node)
        for node in kind.repeats:
            if not rel[node.rel_key]:
                continue
            if node.repeat_count is not None:
                self._check_count(s, node)
            if s.children is not None:
                for instance in s.children.get(node.name, ()):
                    self._check(instance)

    def _not_relevant(self, s: _Scope, node: _Node) -> None:
        if _reads_rejected(s, node, "relevant"):
            return
        self._error(s, node, NOT_RELEVANT, message("not_relevant", s.run.language))

    def _required(self, s: _Scope, node: _Node) -> None:
        if _reads_rejected(s, node, "relevant", "required"):
            return
        run = s.run
        text = _pick(node.required_message, run.languages) or message("required", run.language)
        self._error(s, node, REQUIRED, text)

    def _constraint_failed(self, s: _Scope, node: _Node) -> None:
        if _reads_rejected(s, node, "constraint"):
            return
        run = s.run
        text = _pick(node.constraint_message, run.languages) or message(
            "constraint_failed", run.language, expression=node.constraint_source
        )
        self._error(s, node, CONSTRAINT_FAILED, text)

    def _check_value(self, s: _Scope, node: _Node, value: Value) -> None:
        """The constraint and the choice filter of a relevant, typed, non-empty answer."""
        constraint = node.constraint
        if constraint is not None:
            s.cur = value
            passed = constraint(s)
            s.cur = None
            if not passed:
                self._constraint_failed(s, node)
        if node.choice_filter is not None:
            self._check_filter(s, node, value)

    def _check_filter(self, s: _Scope, node: _Node, value: Value) -> None:
        """A choice filter, evaluated for each chosen choice."""
        test = node.choice_filter
        assert test is not None  # noqa: S101
        names = value.split(" ") if node.multiple else (value,)  # type: ignore[union-attr]
        excluded = []
        for name in names:
            choice = node.choices.get(name)  # type: ignore[arg-type]
            if choice is None:
                continue  # `other`
            s.choice = choice
            if not test(s):
                excluded.append(name)
        s.choice = None
        if excluded and not _reads_rejected(s, node, "choice_filter"):
            text = message(
                "filtered_choice", s.run.language, values=", ".join(_quote(x) for x in excluded)
            )
            self._error(s, node, INVALID_CHOICE, text)

    def _check_default(self, s: _Scope, node: _Node) -> None:
        """An answer with a computed default: the default stands in when it was left out."""
        name = node.name
        value = s.values.get(name)
        if s.bad is not None and name in s.bad:
            return
        if node.anchor is not None and not (s.rel.get(node.rel_key) or s.relevant(node)):
            return
        if value is None:
            value, stored = s.default(node)
            if value is None:
                if node.required or (node.required_fn is not None and node.required_fn(s)):
                    self._required(s, node)
                return
            target = s.obj(node.parent)
            if target is not None:
                target[name] = stored
        self._check_value(s, node, value)

    def _calculate(self, s: _Scope, node: _Node) -> None:
        client = s.client
        if node.anchor is not None and not (s.rel.get(node.rel_key) or s.relevant(node)):
            if client is not None and node.name in client:
                target = s.obj(node.parent)
                if target is not None:
                    target.pop(node.name, None)
            return
        stored = _to_json(s.env[node.name])
        target = s.obj(node.parent)
        if target is not None:
            target[node.name] = stored
        if client is None or node.volatile:
            return
        sent = client.get(node.name)
        if sent is not None and not _same_value(sent, stored):
            run = s.run
            text = message(
                "calculation_mismatch", run.language, client=_quote(sent), server=_quote(stored)
            )
            warning = FieldError(s.prefix() + node.rel_path, CALCULATION_MISMATCH, text)
            run.warnings.append(((*s.order(), node.order), warning))

    def _check_count(self, s: _Scope, node: _Node) -> None:
        fn = node.repeat_count
        assert fn is not None  # noqa: S101
        number = to_number(fn(s))
        expected: int | float
        if number != number:
            expected = 0
        elif math.isinf(number):
            expected = number
        else:
            expected = max(0, int(number))
        actual = s.counts.get(node.name, 0) if s.counts is not None else 0
        if actual != expected and not _reads_rejected(s, node, "repeat_count"):
            text = message(
                "repeat_count_mismatch",
                s.run.language,
                expected=to_string(expected),
                actual=str(actual),
            )
            self._error(s, node, REPEAT_COUNT_MISMATCH, text)


def _reads_rejected(s: _Scope, node: _Node, *keys: str) -> bool:
    """Whether the node's expressions under `keys` read an answer rejected in this scope or
    one around it. They saw it as empty, so their verdict (not relevant, required, constraint
    failed, ...) is not reported: the rejected answer's own error says what is wrong."""
    for key in keys:
        names = node.reads.get(key)
        if not names:
            continue
        scope: _Scope | None = s
        while scope is not None:
            if scope.bad is not None and not names.isdisjoint(scope.bad):
                return True
            scope = scope.parent
    return False


def _in_order(found: list[tuple[_SortKey, FieldError]]) -> list[FieldError]:
    """Findings in document order (repeat instances in turn), whatever order they came in."""
    if len(found) > 1:
        found.sort(key=lambda item: item[0])
    return [error for _, error in found]


def _text_value(v: Value) -> str | None:
    j = _to_json(v)
    if j is None or j == "":
        return None
    return j if type(j) is str else to_string(j)
