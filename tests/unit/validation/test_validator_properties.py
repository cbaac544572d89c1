"""Property tests of the response validator: any JSON gets errors back, never an exception."""

from __future__ import annotations

import copy
import datetime
import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_service.questionnaire.definition import Question
from survey_service.validation import ValidatedResponse
from tests.helpers import NOW, reference_household, reference_validator

VALIDATOR = reference_validator()
DEFINITION = VALIDATOR.definition
PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# --------------------------------------------------------------------------- JSON values

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**40, -(10**400), 2**63, 0, -1]),
    st.floats(),  # NaN and the infinities too: Python's json reads them
    st.text(max_size=12),
    st.sampled_from(["", "yes", "KG", "MH0600", "2024-02-30", "2024-01-01T00:00:00Z", "NaN"]),
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
    ),
    max_leaves=12,
)


def _plausible(question: Question) -> st.SearchStrategy[Any]:
    """Answers of roughly the right type, so that the checks behind the types run too."""
    kind = question.type
    names = sorted(DEFINITION.choice_names(question)) or ["x"]
    if kind == "select_one":
        return st.sampled_from(names)
    if kind == "select_multiple":
        return st.lists(st.sampled_from(names), max_size=3)
    if kind in ("integer", "decimal"):
        return st.one_of(st.integers(-5, 130), st.floats(-10, 1e6))
    if kind == "date":
        return st.dates(datetime.date(2000, 1, 1), datetime.date(2030, 1, 1)).map(str)
    if kind == "datetime":
        return st.datetimes(timezones=st.just(datetime.UTC)).map(datetime.datetime.isoformat)
    if kind == "geopoint":
        return st.fixed_dictionaries(
            {"lat": st.floats(-100, 100), "lon": st.floats(-200, 200)},
            optional={"accuracy": st.floats(-1, 50), "alt": st.integers(-100, 9000)},
        )
    return st.text(max_size=8)


@st.composite
def shaped(draw: st.DrawFn, questions: list[Question]) -> dict[str, Any]:
    """An object with (some of) the keys the questionnaire expects, and now and then junk."""
    out: dict[str, Any] = {}
    for question in questions:
        if not draw(st.booleans()):
            continue
        if question.type == "group":
            value = draw(st.one_of(shaped(question.questions), json_values))
        elif question.type == "repeat":
            value = draw(st.one_of(st.lists(shaped(question.questions), max_size=4), json_values))
        else:
            value = draw(st.one_of(_plausible(question), json_values))
        out[question.name] = value
    if draw(st.integers(0, 9)) == 0:
        out[draw(st.text(max_size=6))] = draw(json_values)
    return out


# --------------------------------------------------------------------------- paths

_TOKEN = re.compile(
    r'\.?([A-Za-z_][A-Za-z0-9_.-]*?)(?=\.|\[|$)|\[([0-9]+)\]|\[("(?:[^"\\]|\\.)*")\]'
)


def _tokens(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        assert match is not None and match.end() > position, f"unparsable path {path!r}"
        name, index, quoted = match.groups()
        if name is not None:
            tokens.append(name)
        elif index is not None:
            tokens.append(int(index))
        else:
            tokens.append(json.loads(quoted))
        position = match.end()
    return tokens


def _resolve(tokens: list[str | int]) -> tuple[str, Question | None]:
    """Walk the tokens down the question tree: ('root'|'question'|'instance', last question)."""
    children = {q.name: q for q in DEFINITION.questions}
    state, question = "root", None
    for token in tokens:
        if isinstance(token, int):
            assert question is not None and question.type == "repeat" and state == "question"
            state = "instance"
            continue
        assert state != "question" or question is None or question.type == "group", tokens
        assert token in children, f"{token!r} is not a question here ({tokens})"
        question = children[token]
        children = {q.name: q for q in question.questions}
        state = "question"
    return state, question


def assert_paths_exist(result: ValidatedResponse) -> None:
    for finding in [*result.errors, *result.warnings]:
        assert finding.code.startswith("response."), finding
        assert isinstance(finding.message, str) and finding.message, finding
        if finding.path == "":
            assert finding.code == "response.invalid_type"
            continue
        tokens = _tokens(finding.path)
        if finding.code == "response.unknown_field":
            assert isinstance(tokens[-1], str)
            state, question = _resolve(tokens[:-1])
            # an unknown key sits in the top level, a group or a repeat instance
            assert state in ("root", "instance") or (question and question.type == "group")
        else:
            state, question = _resolve(tokens)
            assert state in ("question", "instance")


def assert_well_formed(result: ValidatedResponse) -> None:
    assert_paths_exist(result)
    json.dumps(result.answers)
    assert set(result.tags) == {"country", "admin1", "hazard_type", "displacement_status"}
    assert all(v is None or isinstance(v, str) for v in result.tags.values())
    assert set(result.design) == {"weight", "stratum", "psu"}
    weight = result.design["weight"]
    assert weight is None or isinstance(weight, float)
    assert result.ok == (not result.errors)


def validate(answers: Any, language: str | None = None) -> ValidatedResponse:
    before = json.dumps(answers, sort_keys=True, default=repr)
    result = VALIDATOR.validate(answers, language=language, now=NOW)
    assert json.dumps(answers, sort_keys=True, default=repr) == before  # input untouched
    return result


# --------------------------------------------------------------------------- properties


@PROPERTY_SETTINGS
@given(answers=json_values, language=st.sampled_from([None, "ru", "kk", "xx", "ru-RU"]))
def test_any_json_is_answered_without_an_exception(answers: Any, language: str | None) -> None:
    assert_well_formed(validate(answers, language))


@PROPERTY_SETTINGS
@given(answers=shaped(DEFINITION.questions))
def test_answers_shaped_like_the_questionnaire(answers: dict[str, Any]) -> None:
    assert_well_formed(validate(answers))


def _paths(value: Any, base: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [base] if base else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*base, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*base, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    household = reference_household()
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(household)
        path = draw(st.sampled_from(paths))
        parent: Any = household
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        operation = draw(st.sampled_from(["replace", "delete", "add", "copy"]))
        if operation == "replace":
            parent[key] = draw(json_values)
        elif operation == "delete":
            del parent[key]
        elif operation == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(json_values)
        elif operation == "copy":
            other = draw(st.sampled_from(paths))
            source: Any = household
            for part in other:
                source = source[part]
            if isinstance(parent, list):
                parent.append(copy.deepcopy(source))
            else:
                parent[key] = copy.deepcopy(source)
    return household


@PROPERTY_SETTINGS
@given(household=mutated())
def test_mutations_of_a_valid_household(household: dict[str, Any]) -> None:
    assert_well_formed(validate(household))


def test_the_unmutated_household_is_valid() -> None:
    result = validate(reference_household())
    assert result.ok
    assert_well_formed(result)
