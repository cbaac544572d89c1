"""The XLSForm expression language: grammar, XPath/ODK value semantics, errors, robustness."""

from __future__ import annotations

import datetime
import inspect
import math
import re
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from survey_service.build import is_compiled
from survey_service.expressions import evaluator as expressions
from survey_service.expressions.evaluator import (
    ALLOWED_FUNCTIONS,
    Expression,
    ExpressionError,
    Value,
    _regex_matcher,
    parse,
    to_boolean,
    to_number,
    to_string,
)

ALMATY = datetime.timezone(datetime.timedelta(hours=5))
NOW = datetime.datetime(2024, 5, 6, 23, 30, tzinfo=ALMATY)  # 18:30 UTC, so today is 2024-05-06


class FakeContext:
    """The smallest EvalContext: answers by name, '.', a repeat position, labels, properties."""

    def __init__(
        self,
        values: dict[str, Value] | None = None,
        current: Value = None,
        position: int = 1,
        labels: dict[tuple[str, str], str] | None = None,
        properties: dict[str, Value] | None = None,
        now: datetime.datetime = NOW,
    ) -> None:
        self.values = values or {}
        self._current = current
        self._position = position
        self.labels = labels or {}
        self.properties = properties or {}
        self._now = now

    def resolve(self, name: str) -> Value:
        return self.values.get(name)

    def current(self) -> Value:
        return self._current

    def position(self) -> int:
        return self._position

    def choice_label(self, question: str, value: str) -> str:
        return self.labels.get((question, value), "")

    def choice_property(self, name: str) -> Value:
        return self.properties.get(name)

    def now(self) -> datetime.datetime:
        return self._now


def ev(source: str, current: Value = None, **values: Value) -> Value:
    return parse(source).evaluate(FakeContext(values, current))


def ev_bool(source: str, current: Value = None, **values: Value) -> bool:
    return parse(source).evaluate_bool(FakeContext(values, current))


