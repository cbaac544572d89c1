"""The function registry and each function's semantics."""

from __future__ import annotations

import datetime
import math
import re

import pytest

from survey_service.expressions import FUNCTIONS, Value, evaluator, parse, sql
from tests.helpers import ALMATY, ALMATY_NOW, ROOT, FakeContext, ev, same

# --------------------------------------------------------------------------- functions


def test_allowed_functions_are_the_documented_list() -> None:
    # the registry is the one list; the format's documentation must name each of its functions
    text = (ROOT / "docs" / "questionnaire-format.md").read_text(encoding="utf-8")
    paragraph = text.split("and these functions:", 1)[1].split("\n\n", 2)[1]
    documented = re.findall(r"`([a-z:-]+)`", paragraph)
    assert sorted(FUNCTIONS) == sorted(documented)
    for function in FUNCTIONS.values():
        assert function.most is None or function.least <= function.most


def test_the_evaluator_implements_every_function_of_the_registry() -> None:
    assert set(evaluator.SPECIAL_FORMS) <= set(FUNCTIONS)
    for name, function in FUNCTIONS.items():
        assert function.implementation is not None or name in evaluator.SPECIAL_FORMS, name


def test_the_sql_compiler_compiles_exactly_the_functions_the_registry_marks_sql() -> None:
    marked = [name for name, function in FUNCTIONS.items() if function.sql]
    assert sorted(sql.FUNCTION_SQL) == sorted(marked)
    assert list(sql.SUPPORTED_FUNCTIONS) == marked
    assert not any(function.sql and function.repeats for function in FUNCTIONS.values())


