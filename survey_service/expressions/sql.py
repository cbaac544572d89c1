"""XLSForm expressions compiled to SQL column expressions, so aggregates compute in the database."""

# What it does
# ------------
# A statistician may give an aggregate's variable as an expression of the questionnaire's
# language (`${hh_size} > 3 and selected(${hazards}, 'MH0600')`). It is compiled here, from
# the parser's syntax tree, into one SQLAlchemy Core expression over the typed answer arrays
# (analysis/layout.py), so a million households are aggregated without a row reaching
# Python. The Python evaluator (expressions/evaluator.py) is the reference semantics; the
# SQL gives the same value for each household, except where noted below.
#
# Values. Every number is a double (literals are bound as floats, answer slots are cast to
# FLOAT: SQLite's JSON gives integers for whole numbers, and would divide them as integers).
# Dates and date-times are numbers of days since 1970-01-01 (UTC). SQL NULL is XPath's
# NaN or an empty answer: the compiler keeps, beside a number, the SQL condition under which
# its NULL is an empty answer (None) rather than NaN, because XPath tells them apart in
# `=` (`${age} = ''` is true when age is unanswered, `(${age} + 1) = ''` never is).
# Text NULL is the empty string. Booleans are never NULL (two-valued, as in XPath), so
# `not()` and `!=` behave; on SQLite they are 0 and 1.
#
# Types are static: each node compiles to a number, a text, a boolean, or a calculate
# (whose type is only known per household: its num slot in numeric contexts, its cat slot,
# the XPath string, in text contexts). Conversions follow XPath: a boolean is 1 or 0 as a
# number and 'true'/'false' as text; a number is true when it is neither 0 nor NaN, a text
# when it is not empty. String literals become numbers at compile time (dates among them
# where XPath reads dates: arithmetic, `<`, `>`, and `=` with a date).
#
# Operators. `+ - * div mod` and unary minus on numbers; NULL in, NULL out; division (and
# mod) by zero gives NULL through NULLIF, never an SQL error; mod is the truncated remainder
# a - b * trunc(a / b). `=`/`!=` compare booleans when either side is one; texts (and
# calculates, against texts or each other) as text with NULL as ''; otherwise numbers, with
# the evaluator's tolerance of 1e-12, false against NaN (so `!=` is true). When both numbers
# may be empty answers, two empty answers are equal (XPath compares their strings '' = '').
# `< <= > >=` are always numeric and false with NULL.
#
# Where SQL differs from the evaluator (on purpose, or because SQL cannot know):
# - No infinities: x div 0 is NULL where the evaluator gives +-Infinity (so `1 div 0 > 5` is
#   false here, true there). PostgreSQL raises an error on float overflow or underflow
#   (beyond about 1e+-308) where Python gives Infinity or 0.
# - mod is a - b * trunc(a / b) in doubles: exact on whole numbers and binary fractions, but
#   it may differ from the evaluator's fmod when a / b rounds to a whole number (5.5 mod 0.1).
# - int() on SQLite is CAST(x AS INTEGER), which saturates beyond +-9.2e18.
# - round(x, places): places must be a number literal; halves go toward +infinity, as in
#   JavaRosa. PostgreSQL floors the numeric of x (its 15 significant digits) shifted by
#   half a unit, SQLite moves negative halves toward zero before its own round() (see
#   _sqlite_round), the evaluator rounds the shortest repr: they can differ only within
#   about 1e-15 of a half (0.49999999999999994). Negative places on SQLite scale by a power
#   of ten, round, and scale back.
# - Numbers never become text except number literals: a number or date question as text
#   (concat(), string-length(), = with a text without numeric value) is refused; string()
#   is not supported. Text becomes a number only when it is a literal, a calculate (its num
#   slot), or a select_one flagged `numeric_codes` by the resolver (a cast); other texts
#   are refused where a number is needed (the evaluator would give NaN), except `= n` and
#   `!= n` against a number literal n, which compare the text with the literal's string.
# - Calculates: the stored slots do not say the value's type. In numeric contexts the num
#   slot (so a calculate holding date text has no number); compared with a text, a string
#   literal or another calculate, the cat slot as text (`${calc} = '5.0'` is false for the
#   number 5; the evaluator compares numbers). As a boolean: num != 0 when num is not
#   NULL, else a cat other than '' and 'NaN' (a numeric text '0' is false here, true
#   there). A boolean calculate is 1/0 with numbers and 'true'/'false' as text (the
#   evaluator converts the other side to a boolean instead). if() and coalesce() keep
#   both slots when a calculate meets a literal; beside a computed number they give a
#   number (a non-numeric text of the calculate becomes NULL, false as a boolean), beside
#   a computed text a text. A calculate on its own compiles to its number (the caller
#   aggregates numbers); concat(${calc}) gives its text.
# - selected() and count-selected() read codes separated by single spaces, as stored; the
#   evaluator splits on any run of whitespace.
# - selected(), contains(), starts-with() take a literal as their second argument, date()
#   a literal; decimal-date-time() a number, a date or a date literal (not a calculate:
#   its stored number cannot tell a number from numeric text, where the evaluator gives NaN).
# - A text result is NULL where it is empty (never '').
# Refused (VariableError): '.', '..', bare names, repeat aggregates (position, count, sum,
# max, min), regex, jr:choice-name, selected-at, string and unknown functions; syntax errors.
#
# Databases. Portable SQLAlchemy constructs are used where the databases agree; the
# dialect switches only where they do not: truncation (PostgreSQL trunc(); SQLite's
# CAST(x AS INTEGER) truncates but PostgreSQL's integer cast rounds), round() (PostgreSQL's
# round(double) rounds halves to even: numeric is floored; SQLite's round() is patched for
# negative halves), and text search (SQLite's LIKE
# ignores ASCII case: instr() is used there, LIKE with escaping on PostgreSQL). User text
# only ever reaches the database as bound parameters.
#
# Size. An expression the databases cannot take (SQLite: an expression tree deeper than
# 1000, or its parser's stack of about 100 symbols, reached by some 15 chained comparisons
# or 17 nested if(); PostgreSQL: SQLSTATE 54001 near 4,000 summed terms; SQLAlchemy's
# compiler: Python's recursion limit near 60 chained comparisons) is refused before its SQL
# is built, as aggregate.expression_too_large, by three limits: MAX_TERMS operands in one
# chain (`a + b + ...`, `a and b and ...`) or arguments of one call; MAX_DEPTH levels of
# nesting, where a chain or a call is one level above its deepest operand, and a chain of
# comparisons nests one level per operator (`a < b < c` is `(a < b) < c`, each a boolean
# compared as a number); MAX_SQL_NODES nodes in the SQL tree the compiler builds, counted as
# the SQL text repeats them (`a mod b` says `a` and `b` twice), before any statement is
# compiled. What still passes and is refused by a database is the caller's to map
# (queries.aggregates raises StatementTooComplex).

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Final, Literal

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    true,
    type_coerce,
)
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.expression import Selectable
from sqlalchemy.sql.functions import FunctionElement

