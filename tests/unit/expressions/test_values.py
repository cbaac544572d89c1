"""XPath/ODK value semantics: coercions, comparisons, arithmetic."""

from __future__ import annotations

import datetime
import math

import pytest

from survey_service.expressions import (
    Value,
    to_boolean,
    to_number,
    to_string,
)
from tests.helpers import ALMATY, ALMATY_NOW, ev, same

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
        (ALMATY_NOW, True),
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