def same(actual: Value, expected: Value) -> bool:
    """Equality where NaN equals NaN, a bool only equals a bool, and 3 equals 3.0."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    return actual == expected


def syntax_error(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    return info.value


# --------------------------------------------------------------------------- literals, grammar


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("3", 3),
        ("2.5", 2.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("0012", 12),
        ("1234567890123456789", 1.2345678901234568e18),
        ("'single'", "single"),
        ('"double"', "double"),
        ("'say \"hi\"'", 'say "hi"'),
        ('"it\'s"', "it's"),
        ("''", ""),
        ("'  spaced  '", "  spaced  "),
        (r"'back\slash'", "back\\slash"),
    ],
)
def test_literals(source: str, expected: Value) -> None:
    assert same(ev(source), expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("2 * 3 div 4", 1.5),
        ("7 mod 4 * 2", 6),
        ("2 + 7 mod 4", 5),
        ("-2 * 3", -6),
        ("- -3", 3),
        ("--3", 3),
        ("- - - 3", -3),
        ("-(1 + 2)", -3),
        ("1 - -1", 2),
        ("3-1", 2),
        ("1 + 2 = 3", True),
        ("1 < 2 = true()", True),
        ("2 > 1 = 1 > 2", False),
        ("1 = 1 and 2 = 3", False),
        ("1 = 1 or 2 = 3", True),
        ("1 = 2 and 1 = 1 or 1 = 1", True),
        ("1 = 1 or 1 = 1 and 1 = 2", True),
        ("(1 = 1 or 1 = 1) and 1 = 2", False),
        ("1 < 2 < 3", True),  # (1 < 2) < 3 is true() < 3 is 1 < 3
        ("3 > 2 > 1", False),  # (3 > 2) > 1 is 1 > 1
        ("1 = 1 = 1", True),
        ("1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10", 55),
        ("2 * 3 * 4 div 8", 3.0),
        ("1 != 2 != false()", True),
        ("1 <= 1 and 1 >= 1 and 0 < 1 and 1 > 0", True),
        ("5 div 2", 2.5),
        ("6 div 2", 3.0),
        ("0 or 0 or 0 or 1", True),
        ("1 and 1 and 1 and 0", False),
    ],
)
def test_operators_and_precedence(source: str, expected: Value) -> None:
    assert same(ev(source), expected), ev(source)


def test_integer_arithmetic_stays_integer() -> None:
    assert type(ev("2 + 3")) is int
    assert type(ev("2 * 3 - 1")) is int
    assert type(ev("7 mod 3")) is int
    assert type(ev("6 div 3")) is float
    assert type(ev("2 + 0.5")) is float
    assert ev("${n} * 2", n=21) == 42


def test_operator_names_are_names_in_operand_position() -> None:
    expr = parse("div div div")
    assert expr.bare_names == {"div"}
    ctx = FakeContext(properties={"div": 10})
    assert expr.evaluate(ctx) == 1.0
    expr = parse("and or or")
    assert expr.bare_names == {"and", "or"}
    assert expr.evaluate(FakeContext(properties={"and": "", "or": "x"})) is True
    assert parse("mod mod 3").evaluate(FakeContext(properties={"mod": 7})) == 1
    assert parse("(and) and 1").bare_names == {"and"}


def test_hyphens_and_dots_belong_to_names() -> None:
    assert parse("${hh-size} - 1").references == {"hh-size"}
    assert ev("${hh-size} - 1", **{"hh-size": 4}) == 3
    assert ev("${a}-1", a=4) == 3
    assert parse("x-1").bare_names == {"x-1"}
    assert parse("${a.b_c-d}").references == {"a.b_c-d"}
    assert parse("first.name = 'x'").bare_names == {"first.name"}


def test_whitespace_is_free() -> None:
    assert ev(" \t1\n+\r\n2 ") == 3
    assert ev("concat ( 'a' , 'b' )") == "ab"
    assert ev("if(\n true(),\n 'y',\n 'n'\n)") == "y"


def test_long_chains_do_not_recurse() -> None:
    source = " + ".join(["1"] * 3000)
    assert ev(source) == 3000
    source = " and ".join(["${a} = 1"] * 2000)
    assert ev_bool(source, a=1) is True
    source = " or ".join(["${a} = 1"] * 2000)
    assert ev_bool(source, a=2) is False
    assert ev(" - ".join(["1"] * 1000)) == -998
    assert ev("-" * 1001 + "1") == -1


# --------------------------------------------------------------------------- value semantics


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("abc", "abc"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-17, "-17"),
        (3.0, "3"),
        (-0.0, "0"),
        (2.5, "2.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-7, "0.0000001"),
        (1.5e-10, "0.00000000015"),
        (1e21, "1000000000000000000000"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (datetime.date(2024, 1, 2), "2024-01-02"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=ALMATY), "2024-01-02T03:04:05.000+05:00"),
        ([], ""),
        (["a", "b"], "a"),
        ([[], "x"], ""),
        ([[3, 4], 5], "3"),
    ],
)
def test_to_string(value: Value, expected: str) -> None:
    assert to_string(value) == expected


def test_to_string_of_huge_integers() -> None:
    assert to_string(10**400) == "1" + "0" * 400
    assert to_string(10**5000) == "Infinity"  # beyond what int -> str allows
    assert to_string(-(10**5000)) == "-Infinity"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, math.nan),
        ("", math.nan),
        ("12", 12.0),
        (" 12 ", 12.0),
        ("\t-3.5\n", -3.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("-", math.nan),
        ("1e5", math.nan),
        ("+1", math.nan),
        ("1,5", math.nan),
        ("Infinity", math.nan),
        ("NaN", math.nan),
        ("١٢", math.nan),  # Arabic-Indic digits are not XPath digits
        ("abc", math.nan),
        ("2024-01-02", math.nan),  # number() does not read dates; the operators do
        (True, 1.0),
        (False, 0.0),
        (7, 7.0),
        (2.5, 2.5),
        (datetime.date(1970, 1, 11), 10.0),
        (datetime.date(1969, 12, 31), -1.0),
        (datetime.datetime(1970, 1, 2, 12, tzinfo=datetime.UTC), 1.5),
        (datetime.datetime(1970, 1, 2, 17, tzinfo=ALMATY), 1.5),
        (datetime.datetime(1970, 1, 2, 12), 1.5),  # naive date-times are taken as UTC
        ([], math.nan),
        (["4", "5"], 4.0),
        (10**400, math.inf),
        (-(10**400), -math.inf),
    ],
)
def test_to_number(value: Value, expected: float) -> None:
    result = to_number(value)
    assert type(result) is float
    assert same(result, expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        (" ", True),
        ("false", True),
        ("0", True),
        (0, False),
        (0.0, False),
        (-0.0, False),
        (math.nan, False),
        (2, True),
        (-0.5, True),
        (math.inf, True),
        (True, True),
        (False, False),
        (datetime.date(2024, 1, 1), True),
        (NOW, True),
        ([], False),
        ([None], True),
        ([""], True),
    ],
)
def test_to_boolean(value: Value, expected: bool) -> None:
    assert to_boolean(value) is expected


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        # empty answers
        ("${x} = ''", {}, True),
        ("${x} != ''", {}, False),
        ("${x} = ''", {"x": ""}, True),
        ("${x} = ''", {"x": "a"}, False),
        ("${x} = 0", {}, False),
        ("${x} != 0", {}, True),
        ("${x} < 1", {}, False),
        ("${x} >= 1", {}, False),
        ("${x} = ${y}", {}, True),
        # strings
        ("${x} = 'yes'", {"x": "yes"}, True),
        ("${x} = 'yes'", {"x": "Yes"}, False),
        ("${x} != 'yes'", {"x": "no"}, True),
        ("'abc' < 'abd'", {}, False),  # relational operators compare numbers
        ("'10' > '9'", {}, True),
        ("'10' = '10.0'", {}, False),  # = compares strings as strings
        # numbers against strings
        ("${x} = '5'", {"x": 5}, True),
        ("${x} = 5", {"x": "5"}, True),
        ("${x} = 5", {"x": " 5.0 "}, True),
        ("${x} = 5", {"x": "five"}, False),
        ("${x} != 5", {"x": "five"}, True),
        ("${x} > 4", {"x": "5"}, True),
        ("${x} > ${y}", {"x": "10", "y": "9"}, True),
        ("3 = 3.0", {}, True),
        ("${x} = 3", {"x": 3.0}, True),
        ("${x} = 3.0", {"x": 3}, True),
        ("0.1 + 0.2 = 0.3", {}, True),  # JavaRosa's tolerance
        ("0.1 + 0.2 != 0.3", {}, False),
        ("${x} = 0.3", {"x": 0.1 + 0.2}, True),
        ("1 div 0 = 1 div 0", {}, True),
        ("0 div 0 = 0 div 0", {}, False),
        ("0 div 0 != 0 div 0", {}, True),
        # booleans
        ("${x} = true()", {"x": "yes"}, True),
        ("${x} = true()", {"x": ""}, False),
        ("${x} = false()", {}, True),
        ("true() = 1", {}, True),
        ("true() = 2", {}, True),
        ("false() = 'false'", {}, False),  # 'false' is a non-empty string: true
        ("true() > false()", {}, True),
        ("${x} = 1", {"x": True}, True),
        # dates
        ("${d} = '2024-01-02'", {"d": datetime.date(2024, 1, 2)}, True),
        ("'2024-01-02' = ${d}", {"d": datetime.date(2024, 1, 2)}, True),
        ("${d} != '2024-01-02'", {"d": datetime.date(2024, 1, 3)}, True),
        ("${d} < '2024-01-03'", {"d": datetime.date(2024, 1, 2)}, True),
        ("${d} < ${e}", {"d": "2024-01-02", "e": "2024-01-03"}, True),
        ("${d} >= date('2014-01-01')", {"d": datetime.date(2013, 12, 31)}, False),
        ("${d} <= today()", {"d": datetime.date(2024, 5, 6)}, True),
        ("${d} <= today()", {"d": datetime.date(2024, 5, 7)}, False),
        ("${d} < now()", {"d": datetime.date(2024, 5, 6)}, True),
        ("${d} = 19849", {"d": datetime.date(2024, 5, 6)}, True),
        ("${d} = ''", {"d": datetime.date(2024, 5, 6)}, False),
        ("${d} > 'not a date'", {"d": datetime.date(2024, 5, 6)}, False),
        ("${d} = '2024-01-02'", {"d": datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)}, True),
        ("${t} > ${u}", {"t": "2024-01-02T10:00:00+05:00", "u": "2024-01-02T06:00:00Z"}, False),
        ("${t} < ${u}", {"t": "2024-01-02T10:00:00+05:00", "u": "2024-01-02T06:00:00Z"}, True),
    ],
)
def test_comparisons(source: str, values: dict[str, Value], expected: bool) -> None:
    assert ev(source, **values) is expected


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("${ages} > 60", {"ages": [30, 65]}, True),
        ("${ages} > 70", {"ages": [30, 65]}, False),
        ("${ages} < 40", {"ages": [30, 65]}, True),
        ("${ages} = 65", {"ages": [30, 65]}, True),
        ("${ages} != 65", {"ages": [30, 65]}, True),
        ("${ages} != 65", {"ages": [65, 65]}, False),
        ("${ages} = 1", {"ages": []}, False),
        ("${ages} != 1", {"ages": []}, False),
        ("${ages} = ''", {"ages": []}, False),
        ("${names} = 'b'", {"names": ["a", "b"]}, True),
        ("'b' = ${names}", {"names": ["a", "b"]}, True),
        ("${a} = ${b}", {"a": [1, 2], "b": [2, 3]}, True),
        ("${a} = ${b}", {"a": [1, 2], "b": [3, 4]}, False),
        ("${a} < ${b}", {"a": [5, 9], "b": [1, 6]}, True),
        ("${a} = true()", {"a": []}, False),
        ("${a} = false()", {"a": []}, True),
        ("${a} = true()", {"a": [""]}, True),  # a non-empty node-set is true
        ("true() = ${a}", {"a": [0]}, True),
        ("${a} = 3", {"a": [[1, 2], [3]]}, True),  # nested node-sets are flattened
    ],
)
def test_node_set_comparisons_are_existential(
    source: str, values: dict[str, Value], expected: bool
) -> None:
    assert ev(source, **values) is expected


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("1 div 0", {}, math.inf),
        ("-1 div 0", {}, -math.inf),
        ("1 div -0", {}, -math.inf),
        ("0 div 0", {}, math.nan),
        ("${x} div 0", {}, math.nan),
        ("5 mod 3", {}, 2),
        ("-5 mod 3", {}, -2),
        ("5 mod -3", {}, 2),
        ("-5 mod -3", {}, -2),
        ("5.5 mod 2", {}, 1.5),
        ("-5.5 mod 2", {}, -1.5),
        ("5 mod 0", {}, math.nan),
        ("5.5 mod 0", {}, math.nan),
        ("(1 div 0) mod 2", {}, math.nan),
        ("5 mod (1 div 0)", {}, 5.0),
        ("${x} + 1", {}, math.nan),
        ("${x} + 1", {"x": ""}, math.nan),
        ("${x} + 1", {"x": "abc"}, math.nan),
        ("${x} + 1", {"x": "41"}, 42),
        ("${x} + 1", {"x": True}, 2),
        ("${x} * 2", {"x": [4, 5]}, 8),
        ("${x} * 2", {"x": []}, math.nan),
        ("-${x}", {"x": "abc"}, math.nan),
        ("-${x}", {"x": "2"}, -2),
        ("--${x}", {"x": "2"}, 2),
        ("${big} * 10", {"big": 10**400}, 10**401),
        ("${big} + 0.5", {"big": 10**400}, math.inf),
        ("${big} div 2", {"big": 10**400}, math.inf),
        ("${big} mod 7", {"big": 10**400}, 10**400 % 7),
        ("(1 div 0) - (1 div 0)", {}, math.nan),
    ],
)
def test_arithmetic_edges(source: str, values: dict[str, Value], expected: Value) -> None:
    assert same(ev(source, **values), expected)


def test_date_arithmetic_counts_days() -> None:
    dob = datetime.date(2000, 5, 6)
    assert ev("today() - ${dob}", dob=dob) == (datetime.date(2024, 5, 6) - dob).days
    assert ev("(today() - ${dob}) div 365.25 >= 18", dob=dob) is True
    assert ev("${dob} + 1", dob=dob) == (dob - datetime.date(1970, 1, 1)).days + 1
    assert ev("date(${dob} + 1)", dob=dob) == datetime.date(2000, 5, 7)
    assert ev("today() - '2024-05-01'") == 5
    assert ev("'2024-05-02' - '2024-05-01'") == 1
    assert ev("now() - today()") == pytest.approx(18.5 / 24)  # 18:30 UTC on the same day
    assert same(ev("today() - ${missing}"), math.nan)


# --------------------------------------------------------------------------- functions


def test_allowed_functions_are_the_documented_list() -> None:
    documented = [
        "if",
        "not",
        "true",
        "false",
        "selected",
        "count-selected",
        "selected-at",
        "string-length",
        "regex",
        "contains",
        "starts-with",
        "concat",
        "coalesce",
        "int",
        "number",
        "string",
        "round",
        "today",
        "now",
        "date",
        "decimal-date-time",
        "position",
        "count",
        "sum",
        "max",
        "min",
        "jr:choice-name",
    ]  # docs/questionnaire-format.md
    assert sorted(ALLOWED_FUNCTIONS) == sorted(documented)
    for least, most in ALLOWED_FUNCTIONS.values():
        assert most is None or least <= most


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
        ("date(${t})", {"t": NOW}, datetime.date(2024, 5, 6)),
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
    assert ev("now()") == NOW
    assert ev("string(today())") == "2024-05-06"
    assert ev("string(now())") == "2024-05-06T23:30:00.000+05:00"
    expected = (NOW - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)).total_seconds() / 86400
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


# --------------------------------------------------------------------------- regex()


@pytest.mark.parametrize(
    ("subject", "pattern", "expected"),
    [
        ("HH-00123", "^[A-Za-z0-9-]{1,20}$", True),
        ("HH 00123", "^[A-Za-z0-9-]{1,20}$", False),
        ("", "^[A-Za-z0-9-]{1,20}$", False),
        ("abc", "b", True),  # re.search: anywhere
        ("abc", "^b", False),
        ("abc", "c$", True),
        ("abc\n", "c$", True),  # $ matches before a final newline, as in Python
        ("abc\n", r"c\Z", False),
        ("a\nb", "^b", False),
        ("a\nb", "(?m)^b", True),
        ("a\nb", "a.b", False),
        ("a\nb", "(?s)a.b", True),
        ("ABC", "abc", False),
        ("ABC", "(?i)abc", True),
        ("ABC", "(?i:a)BC", True),
        ("ABC", "[a-c]+", False),
        ("ABC", "(?i)[a-c]{3}", True),
        ("+996 555 123 4567", r"^\+?[0-9 ]{7,15}$", False),
        ("+996555123456", r"^\+?[0-9]{7,15}$", True),
        ("٣٤٥", r"^\d+$", True),  # \d is Unicode in Python
        ("٣٤٥", r"(?a)^\d+$", False),
        ("Жанар", r"^\w+$", True),
        ("cat dog", r"\bdog\b", True),
        ("catdog", r"\bdog\b", False),
        ("catdog", r"\Bdog", True),
        ("", r"\b", False),
        ("", r"\B", False),
        ("", "", True),
        ("", "^$", True),
        ("x", "a|x", True),
        ("price: 100", r"(?<=: )\d+", True),
        ("price 100", r"(?<=: )\d+", False),
        ("price 100", r"(?<!: )\b\d+", True),
        ("abc1", r"^(?=.*\d)(?=.*[a-z]).{4,}$", True),
        ("abcd", r"^(?=.*\d)(?=.*[a-z]).{4,}$", False),
        ("foobar", "foo(?!bar)", False),
        ("foobaz", "foo(?!bar)", True),
        ("aaa", "a{2}", True),
        ("a", "a{2}", False),
        ("aaaa", "^a{2,3}$", False),
        ("ab", "a*?b", True),
        ("a]b", r"a[]]b", True),
        ("a-b", r"a[\-x]b", True),
        ("tab\there", r"\s", True),
        ("x", "[^x]", False),
        ("X", "(?i)[^x]", False),
        ("y", "(?i)[^x]", True),
        ("(?P<n>a)", "(?P<n>a)", True),
    ],
)
def test_regex_has_python_search_semantics(subject: str, pattern: str, expected: bool) -> None:
    assert (re.search(pattern, subject) is not None) is expected  # the premise
    expr = parse("regex(${s}, ${p})")
    assert expr.evaluate(FakeContext({"s": subject, "p": pattern})) is expected
    literal = pattern.replace("'", "")
    if literal == pattern:
        assert parse(f"regex(${{s}}, '{pattern}')").evaluate(FakeContext({"s": subject})) is (
            expected
        )


def test_regex_converts_its_arguments() -> None:
    assert ev("regex(${x}, '^$')") is True
    assert ev("regex(${x}, '^[0-9]+$')", x=123) is True
    assert ev("regex(${x}, '^1.5$')", x=1.5) is True
    assert ev("regex(${x}, '^2024-01-02$')", x=datetime.date(2024, 1, 2)) is True
    assert ev("regex(${x}, 'b')", x=["abc", "x"]) is True


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"^(a+)+$", False),
        (r"^(a|a)*$", False),
        (r"^(a|aa)+$", False),
        (r"(x+x+)+y", False),
        (r"^(\w+\s?)*$", False),
        (r"^(a*)*$", False),
        (r"(.*a){12}", True),
        (r"(a+)+!", True),
    ],
)
def test_regex_catastrophic_patterns_finish(pattern: str, expected: bool) -> None:
    """Each of these takes re.search longer than the universe's age on this answer."""
    subject = "a" * 5000 + "!"
    assert parse(f"regex(${{s}}, '{pattern}')").evaluate(FakeContext({"s": subject})) is expected


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("(", "invalid regular expression"),
        ("[a-", "invalid regular expression"),
        ("a{2,1}", "invalid regular expression"),
        ("*a", "invalid regular expression"),
        (r"(?<=a+)b", "invalid regular expression"),  # look-behind must have a fixed width
        (r"(a)\1", "backreferences"),
        (r"(?P<x>a)(?P=x)", "backreferences"),
        (r"(a)?(?(1)b|c)", "conditional groups"),
        (r"(?>a+)b", "atomic groups"),
        (r"a++b", "possessive quantifiers"),
        (r"(?:a{1000}){1000}", "too complex"),
        ("(?=" * 12 + "a" + ")" * 12, "too complex"),
    ],
)
def test_regex_bad_literal_patterns_fail_at_parse_time(pattern: str, fragment: str) -> None:
    source = f"regex(., '{pattern}')"
    error = syntax_error(source)
    assert error.code == "syntax"
    assert fragment in error.message
    assert error.position == source.index("'")
    # the same pattern coming from data never raises: the answer just does not match
    assert ev("regex('aab', ${p})", p=pattern) is False