def test_functions_the_registry_marks_boolean_give_booleans() -> None:
    for name, function in FUNCTIONS.items():
        if function.returns_bool:
            arguments = ", ".join(["'a'"] * function.least)
            assert type(parse(f"{name}({arguments})").evaluate(FakeContext())) is bool, name


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("if(true(), 'a', 'b')", {}, "a"),
        ("if(false(), 'a', 'b')", {}, "b"),
        ("if(${x}, 'a', 'b')", {}, "b"),
        ("if(${x}, 'a', 'b')", {"x": "0"}, "a"),
        ("if(${x} > 1, 1, 2) + 1", {"x": 5}, 2),
        ("if(1, 1 div 0, 0)", {}, math.inf),
        ("not(true())", {}, False),
        ("not(${x})", {}, True),
        ("not(${x} = 'a')", {"x": "a"}, False),
        ("not(0 div 0)", {}, True),
        ("true()", {}, True),
        ("false()", {}, False),
        # select_multiple answers are space-separated strings
        ("selected(${s}, 'b')", {"s": "a b c"}, True),
        ("selected(${s}, ' b ')", {"s": "a b c"}, True),
        ("selected(${s}, 'd')", {"s": "a b c"}, False),
        ("selected(${s}, 'a b')", {"s": "a b c"}, False),
        ("selected(${s}, '')", {"s": "a b c"}, False),
        ("selected(${s}, 'a')", {}, False),
        ("selected(${s}, 'ab')", {"s": "a b"}, False),
        ("selected(${s}, 1)", {"s": "1 2"}, True),
        ("count-selected(${s})", {"s": "a b c"}, 3),
        ("count-selected(${s})", {"s": "  a   b "}, 2),
        ("count-selected(${s})", {"s": ""}, 0),
        ("count-selected(${s})", {}, 0),
        ("selected-at(${s}, 0)", {"s": "a b c"}, "a"),
        ("selected-at(${s}, 2)", {"s": "a b c"}, "c"),
        ("selected-at(${s}, 1.9)", {"s": "a b c"}, "b"),
        ("selected-at(${s}, 3)", {"s": "a b c"}, ""),
        ("selected-at(${s}, -1)", {"s": "a b c"}, ""),
        ("selected-at(${s}, 'x')", {"s": "a b c"}, ""),
        ("selected-at(${s}, 1 div 0)", {"s": "a b c"}, ""),
        ("selected-at(${s}, 0)", {}, ""),
        ("string-length('héllo')", {}, 5),
        ("string-length(${x})", {}, 0),
        ("string-length(12.50)", {}, 4),
        ("string-length(${x})", {"x": ["abc", "de"]}, 3),
        ("contains('abcdef', 'cd')", {}, True),
        ("contains('abcdef', 'CD')", {}, False),
        ("contains('abc', '')", {}, True),
        ("contains(${x}, 'a')", {}, False),
        ("starts-with('abcdef', 'ab')", {}, True),
        ("starts-with('abcdef', 'b')", {}, False),
        ("starts-with(123, 12)", {}, True),
        ("concat('a')", {}, "a"),
        ("concat('a', 'b', 'c')", {}, "abc"),
        ("concat(${x}, '-', 1, '-', true(), '-', 2.50)", {}, "-1-true-2.5"),
        ("concat(${names})", {"names": ["a", "b", "c"]}, "abc"),
        ("concat('<', ${names}, '>')", {"names": ["a", "b"]}, "<ab>"),
        ("concat(${d})", {"d": datetime.date(2024, 1, 2)}, "2024-01-02"),
        ("coalesce(${x}, 'default')", {}, "default"),
        ("coalesce(${x}, 'default')", {"x": ""}, "default"),
        ("coalesce(${x}, 'default')", {"x": "given"}, "given"),
        ("coalesce(${x}, 'default')", {"x": 0}, 0),
        ("coalesce(0 div 0, 7)", {}, 7),
        ("coalesce(${x}, 'd')", {"x": []}, "d"),
        ("coalesce(${x}, 'd')", {"x": ["", "b"]}, "d"),
        ("coalesce(${x}, ${y})", {}, None),
        ("int(2.7)", {}, 2),
        ("int(-2.7)", {}, -2),
        ("int('12.9')", {}, 12),
        ("int(${x})", {}, math.nan),
        ("int(1 div 0)", {}, math.inf),
        ("int(true())", {}, 1),
        ("number('12.5')", {}, 12.5),
        ("number(${x})", {}, math.nan),
        ("number(true())", {}, 1.0),
        ("number(date('1970-01-31'))", {}, 30.0),
        ("string(12)", {}, "12"),
        ("string(12.0)", {}, "12"),
        ("string(1 div 3)", {}, "0.3333333333333333"),
        ("string(${x})", {}, ""),
        ("string(false())", {}, "false"),
        ("string(0 div 0)", {}, "NaN"),
        ("round(2.5)", {}, 3.0),
        ("round(2.4)", {}, 2.0),
        ("round(-2.5)", {}, -3.0),  # halves away from zero
        ("round(-2.4)", {}, -2.0),
        ("round(2.675, 2)", {}, 2.68),  # on the shortest decimal, not the binary value
        ("round(1.005, 2)", {}, 1.01),
        ("round(1234.5678, 1)", {}, 1234.6),
        ("round(1234.5678, -2)", {}, 1200.0),
        ("round(1250, -2)", {}, 1300.0),
        ("round(${x})", {}, math.nan),
        ("round(1 div 0)", {}, math.inf),
        ("round(2.5, 'x')", {}, 3.0),
        ("round(2.5, 31)", {}, math.nan),
        ("round(2.5, -31)", {}, math.nan),
        ("round(${x}, 2)", {"x": 1e308}, 1e308),
        ("round(${x}, 2)", {"x": 1e-300}, 0.0),
        ("round(0.000001234, 8)", {}, 0.00000123),
        ("date('2024-02-29')", {}, datetime.date(2024, 2, 29)),
        ("date(' 2024-02-29 ')", {}, datetime.date(2024, 2, 29)),
        ("date('2023-02-29')", {}, None),
        ("date('29/02/2024')", {}, None),
        ("date('')", {}, None),
        ("date(${x})", {}, None),
        ("date(0)", {}, datetime.date(1970, 1, 1)),
        ("date(-1)", {}, datetime.date(1969, 12, 31)),
        ("date(19849.9)", {}, datetime.date(2024, 5, 6)),
        ("date(1 div 0)", {}, None),
        ("date(1000000000)", {}, None),
        ("date(true())", {}, None),
        (
            "date('2024-05-06T10:00:00+05:00')",
            {},
            datetime.datetime(2024, 5, 6, 10, tzinfo=ALMATY),
        ),
        ("date(${t})", {"t": ALMATY_NOW}, datetime.date(2024, 5, 6)),
        ("date(${d})", {"d": datetime.date(2024, 5, 6)}, datetime.date(2024, 5, 6)),
        ("decimal-date-time('1970-01-02T12:00:00Z')", {}, 1.5),
        ("decimal-date-time('1970-01-02T12:00:00.000+06:00')", {}, 1.25),
        ("decimal-date-time('1970-01-03')", {}, 2.0),
        ("decimal-date-time(2.25)", {}, 2.25),
        ("decimal-date-time(${x})", {}, None),
        ("decimal-date-time('')", {}, None),
        ("decimal-date-time('garbage')", {}, math.nan),
        (
            "decimal-date-time(${t})",
            {"t": datetime.datetime(1970, 1, 1, 6, tzinfo=datetime.UTC)},
            0.25,
        ),
        ("count(${r})", {"r": [1, None, "x"]}, 3),
        ("count(${r})", {"r": []}, 0),
        ("count(${r})", {}, 0),
        ("count(${r})", {"r": "single"}, 1),
        ("count(${r})", {"r": [[1, 2], [3]]}, 3),
        ("sum(${r})", {"r": [1, 2, 3]}, 6),
        ("sum(${r})", {"r": [1, 2.5]}, 3.5),
        ("sum(${r})", {"r": ["1", "2"]}, 3),
        ("sum(${r})", {"r": [1, None, "", "x", 2]}, 3),  # JavaRosa skips what is not a number
        ("sum(${r})", {"r": []}, 0),
        ("sum(${r})", {}, 0),
        ("sum(${r})", {"r": 5}, 5),
        ("sum(${r})", {"r": [10**400, 1.5]}, math.inf),
        ("max(${r})", {"r": [3, 9, 2]}, 9),
        ("max(${r})", {"r": [3, None, "", 2]}, 3),
        ("max(${r})", {"r": []}, math.nan),
        ("max(${r})", {}, math.nan),
        ("max(1, '5', 3)", {}, 5),
        ("max(${r}, 10)", {"r": [3, 9]}, 10),
        ("min(${r})", {"r": [3, 9, 2]}, 2),
        ("min(${r})", {"r": ["x"]}, math.nan),
        ("min(1, -2.5, 3)", {}, -2.5),
        ("min(${a}, ${b})", {"a": 4}, 4),
    ],
)
def test_functions(source: str, values: dict[str, Value], expected: Value) -> None:
    assert same(ev(source, **values), expected), ev(source, **values)


