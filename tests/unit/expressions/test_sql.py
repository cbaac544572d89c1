"""Expressions compiled to SQL give, household by household, what the Python evaluator gives."""

# The oracle is the evaluator: a table of its own (expr_sql_test) holds answers in a float
# array and a text array per row, as analysis/layout.py stores them; each expression is run
# in SQL over every row and compared with parse(source).evaluate() on the same answers.
# SQLite always (an in-memory engine); PostgreSQL when SURVEY_TEST_DATABASE_URL names one.

from __future__ import annotations

import datetime
import functools
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ColumnElement

from survey_service.analysis.layout import _calculated_number, _calculated_text
from survey_service.expressions import Value, parse, to_boolean, to_number, to_string
from survey_service.expressions.sql import (
    MAX_DEPTH,
    MAX_SQL_NODES,
    MAX_TERMS,
    SUPPORTED_FUNCTIONS,
    Column,
    Compiled,
    Resolver,
    VariableError,
    compile_expression,
    sql_nodes,
)

UTC = datetime.UTC
D = datetime.date
DT = datetime.datetime
NOW = DT(2024, 5, 6, 18, 0, tzinfo=UTC)
NOW_DAYS = (NOW - DT(1970, 1, 1, tzinfo=UTC)) / datetime.timedelta(days=1)
TODAY_DAYS = float(NOW.date().toordinal() - D(1970, 1, 1).toordinal())

# the questions of the test table: name -> Column.type
QUESTIONS: Mapping[str, Literal["number", "date", "select_one", "select_multiple", "calculate"]] = {
    "a": "number",
    "b": "number",
    "d": "date",
    "t": "date",  # a datetime question
    "c": "calculate",
    "k": "calculate",
    "s": "select_one",
    "m": "select_multiple",
    "sn": "select_one",  # its choice names are numbers
}
NUM_SLOTS = ("a", "b", "d", "t", "c", "k")
CAT_SLOTS = ("s", "m", "c", "k", "sn")
NUMERIC_CODES = frozenset({"sn"})

# Answers as the evaluator sees them. Numbers are whole or binary fractions (so that mod,
# computed as a - b * trunc(a / b) in SQL, is exact), dates lie close together (so that
# products stay far below 2**53) and date-times fall on quarter days.
ROWS: Sequence[Mapping[str, Value]] = (
    {},
    {
        "a": 3,
        "b": 2.5,
        "d": D(2024, 5, 6),
        "t": DT(2024, 5, 6, 12, 0, tzinfo=UTC),
        "c": 5,
        "k": 5,
        "s": "yes",
        "m": "MH0600 GH0300",
        "sn": "2",
    },
    {
        "a": 0,
        "b": 0.0,
        "d": D(2024, 1, 1),
        "t": DT(2024, 1, 1, 6, 0),  # naive: read as UTC
        "c": 0,
        "k": "abc",
        "s": "no",
        "m": "x_y",
        "sn": "1",
    },
    {
        "a": -7,
        "b": -2.25,
        "d": D(2023, 12, 31),
        "t": DT(2023, 12, 31, 18, 0, tzinfo=UTC),
        "c": "abc",
        "s": "Yes",
        "m": "a%b MH0600",
        "sn": "3",
    },
    {"a": 10, "b": 0.5, "d": D(2024, 5, 7), "c": -1.5, "k": "MH0600 x_y", "s": "dk", "m": "GH0300"},
    {"a": 2, "b": 2.0, "c": "", "k": 2, "s": "", "sn": "2"},
    {
        "a": 1,
        "b": -0.25,
        "d": D(2024, 3, 1),
        "t": DT(2024, 5, 6, 18, 0, tzinfo=UTC),
        "c": 2.5,
        "k": "2.5",
        "s": "yes",
        "m": "MH0600",
        "sn": "1",
    },
    {"a": -3, "b": 7.75, "c": "café", "k": -3, "s": "no", "m": "x_y GH0300 MH0600", "sn": "3"},
    {"a": 4, "d": D(2024, 5, 6), "c": "5", "k": "", "m": "a%b", "sn": "2"},
    {"b": 3.0, "t": DT(2024, 5, 6, 0, 0), "c": 0.25, "k": -0.5, "s": "yes", "m": "MH0600"},
    {"a": 5, "b": 1.5, "d": D(2023, 6, 1), "c": -2, "k": 0.5, "s": "yes", "m": "GH0300 x_y"},
    {"a": -1, "b": -1.0, "d": D(2024, 5, 5), "c": "MH0600", "k": 1, "s": "no", "sn": "3"},
)
# Rows where SQL differs from the evaluator by design (see the module header of sql.py);
# only the tests of those differences read them.
ODD_ROWS: Mapping[int, Mapping[str, Value]] = {
    101: {"c": "0"},  # numeric text: the evaluator's boolean is true, SQL's false
    102: {"c": True},
    103: {"c": False},
}
ODD = 100


# --------------------------------------------------------------------------- the oracle


class RowContext:
    """The evaluator's view of one row: answers by name, and the request's time."""

    def __init__(self, values: Mapping[str, Value]) -> None:
        self.values = values

    def resolve(self, name: str) -> Value:
        return self.values.get(name)

    def current(self) -> Value:
        return None

    def position(self) -> int:
        return 1

    def choice_label(self, question: str, value: str) -> str:
        return ""

    def choice_property(self, name: str) -> Value:
        return None

    def now(self) -> datetime.datetime:
        return NOW