def test_regex_deeply_nested_patterns_do_not_crash() -> None:
    pattern = "(" * 400 + "a" + ")" * 400
    assert ev("regex('a', ${p})", p=pattern) in (True, False)
    pattern = "(?:" * 2000 + "a" + ")" * 2000
    assert ev("regex('a', ${p})", p=pattern) in (True, False)


def _pattern_strategy() -> st.SearchStrategy[str]:
    atoms = st.sampled_from(
        ["a", "b", "A", ".", "[ab]", "[^a]", r"\d", r"\w", r"\s", r"\W", "1", " ", r"\n"]
    )
    anchors = st.sampled_from(["^", "$", r"\A", r"\Z", r"\b", r"\B"])
    lookbehind = st.sampled_from(["a", "b", "[ab]", r"\w", "ab"]).map(
        lambda inner: "(?<=" + inner + ")"
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        quantifier = st.sampled_from(["*", "+", "?", "{2}", "{1,3}", "{0,2}", "*?", "+?", "??"])
        return st.one_of(
            st.tuples(inner, inner).map("".join),
            st.tuples(inner, inner).map(lambda p: f"(?:{p[0]}|{p[1]})"),
            inner.map(lambda p: f"({p})"),
            st.tuples(inner, quantifier).map(lambda p: f"(?:{p[0]}){p[1]}"),
            inner.map(lambda p: f"(?={p})"),
            inner.map(lambda p: f"(?!{p})"),
            lookbehind,
            inner.map(lambda p: f"(?i:{p})"),
        )

    body = st.recursive(st.one_of(atoms, anchors), extend, max_leaves=8)
    flags = st.sampled_from(["", "(?i)", "(?m)", "(?s)", "(?ms)", "(?a)"])
    return st.tuples(flags, body).map("".join)


@settings(max_examples=400, deadline=None, database=None)
@given(pattern=_pattern_strategy(), subject=st.text(alphabet="abAB1 _\n٣", max_size=10))
def test_regex_agrees_with_re_search(pattern: str, subject: str) -> None:
    matcher = _matcher_of_valid(pattern)
    assert matcher(subject) is (re.search(pattern, subject) is not None)


def _matcher_of_valid(pattern: str) -> Callable[[str], bool]:
    """The matcher of a pattern `re` compiles (other examples are discarded)."""
    try:
        re.compile(pattern)
    except re.error:
        assume(False)
    matcher = _regex_matcher(pattern)
    assert not isinstance(matcher, str), matcher
    return matcher


@settings(max_examples=200, deadline=None, database=None)
@given(
    pattern=_pattern_strategy().filter(lambda p: not any(x in p for x in ("(?=", "(?!", "(?<"))),
    subjects=st.lists(st.text(alphabet="abAB1 _\n٣", max_size=8), min_size=1, max_size=30),
)
def test_regex_remembered_steps_agree_with_re_search(pattern: str, subjects: list[str]) -> None:
    """Without lookarounds the matcher remembers its steps across subjects: each subject
    agrees with re, and again when checked a second time, with every step known."""
    matcher = _matcher_of_valid(pattern)
    for subject in subjects + subjects:
        assert matcher(subject) is (re.search(pattern, subject) is not None), subject


# --------------------------------------------------------------------------- metadata


def test_metadata_extraction() -> None:
    expr = parse(
        "if(selected(${hazards}, 'flood') and . > 0, concat(${a}, jr:choice-name(${b}, '${c}')),"
        " count(${members}))"
    )
    assert expr.references == {"hazards", "a", "b", "c", "members"}
    assert expr.functions == {"if", "selected", "concat", "jr:choice-name", "count"}
    assert expr.uses_current is True
    assert expr.bare_names == frozenset()
    assert expr.source.startswith("if(selected")

    plain = parse("${x} = 'a'")
    assert plain.uses_current is False
    assert plain.functions == frozenset()
    assert plain.bare_names == frozenset()
    assert parse("position(..) > 1").uses_current is False
    assert parse("'${not_a_reference}'").references == frozenset()
    assert parse(".5 + 1").uses_current is False
    assert parse("1 + .").uses_current is True


def test_expressions_are_cached_immutable_values() -> None:
    first = parse("${a} + 1")
    assert parse("${a} + 1") is first
    assert isinstance(first, Expression)
    assert first != parse("${a}  + 1")
    assert hash(first) == hash(parse("${a} + 1"))
    with pytest.raises(AttributeError):
        first.source = "other"  # type: ignore[misc]
    assert "${a} + 1" in repr(first)


def test_evaluate_bool_is_xpath_boolean() -> None:
    assert parse("${x}").evaluate_bool(FakeContext({"x": "no"})) is True
    assert parse("${x}").evaluate_bool(FakeContext({})) is False
    assert parse("${n}").evaluate_bool(FakeContext({"n": 0})) is False
    assert parse("count-selected(.)").evaluate_bool(FakeContext(current="a")) is True
    assert parse(". = 1").evaluate_bool(FakeContext(current=1)) is True


def test_reference_questionnaire_style_expressions() -> None:
    constraint = parse(". >= 0 and . <= 120")
    assert constraint.evaluate_bool(FakeContext(current=42)) is True
    assert constraint.evaluate_bool(FakeContext(current=121)) is False
    assert constraint.evaluate_bool(FakeContext(current=-0.5)) is False
    assert constraint.evaluate_bool(FakeContext(current="42")) is True
    assert constraint.evaluate_bool(FakeContext(current=None)) is False
    hazards = parse("not(selected(., 'none')) or count-selected(.) = 1")
    assert hazards.evaluate_bool(FakeContext(current="none")) is True
    assert hazards.evaluate_bool(FakeContext(current="flood none")) is False
    assert hazards.evaluate_bool(FakeContext(current="flood drought")) is True
    months = parse(
        ". >= 0 and . <= int((decimal-date-time(today()) - decimal-date-time(${move_date}))"
        " div 30.4375) + 1"
    )
    ctx = FakeContext({"move_date": datetime.date(2024, 1, 6)}, current=4)
    assert months.evaluate_bool(ctx) is True
    ctx = FakeContext({"move_date": datetime.date(2024, 1, 6)}, current=6)
    assert months.evaluate_bool(ctx) is False
    code = parse(
        "concat(${country}, '-', if(${settlement_type} = 'city' or ${settlement_type} = 'town',"
        " 'U', 'R'))"
    )
    assert code.evaluate(FakeContext({"country": "KZ", "settlement_type": "town"})) == "KZ-U"
    assert code.evaluate(FakeContext({"country": "KZ"})) == "KZ-R"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("source", "position", "fragment"),
    [
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("1 +", 3, "unexpected end of expression"),
        ("(1 + 2", 6, "unexpected end of expression"),
        ("(1 + 2))", 7, "unexpected ')'"),
        ("1 2", 2, "unexpected '2'"),
        ("1 'a'", 2, "unexpected string"),
        ("${a} ${b}", 5, "unexpected '${b}'"),
        ("${a} b", 5, "unexpected 'b'"),
        ("1 and", 5, "unexpected end of expression"),
        ("* 2", 0, "unexpected '*'"),
        ("2 * * 3", 4, "unexpected '*'"),
        ("= 2", 0, "unexpected '='"),
        ("1 = = 2", 4, "unexpected '='"),
        ("1 =! 2", 3, "unexpected character '!'"),
        ("1 == 2", 3, "unexpected '='"),
        ("a/b", 1, "unexpected character '/'"),
        ("${a}[1]", 4, "unexpected character '['"),
        ("@attr", 0, "unexpected character '@'"),
        ("1 | 2", 2, "unexpected character '|'"),
        ("'abc", 0, "unterminated string"),
        ('1 + "abc', 4, "unterminated string"),
        ("${abc", 0, "unterminated reference"),
        ("${}", 0, "invalid question name"),
        ("${1abc}", 0, "invalid question name"),
        ("${a b}", 0, "invalid question name"),
        ("${ a}", 0, "invalid question name"),
        ("$a", 0, "'$' must start a reference"),
        ("1 + $", 4, "'$' must start a reference"),
        ("..", 0, "'..' is only allowed as the argument of position(..)"),
        ("../x", 2, "unexpected character '/'"),  # the whole text is read before parsing
        (".. + 1", 0, "'..' is only allowed"),
        ("count(..)", 6, "'..' is only allowed"),
        ("position(.. + 1)", 9, "'..' is only allowed"),
        ("position(.)", 9, "position() takes '..'"),
        ("position(${a})", 9, "position() takes '..'"),
        ("./x", 1, "unexpected character '/'"),
        ("jr:choice-name(., 'country')", 18, "jr:choice-name()"),
        ("jr:choice-name(., ${country})", 18, "jr:choice-name()"),
        ("jr:choice-name(., '${country} x')", 18, "jr:choice-name()"),
        ("jr:label", 0, "unexpected 'jr:label'"),
        ("concat(1,)", 9, "unexpected ')'"),
        ("concat(,1)", 7, "unexpected ','"),
        ("concat(1 2)", 9, "unexpected '2'"),
        ("concat(1", 8, "unexpected end of expression"),
        ("()", 1, "unexpected ')'"),
        ("1.2.3", 3, "unexpected '.3'"),
        ("3abc", 1, "unexpected 'abc'"),
        ("1 # 2", 2, "unexpected character '#'"),
        ("1\u00a0+ 2", 1, "unexpected character"),
    ],
)
def test_syntax_errors_have_positions(source: str, position: int, fragment: str) -> None:
    error = syntax_error(source)
    assert error.code == "syntax"
    assert error.position == position, error.message
    assert fragment in error.message
    assert f"at position {position}" in error.message
    assert str(error) == error.message
    assert isinstance(error, ValueError)