from survey_service import error_codes
from survey_service.expressions import syntax
from survey_service.expressions.evaluator import parse
from survey_service.expressions.functions import FUNCTIONS
from survey_service.expressions.values import Value, to_boolean, to_number, to_string

__all__ = [
    "FUNCTION_SQL",
    "MAX_DEPTH",
    "MAX_SQL_NODES",
    "MAX_TERMS",
    "SUPPORTED_FUNCTIONS",
    "Column",
    "Compiled",
    "Resolver",
    "VariableError",
    "compile_expression",
    "sql_nodes",
]

#: The functions an aggregate's expression may call: those the registry marks `sql`.
SUPPORTED_FUNCTIONS: Final = tuple(name for name, function in FUNCTIONS.items() if function.sql)
_FUNCTIONS_TEXT: Final = ", ".join(f"{name}()" for name in SUPPORTED_FUNCTIONS)
_EQUAL_TOLERANCE: Final = 1e-12  # the evaluator's (JavaRosa's): 0.1 + 0.2 = 0.3
#: The size limits of an expression (see "Size" above).
MAX_TERMS: Final = 100
MAX_DEPTH: Final = 10
MAX_SQL_NODES: Final = 10_000


class VariableError(ValueError):
    """An expression that cannot be aggregated; `code` is stable, `message` says what is allowed.

    Codes: aggregate.invalid_expression (syntax, arity, a literal needed), aggregate.
    unsupported_function, aggregate.unsupported_expression ('.', '..', bare names),
    aggregate.type_mismatch, aggregate.expression_too_large (over a limit of "Size"), and
    the resolver's aggregate.unknown_question.
    """

    code: str
    message: str
    position: int | None

    def __init__(self, code: str, message: str, position: int | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Column:
    """How the SQL reads one question."""

    type: Literal["number", "date", "select_one", "select_multiple", "calculate"]
    num: ColumnElement[Any] | None  # SQL for its num slot (None if it has none)
    cat: ColumnElement[Any] | None  # SQL for its cat slot
    # a select_one whose choice names are all XPath numbers (digits, an optional '-' and
    # decimals): number(), arithmetic and numeric comparisons cast its code, a cast that
    # cannot fail; otherwise they refuse it (the evaluator would mostly give NaN)
    numeric_codes: bool = False


Resolver = Callable[[str], Column]
"""Given a question name, how to read it; raises VariableError for names it cannot read."""


@dataclass(frozen=True)
class Compiled:
    """An expression as SQL: a double (NULL: empty or NaN), a text (NULL: empty) or a boolean."""

    sql: ColumnElement[Any]
    type: Literal["number", "text", "boolean"]


def compile_expression(
    source: str, resolve: Resolver, *, dialect: str, today: float, now: float
) -> Compiled:
    """The SQL of an expression for `dialect` ("postgresql" or "sqlite"); today() and now()
    are the given days since the epoch, bound as parameters. Raises VariableError."""
    if dialect not in ("postgresql", "sqlite"):
        raise ValueError(f"unsupported dialect {dialect!r}")
    try:
        tree = syntax.syntax_tree(source)
    except syntax.ExpressionError as exc:
        if exc.code == "unknown_function":
            raise VariableError(
                error_codes.AGGREGATE_UNSUPPORTED_FUNCTION,
                f"{exc.message}; the supported functions are {_FUNCTIONS_TEXT}",
                exc.position,
            ) from None
        raise VariableError(
            error_codes.AGGREGATE_INVALID_EXPRESSION, exc.message, exc.position
        ) from None
    _check_nesting(tree)
    term = _Compiler(resolve, dialect, today, now).term(tree)
    nodes = sql_nodes(term.sql, MAX_SQL_NODES)
    if nodes > MAX_SQL_NODES:
        raise _too_large(f"its SQL would have more than {MAX_SQL_NODES:,} nodes")
    if term.kind == "boolean":
        return Compiled(type_coerce(term.sql, Boolean()), "boolean")
    if term.kind == "text":
        return Compiled(type_coerce(func.nullif(term.sql, ""), String()), "text")
    return Compiled(type_coerce(term.sql, Float()), "number")


# --------------------------------------------------------------------------- size


def _too_large(why: str) -> VariableError:
    return VariableError(
        error_codes.AGGREGATE_EXPRESSION_TOO_LARGE,
        f"the expression is too large to aggregate: {why}",
    )


def _check_nesting(tree: syntax.SyntaxNode) -> None:
    """Raises VariableError when a chain or call has over MAX_TERMS operands, or the tree
    nests deeper than MAX_DEPTH (see "Size" above)."""

    def depth(node: syntax.SyntaxNode) -> int:
        if isinstance(node, syntax.Negation):
            found = 1 + depth(node.operand)
        elif isinstance(node, syntax.Call):
            if len(node.args) > MAX_TERMS:
                raise _too_large(
                    f"{node.name}() has {len(node.args)} arguments, at most {MAX_TERMS} allowed"
                )
            found = 1 + max((depth(arg) for arg in node.args), default=0)
        elif isinstance(node, syntax.Chain):
            if len(node.operands) > MAX_TERMS:
                raise _too_large(
                    f"a chain of '{node.operators[0]}' has {len(node.operands)} terms, "
                    f"at most {MAX_TERMS} allowed"
                )
            depths = [depth(operand) for operand in node.operands]
            if node.level in (3, 4):  # comparisons: each one nests the one before
                found = depths[0]
                for other in depths[1:]:
                    found = 1 + max(found, other)
            else:
                found = 1 + max(depths)
        else:
            return 0
        if found > MAX_DEPTH:
            raise _too_large(f"it nests {found} levels deep, at most {MAX_DEPTH} allowed")
        return found

    depth(tree)


def sql_nodes(sql: ClauseElement, limit: int) -> int:
    """The number of nodes of a SQL expression as its text repeats them (a subexpression
    used twice counts twice), up to `limit + 1`; tables and selects count as one node. Iterative
    and linear in the distinct nodes, however deep or repetitive the tree."""
    sizes: dict[int, int] = {}
    children: dict[int, tuple[ClauseElement, list[ClauseElement]]] = {}
    stack: list[ClauseElement] = [sql]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in sizes:
            stack.pop()
            continue
        if key not in children:
            # a function is a FROM clause too (table-valued), but its arguments are SQL here
            table = isinstance(node, Selectable) and not isinstance(node, FunctionElement)
            below = [] if table else list(node.get_children())
            children[key] = (node, below)  # keeps each node alive: its id stays its own
            stack.extend(child for child in below if id(child) not in sizes)
            continue
        stack.pop()
        total = 1 + sum(sizes[id(child)] for child in children[key][1])
        sizes[key] = min(total, limit + 1)
    return sizes[id(sql)]


# --------------------------------------------------------------------------- terms

_Kind = Literal["number", "text", "boolean", "calculate"]
_NO_VALUE: Final = object()


@dataclass(frozen=True)
class _Term:
    """A compiled node: its SQL in its own type, with what conversions need to know."""

    kind: _Kind
    # number, calculate: a FLOAT (a calculate's num slot); text: NULL as ''; boolean: not NULL
    sql: ColumnElement[Any]
    what: str  # how messages name it
    # a literal's (or true()/false()'s) Python value, else _NO_VALUE
    value: object = _NO_VALUE
    # number: where its NULL is an empty answer rather than NaN (None: never)
    empty: ColumnElement[Any] | None = None
    date: bool = False  # a number that is a date or date-time
    cat: ColumnElement[Any] | None = None  # calculate: its cat slot
    number: ColumnElement[Any] | None = None  # text: its numeric value, when it has one
    select_one: bool = False  # text: a select_one's code (no spaces)

    @property
    def is_literal(self) -> bool:
        return self.value is not _NO_VALUE


class _OneValue:
    """An evaluation context with a single answer ${v}, to reuse the evaluator on literals."""

    def __init__(self, value: Value) -> None:
        self.value = value

    def resolve(self, name: str) -> Value:
        return self.value

    def current(self) -> Value:
        return None

    def position(self) -> int:
        return 1

    def choice_label(self, question: str, value: str) -> str:
        return ""

    def choice_property(self, name: str) -> Value:
        return None

    def now(self) -> Any:
        raise AssertionError("only literals are evaluated at compile time")


def _evaluate(source: str, value: Value) -> Value:
    return parse(source).evaluate(_OneValue(value))


def _days(value: object) -> float:
    """A date literal's days since the epoch (NaN when it is no date), as the evaluator reads."""
    days = _evaluate("decimal-date-time(${v})", value if isinstance(value, str) else None)
    return days if isinstance(days, float) else math.nan


def _literal_number(value: object, date_text: bool) -> float:
    """XPath's number of a literal; date text counts as days where `date_text`."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    number = to_number(value if isinstance(value, str) else None)
    if number != number and date_text:
        return _days(value)
    return number


def _float(value: float) -> ColumnElement[Any]:
    if not math.isfinite(value):
        return cast(null(), Float())
    return literal(value, Float())


def _text(value: str) -> ColumnElement[Any]:
    return literal(value, String())


def _boolean(value: bool) -> ColumnElement[Any]:
    return true() if value else false()


def _sqlite_round(number: ColumnElement[Any], places: int) -> ColumnElement[Any]:
    """SQLite's round() takes halves away from zero: a negative half is moved toward zero.

    A negative number with at most places + 1 decimals (round() gives it back unchanged)
    is first nudged up by a tenth of its last decimal, so an exact half rounds up and the
    other decimals, at least a tenth away from a half after the nudge, round as before.
    """
    rounded = type_coerce(func.round(number, literal(places, Integer())), Float())
    nudged = number + _float(10.0 ** -(places + 2))
    is_short_negative = and_(
        number < 0, func.round(number, literal(places + 1, Integer())) == number
    )
    return case(
        (is_short_negative, type_coerce(func.round(nudged, literal(places, Integer())), Float())),
        else_=rounded,
    )


def _number_literal(value: int | float, what: str) -> _Term:
    return _Term("number", _float(float(value)), what, value=value)


def _boolean_term(sql: ColumnElement[Any], what: str, value: object = _NO_VALUE) -> _Term:
    return _Term("boolean", sql, what, value=value)


def _describe(node: syntax.SyntaxNode) -> str:
    if isinstance(node, syntax.Ref):
        return "${" + node.name + "}"
    if isinstance(node, syntax.Literal):
        return repr(node.value) if isinstance(node.value, str) else to_string(node.value)
    if isinstance(node, syntax.Call):
        return f"{node.name}()"
    if isinstance(node, syntax.Negation):
        return "-" + _describe(node.operand)
    if isinstance(node, syntax.Chain):
        return f"the result of '{node.operators[0]}'"
    return "the expression"


def _position(node: syntax.SyntaxNode) -> int | None:
    if isinstance(node, (syntax.Literal, syntax.Call, syntax.Parent)):
        return node.pos
    if isinstance(node, syntax.Chain):
        return _position(node.operands[0])
    if isinstance(node, syntax.Negation):
        return _position(node.operand)
    return None


# --------------------------------------------------------------------------- compiler


class _Compiler:
    def __init__(self, resolve: Resolver, dialect: str, today: float, now: float) -> None:
        self.resolve = resolve
        self.postgresql = dialect == "postgresql"
        self.today = today
        self.now = now
        self.columns: dict[str, Column] = {}

    # -- nodes

    def term(self, node: syntax.SyntaxNode) -> _Term:
        if isinstance(node, syntax.Literal):
            if isinstance(node.value, str):
                return self.string_literal(node.value, _describe(node))
            return _number_literal(node.value, _describe(node))
        if isinstance(node, syntax.Ref):
            return self.reference(node.name)
        if isinstance(node, syntax.Negation):
            return self.negation(node)
        if isinstance(node, syntax.Chain):
            if node.level <= 2:
                return self.logic(node)
            if node.level <= 4:
                return self.comparisons(node)
            return self.arithmetic(node)
        if isinstance(node, syntax.Call):
            return self.call(node)
        if isinstance(node, syntax.Current):
            raise VariableError(
                error_codes.AGGREGATE_UNSUPPORTED_EXPRESSION,
                "'.' (the current answer) only has a meaning inside a form; name the "
                "question instead, as ${name}",
            )
        if isinstance(node, syntax.Bare):
            raise VariableError(
                error_codes.AGGREGATE_UNSUPPORTED_EXPRESSION,
                f"{node.name!r} is not a reference to a question; write ${{{node.name}}} "
                "(bare names only mean choice properties in a choice_filter)",
            )
        raise VariableError(
            error_codes.AGGREGATE_UNSUPPORTED_EXPRESSION,
            "'..' (the enclosing repeat) has no meaning in an aggregate",
            _position(node),
        )

    def string_literal(self, value: str, what: str) -> _Term:
        return _Term("text", _text(value), what, value=value, number=_float(to_number(value)))

    def reference(self, name: str) -> _Term:
        column = self.columns.get(name)
        if column is None:
            column = self.resolve(name)
            self.columns[name] = column
        what = "${" + name + "}"
        if column.type in ("number", "date", "calculate"):
            if column.num is None:
                raise VariableError(
                    error_codes.AGGREGATE_UNKNOWN_QUESTION, f"{what} has no stored number to read"
                )
            num = cast(column.num, Float())
            if column.type == "calculate":
                # empty (None or ''): both slots are NULL; a string that is no number has a cat
                empty = num.is_(None) if column.cat is None else column.cat.is_(None)
                return _Term("calculate", num, what, empty=empty, cat=column.cat)
            return _Term("number", num, what, empty=num.is_(None), date=column.type == "date")
        if column.cat is None:
            raise VariableError(
                error_codes.AGGREGATE_UNKNOWN_QUESTION, f"{what} has no stored code to read"
            )
        number = None
        if column.type == "select_one" and column.numeric_codes:
            number = cast(column.cat, Float())
        return _Term(
            "text",
            column.cat,
            what,
            number=number,
            select_one=column.type == "select_one",
        )

    def negation(self, node: syntax.Negation) -> _Term:
        operand = self.term(node.operand)
        what = _describe(node)
        if isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
            value = operand.value
            return _number_literal(-value if node.negate else value, what)
        number = self.as_number(operand, date_text=True, use="'-'")
        return _Term("number", -number if node.negate else number, what)

    def logic(self, node: syntax.Chain) -> _Term:
        tests = [self.as_boolean(self.term(operand)) for operand in node.operands]
        combined = or_(*tests) if node.level == 1 else and_(*tests)
        return _boolean_term(combined, f"the result of '{node.operators[0]}'")

    def comparisons(self, node: syntax.Chain) -> _Term:
        left = self.term(node.operands[0])
        for op, operand in zip(node.operators, node.operands[1:], strict=True):
            right = self.term(operand)
            what = f"the result of '{op}'"
            if op == "=":
                left = _boolean_term(self.equals(left, right), what)
            elif op == "!=":
                left = _boolean_term(not_(self.equals(left, right)), what)
            else:
                a = self.as_number(left, date_text=True, use=f"'{op}'")
                b = self.as_number(right, date_text=True, use=f"'{op}'")
                compared = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
                left = _boolean_term(func.coalesce(compared, false()), what)
        return left

    def arithmetic(self, node: syntax.Chain) -> _Term:
        first = self.term(node.operands[0])
        value = self.as_number(first, date_text=True, use=f"'{node.operators[0]}'")
        for op, operand in zip(node.operators, node.operands[1:], strict=True):
            other = self.as_number(self.term(operand), date_text=True, use=f"'{op}'")
            if op == "+":
                value = value + other
            elif op == "-":
                value = value - other
            elif op == "*":
                value = value * other
            elif op == "div":
                value = value / _nonzero(other)
            else:  # mod: the remainder of truncated division, the dividend's sign
                value = value - other * self.trunc(value / _nonzero(other))
        return _Term("number", value, f"the result of '{node.operators[0]}'")

    # -- conversions

    def as_number(self, term: _Term, *, date_text: bool, use: str) -> ColumnElement[Any]:
        """The term as a FLOAT, NULL for NaN; date text counts as days where `date_text`."""
        if term.kind in ("number", "calculate"):
            return term.sql
        if term.kind == "boolean":
            if term.is_literal:
                return _float(1.0 if term.value else 0.0)
            return case((term.sql, _float(1.0)), else_=_float(0.0))
        if term.is_literal:
            return _float(_literal_number(term.value, date_text))
        if term.number is not None:
            return term.number
        raise VariableError(
            error_codes.AGGREGATE_TYPE_MISMATCH,
            f"{use} needs a number, but {term.what} is text; numbers are numeric and date "
            "questions, calculates, number literals and select_one questions whose choice "
            "names are numbers. Compare a choice with its name in quotes "
            "(${q} = 'yes') or use selected()",
        )

    def as_text(self, term: _Term, use: str) -> ColumnElement[Any]:
        """The term as text (NULL as ''): XPath's string()."""
        if term.kind == "text":
            return term.sql
        if term.kind == "calculate" and term.cat is not None:
            return term.cat
        if term.kind == "boolean":
            if term.is_literal:
                return _text("true" if term.value else "false")
            return case((term.sql, _text("true")), else_=_text("false"))
        if term.kind == "number" and term.is_literal and isinstance(term.value, (int, float)):
            return _text(to_string(term.value))
        raise VariableError(
            error_codes.AGGREGATE_TYPE_MISMATCH,
            f"{use} needs text, but {term.what} is a number; text is a select question, "
            "a calculate or a quoted literal (numbers and dates are not turned into text "
            "in aggregates)",
        )

    def as_boolean(self, term: _Term) -> ColumnElement[Any]:
        """XPath's boolean(): never NULL."""
        if term.is_literal:
            value = term.value
            if isinstance(value, (bool, int, float, str)):
                return _boolean(to_boolean(value))
        if term.kind == "boolean":
            return term.sql
        if term.kind == "number":
            return func.coalesce(term.sql != 0.0, false())
        if term.kind == "text":
            return func.coalesce(term.sql, "") != ""
        cat = term.cat if term.cat is not None else cast(null(), String())
        text = func.coalesce(cat, "")
        return case(
            (term.sql.is_not(None), term.sql != 0.0),
            else_=and_(text != "", text != "NaN"),
        )

    # -- comparisons

    def equals(self, a: _Term, b: _Term) -> ColumnElement[Any]:
        """XPath `a = b`, never NULL."""
        if a.kind == "boolean" or b.kind == "boolean":
            x, y = self.as_boolean(a), self.as_boolean(b)
            if a.is_literal and b.is_literal:
                return _boolean(to_boolean(_value(a)) == to_boolean(_value(b)))
            if a.is_literal or b.is_literal:
                constant, other = (a, y) if a.is_literal else (b, x)
                return other if to_boolean(_value(constant)) else not_(other)
            return x == y
        if a.kind != "number" and b.kind != "number":
            return self.text_equals(a, b)
        if a.kind == "number" and b.kind == "number":
            compared = _numbers_equal(a.sql, b.sql)
            if a.empty is not None and b.empty is not None:
                return or_(and_(a.empty, b.empty), compared)
            return compared
        n, o = (a, b) if a.kind == "number" else (b, a)
        if o.kind == "text" and o.is_literal:
            text = str(o.value)
            if text == "":
                return n.empty if n.empty is not None else false()
            number = _literal_number(text, date_text=n.date)
            if number != number:
                return false()
            return _numbers_equal(n.sql, _float(number))
        number_view = o.sql if o.kind == "calculate" else o.number
        if number_view is None:
            if n.is_literal:  # `${choice} = 1`: the code against the literal's string
                return self.text_equals(o, n)
            self.as_number(o, date_text=n.date, use="'=' with a number")  # raises
        assert number_view is not None  # noqa: S101 - as_number raised otherwise
        compared = _numbers_equal(n.sql, number_view)
        if n.empty is None:
            return compared
        blank = func.coalesce(self.as_text(o, "'='"), "") == ""
        return or_(and_(n.empty, blank), compared)

    def text_equals(self, a: _Term, b: _Term) -> ColumnElement[Any]:
        x, y = self.as_text(a, "'='"), self.as_text(b, "'='")
        if not a.is_literal:
            x = func.coalesce(x, "")
        if not b.is_literal:
            y = func.coalesce(y, "")
        return x == y

    # -- functions

    def call(self, node: syntax.Call) -> _Term:
        name, args = node.name, node.args
        what = _describe(node)
        if FUNCTIONS[name].repeats:
            raise VariableError(
                error_codes.AGGREGATE_UNSUPPORTED_FUNCTION,
                f"{name}() works on repeats (rosters), which an aggregate of one unit does "
                "not read: aggregate over the roster's own unit, or compute it in the form "
                f"with a calculate and aggregate that; the supported functions are "
                f"{_FUNCTIONS_TEXT}",
                node.pos,
            )
        method = FUNCTION_SQL.get(name) if FUNCTIONS[name].sql else None
        if method is None:
            raise VariableError(
                error_codes.AGGREGATE_UNSUPPORTED_FUNCTION,
                f"{name}() is not supported in aggregates; the supported functions are "
                f"{_FUNCTIONS_TEXT}",
                node.pos,
            )
        return method(self, args, what, node.pos)

    def f_if(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        condition = self.as_boolean(self.term(args[0]))
        a, b = self.term(args[1]), self.term(args[2])

        def pick(x: ColumnElement[Any] | None, y: ColumnElement[Any] | None) -> Any:
            if x is None or y is None:
                return None
            return case((condition, x), else_=y)

        return self.unify(a, b, pick, what, pos)

    def f_coalesce(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        a, b = self.term(args[0]), self.term(args[1])
        if a.kind == "boolean":  # never empty
            return a
        kind = self.unified_kind(a, b, what, pos)
        if kind == "boolean":  # a is ''
            return b
        # empty as the evaluator's coalesce() sees the first value: None, '' or NaN
        is_empty: ColumnElement[Any]
        if a.kind == "number":
            is_empty = a.sql.is_(None)
        elif a.kind == "calculate":
            is_empty = func.coalesce(a.cat, "") == "" if a.cat is not None else a.sql.is_(None)
        else:
            is_empty = func.coalesce(a.sql, "") == ""

        def pick(x: ColumnElement[Any] | None, y: ColumnElement[Any] | None) -> Any:
            if x is None or y is None:
                return None
            return case((is_empty, y), else_=x)

        return self.unify(a, b, pick, what, pos)

    def unified_kind(self, a: _Term, b: _Term, what: str, pos: int) -> _Kind:
        """The common type of if()'s branches or coalesce()'s arguments."""
        if a.kind == b.kind:
            return a.kind
        for one, other in ((a, b), (b, a)):
            if one.kind == "text" and one.value == "":  # '' is empty in any type
                return other.kind
        kinds = {a.kind, b.kind}
        if "calculate" in kinds and "boolean" not in kinds:
            other = b if a.kind == "calculate" else a
            # with a literal both slots are known; with a computed value only its type's
            return "calculate" if other.is_literal else other.kind
        raise VariableError(
            error_codes.AGGREGATE_TYPE_MISMATCH,
            f"{what} gives {_kind_text(a)} ({a.what}) or {_kind_text(b)} ({b.what}); give "
            "both the same type (use '' for an empty value of any type)",
            pos,
        )

    def unify(
        self,
        a: _Term,
        b: _Term,
        pick: Callable[[ColumnElement[Any] | None, ColumnElement[Any] | None], Any],
        what: str,
        pos: int,
    ) -> _Term:
        kind = self.unified_kind(a, b, what, pos)
        a, b = self.converted(a, kind, what), self.converted(b, kind, what)
        if kind == "number":
            empty = None
            if a.empty is not None or b.empty is not None:
                empty = pick(
                    a.empty if a.empty is not None else false(),
                    b.empty if b.empty is not None else false(),
                )
            return _Term("number", pick(a.sql, b.sql), what, empty=empty, date=a.date and b.date)
        if kind == "text":
            return _Term(
                "text",
                pick(a.sql, b.sql),
                what,
                number=pick(a.number, b.number),
                select_one=a.select_one and b.select_one,
            )
        if kind == "boolean":
            return _boolean_term(pick(a.sql, b.sql), what)
        empty = pick(a.empty, b.empty)
        return _Term("calculate", pick(a.sql, b.sql), what, empty=empty, cat=pick(a.cat, b.cat))

    def converted(self, term: _Term, kind: _Kind, what: str) -> _Term:
        """A term of if()/coalesce() in the common type `unified_kind` chose."""
        if term.kind == kind:
            return term
        if term.kind == "text" and term.value == "":
            if kind == "number":
                return _Term("number", _float(math.nan), term.what, empty=true())
            if kind == "boolean":
                return _boolean_term(false(), term.what, value=False)
            no_number, no_text = cast(null(), Float()), cast(null(), String())
            return _Term("calculate", no_number, term.what, empty=true(), cat=no_text)
        if kind == "calculate":  # a literal beside a calculate: its number and its string
            value = _value(term)
            number = _float(_literal_number(value, date_text=False))
            return _Term("calculate", number, term.what, empty=false(), cat=_text(to_string(value)))
        if kind == "number":  # a calculate beside a computed number: its num slot
            return _Term("number", term.sql, term.what, empty=term.empty)
        # a calculate beside a computed text: its cat slot
        return _Term("text", self.as_text(term, what), term.what, number=term.sql)

    def f_not(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        operand = self.term(args[0])
        if operand.is_literal:
            value = not to_boolean(_value(operand))
            return _boolean_term(_boolean(value), what, value=value)
        return _boolean_term(not_(self.as_boolean(operand)), what)

    def f_true(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        return _boolean_term(true(), what, value=True)

    def f_false(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        return _boolean_term(false(), what, value=False)

    def f_selected(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        codes = self.term(args[0])
        wanted = self.literal_text(args[1], "selected()", "a choice name in quotes").strip()
        if wanted == "" or any(ch.isspace() for ch in wanted):
            return _boolean_term(false(), what, value=False)
        if codes.is_literal:
            value = wanted in to_string(_value(codes)).split()
            return _boolean_term(_boolean(value), what, value=value)
        if codes.select_one:
            return _boolean_term(func.coalesce(codes.sql == _text(wanted), false()), what)
        text = self.as_text(codes, "selected()")
        padded = _text(" ").concat(func.coalesce(text, "")).concat(_text(" "))
        return _boolean_term(self.contains(padded, f" {wanted} "), what)

    def f_count_selected(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        codes = self.term(args[0])
        if codes.is_literal:
            return _number_literal(len(to_string(_value(codes)).split()), what)
        text = func.trim(func.coalesce(self.as_text(codes, "count-selected()"), ""))
        spaces = func.length(text) - func.length(func.replace(text, " ", ""))
        counted = case((text == "", _float(0.0)), else_=cast(spaces + 1, Float()))
        return _Term("number", counted, what)

    def f_string_length(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        operand = self.term(args[0])
        if operand.is_literal:
            return _number_literal(len(to_string(_value(operand))), what)
        text = self.as_text(operand, "string-length()")
        return _Term("number", cast(func.coalesce(func.length(text), 0), Float()), what)

    def f_contains(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        haystack = self.term(args[0])
        needle = self.literal_text(args[1], "contains()", "a text in quotes")
        if haystack.is_literal:
            value = needle in to_string(_value(haystack))
            return _boolean_term(_boolean(value), what, value=value)
        if needle == "":
            return _boolean_term(true(), what, value=True)
        text = func.coalesce(self.as_text(haystack, "contains()"), "")
        return _boolean_term(self.contains(text, needle), what)

    def f_starts_with(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        haystack = self.term(args[0])
        prefix = self.literal_text(args[1], "starts-with()", "a text in quotes")
        if haystack.is_literal:
            value = to_string(_value(haystack)).startswith(prefix)
            return _boolean_term(_boolean(value), what, value=value)
        if prefix == "":
            return _boolean_term(true(), what, value=True)
        text = func.coalesce(self.as_text(haystack, "starts-with()"), "")
        if self.postgresql:
            return _boolean_term(text.startswith(prefix, autoescape=True), what)
        return _boolean_term(func.instr(text, _text(prefix)) == 1, what)

    def f_concat(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        parts = [self.term(arg) for arg in args]
        if all(part.is_literal for part in parts):
            return self.string_literal("".join(to_string(_value(p)) for p in parts), what)
        joined: ColumnElement[Any] | None = None
        for part in parts:
            text = self.as_text(part, "concat()")
            if not part.is_literal:
                text = func.coalesce(text, "")
            joined = text if joined is None else joined.concat(text)
        assert joined is not None  # noqa: S101 - concat() has an argument
        return _Term("text", joined, what)

    def f_int(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        number = self.as_number(self.term(args[0]), date_text=False, use="int()")
        return _Term("number", self.trunc(number), what)

    def f_number(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        operand = self.term(args[0])
        if operand.is_literal:
            return _number_literal(_literal_number(_value(operand), date_text=False), what)
        return _Term("number", self.as_number(operand, date_text=False, use="number()"), what)

    def f_round(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        number = self.as_number(self.term(args[0]), date_text=False, use="round()")
        digits = 0.0
        if len(args) == 2:
            places = self.term(args[1])
            if not places.is_literal:
                raise VariableError(
                    error_codes.AGGREGATE_INVALID_EXPRESSION,
                    "round()'s second argument, the number of decimal places, must be a "
                    "number such as 2",
                    _position(args[1]),
                )
            digits = _literal_number(_value(places), date_text=False)
        if digits != digits:
            digits = 0.0
        if not -30 <= digits <= 30:
            return _Term("number", _float(math.nan), what)
        places_int = int(digits)
        if self.postgresql:  # floor(x * 10^p + 0.5) / 10^p in numeric: exact, halves up
            scale = cast(literal(Decimal(10) ** places_int, Numeric()), Numeric())
            unscale = cast(literal(Decimal(10) ** -places_int, Numeric()), Numeric())
            rounded = func.floor(cast(number, Numeric()) * scale + 0.5) * unscale
            return _Term("number", cast(rounded, Float()), what)
        if places_int >= 0:
            return _Term("number", _sqlite_round(number, places_int), what)
        factor = _float(10.0**-places_int)
        return _Term("number", _sqlite_round(number / factor, 0) * factor, what)

    def f_today(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        return _Term("number", literal(float(self.today), Float()), what, date=True)

    def f_now(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        return _Term("number", literal(float(self.now), Float()), what, date=True)

    def f_date(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        operand = self.term(args[0])
        days: Value = None
        if operand.is_literal:
            days = _evaluate("decimal-date-time(date(${v}))", _value(operand))
        if not isinstance(days, float) or not math.isfinite(days):
            raise VariableError(
                error_codes.AGGREGATE_INVALID_EXPRESSION,
                "date() takes a date in quotes, such as date('2024-05-06')",
                _position(args[0]),
            )
        return _Term("number", _float(days), what, date=True)

    def f_decimal_date_time(self, args: Sequence[syntax.SyntaxNode], what: str, pos: int) -> _Term:
        operand = self.term(args[0])
        if operand.kind == "number":
            return replace(operand, what=what, value=_NO_VALUE)
        if operand.kind == "text" and operand.is_literal:
            days = _days(operand.value)
            if math.isfinite(days):
                return _Term("number", _float(days), what, date=True)
        raise VariableError(
            error_codes.AGGREGATE_INVALID_EXPRESSION,
            "decimal-date-time() takes a date or date-time question, a number or a date in "
            "quotes such as '2024-05-06' (a calculate's number is read as ${name} itself)",
            _position(args[0]),
        )

    # -- helpers

    def literal_text(self, node: syntax.SyntaxNode, function: str, wanted: str) -> str:
        term = self.term(node)
        if term.is_literal and isinstance(term.value, (str, int, float)):
            return to_string(term.value)
        raise VariableError(
            error_codes.AGGREGATE_INVALID_EXPRESSION,
            f"the second argument of {function} must be {wanted}, such as 'yes'",
            _position(node),
        )

    def contains(self, text: ColumnElement[Any], needle: str) -> ColumnElement[Any]:
        """Whether `needle` occurs in `text`, case-sensitive, never NULL for non-NULL text."""
        if self.postgresql:
            return text.contains(needle, autoescape=True)
        return func.instr(text, _text(needle)) > 0  # SQLite's LIKE ignores ASCII case

    def trunc(self, number: ColumnElement[Any]) -> ColumnElement[Any]:
        """Truncation toward zero, as a FLOAT (PostgreSQL's integer cast rounds)."""
        if self.postgresql:
            return type_coerce(func.trunc(number), Float())
        return cast(cast(number, Integer()), Float())


def _nonzero(number: ColumnElement[Any]) -> ColumnElement[Any]:
    """A divisor: NULL for zero, so that a division by zero is NULL, never an SQL error."""
    return func.nullif(number, _float(0.0), type_=Float())


def _numbers_equal(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    """The evaluator's numeric `=`, with its tolerance; false when either is NULL (NaN)."""
    return func.coalesce(func.abs(a - b) < _float(_EQUAL_TOLERANCE), false())


def _value(term: _Term) -> Value:
    """A literal term's Python value (None for a term that is no literal)."""
    value = term.value
    if isinstance(value, (bool, int, float, str)):
        return value
    return None


def _kind_text(term: _Term) -> str:
    return {"number": "a number", "text": "text", "boolean": "a condition"}.get(
        term.kind, "a calculate"
    )


_Method = Callable[[_Compiler, Sequence[syntax.SyntaxNode], str, int], _Term]
FUNCTION_SQL: Final[Mapping[str, _Method]] = {
    "if": _Compiler.f_if,
    "coalesce": _Compiler.f_coalesce,
    "not": _Compiler.f_not,
    "true": _Compiler.f_true,
    "false": _Compiler.f_false,
    "selected": _Compiler.f_selected,
    "count-selected": _Compiler.f_count_selected,
    "string-length": _Compiler.f_string_length,
    "contains": _Compiler.f_contains,
    "starts-with": _Compiler.f_starts_with,
    "concat": _Compiler.f_concat,
    "int": _Compiler.f_int,
    "number": _Compiler.f_number,
    "round": _Compiler.f_round,
    "today": _Compiler.f_today,
    "now": _Compiler.f_now,
    "date": _Compiler.f_date,
    "decimal-date-time": _Compiler.f_decimal_date_time,
}
"""Function name -> its SQL, for each function the registry (FUNCTIONS) marks `sql`."""