def evaluate(source: str, row: Mapping[str, Value]) -> Value:
    return parse(source).evaluate(RowContext(row))


def expected(kind: str, value: Value) -> Any:
    """The evaluator's value as the compiled type holds it: NaN, infinities (SQL has none:
    a division by zero is NULL) and empty answers as None."""
    if kind == "boolean":
        return to_boolean(value)
    if kind == "text":
        return to_string(value) or None
    if value is None:
        return None
    number = to_number(value) if not isinstance(value, datetime.date) else _days(value)
    return number if math.isfinite(number) else None


def actual(kind: str, value: Any) -> Any:
    if kind == "boolean":
        assert value in (True, False, 0, 1), value
        return bool(value)
    if kind == "text":
        assert value is None or isinstance(value, str), value
        return value or None
    assert value is None or isinstance(value, float), value
    return value


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b) and type(a) is type(b)


def _days(value: datetime.date) -> float:
    if isinstance(value, datetime.datetime):
        epoch = DT(1970, 1, 1, tzinfo=UTC if value.tzinfo is not None else None)
        return (value - epoch) / datetime.timedelta(days=1)
    return float(value.toordinal() - D(1970, 1, 1).toordinal())


# --------------------------------------------------------------------------- the databases


def stored_num(name: str, value: Value) -> float | int | None:
    """The num slot as analysis/layout.py fills it."""
    if value is None:
        return None
    if QUESTIONS[name] == "calculate":
        return _calculated_number(value)
    if isinstance(value, datetime.date):
        return _days(value)
    assert isinstance(value, (int, float))
    return value


def stored_cat(name: str, value: Value) -> str | None:
    if QUESTIONS[name] == "calculate":
        return _calculated_text(value)
    assert value is None or isinstance(value, str)
    return value


@dataclass
class Backend:
    dialect: str
    engine: sa.Engine
    table: sa.Table

    def read(self, kind: str, slot: int) -> ColumnElement[Any]:
        array = self.table.c.num if kind == "num" else self.table.c.cat
        if self.dialect == "postgresql":
            element: ColumnElement[Any] = array[slot + 1]
            return element
        return sa.func.json_extract(array, f"$[{slot}]")

    def resolve(self, name: str) -> Column:
        kind = QUESTIONS.get(name)
        if kind is None:
            raise VariableError("aggregate.unknown_question", f"no question named {name!r}")
        num = self.read("num", NUM_SLOTS.index(name)) if name in NUM_SLOTS else None
        cat = self.read("cat", CAT_SLOTS.index(name)) if name in CAT_SLOTS else None
        return Column(kind, num, cat, numeric_codes=name in NUMERIC_CODES)

    def compile(self, source: str) -> Compiled:
        resolve: Resolver = self.resolve
        return compile_expression(
            source, resolve, dialect=self.dialect, today=TODAY_DAYS, now=NOW_DAYS
        )

    def run(self, compiled: Compiled, odd: bool = False) -> dict[int, Any]:
        """The compiled expression's value per row id (the ordinary rows, or the odd ones)."""
        table = self.table
        query = sa.select(table.c.id, compiled.sql.label("value")).order_by(table.c.id)
        query = query.where(table.c.id > ODD if odd else table.c.id < ODD)
        with self.engine.connect() as connection:
            return {row.id: actual(compiled.type, row.value) for row in connection.execute(query)}

    def value(self, source: str) -> Any:
        """A constant expression's value (read on the first row)."""
        return self.run(self.compile(source))[1]


def _rows() -> list[tuple[int, Mapping[str, Value]]]:
    return [*enumerate(ROWS, start=1), *ODD_ROWS.items()]


