"""Evaluation: compiled expressions as cached values, XPath boolean(), robustness."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_service.expressions import (
    FUNCTIONS,
    Expression,
    Value,
    parse,
    to_boolean,
    to_number,
    to_string,
)
from tests.helpers import ALMATY, FakeContext

# --------------------------------------------------------------------------- expressions


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


# --------------------------------------------------------------------------- robustness

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
            least, most = FUNCTIONS[name].least, FUNCTIONS[name].most
            if name == "position":
                return st.just("position(..)")
            if name == "jr:choice-name":
                return inner.map(lambda a: f"jr:choice-name({a}, '${{a}}')")
            if name == "indexed-repeat":
                return inner.map(lambda i: f"indexed-repeat(${{a}}, ${{r}}, {i})")
            if name == "digest":
                return inner.map(lambda a: f"digest({a}, 'sha-256', 'hex')")
            if name in ("format-date", "format-date-time"):
                return inner.map(lambda a: f"{name}({a}, '%Y %y %b %e %H:%M:%S.%3 %a %W')")
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
            st.sampled_from(sorted(FUNCTIONS)).flatmap(call),
        )

    return st.recursive(leaves, extend, max_leaves=12)


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
