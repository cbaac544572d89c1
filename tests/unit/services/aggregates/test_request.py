"""A request's tag filters are read from its fields, and its problems come back as one 422."""

from __future__ import annotations

import pytest

from survey_service.errors import FieldError, Unprocessable
from survey_service.services.aggregates.request import RequestProblems, parse_tag_filters


def test_tag_filters_are_the_tags_given_with_codes() -> None:
    raw = {"country": ["KG", "TJ"], "admin1": [], "hazard_type": None, "stat": "mean"}
    assert parse_tag_filters(raw) == {"country": ("KG", "TJ")}


def test_no_problem_raises_nothing() -> None:
    RequestProblems().raise_if_any()


def test_every_problem_is_listed_with_what_is_allowed() -> None:
    problems = RequestProblems()
    problems.add("stat", "aggregate.unknown_stat", "one of mean, total")
    problems.allowed["by"] = ["country", "sex"]
    problems.add("by[0]", "aggregate.unknown_dimension", "'x' is not a dimension here")
    with pytest.raises(Unprocessable) as caught:
        problems.raise_if_any()
    error = caught.value
    assert error.code == "aggregate.invalid"
    assert error.detail == "The aggregate request has 2 problem(s)."
    assert error.errors == [
        FieldError("stat", "aggregate.unknown_stat", "one of mean, total").as_dict(),
        FieldError("by[0]", "aggregate.unknown_dimension", "'x' is not a dimension here").as_dict(),
    ]
    assert error.extra == {"allowed": {"by": ["country", "sex"]}}


def test_without_allowed_names_the_problem_says_nothing_more() -> None:
    problems = RequestProblems()
    problems.add("confidence", "aggregate.invalid", "between 0 and 1, such as 0.95")
    with pytest.raises(Unprocessable) as caught:
        problems.raise_if_any()
    assert caught.value.extra == {}