def _sqlite_backend() -> Backend:
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    metadata = sa.MetaData()
    table = sa.Table(
        "expr_sql_test",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("num", sa.Text),  # JSON arrays, whole numbers as JSON integers
        sa.Column("cat", sa.Text),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        for row_id, row in _rows():
            num = [stored_num(name, row.get(name)) for name in NUM_SLOTS]
            cat = [stored_cat(name, row.get(name)) for name in CAT_SLOTS]
            connection.execute(
                table.insert().values(id=row_id, num=json.dumps(num), cat=json.dumps(cat))
            )
    return Backend("sqlite", engine, table)


def _postgresql_backend(url: str) -> Backend:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    table = sa.Table(
        "expr_sql_test",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("num", postgresql.ARRAY(sa.Float)),
        sa.Column("cat", postgresql.ARRAY(sa.Text)),
    )
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        for row_id, row in _rows():
            num = [stored_num(name, row.get(name)) for name in NUM_SLOTS]
            cat = [stored_cat(name, row.get(name)) for name in CAT_SLOTS]
            floats = [None if x is None else float(x) for x in num]
            connection.execute(table.insert().values(id=row_id, num=floats, cat=cat))
    return Backend("postgresql", engine, table)


def _postgresql_url() -> str | None:
    url = os.environ.get("SURVEY_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "sqlite":
        created = _sqlite_backend()
    else:
        url = _postgresql_url()
        if url is None:
            pytest.skip("SURVEY_TEST_DATABASE_URL does not name a PostgreSQL database")
        created = _postgresql_backend(url)
    yield created
    created.table.metadata.drop_all(created.engine)
    created.engine.dispose()


def mismatches(backend: Backend, source: str, skip: Sequence[str] = ()) -> list[str]:
    """Rows where SQL and the evaluator disagree; a row is left out where one of the `skip`
    expressions is infinite there (SQL has no infinity: a division by zero is NULL)."""
    compiled = backend.compile(source)
    got = backend.run(compiled)
    problems = []
    for row_id, row in enumerate(ROWS, start=1):
        if any(_infinite(evaluate(sub, row)) for sub in skip):
            continue
        want = expected(compiled.type, evaluate(source, row))
        if not same(got[row_id], want):
            problems.append(f"row {row_id} {dict(row)}: SQL {got[row_id]!r}, evaluator {want!r}")
    return problems


def _infinite(value: Value) -> bool:
    return isinstance(value, float) and math.isinf(value)


def check(backend: Backend, source: str) -> None:
    problems = mismatches(backend, source)
    assert not problems, f"{source}\n" + "\n".join(problems)


# --------------------------------------------------------------------------- SQL = evaluator

LITERALS_AND_REFERENCES = [
    "3",
    "2.5",
    "'abc'",
    "''",
    "${a}",
    "${b}",
    "${d}",
    "${t}",
    "${c}",
    "${k}",
    "${s}",
    "${m}",
    "${sn}",
    "concat(${c})",
    "-${a}",
    "--${a}",
    "-'3'",
    "-${c}",
]
ARITHMETIC = [
    "${a} + ${b}",
    "${a} - ${b} * 2",
    "${a} * ${b}",
    "${a} div 2",
    "3 div 2",
    "${a} div ${b}",
    "${b} div ${a}",
    "1 div 0",
    "0 div 0",
    "${a} mod 3",
    "${a} mod -3",
    "-7 mod 3",
    "7.5 mod 2",
    "${b} mod 0.5",
    "${a} mod ${b}",
    "${b} mod ${a}",
    "${a} mod 0",
    "${d} - '2024-01-01'",
    "'2024-05-06' - ${d}",
    "${t} - ${d}",
    "${a} + '3'",
    "${a} + 'abc'",
    "${a} + true()",
    "(${a} > 1) + (${b} > 1)",
    "${c} + 1",
    "${c} * ${k}",
    "${sn} + 1",
    "${a} + ${b} - ${a} * 2 div 4 mod 3",
]
COMPARISONS = [
    "${a} = 3",
    "${a} != 3",
    "3 = ${a}",
    "${a} = ''",
    "${a} != ''",
    "'' = ${a}",
    "${a} = ${b}",
    "${a} != ${b}",
    "${a} = ${d}",
    "${a} < ${b}",
    "${a} <= 0",
    "${a} > -1",
    "${a} >= ${b}",
    "${b} > ${a}",
    "${d} = '2024-05-06'",
    "${d} != '2024-05-06'",
    "${d} > '2024-01-01'",
    "${d} = ''",
    "${d} = today()",
    "${d} < today()",
    "${t} < now()",
    "${t} = '2024-05-06T12:00:00Z'",
    "${d} = date('2024-05-06')",
    "${a} = '3'",
    "${a} = 'abc'",
    "${a} = '2024-05-06'",
    "${a} < '4'",
    "${s} = 'yes'",
    "${s} != 'yes'",
    "${s} = ''",
    "${s} != ''",
    "${s} = ${m}",
    "${s} = 1",
    "${m} != 2",
    "${sn} = 2",
    "${sn} = '2'",
    "${sn} = ${a}",
    "${sn} != ${a}",
    "${sn} > 1",
    "${c} = 5",
    "${c} != 5",
    "${c} = 'abc'",
    "${c} = ''",
    "${c} != ''",
    "${c} = ${k}",
    "${c} != ${k}",
    "${c} = ${a}",
    "${c} != ${a}",
    "${a} = ${c}",
    "${c} = ${s}",
    "${c} > 2",
    "${c} <= ${b}",
    "(${a} > 1) = true()",
    "(${a} > 1) = false()",
    "(${a} > 1) = ${b}",
    "(${a} > 1) != ${s}",
    "(${a} > 1) = ${c}",
    "${a} > 1 = ${b} > 1",
    "1 < 2 < 3",
    "3 > 2 > 1",
    "${a} = ${b} = ${c}",
    "'a' = 'a'",
    "1 = '1'",
    "'' = ''",
    "0.1 + 0.2 = 0.3",
    "${a} + 1 = ''",
    "if(${a} > 1, ${b}, '') = ''",
    "if(${a} > 1, ${b}, '') = ${d}",
    "coalesce(${a}, ${b}) = ''",
    "number(${a}) = ''",
    "decimal-date-time(${d}) = ''",
    "if(${a} > 1, ${c}, 3) = ''",
    "if(${a} > 1, ${c}, 3) = ${b}",
]
LOGIC = [
    "${a} > 1 and ${s} = 'yes'",
    "${a} > 1 or ${b} > 1",
    "${a} > 1 or ${b} > 1 or ${s} = 'no'",
    "not(${a} > 1)",
    "not(${a})",
    "not(${b})",
    "not(${s})",
    "not(${c})",
    "not(${k})",
    "not(${m})",
    "not(${d})",
    "true()",
    "false()",
    "not(true())",
    "not('')",
    "not(0)",
    "${a} and ${s}",
    "${b} or ''",
    "${c} and ${k}",
    "if(${a}, 1, 0)",
    "if(${c}, 'y', 'n')",
    "if(${a} > 1, ${c}, 3) and true()",
]
FUNCTIONS = [
    "if(${a} > 1, ${b}, 0)",
    "if(${a} > 1, 'big', ${s})",
    "if(${a} > 1, ${c}, ${k})",
    "concat(if(${a} > 1, ${c}, ${k}))",
    "if(${a} > 1, ${c}, 'x')",
    "concat(if(${a} > 1, ${c}, 'x'))",
    "if(${a} > 1, ${c}, 0)",
    "if(${a} > 1, ${c}, ${b})",
    "if(${a} > 1, ${c}, ${s})",
    "if(${s} = 'yes', true(), ${a} > 2)",
    "if(true(), ${a}, '')",
    "if(${a} > 1, '', ${b})",
    "if(${a} > 1, '', ${s})",
    "if(${a} > 1, '', ${a} > 4)",
    "if(${a} > 1, ${c}, '')",
    "if(${a} > 1, ${sn}, '3') + 1",
    "if(${a} > 1, ${d}, today())",
    "coalesce(${a}, ${b})",
    "coalesce(${a}, 0)",
    "coalesce(${s}, 'none')",
    "coalesce(${s}, ${m})",
    "coalesce('', ${s})",
    "coalesce('', ${a})",
    "coalesce(${c}, ${k})",
    "concat(coalesce(${c}, ${k}))",
    "coalesce(${c}, 'x')",
    "coalesce(${c}, 7)",
    "coalesce(${c}, ${a})",
    "coalesce(${a} > 1, false())",
    "coalesce(${a} + 1, ${b})",
    "selected(${m}, 'MH0600')",
    "selected(${m}, 'GH0300')",
    "selected(${m}, 'x_y')",
    "selected(${m}, 'x')",
    "selected(${m}, 'a%b')",
    "selected(${m}, '')",
    "selected(${m}, 'MH0600 GH0300')",
    "selected(${m}, ' x_y ')",
    "selected(${s}, 'yes')",
    "selected(${s}, 'Yes')",
    "selected(${sn}, 2)",
    "selected(${c}, 'abc')",
    "selected(${k}, 'x_y')",
    "selected(concat(${s}, ' ', ${m}), 'yes')",
    "selected('a b', 'b')",
    "count-selected(${m})",
    "count-selected(${s})",
    "count-selected(${k})",
    "count-selected(${c})",
    "count-selected('a b  c')",
    "count-selected(${m}) div 2",
    "string-length(${s})",
    "string-length(${m})",
    "string-length(${c})",
    "string-length('')",
    "string-length(concat(${s}, ${c}))",
    "string-length(${a} > 1)",
    "contains(${m}, 'MH')",
    "contains(${m}, 'a%')",
    "contains(${m}, '%')",
    "contains(${m}, '_')",
    "contains(${m}, 'x_')",
    "contains(${s}, 'Y')",
    "contains(${s}, 'y')",
    "contains(${s}, '')",
    "contains(${c}, '.')",
    "contains(${c}, 'é')",
    "contains('abc', 'b')",
    "starts-with(${s}, 'y')",
    "starts-with(${s}, 'Y')",
    "starts-with(${m}, 'a%')",
    "starts-with(${m}, 'a_')",
    "starts-with(${m}, '_')",
    "starts-with(${c}, '-')",
    "starts-with(${m}, '')",
    "concat(${s}, '-', ${m})",
    "concat('a', 1, 2.5)",
    "concat(${s}, ${a} > 1)",
    "concat(${c}, ${k})",
    "concat(${sn})",
    "int(${b})",
    "int(-2.7)",
    "int(2.7)",
    "int(${c})",
    "int('3.9')",
    "int(${a} div 3)",
    "int(${b} * -3)",
    "int(${sn})",
    "number(${c})",
    "number(${sn})",
    "number('12')",
    "number(' 12 ')",
    "number('abc')",
    "number('2024-05-06')",
    "number(${a} > 1)",
    "number(${a})",
    "number(${d})",
    "round(${b})",
    "round(${b}, 1)",
    "round(-2.5)",
    "round(2.5)",
    "round(-0.5)",
    "round(${a} div 3, 2)",
    "round(${a} div 8, 2)",
    "round(${b}, -1)",
    "round(${a} * 25, -2)",
    "round(1234.5, -2)",
    "round(2.675, 2)",
    "round(1.005, 2)",
    "round(-1.005, 2)",
    "round(-1.004, 2)",
    "round(-1.006, 2)",
    "round(-12345.15, 1)",
    "round(-1250, -2)",
    "round(-1260, -2)",
    "round(${b} * -1, 1)",
    "round(${b} * -1)",
    "round(0.35, 1)",
    "round(${b}, 'x')",
    "round(${b}, 40)",
    "round(${b}, 1.9)",
    "round(${c}, 1)",
    "round(${sn})",
    "today()",
    "now()",
    "today() - ${d}",
    "now() - ${t}",
    "int(now() - ${t})",
    "date('2024-05-06')",
    "date('2024-05-06T12:00:00Z')",
    "date(19849)",
    "date(19849.7)",
    "decimal-date-time(${d})",
    "decimal-date-time(${t})",
    "decimal-date-time('2024-05-06T06:00')",
    "decimal-date-time('2024-05-06')",
    "decimal-date-time(${a})",
    "${d} = decimal-date-time('2024-05-06')",
    "decimal-date-time(now()) > decimal-date-time(today())",
]


@pytest.mark.parametrize("source", LITERALS_AND_REFERENCES)
def test_literals_and_references(backend: Backend, source: str) -> None:
    check(backend, source)


@pytest.mark.parametrize("source", ARITHMETIC)
def test_arithmetic(backend: Backend, source: str) -> None:
    check(backend, source)


@pytest.mark.parametrize("source", COMPARISONS)
def test_comparisons(backend: Backend, source: str) -> None:
    check(backend, source)


@pytest.mark.parametrize("source", LOGIC)
def test_logic(backend: Backend, source: str) -> None:
    check(backend, source)


@pytest.mark.parametrize("source", FUNCTIONS)
def test_functions(backend: Backend, source: str) -> None:
    check(backend, source)


# --------------------------------------------------------------------------- SQL specifics


def test_every_supported_function_is_covered() -> None:
    sources = " ".join(LITERALS_AND_REFERENCES + ARITHMETIC + COMPARISONS + LOGIC + FUNCTIONS)
    for name in SUPPORTED_FUNCTIONS:
        assert f"{name}(" in sources, name
    for op in (" + ", " - ", " * ", " div ", " mod ", " = ", " != ", " < ", " <= ", " > "):
        assert op in sources, op
    assert " >= " in sources and " and " in sources and " or " in sources


def test_result_types(backend: Backend) -> None:
    assert backend.compile("${a} + 1").type == "number"
    assert backend.compile("${d}").type == "number"
    assert backend.compile("${c}").type == "number"  # a calculate alone: its number
    assert backend.compile("concat(${c})").type == "text"  # ... its text
    assert backend.compile("${s}").type == "text"
    assert backend.compile("${a} > 1").type == "boolean"
    assert backend.compile("selected(${m}, 'x')").type == "boolean"


def test_whole_numbers_divide_as_decimals(backend: Backend) -> None:
    # literals are bound as floats, and SQLite's JSON integers are cast to FLOAT
    assert backend.value("3 div 2") == 1.5
    got = backend.run(backend.compile("${a} div 2"))
    assert got[2] == 1.5  # a = 3, stored as the JSON integer 3 on SQLite


def test_division_by_zero_is_null_not_an_error(backend: Backend) -> None:
    got = backend.run(backend.compile("${a} div ${b}"))
    assert got[3] is None  # 0 div 0
    assert backend.value("1 div 0") is None  # the evaluator: Infinity
    assert backend.value("5 mod 0") is None
    # documented: no infinity, so a comparison with it is false (the evaluator: true)
    assert backend.value("1 div 0 > 5") is False
    assert evaluate("1 div 0 > 5", {}) is True


def test_mod_is_the_truncated_remainder(backend: Backend) -> None:
    assert backend.value("-7 mod 3") == -1.0
    assert backend.value("7 mod -3") == 1.0
    assert backend.value("-7.5 mod 2") == -1.5
    # documented: in doubles, a - b * trunc(a / b) is not fmod when a / b rounds to a whole
    assert backend.value("5.5 mod 0.1") == pytest.approx(0.0, abs=1e-12)
    assert evaluate("5.5 mod 0.1", {}) == pytest.approx(0.1, abs=1e-12)


def test_int_truncates_toward_zero(backend: Backend) -> None:
    # PostgreSQL's integer cast would round -2.7 to -3
    assert backend.value("int(-2.7)") == -2.0
    assert backend.value("int(2.7)") == 2.0
    assert backend.value("int(-0.5)") == 0.0


def test_round_takes_halves_toward_plus_infinity(backend: Backend) -> None:
    # PostgreSQL's round(double precision) would round halves to even, SQLite's away from 0
    assert backend.value("round(2.5)") == 3.0
    assert backend.value("round(-2.5)") == -2.0
    assert backend.value("round(-2.6)") == -3.0
    assert backend.value("round(-1.005, 2)") == -1.0
    assert backend.value("round(-1.006, 2)") == -1.01
    assert backend.value("round(-12345.15, 1)") == -12345.1
    assert backend.value("round(-1250, -2)") == -1200.0
    assert backend.value("round(0.5)") == 1.0
    assert backend.value("round(2.675, 2)") == 2.68  # the decimal, not the binary, value
    assert backend.value("round(1250, -2)") == 1300.0
    assert backend.value("round(7.5, 31)") is None  # the evaluator: NaN


def test_text_search_is_case_sensitive_and_escapes_wildcards(backend: Backend) -> None:
    got = backend.run(backend.compile("contains(${s}, 'Y')"))
    # SQLite's LIKE would also find the rows answering 'yes'
    assert [row_id for row_id, hit in got.items() if hit] == [4]
    assert backend.value("contains('abc', '_')") is False
    assert backend.value("contains('a_c', '_')") is True
    assert backend.value("starts-with('abc', '%')") is False
    assert backend.value("starts-with('ABC', 'a')") is False
    assert backend.value("contains('a/b', '/')") is True  # the escape character itself


def test_user_text_is_bound_never_inlined(backend: Backend) -> None:
    source = '${s} = "x\' OR 1=1 --" or contains(${m}, "\'; DROP TABLE expr_sql_test; --")'
    compiled = backend.compile(source)
    dialect = backend.engine.dialect
    sql = str(compiled.sql.compile(dialect=dialect))
    assert "DROP" not in sql and "OR 1=1" not in sql
    assert not any(backend.run(compiled).values())
    check(backend, source)


def test_today_and_now_are_bound_parameters(backend: Backend) -> None:
    compiled = backend.compile("now() - today()")
    params = compiled.sql.compile(dialect=backend.engine.dialect).params
    assert NOW_DAYS in params.values() and TODAY_DAYS in params.values()
    assert backend.value("now() - today()") == 0.75


def test_empty_answers_equal_each_other_but_nan_does_not(backend: Backend) -> None:
    # the evaluator compares two empty answers as strings ('' = ''), NaN as numbers
    got = backend.run(backend.compile("${a} = ${b}"))
    assert got[1] is True  # both unanswered
    got = backend.run(backend.compile("${a} + 0 = ${b} + 0"))
    assert got[1] is False
    assert backend.run(backend.compile("${a} = ''"))[1] is True


def test_calculates_where_sql_cannot_know_the_type(backend: Backend) -> None:
    """The documented differences for calculates, on the rows that show them."""
    # numeric text '0': the evaluator's boolean is true (a non-empty string), SQL reads 0
    assert backend.run(backend.compile("not(${c})"), odd=True)[101] is True
    assert evaluate("not(${c})", ODD_ROWS[101]) is False
    # a boolean calculate: 1 / 0 with numbers and 'true' / 'false' as text
    flag = backend.run(backend.compile("${c} + 1"), odd=True)
    assert flag[102] == 2.0 and flag[103] == 1.0
    truth = backend.run(backend.compile("${c}"), odd=True)
    assert truth[102] == 1.0 and truth[103] == 0.0
    assert backend.run(backend.compile("not(${c})"), odd=True)[103] is True
    as_text = backend.run(backend.compile("${c} = 'false'"), odd=True)
    assert as_text[103] is True
    assert evaluate("${c} = 'false'", ODD_ROWS[103]) is False  # 'false' is a true string


def test_numeric_select_one_codes_are_cast(backend: Backend) -> None:
    got = backend.run(backend.compile("number(${sn}) * 2"))
    assert got[2] == 4.0 and got[5] is None


# --------------------------------------------------------------------------- refusals


def refusal(backend: Backend, source: str) -> VariableError:
    with pytest.raises(VariableError) as info:
        backend.compile(source)
    return info.value


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (".", "aggregate.unsupported_expression"),
        (". + 1", "aggregate.unsupported_expression"),
        ("hh_size + 1", "aggregate.unsupported_expression"),
        ("position(..)", "aggregate.unsupported_function"),
        ("count(${a})", "aggregate.unsupported_function"),
        ("sum(${a})", "aggregate.unsupported_function"),
        ("max(${a}, ${b})", "aggregate.unsupported_function"),
        ("min(${a})", "aggregate.unsupported_function"),
        ("regex(${s}, '^y')", "aggregate.unsupported_function"),
        ("jr:choice-name(${s}, '${s}')", "aggregate.unsupported_function"),
        ("selected-at(${m}, 0)", "aggregate.unsupported_function"),
        ("string(${a})", "aggregate.unsupported_function"),
        ("upper-case(${s})", "aggregate.unsupported_function"),
        ("${a} +", "aggregate.invalid_expression"),
        ("if(${a})", "aggregate.invalid_expression"),
        ("selected(${m}, ${s})", "aggregate.invalid_expression"),
        ("contains(${s}, ${s})", "aggregate.invalid_expression"),
        ("starts-with(${s}, ${m})", "aggregate.invalid_expression"),
        ("round(${b}, ${a})", "aggregate.invalid_expression"),
        ("date(${s})", "aggregate.invalid_expression"),
        ("date('soon')", "aggregate.invalid_expression"),
        ("decimal-date-time(${s})", "aggregate.invalid_expression"),
        ("decimal-date-time('soon')", "aggregate.invalid_expression"),
        ("decimal-date-time(${c})", "aggregate.invalid_expression"),
        ("if(${a} > 1, 1, 'x')", "aggregate.type_mismatch"),
        ("if(${a} > 1, ${a}, ${s})", "aggregate.type_mismatch"),
        ("if(${a} > 1, true(), 0)", "aggregate.type_mismatch"),
        ("coalesce(${a}, 'none')", "aggregate.type_mismatch"),
        ("${s} + 1", "aggregate.type_mismatch"),
        ("${m} > 1", "aggregate.type_mismatch"),
        ("${s} = ${a}", "aggregate.type_mismatch"),
        ("number(${s})", "aggregate.type_mismatch"),
        ("int(${m})", "aggregate.type_mismatch"),
        ("concat(${a})", "aggregate.type_mismatch"),
        ("string-length(${d})", "aggregate.type_mismatch"),
        ("selected(${a}, 'x')", "aggregate.type_mismatch"),
        ("${nowhere} + 1", "aggregate.unknown_question"),
    ],
)
def test_refused(backend: Backend, source: str, code: str) -> None:
    assert refusal(backend, source).code == code