def test_unknown_functions() -> None:
    for source, name, position in [
        ("foo(1)", "foo", 0),
        ("1 + substr('abc', 1)", "substr", 4),
        ("jr:itext('x')", "jr:itext", 0),
        ("and(1)", "and", 0),
        ("f(", "f", 0),
        ("instance('x')", "instance", 0),
        ("current()", "current", 0),
    ]:
        error = syntax_error(source)
        assert error.code == "unknown_function"
        assert error.message == f"unknown function '{name}'"
        assert error.position == position


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("if(1, 2)", "if() takes 3 arguments, got 2"),
        ("if(1, 2, 3, 4)", "if() takes 3 arguments, got 4"),
        ("true(1)", "true() takes 0 arguments, got 1"),
        ("not()", "not() takes 1 argument, got 0"),
        ("round()", "round() takes 1 or 2 arguments, got 0"),
        ("round(1, 2, 3)", "round() takes 1 or 2 arguments, got 3"),
        ("concat()", "concat() takes at least 1 argument, got 0"),
        ("max()", "max() takes at least 1 argument, got 0"),
        ("position()", "position() takes 1 argument, got 0"),
        ("position(.., ..)", "position() takes 1 argument, got 2"),
        ("jr:choice-name(.)", "jr:choice-name() takes 2 arguments, got 1"),
        ("regex('a')", "regex() takes 2 arguments, got 1"),
    ],
)
def test_arity_errors(source: str, message: str) -> None:
    error = syntax_error(source)
    assert error.code == "arity"
    assert error.message == message
    assert error.position == 0


