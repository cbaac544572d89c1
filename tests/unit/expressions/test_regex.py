"""regex(): Python search semantics in linear time, bad patterns refused at parse time."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from survey_service.expressions import (
    parse,
)
from survey_service.expressions.regex import regex_matcher
from tests.helpers import FakeContext, ev, syntax_error

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
    matcher = regex_matcher(pattern)
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