def test_refusals_say_what_is_allowed(backend: Backend) -> None:
    for source in ("regex(${s}, 'y')", "upper-case(${s})", "count(${a})"):
        message = refusal(backend, source).message
        assert "selected()" in message and "count-selected()" in message, message
    assert "roster" in refusal(backend, "sum(${a})").message
    assert "${hh_size}" in refusal(backend, "hh_size > 1").message
    assert "'yes'" in refusal(backend, "${s} + 1").message


def test_syntax_errors_carry_their_position(backend: Backend) -> None:
    error = refusal(backend, "${a} + + )")
    assert error.position == 7
    assert "position 7" in error.message
    assert refusal(backend, "count(${a})").position == 0
    assert refusal(backend, "1 + upper-case(${s})").position == 4


def nested(levels: int, operand: str = "${a}") -> str:
    """`levels` chains, each in parentheses inside the next ('+' and '*' alternating)."""
    for level in range(levels):
        operand = f"({operand}) * 2" if level % 2 else f"({operand}) + 1"
    return operand


@pytest.mark.parametrize(
    ("source", "limit"),
    [
        (" + ".join(["${a}"] * (MAX_TERMS + 1)), "101 terms, at most 100"),
        (" and ".join(["${a} > 1"] * (MAX_TERMS + 1)), "101 terms, at most 100"),
        (f"concat({', '.join(['${s}'] * (MAX_TERMS + 1))})", "101 arguments, at most 100"),
        (nested(MAX_DEPTH + 1), "11 levels deep, at most 10"),
        (" < ".join(["${a}"] * (MAX_DEPTH + 2)), "11 levels deep, at most 10"),
        ("if(true(), " * MAX_DEPTH + "${a}" + ", 0)" * MAX_DEPTH, "at most 10"),
        (" mod ".join(["${a}"] * 40), "more than 10,000 nodes"),  # SQL repeats a mod's terms
    ],
)
def test_expressions_over_the_size_limits_are_refused(
    backend: Backend, source: str, limit: str
) -> None:
    error = refusal(backend, source)
    assert error.code == "aggregate.expression_too_large"
    assert limit in error.message, error.message