def test_every_function_checks_its_arity() -> None:
    for name, (least, most) in ALLOWED_FUNCTIONS.items():
        too_many = (most if most is not None else least) + 1
        if most is not None:
            assert syntax_error(f"{name}({', '.join(['1'] * too_many)})").code == "arity"
        if least > 0:
            assert syntax_error(f"{name}({', '.join(['1'] * (least - 1))})").code == "arity"


def test_nesting_is_limited() -> None:
    error = syntax_error("(" * 500 + "1" + ")" * 500)
    assert error.code == "syntax"
    assert "nested too deeply" in error.message
    error = syntax_error("not(" * 500 + "1" + ")" * 500)
    assert "nested too deeply" in error.message
    assert ev("(" * 20 + "1" + ")" * 20) == 1


def test_long_if_cascades_are_fine() -> None:
    source = "'none'"
    for i in range(90):
        source = f"if(${{a}} = {i}, 'v{i}', {source})"
    expr = parse(source)
    assert expr.evaluate(FakeContext({"a": 5})) == "v5"
    assert expr.evaluate(FakeContext({"a": 1000})) == "none"


def test_parsing_deep_in_the_stack_raises_expression_error() -> None:
    """Near Python's recursion limit the parser's RecursionError becomes an ExpressionError.
    Compiled by mypyc (as installed), the parser uses no Python frames: it just parses."""
    source = "if(1, " * 60 + "2" + ", 0)" * 60
    compiled = is_compiled(expressions)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 120)
    try:
        if compiled:
            assert parse(source).source == source
        else:
            with pytest.raises(ExpressionError, match="nested too deeply"):
                parse(source)
    finally:
        sys.setrecursionlimit(old_limit)
    assert parse(source).evaluate(FakeContext()) == 2


