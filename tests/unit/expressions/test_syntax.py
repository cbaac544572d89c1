"""The expression syntax: grammar, metadata the parser collects, errors with positions."""

from __future__ import annotations

import inspect
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_service.build import is_compiled
from survey_service.expressions import (
    FUNCTIONS,
    ExpressionError,
    Value,
    parse,
    syntax,
)
from tests.helpers import FakeContext, ev, ev_bool, same, syntax_error

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
        ("1 + substring('abc', 1)", "substring", 4),
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
    for name, function in FUNCTIONS.items():
        least, most = function.least, function.most
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
    compiled = is_compiled(syntax)
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