@pytest.mark.parametrize(
    "source",
    [
        " + ".join(["${a}"] * MAX_TERMS),
        " and ".join(["${a} > 1"] * MAX_TERMS),
        nested(MAX_DEPTH),
        " < ".join(["${a}"] * (MAX_DEPTH + 1)),
        "if(${a} > 1, " * (MAX_DEPTH // 2) + "${b}" + ", 0)" * (MAX_DEPTH // 2),
        " mod ".join(["${a}", "${b}", "2", "3", "5", "7", "11", "13"]),
    ],
)
def test_expressions_at_the_size_limits_run_in_the_database(backend: Backend, source: str) -> None:
    check(backend, source)


def test_sql_nodes_count_repeated_subtrees_in_linear_time() -> None:
    shared: ColumnElement[Any] = sa.column("x") + 1
    for _ in range(60):  # over 2**60 nodes as text; the walk visits each object once
        shared = sa.func.nullif(shared, shared)
    assert sql_nodes(shared, MAX_SQL_NODES) == MAX_SQL_NODES + 1
    assert sql_nodes(sa.column("x") + sa.column("y"), MAX_SQL_NODES) == 3


def test_unknown_dialect_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="dialect"):
        compile_expression(
            "1", lambda name: Column("number", None, None), dialect="x", today=0, now=0
        )