def test_source_must_be_text() -> None:
    with pytest.raises(TypeError):
        parse(True)  # type: ignore[arg-type]


def test_error_arguments() -> None:
    error = syntax_error("1 +")
    assert error.args == (error.message, error.position, error.code)
    assert repr(error).startswith("ExpressionError(")


# --------------------------------------------------------------------------- robustness

_TOKENS = [
    "${a}", "${b}", "${r}", ".", "..", "prop", "1", "0", "2.5", ".5", "'x'", "''", '"2024-01-02"',
    "(", ")", ",", "+", "-", "*", "div", "mod", "=", "!=", "<", "<=", ">", ">=", "and", "or",
    "if(", "not(", "selected(", "concat(", "position(", "regex(", "jr:choice-name(", "today()",
    "count(", "sum(", "max(", "round(", "date(", " ", "$", "{", "}", "'", '"', "@", "/", "[",
]  # fmt: skip

_SCALARS: st.SearchStrategy[Value] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([400, -5000, 63]).map(lambda e: 10**e if e > 0 else -(10**-e)),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["", " ", "a b c", "12", "-3.5", "2024-01-02", "2024-01-02T10:00:00+05:00"]),
    st.dates(),
    st.datetimes(),
    st.datetimes(
        timezones=st.builds(
            datetime.timezone,
            st.timedeltas(
                min_value=datetime.timedelta(hours=-23, minutes=-59),
                max_value=datetime.timedelta(hours=23, minutes=59),
            ),
        )
    ),
)
_VALUES: st.SearchStrategy[Value] = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=4), max_leaves=8
)
_NOWS = st.datetimes(
    min_value=datetime.datetime(1, 1, 2),
    max_value=datetime.datetime(9999, 12, 30),
    timezones=st.sampled_from([datetime.UTC, ALMATY]),
)


