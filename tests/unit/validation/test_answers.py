"""The types of answers: each JSON type check, with its path, code and message."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import changed, check, codes, set_answer


def test_an_integral_float_counts_as_an_integer() -> None:
    household = changed(lambda h: h["household"].update(hh_size=3.0))
    assert check(household).errors == []


TYPE_CASES = [
    ("identification.household_number", "17", "response.invalid_type"),
    ("identification.household_number", True, "response.invalid_type"),
    ("identification.household_number", 17.5, "response.invalid_type"),
    ("impacts.income_lost", "1200", "response.invalid_type"),
    ("impacts.income_lost", False, "response.invalid_type"),
    ("impacts.income_lost", float("inf"), "response.invalid_type"),
    ("impacts.income_lost", float("nan"), "response.invalid_type"),
    ("identification.cluster", 42, "response.invalid_type"),
    ("identification.settlement_type", 1, "response.invalid_type"),
    ("identification.settlement_type", "metropolis", "response.invalid_choice"),
    ("hazard_exposure.hazards_experienced", "MH0600", "response.invalid_type"),
    ("hazard_exposure.hazards_experienced", ["MH0600", "MH0600"], "response.invalid_type"),
    ("hazard_exposure.hazards_experienced", ["MH0600", 3], "response.invalid_type"),
    ("hazard_exposure.hazards_experienced", ["MH0600", "XX9999"], "response.invalid_choice"),
    ("displacement_history.move_details.move_date", "2021-13-01", "response.invalid_type"),
    ("displacement_history.move_details.move_date", "2021-5-1", "response.invalid_type"),
    ("displacement_history.move_details.move_date", 20210501, "response.invalid_type"),
    ("interview_start", "2025-06-01T10:00:00", "response.invalid_type"),
    ("interview_start", "2025-06-01", "response.invalid_type"),
    ("interview_start", "yesterday", "response.invalid_type"),
    ("closing.gps", {"lat": 91, "lon": 74.6}, "response.invalid_geopoint"),
    ("closing.gps", {"lat": 42.8, "lon": -180.5}, "response.invalid_geopoint"),
    ("closing.gps", {"lat": 42.8, "lon": 74.6, "accuracy": -1}, "response.invalid_geopoint"),
    ("closing.gps", {"lat": 42.8}, "response.invalid_type"),
    ("closing.gps", {"lat": "42.8", "lon": 74.6}, "response.invalid_type"),
    ("closing.gps", {"lat": 42.8, "lon": 74.6, "speed": 3}, "response.invalid_type"),
    ("closing.gps", "42.8 74.6", "response.invalid_type"),
    ("household.members[1].member_age", "22", "response.invalid_type"),
    ("household.members[1].member_sex", "X", "response.invalid_choice"),
    ("consent_intro", "read", "response.invalid_type"),  # a note is never answered
    ("consent_intro", 0, "response.invalid_type"),
]


@pytest.mark.parametrize(("path", "value", "code"), TYPE_CASES)
def test_answer_types(path: str, value: Any, code: str) -> None:
    result = check(changed(set_answer(path, value)))
    assert (path, code) in codes(result)
    assert [e for e in result.errors if e.path == path] == [
        e for e in result.errors if e.path == path and e.code == code
    ]


def test_type_messages_say_what_was_expected() -> None:
    result = check(changed(set_answer("identification.household_number", "17")))
    assert result.errors[0].message == "Invalid value: expected a whole number."
    result = check(changed(set_answer("identification.household_number", "17")), language="ru")
    assert result.errors[0].message == "Недопустимое значение: ожидается целое число."


def test_accepted_answer_forms() -> None:
    def edit(h: dict[str, Any]) -> None:
        h["interview_start"] = "2025-06-01T04:00:00Z"
        h["closing"]["interview_end"] = "2025-06-01T10:55:00.123+06:00"
        h["closing"]["gps"] = {"lat": -90, "lon": 180}
        h["impacts"]["income_lost"] = 0
        h["identification"]["household_number"] = 17.0

    assert check(changed(edit)).errors == []