# --------------------------------------------------------------------------- properties


@dataclass(frozen=True)
class Gen:
    """A generated expression, and its sub-expressions (to skip rows where one is infinite)."""

    source: str
    parts: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        return (*self.parts, self.source)


def _atom(source: str) -> Gen:
    return Gen(source)


def _combine(template: str, *children: Gen) -> Gen:
    parts: tuple[str, ...] = ()
    for child in children:
        parts += child.all()
    return Gen(template.format(*(child.source for child in children)), parts)


NUM_ATOMS = (
    "${a}",
    "${b}",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "0.5",
    "2.5",
    "-0.25",
    "10",
    "(${d} - '2024-01-01')",
    "(today() - ${d})",
    "(now() - ${t})",
    "number(${sn})",
    "count-selected(${m})",
    "number(${c})",
)
MOD_ATOMS = ("${a}", "${b}", "${c}", "${k}", "0", "2", "3", "-1", "0.5", "-2.5")
CALCULATE_ATOMS = ("${c}", "${k}")
TEXT_ATOMS = ("${s}", "${m}", "${sn}", "concat(${c})", "concat(${k})")
TEXT_LITERALS = ("''", "'yes'", "'MH0600'", "'a%b'", "'Yes'", "'2'", "'x_y'", "'é'")
SEARCHED = ("'yes'", "'MH0600'", "'x_y'", "'a%b'", "'%'", "'_'", "'Y'", "''", "'2'", "'M'")
NUMERIC_TEXTS = ("${sn}", "'2'", "''", "'2024-05-06'", "'abc'", "'2.5'")
BOOLEAN_ATOMS = (
    "true()",
    "false()",
    "(${d} > '2024-01-01')",
    "(${d} = '2024-05-06')",
    "(${d} = today())",
    "(${t} < now())",
    "(${d} = '')",
    "(${a} = '')",
)