def test_date_functions_use_the_context_clock() -> None:
    assert ev("today()") == datetime.date(2024, 5, 6)
    assert ev("now()") == ALMATY_NOW
    assert ev("string(today())") == "2024-05-06"
    assert ev("string(now())") == "2024-05-06T23:30:00.000+05:00"
    expected = (
        ALMATY_NOW - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    ).total_seconds() / 86400
    assert ev("decimal-date-time(now())") == pytest.approx(expected)
    assert ev("decimal-date-time(today())") == 19849.0
    assert ev("int(decimal-date-time(now()))") == 19849


def test_position_reads_the_repeat_index() -> None:
    expr = parse("position(..)")
    assert expr.evaluate(FakeContext(position=3)) == 3
    expr = parse("(position(..) = 1 and . = 'head') or (position(..) > 1 and . != 'head')")
    assert expr.evaluate_bool(FakeContext(current="head", position=1)) is True
    assert expr.evaluate_bool(FakeContext(current="head", position=2)) is False
    assert expr.evaluate_bool(FakeContext(current="child", position=2)) is True
    assert parse("position( .. )").evaluate(FakeContext(position=2)) == 2


def test_choice_name() -> None:
    labels = {("country", "KZ"): "Kazakhstan"}
    expr = parse("jr:choice-name(${country}, '${country}')")
    assert expr.references == {"country"}
    assert expr.functions == {"jr:choice-name"}
    assert expr.evaluate(FakeContext({"country": "KZ"}, labels=labels)) == "Kazakhstan"
    assert expr.evaluate(FakeContext({"country": "XX"}, labels=labels)) == ""
    assert expr.evaluate(FakeContext({}, labels=labels)) == ""
    other = parse('jr:choice-name(., " ${hazard} ")')
    assert other.references == {"hazard"}
    assert other.uses_current
    labels = {("hazard", "1"): "Flood"}
    assert other.evaluate(FakeContext(current=1, labels=labels)) == "Flood"


def test_choice_filter_bare_names() -> None:
    expr = parse("country = ${country} and (kind = 'x' or kind = '')")
    assert expr.bare_names == {"country", "kind"}
    assert expr.references == {"country"}
    ctx = FakeContext({"country": "KZ"}, properties={"country": "KZ", "kind": "x"})
    assert expr.evaluate_bool(ctx) is True
    ctx = FakeContext({"country": "KZ"}, properties={"country": "KG"})
    assert expr.evaluate_bool(ctx) is False