def _expression_strategy() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.integers(-1000, 1000).map(str),
        st.floats(0, 1e6).map(lambda f: f"{f:.3f}"),
        st.text(alphabet="ab 1-:T", max_size=6).map(lambda s: f"'{s}'"),
        st.sampled_from(["${a}", "${b}", "${r}", ".", "prop", "today()", "now()", "true()"]),
        st.sampled_from(["position(..)", "1 div 0", "0 div 0", "'2024-02-29'", "''"]),
    )
    operators = st.sampled_from(
        ["+", "-", "*", "div", "mod", "=", "!=", "<", "<=", ">", ">=", "and", "or"]
    )
    patterns = st.sampled_from(["'^[a-z]+$'", "'(a+)+$'", "'\\d{2,}'", "'(?i)x|y'", "''"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        def call(name: str) -> st.SearchStrategy[str]:
            least, most = ALLOWED_FUNCTIONS[name]
            if name == "position":
                return st.just("position(..)")
            if name == "jr:choice-name":
                return inner.map(lambda a: f"jr:choice-name({a}, '${{a}}')")
            if name == "regex":
                return st.tuples(inner, st.one_of(patterns, inner)).map(
                    lambda p: f"regex({p[0]}, {p[1]})"
                )
            count = st.integers(least, most if most is not None else least + 3)
            return count.flatmap(
                lambda n: st.lists(inner, min_size=n, max_size=n).map(
                    lambda args: f"{name}({', '.join(args)})"
                )
            )

        return st.one_of(
            st.tuples(inner, operators, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            inner.map(lambda s: f"-{s}"),
            st.sampled_from(sorted(ALLOWED_FUNCTIONS)).flatmap(call),
        )

    return st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=500, deadline=None, database=None)
@given(source=st.text(max_size=60))
def test_parse_of_arbitrary_text_raises_only_expression_error(source: str) -> None:
    try:
        parse(source)
    except ExpressionError as error:
        assert 0 <= error.position <= len(source)
        assert error.code in ("syntax", "unknown_function", "arity")


@settings(max_examples=500, deadline=None, database=None)
@given(source=st.lists(st.sampled_from(_TOKENS), max_size=25).map(" ".join))
def test_parse_of_token_soup_raises_only_expression_error(source: str) -> None:
    try:
        parse(source)
    except ExpressionError as error:
        assert 0 <= error.position <= len(source)


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    source=_expression_strategy(),
    a=_VALUES,
    b=_VALUES,
    r=_VALUES,
    current=_VALUES,
    prop=_VALUES,
    now=_NOWS,
    position=st.integers(1, 50),
)
def test_evaluation_never_raises(
    source: str,
    a: Value,
    b: Value,
    r: Value,
    current: Value,
    prop: Value,
    now: datetime.datetime,
    position: int,
) -> None:
    expr = parse(source)
    ctx = FakeContext(
        {"a": a, "b": b, "r": r},
        current=current,
        position=position,
        properties={"prop": prop},
        now=now,
    )
    result: Any = expr.evaluate(ctx)
    assert isinstance(expr.evaluate_bool(ctx), bool)
    assert isinstance(to_string(result), str)
    assert isinstance(to_number(result), float)
    assert isinstance(to_boolean(result), bool)


@settings(max_examples=300, deadline=None, database=None)
@given(value=_VALUES, other=_VALUES)
def test_conversions_and_operators_never_raise(value: Value, other: Value) -> None:
    assert isinstance(to_string(value), str)
    assert isinstance(to_number(value), float)
    assert isinstance(to_boolean(value), bool)
    ctx = FakeContext({"a": value, "b": other})
    for op in ("+", "-", "*", "div", "mod", "=", "!=", "<", "<=", ">", ">="):
        parse(f"${{a}} {op} ${{b}}").evaluate(ctx)
    for function in ("int", "number", "string", "round", "date", "decimal-date-time", "count"):
        parse(f"{function}(${{a}})").evaluate(ctx)
    for function in ("sum", "max", "min", "count-selected", "string-length", "not"):
        parse(f"{function}(${{a}})").evaluate(ctx)
    for function in ("selected", "selected-at", "contains", "starts-with", "coalesce", "regex"):
        parse(f"{function}(${{a}}, ${{b}})").evaluate(ctx)
    parse("round(${a}, ${b})").evaluate(ctx)
    parse("concat(${a}, ${b})").evaluate(ctx)