def _sample(options: Sequence[str]) -> st.SearchStrategy[Gen]:
    return st.sampled_from(options).map(_atom)


def _form(template: str, *children: st.SearchStrategy[Gen]) -> st.SearchStrategy[Gen]:
    return st.tuples(*children).map(lambda gens: _combine(template, *gens))


@functools.cache
def numbers(depth: int) -> st.SearchStrategy[Gen]:
    """Numeric expressions that never evaluate to a calculate's text."""
    leaf = _sample(NUM_ATOMS)
    if depth == 0:
        return leaf
    n = numbers(depth - 1)
    # text converted by arithmetic; never an if() branch, where text and numbers do not mix
    operand = st.one_of(n, n, calculates(depth - 1), _sample(("'3'", "''", "'2024-05-06'")))
    b, t = booleans(depth - 1), texts(depth - 1)
    return st.one_of(
        leaf,
        _form("({} + {})", operand, operand),
        _form("({} - {})", operand, operand),
        _form("({} * {})", operand, operand),
        _form("({} div {})", operand, operand),
        _form("({} mod {})", _sample(MOD_ATOMS), _sample(MOD_ATOMS)),
        _form("-{}", operand),
        _form("int({})", operand),
        _form("round({})", operand),
        _form("round({}, 1)", operand),
        _form("round({}, -1)", operand),
        _form("if({}, {}, {})", b, n, n),
        _form("if({}, {}, '')", b, n),
        _form("coalesce({}, {})", st.one_of(_sample(("${a}", "${b}", "''")), n), n),
        _form("number({})", operand),
        _form("string-length({})", t),
        _form("count-selected({})", _sample(("${m}", "${s}", "${k}", "concat(${c})"))),
        _form("({} + {})", b, n),
    )


