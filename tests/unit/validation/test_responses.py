"""The response validator: every rule with its path and code, on the reference questionnaire."""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest

from survey_service.questionnaire.definition import load_definition
from survey_service.validation.responses import (
    FieldError,
    ResponseValidator,
    ValidatedResponse,
)
from tests.helpers import NOW, minimal_definition, reference_household, reference_validator


def validator_for(**changes: Any) -> ResponseValidator:
    return ResponseValidator(load_definition(minimal_definition(**changes)))


def check(answers: Any, language: str | None = None, **kwargs: Any) -> ValidatedResponse:
    return reference_validator().validate(answers, language=language, now=NOW, **kwargs)


def codes(result: ValidatedResponse) -> list[tuple[str, str]]:
    return [(e.path, e.code) for e in result.errors]


def changed(edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    household = reference_household()
    edit(household)
    return household


# --------------------------------------------------------------------------- valid households


def test_the_reference_household_is_valid() -> None:
    household = reference_household()
    result = check(household)
    assert result.errors == []
    assert result.warnings == []
    assert result.ok
    assert household == reference_household()  # the input is left alone


def test_calculations_are_stored_and_answers_kept() -> None:
    result = check(reference_household())
    identification = result.answers["identification"]
    assert identification["stratum"] == "KG-U"
    assert identification["design_weight"] == 1
    assert identification["currency"] == "KGS"
    assert result.answers["hazard_exposure"]["hazard_affected"] == "yes"
    assert result.answers["household"]["members"][2]["member_age"] == 3
    json.dumps(result.answers)  # serialisable as it is


def test_tags_and_design_are_extracted() -> None:
    result = check(reference_household())
    assert result.tags == {
        "country": "KG",
        "admin1": "KG-C",
        "hazard_type": "MH0600",
        "displacement_status": "IDP_RETURNED",
    }
    assert result.design == {"weight": 1.0, "stratum": "KG-U", "psu": "KG-U-0042"}


def test_a_refusal_is_valid_and_has_no_calculations() -> None:
    answers = {"interview_start": "2025-06-01T10:00:00Z", "consent": "no"}
    result = check(answers)
    assert result.errors == []
    assert result.answers == answers  # every calculate sits in a skipped group
    assert result.tags == dict.fromkeys(("country", "admin1", "hazard_type", "displacement_status"))
    assert result.design == {"weight": None, "stratum": None, "psu": None}


def test_skipped_groups_may_be_sent_empty_or_null() -> None:
    answers = {
        "interview_start": "2025-06-01T10:00:00Z",
        "consent": "no",
        "identification": {},
        "household": None,
        "closing": {"gps": None},
    }
    assert check(answers).errors == []


def test_null_is_the_same_as_absent() -> None:
    household = reference_household()
    household["impacts"]["livestock_lost"] = None  # not relevant, but null
    assert check(household).errors == []
    household["closing"]["gps"] = None
    assert codes(check(household)) == [("closing.gps", "response.required")]


def test_an_integral_float_counts_as_an_integer() -> None:
    household = changed(lambda h: h["household"].update(hh_size=3.0))
    assert check(household).errors == []


# --------------------------------------------------------------------------- structure


def test_unknown_fields_at_every_level() -> None:
    def edit(h: dict[str, Any]) -> None:
        h["extra"] = 1
        h["identification"]["extra"] = "x"
        h["household"]["members"][2]["extra"] = True
        h["closing"]["a b"] = 1

    result = check(changed(edit))
    assert codes(result) == [
        ("identification.extra", "response.unknown_field"),
        ("household.members[2].extra", "response.unknown_field"),
        ('closing["a b"]', "response.unknown_field"),
        ("extra", "response.unknown_field"),
    ]
    assert "extra" in result.errors[0].message


@pytest.mark.parametrize("answers", [None, [], "x", 3, 2.5, True])
def test_answers_that_are_not_an_object(answers: Any) -> None:
    result = check(answers)
    assert codes(result) == [("", "response.invalid_type")]
    assert "object" in result.errors[0].message
    assert result.answers == {}


def test_containers_of_the_wrong_shape() -> None:
    def edit(h: dict[str, Any]) -> None:
        h["identification"] = ["KG"]
        h["household"]["members"][1] = "Bakyt"
        h["closing"] = "done"

    result = check(changed(edit))
    assert ("identification", "response.invalid_type") in codes(result)
    assert ("household.members[1]", "response.invalid_type") in codes(result)
    assert ("closing", "response.invalid_type") in codes(result)
    # a misshapen instance still counts as one, so the count matches
    assert ("household.members", "response.repeat_count_mismatch") not in codes(result)


def test_a_repeat_that_is_not_an_array() -> None:
    result = check(changed(lambda h: h["household"].update(members={"0": {}})))
    assert ("household.members", "response.invalid_type") in codes(result)
    assert "array" in result.errors[0].message


# --------------------------------------------------------------------------- answer types


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(h: dict[str, Any]) -> None:
        target: Any = h
        parts = path.replace("]", "").replace("[", ".").split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        target[parts[-1]] = value

    return edit


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
    result = check(changed(_set(path, value)))
    assert (path, code) in codes(result)
    assert [e for e in result.errors if e.path == path] == [
        e for e in result.errors if e.path == path and e.code == code
    ]


def test_type_messages_say_what_was_expected() -> None:
    result = check(changed(_set("identification.household_number", "17")))
    assert result.errors[0].message == "Invalid value: expected a whole number."
    result = check(changed(_set("identification.household_number", "17")), language="ru")
    assert result.errors[0].message == "Недопустимое значение: ожидается целое число."


def test_accepted_answer_forms() -> None:
    def edit(h: dict[str, Any]) -> None:
        h["interview_start"] = "2025-06-01T04:00:00Z"
        h["closing"]["interview_end"] = "2025-06-01T10:55:00.123+06:00"
        h["closing"]["gps"] = {"lat": -90, "lon": 180}
        h["impacts"]["income_lost"] = 0
        h["identification"]["household_number"] = 17.0

    assert check(changed(edit)).errors == []


def test_a_rejected_answer_is_reported_alone() -> None:
    """A rejected answer is empty for expressions. What they conclude from that is not
    reported: the answer's own error says what is wrong."""
    # an empty size would make three members a count mismatch, and fail the constraints
    # `${hh_size} > 1` and `. <= ${hh_size}` of other answers
    result = check(changed(_set("household.hh_size", "three")))
    assert codes(result) == [("household.hh_size", "response.invalid_type")]
    # not a list of choices: the calculation hazard_affected reads it, and the relevance of
    # the worst hazard, the impacts and the displacement history reads that
    result = check(changed(_set("hazard_exposure.hazards_experienced", "flood")))
    assert codes(result) == [("hazard_exposure.hazards_experienced", "response.invalid_type")]


def test_what_does_not_read_a_rejected_answer_is_still_reported() -> None:
    def edit(h: dict[str, Any]) -> None:
        h["household"]["hh_size"] = "three"
        h["household"]["members"][1]["member_sex"] = "?"
        h["migration_remittances"]["remittance_amount"] = -5

    assert codes(check(changed(edit))) == [
        ("household.hh_size", "response.invalid_type"),
        ("household.members[1].member_sex", "response.invalid_choice"),
        ("migration_remittances.remittance_amount", "response.constraint_failed"),
    ]


# --------------------------------------------------------------------------- choices


def test_choice_filter_excludes_a_region_of_another_country() -> None:
    result = check(changed(_set("identification.region", "UZ-QR")))
    assert codes(result) == [("identification.region", "response.invalid_choice")]
    assert "UZ-QR" in result.errors[0].message


def test_choice_filter_on_a_select_multiple_reports_each_excluded_choice() -> None:
    definition = minimal_definition()
    definition["choice_lists"]["hazards"] = [
        {"name": "flood", "label": {"en": "Flood"}, "properties": {"country": "KG"}},
        {"name": "drought", "label": {"en": "Drought"}, "properties": {"country": "TJ"}},
        {"name": "mudflow", "label": {"en": "Mudflow"}, "properties": {"country": "TJ"}},
    ]
    definition["questions"].append(
        {
            "name": "hazards",
            "type": "select_multiple",
            "choices": "hazards",
            "label": {"en": "Hazards"},
            "choice_filter": "country = ${country} and name != 'nothing'",
            "or_other": True,
        }
    )
    validator = ResponseValidator(load_definition(definition))
    answers = {"country": "KG", "cluster": "c1", "hh_size": 1, "members": [{}]}
    result = validator.validate({**answers, "hazards": ["flood", "other"]})
    assert result.errors == []
    result = validator.validate({**answers, "hazards": ["flood", "drought", "mudflow"]})
    assert [(e.path, e.code) for e in result.errors] == [("hazards", "response.invalid_choice")]
    assert '"drought", "mudflow"' in result.errors[0].message


def test_or_other_accepts_other() -> None:
    definition = minimal_definition()
    definition["questions"][2]["or_other"] = True
    validator = ResponseValidator(load_definition(definition))
    answers = {"country": "KG", "cluster": "c1", "hh_size": 1, "members": [{}]}
    assert validator.validate({**answers, "flooded": "other"}).ok
    result = validator.validate({**answers, "country": "other"})
    assert [(e.path, e.code) for e in result.errors] == [("country", "response.invalid_choice")]


# --------------------------------------------------------------------------- relevance


def test_an_answer_to_a_skipped_question() -> None:
    result = check(changed(_set("intentions.want_cannot_move", "no")))
    assert codes(result) == [("intentions.want_cannot_move", "response.not_relevant")]


def test_an_answer_to_a_skipped_question_in_a_repeat() -> None:
    result = check(changed(_set("household.members[2].member_education", "none")))
    assert codes(result) == [("household.members[2].member_education", "response.not_relevant")]


def test_a_skipped_group_is_reported_once_at_the_outermost_node() -> None:
    answers = {
        "interview_start": "2025-06-01T10:00:00Z",
        "consent": "no",
        "identification": {"country": "KG", "household_number": "junk"},
        "household": {"hh_size": 2, "members": [{"member_age": 3}]},
        "intentions": {},
    }
    result = check(answers)
    assert codes(result) == [
        ("identification", "response.not_relevant"),
        ("household", "response.not_relevant"),
    ]


def test_a_skipped_nested_group() -> None:
    def edit(h: dict[str, Any]) -> None:
        h["displacement_history"]["moved_due_hazard"] = "no"
        h["current_status"]["forced_move_other"] = "yes"

    result = check(changed(edit))
    assert codes(result) == [("displacement_history.move_details", "response.not_relevant")]


def test_the_value_of_a_skipped_question_is_empty() -> None:
    # hh_size is skipped with its group: the repeat count (${hh_size}) is then 0 - but the
    # repeat is skipped too, so the only error is at the group
    answers = {
        "interview_start": "2025-06-01T10:00:00Z",
        "consent": "no",
        "household": {"hh_size": 2},
    }
    assert codes(check(answers)) == [("household", "response.not_relevant")]


# --------------------------------------------------------------------------- required


def test_required_answers() -> None:
    def edit(h: dict[str, Any]) -> None:
        del h["closing"]["gps"]
        h["identification"]["cluster"] = ""
        h["intentions"]["move_reasons"] = []
        del h["household"]["members"][0]["member_sex"]

    result = check(changed(edit))
    assert codes(result) == [
        ("identification.cluster", "response.required"),
        ("household.members[0].member_sex", "response.required"),
        ("intentions.move_reasons", "response.required"),
        ("closing.gps", "response.required"),
    ]
    assert result.errors[0].message == "This question requires an answer."


def test_required_in_russian_and_with_a_required_message() -> None:
    definition = minimal_definition()
    definition["questions"][1]["required_message"] = {
        "en": "Write the cluster code.",
        "ru": "Укажите код кластера.",
    }
    validator = ResponseValidator(load_definition(definition))
    answers = {"country": "KG", "hh_size": 1, "members": [{}]}
    assert validator.validate(answers).errors[0].message == "Write the cluster code."
    assert validator.validate(answers, language="ru").errors[0].message == "Укажите код кластера."
    del answers["country"]
    result = validator.validate(answers, language="ru")
    assert [e.message for e in result.errors] == [
        "Ответ на этот вопрос обязателен.",
        "Укажите код кластера.",
    ]


def test_required_as_an_expression() -> None:
    definition = minimal_definition()
    definition["questions"][3]["required"] = "${flooded} = 'yes' and ${hh_size} > 1"
    validator = ResponseValidator(load_definition(definition))
    answers: dict[str, Any] = {"country": "KG", "cluster": "c1", "flooded": "yes"}
    answers.update(hh_size=2, members=[{}, {}])
    assert [(e.path, e.code) for e in validator.validate(answers).errors] == [
        ("flood_year", "response.required")
    ]
    answers.update(hh_size=1, members=[{}])
    assert validator.validate(answers).ok


# --------------------------------------------------------------------------- constraints


def test_constraint_with_its_message_in_the_response_language() -> None:
    household = changed(_set("household.members[0].member_age", 150))
    result = check(household)
    assert codes(result) == [("household.members[0].member_age", "response.constraint_failed")]
    assert result.errors[0].message == "Age must be between 0 and 120 years."
    russian = check(household, language="ru")
    assert russian.errors[0].message == "Возраст должен быть от 0 до 120 лет."
    assert check(household, language="ru-KG").errors[0].message == russian.errors[0].message
    assert check(household, language="de").errors[0].message == result.errors[0].message


def test_a_constraint_without_a_message() -> None:
    validator = validator_for()
    answers = {"country": "KG", "cluster": "c1", "hh_size": 40, "members": [{}] * 40}
    result = validator.validate(answers)
    assert [(e.path, e.code) for e in result.errors] == [("hh_size", "response.constraint_failed")]
    assert result.errors[0].message == (
        "The value does not satisfy the constraint: . >= 1 and . < 30"
    )
    result = validator.validate(answers, language="ru")
    assert result.errors[0].message == "Значение не удовлетворяет условию: . >= 1 and . < 30"


def test_constraints_see_other_answers_and_today() -> None:
    household = changed(_set("migration_remittances.members_abroad", 4))
    assert codes(check(household)) == [
        ("migration_remittances.members_abroad", "response.constraint_failed")
    ]
    household = changed(_set("displacement_history.move_details.move_date", "2025-07-01"))
    household["displacement_history"]["move_details"]["move_months"] = 1
    errors = codes(check(household))
    assert ("displacement_history.move_details.move_date", "response.constraint_failed") in errors
    later = datetime.datetime(2025, 8, 1, tzinfo=datetime.UTC)
    assert reference_validator().validate(household, now=later).ok


def test_a_constraint_is_not_evaluated_on_an_empty_or_invalid_answer() -> None:
    household = changed(_set("household.members[2].member_age", "old"))
    assert codes(check(household)) == [("household.members[2].member_age", "response.invalid_type")]

    # the answer is empty for expressions: the relevance of the member's education and
    # activity is false, but that is not reported for answers hanging on a rejected one;
    # another member's answer that is not relevant still is
    def edit(h: dict[str, Any]) -> None:
        h["household"]["members"][0]["member_age"] = "old"
        h["household"]["members"][2]["member_activity"] = "student"

    assert codes(check(changed(edit))) == [
        ("household.members[0].member_age", "response.invalid_type"),
        ("household.members[2].member_activity", "response.not_relevant"),
    ]


def test_position_in_a_constraint() -> None:
    def edit(h: dict[str, Any]) -> None:
        members = h["household"]["members"]
        members[0]["member_relationship"] = "spouse"
        members[2]["member_relationship"] = "head"

    result = check(changed(edit))
    assert codes(result) == [
        ("household.members[0].member_relationship", "response.constraint_failed"),
        ("household.members[2].member_relationship", "response.constraint_failed"),
    ]


def test_cached_constraint_results_agree_with_evaluation() -> None:
    for age, ok in [(150, False), (3, True), (150, False), (-1, False), (0, True)]:
        household = changed(_set("household.members[2].member_age", age))
        assert check(household).ok is ok


# --------------------------------------------------------------------------- repeats


def test_repeat_count_mismatch() -> None:
    household = changed(lambda h: h["household"]["members"].pop())
    result = check(household)
    assert codes(result) == [("household.members", "response.repeat_count_mismatch")]
    assert result.errors[0].message == "Expected 3 entries, got 2."
    assert check(household, language="ru").errors[0].message == (
        "Ожидалось записей: 3, получено: 2."
    )


def test_an_absent_repeat_counts_zero() -> None:
    validator = validator_for()
    result = validator.validate({"country": "KG", "cluster": "c1", "hh_size": 2})
    assert [(e.path, e.code) for e in result.errors] == [
        ("members", "response.repeat_count_mismatch")
    ]


def test_node_sets_count_sum_and_max() -> None:
    definition = minimal_definition()
    definition["questions"] += [
        {"name": "total_age", "type": "calculate", "calculation": "sum(${age})"},
        {"name": "oldest", "type": "calculate", "calculation": "max(${age})"},
        {"name": "women", "type": "calculate", "calculation": "count-selected(${sex})"},
        {
            "name": "adults_note",
            "type": "note",
            "label": {"en": "Adults"},
            "relevant": "count(${age}) > 2",
        },
    ]
    validator = ResponseValidator(load_definition(definition))
    members = [{"sex": "F", "age": 30}, {"sex": "M", "age": 41}, {"sex": "F"}]
    result = validator.validate(
        {"country": "KG", "cluster": "c1", "hh_size": 3, "members": members}
    )
    assert result.errors == []
    assert result.answers["n_members"] == 3  # count() counts every instance's node
    assert result.answers["total_age"] == 71  # sum() skips the empty one
    assert result.answers["oldest"] == 41
    assert result.answers["women"] == 1  # a node-set used as a value is its first item


def test_position_and_siblings_inside_a_repeat() -> None:
    definition = minimal_definition()
    definition["questions"][5]["questions"] += [
        {"name": "line", "type": "calculate", "calculation": "position(..)"},
        {
            "name": "label",
            "type": "calculate",
            "calculation": "concat(position(..), ':', ${sex}, ':', ${hh_size})",
        },
    ]
    validator = ResponseValidator(load_definition(definition))
    members = [{"sex": "F", "age": 30}, {"sex": "M", "age": 41}]
    result = validator.validate(
        {"country": "KG", "cluster": "c1", "hh_size": 2, "members": members}
    )
    assert result.errors == []
    assert [m["line"] for m in result.answers["members"]] == [1, 2]
    assert [m["label"] for m in result.answers["members"]] == ["1:F:2", "2:M:2"]


def test_nested_repeats() -> None:
    definition = minimal_definition()
    definition["questions"][5]["questions"].append(
        {
            "name": "trips",
            "type": "repeat",
            "label": {"en": "Trips"},
            "relevant": "${age} >= 18",
            "questions": [
                {"name": "days", "type": "integer", "label": {"en": "Days"}, "required": True},
                {
                    "name": "trip_id",
                    "type": "calculate",
                    "calculation": "concat(${sex}, position(..), '-', ${country})",
                },
            ],
        }
    )
    definition["questions"].append(
        {"name": "all_days", "type": "calculate", "calculation": "sum(${days})"}
    )
    validator = ResponseValidator(load_definition(definition))
    members = [
        {"sex": "F", "age": 30, "trips": [{"days": 3}, {"days": 4, "trip_id": "F2-KG"}]},
        {"sex": "M", "age": 10, "trips": [{"days": 1}]},
        {"sex": "M", "age": 50, "trips": [{}, "junk"]},
    ]
    answers = {"country": "KG", "cluster": "c1", "hh_size": 3, "members": members}
    result = validator.validate(answers)
    assert [(e.path, e.code) for e in result.errors] == [
        ("members[1].trips", "response.not_relevant"),
        ("members[2].trips[0].days", "response.required"),
        ("members[2].trips[1]", "response.invalid_type"),
    ]
    assert result.warnings == []
    trips = result.answers["members"][0]["trips"]
    assert [t["trip_id"] for t in trips] == ["F1-KG", "F2-KG"]
    assert result.answers["all_days"] == 7  # the skipped repeat's trips are empty


# --------------------------------------------------------------------------- calculations


def test_a_calculation_the_client_got_wrong_is_a_warning_and_replaced() -> None:
    def edit(h: dict[str, Any]) -> None:
        h["identification"]["stratum"] = "KG-R"
        h["identification"]["design_weight"] = "1.0000000000001"
        h["identification"]["currency"] = ["KGS"]
        h["hazard_exposure"]["hazard_affected"] = "yes"
        h["consent_intro"] = ""  # how XForms send a note

    result = check(changed(edit))
    assert result.ok
    assert [(w.path, w.code) for w in result.warnings] == [
        ("identification.stratum", "response.calculation_mismatch"),
        ("identification.currency", "response.calculation_mismatch"),
    ]
    assert '"KG-R"' in result.warnings[0].message
    assert result.answers["identification"]["stratum"] == "KG-U"
    assert result.answers["identification"]["design_weight"] == 1


def test_a_calculation_in_a_skipped_group_is_dropped() -> None:
    answers = {
        "interview_start": "2025-06-01T10:00:00Z",
        "consent": "no",
        "identification": {"stratum": "KG-U"},
    }
    result = check(answers)
    assert result.errors == []
    assert result.warnings == []
    assert result.answers["identification"] == {}


def test_calculations_with_now_never_disagree() -> None:
    definition = minimal_definition()
    definition["questions"] += [
        {"name": "stamp", "type": "calculate", "calculation": "now()"},
        {"name": "day", "type": "calculate", "calculation": "today()"},
        {"name": "later", "type": "calculate", "calculation": "${day}"},
        {"name": "ratio", "type": "calculate", "calculation": "1 div 3"},
        {"name": "nan", "type": "calculate", "calculation": "0 div 0"},
    ]
    validator = ResponseValidator(load_definition(definition))
    answers = {
        "country": "KG",
        "cluster": "c1",
        "hh_size": 1,
        "members": [{}],
        "stamp": "2020-01-01T00:00:00Z",
        "day": "2020-01-01",
        "later": "2020-01-01",
        "ratio": 0.333333333333,
        "nan": "NaN",
    }
    result = validator.validate(answers, now=NOW)
    assert result.warnings == []
    assert result.answers["stamp"] == "2025-06-01T12:00:00+00:00"
    assert result.answers["day"] == result.answers["later"] == "2025-06-01"
    assert result.answers["ratio"] == pytest.approx(1 / 3)
    assert result.answers["nan"] is None


def test_calculations_in_any_order() -> None:
    definition = minimal_definition()
    definition["questions"] += [
        {"name": "b", "type": "calculate", "calculation": "${a} * 2"},
        {"name": "a", "type": "calculate", "calculation": "${hh_size} + 1"},
    ]
    validator = ResponseValidator(load_definition(definition))
    result = validator.validate({"country": "KG", "cluster": "c1", "hh_size": 1, "members": [{}]})
    assert (result.answers["a"], result.answers["b"]) == (2, 4)


def test_choice_names_in_the_response_language() -> None:
    definition = minimal_definition()
    definition["questions"].append(
        {
            "name": "country_name",
            "type": "calculate",
            "calculation": "jr:choice-name(${country}, '${country}')",
        }
    )
    validator = ResponseValidator(load_definition(definition))
    answers = {"country": "KG", "cluster": "c1", "hh_size": 1, "members": [{}]}
    assert validator.validate(answers).answers["country_name"] == "Kyrgyzstan"
    assert validator.validate(answers, language="ru").answers["country_name"] == "Кыргызстан"


def test_a_computed_default_stands_in_for_a_missing_answer() -> None:
    definition = minimal_definition()
    definition["questions"][3].pop("relevant")
    definition["questions"][3]["calculation"] = "2015 + ${hh_size}"
    validator = ResponseValidator(load_definition(definition))
    answers: dict[str, Any] = {"country": "KG", "cluster": "c1", "hh_size": 2}
    answers["members"] = [{}, {}]
    result = validator.validate(answers)
    assert result.ok
    assert result.answers["flood_year"] == 2017
    result = validator.validate({**answers, "flood_year": 2020})
    assert result.answers["flood_year"] == 2020
    result = validator.validate({**answers, "hh_size": 20, "members": [{}] * 20})
    assert [(e.path, e.code) for e in result.errors] == [
        ("flood_year", "response.constraint_failed")
    ]


# --------------------------------------------------------------------------- all at once


def test_every_error_is_listed_at_once_in_document_order() -> None:
    def edit(h: dict[str, Any]) -> None:
        h["consent_intro"] = "read"
        h["identification"]["region"] = "TJ-SU"
        h["identification"]["household_number"] = 0
        h["household"]["members"][0]["member_age"] = 121
        h["household"]["members"][1]["member_sex"] = "?"
        h["household"]["members"][2]["member_activity"] = "student"
        h["household"]["members"][2]["hobby"] = "chess"
        h["intentions"]["move_barriers"] = ["no_money"]
        del h["closing"]["gps"]
        h["surprise"] = {}

    result = check(changed(edit))
    assert codes(result) == [
        ("consent_intro", "response.invalid_type"),
        ("identification.region", "response.invalid_choice"),
        ("identification.household_number", "response.constraint_failed"),
        ("household.members[0].member_age", "response.constraint_failed"),
        ("household.members[1].member_sex", "response.invalid_choice"),
        ("household.members[2].member_activity", "response.not_relevant"),
        ("household.members[2].hobby", "response.unknown_field"),
        ("intentions.move_barriers", "response.not_relevant"),
        ("closing.gps", "response.required"),
        ("surprise", "response.unknown_field"),
    ]
    assert not result.ok
    assert all(isinstance(e, FieldError) for e in result.errors)
    assert result.errors[0].as_dict() == {
        "path": "consent_intro",
        "code": "response.invalid_type",
        "message": result.errors[0].message,
    }


def test_the_validator_is_reusable_and_responses_do_not_leak() -> None:
    validator = reference_validator()
    bad = copy.deepcopy(reference_household())
    bad["household"]["members"][0]["member_age"] = 150
    assert not validator.validate(bad, now=NOW).ok
    assert validator.validate(reference_household(), now=NOW).ok
    assert not validator.validate(bad, now=NOW).ok


def test_remembered_results_follow_the_answers() -> None:
    """Expensive expressions are remembered by the values they read, across responses."""
    cases = [("town", "KG-U"), ("village", "KG-R"), ("city", "KG-U"), ("remote", "KG-R")]
    for settlement, stratum in cases * 2:
        household = changed(_set("identification.settlement_type", settlement))
        result = check(household)
        assert result.ok
        assert result.answers["identification"]["stratum"] == stratum
        assert result.design["stratum"] == stratum
    statuses = [("IDP_RETURNED", "no", True), ("IDP", "no", False), ("IDP", "yes", True)]
    for status, forced, ok in statuses * 2:

        def edit(h: dict[str, Any], status: str = status, forced: str = forced) -> None:
            h["current_status"].update(displacement_status=status, forced_move_other=forced)

        assert check(changed(edit)).ok is ok
    for region, ok in [("KG-C", True), ("TJ-SU", False), ("KG-T", True), ("TJ-SU", False)]:
        assert check(changed(_set("identification.region", region))).ok is ok


def test_a_choice_filter_on_labels_follows_the_language() -> None:
    definition = minimal_definition()
    definition["questions"][5]["questions"][0]["choice_filter"] = "label != 'Male'"
    validator = ResponseValidator(load_definition(definition))
    answers = {"country": "KG", "cluster": "c1", "hh_size": 1, "members": [{"sex": "M"}]}
    for language, ok in [("en", False), ("ru", True), (None, False), ("ru", True)]:
        result = validator.validate(answers, language=language)
        assert result.ok is ok
        if not ok:
            assert [(e.path, e.code) for e in result.errors] == [
                ("members[0].sex", "response.invalid_choice")
            ]