@functools.cache
def calculates(depth: int) -> st.SearchStrategy[Gen]:
    """A calculate, or one chosen among calculates and literals: its type known per row."""
    leaf = _sample(CALCULATE_ATOMS)
    if depth == 0:
        return leaf
    literal = _sample(("3", "0", "-0.5", "'x'", "''", "'2'"))
    choice = st.one_of(leaf, literal)
    return st.one_of(
        leaf,
        _form("if({}, {}, {})", booleans(depth - 1), leaf, choice),
        _form("if({}, {}, {})", booleans(depth - 1), choice, leaf),
        _form("coalesce({}, {})", leaf, choice),
    )


@functools.cache
def texts(depth: int) -> st.SearchStrategy[Gen]:
    leaf = st.one_of(_sample(TEXT_ATOMS), _sample(TEXT_LITERALS))
    if depth == 0:
        return leaf
    t = texts(depth - 1)
    return st.one_of(
        leaf,
        _form("concat({}, {})", t, t),
        _form("concat({}, '-', {})", t, calculates(depth - 1)),
        _form("concat({})", booleans(depth - 1)),
        _form("if({}, {}, {})", booleans(depth - 1), t, t),
        _form("coalesce({}, {})", t, t),
    )


@functools.cache
def booleans(depth: int) -> st.SearchStrategy[Gen]:
    leaf = _sample(BOOLEAN_ATOMS)
    if depth == 0:
        return leaf
    n, c, t, b = numbers(depth - 1), calculates(depth - 1), texts(depth - 1), booleans(depth - 1)
    numeric = st.one_of(n, n, c)
    equality = st.sampled_from(["=", "!="])
    relation = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])

    def compare(op_and_sides: tuple[str, Gen, Gen]) -> Gen:
        op, left, right = op_and_sides
        return _combine("({} " + op + " {})", left, right)

    return st.one_of(
        leaf,
        st.tuples(relation, numeric, numeric).map(compare),
        st.tuples(relation, numeric, _sample(NUMERIC_TEXTS)).map(compare),
        st.tuples(equality, st.one_of(t, c), st.one_of(t, c)).map(compare),
        st.tuples(equality, _sample(("${s}", "${m}")), _sample(("1", "2", "0.5"))).map(compare),
        st.tuples(equality, b, st.one_of(b, n, t, c)).map(compare),
        _form("({} and {})", b, b),
        _form("({} or {})", b, b),
        _form("not({})", st.one_of(b, n, t, c)),
        _form("selected({}, {})", st.one_of(t, c), _sample(SEARCHED)),
        _form("contains({}, {})", st.one_of(t, c), _sample(SEARCHED)),
        _form("starts-with({}, {})", st.one_of(t, c), _sample(SEARCHED)),
        _form("if({}, {}, {})", b, b, b),
    )


EXPRESSIONS = st.one_of(numbers(3), calculates(2), texts(2), booleans(3))


@settings(max_examples=150, deadline=None)
@given(generated=EXPRESSIONS)
def test_random_expressions_agree_with_the_evaluator(backend: Backend, generated: Gen) -> None:
    problems = mismatches(backend, generated.source, skip=generated.all())
    assert not problems, f"{generated.source}\n" + "\n".join(problems)
