"""The response validator: every rule with its path and code, on the reference questionnaire."""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import pytest

from survey_service.errors import FieldError
from survey_service.questionnaire.definition import load_definition
from survey_service.validation import ResponseValidator
from tests.helpers import (
    NOW,
    changed,
    check,
    codes,
    minimal_definition,
    reference_household,
    reference_validator,
    set_answer,
    validator_for,
)

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


COVER = {
    "country": "KG",
    "region": "KG-C",
    "settlement_type": "village",
    "cluster": "KG-R-0042",
    "household_number": 17,
}


def refusal(**more: Any) -> dict[str, Any]:
    """A household that refused: the cover page filled, then consent = no."""
    return {
        "interview_start": "2025-06-01T10:00:00Z",
        "identification": dict(COVER),
        "consent": "no",
    } | more


def test_a_refusal_is_valid_and_carries_its_cover_page_but_no_weight() -> None:
    result = check(refusal())
    assert result.errors == []
    assert result.answers["identification"] == COVER | {"stratum": "KG-R", "currency": "KGS"}
    # tagged by where it was refused, so response rates count it per country and region
    assert result.tags == {
        "country": "KG",
        "admin1": "KG-C",
        "hazard_type": None,
        "displacement_status": None,
    }
    # but it weighs nothing: estimates leave it out
    assert result.design == {"weight": None, "stratum": "KG-R", "psu": "KG-R-0042"}


def test_the_cover_page_is_required_before_consent() -> None:
    answers = {"interview_start": "2025-06-01T10:00:00Z", "consent": "no"}
    assert codes(check(answers)) == [
        (f"identification.{name}", "response.required") for name in COVER
    ]


def test_a_weight_sent_with_a_refusal_is_dropped() -> None:
    answers = refusal()
    answers["identification"]["design_weight"] = 1
    result = check(answers)
    assert result.errors == []
    assert "design_weight" not in result.answers["identification"]


def test_skipped_groups_may_be_sent_empty_or_null() -> None:
    answers = refusal(household=None, intentions={}, closing={"gps": None})
    assert check(answers).errors == []


def test_null_is_the_same_as_absent() -> None:
    household = reference_household()
    household["impacts"]["livestock_lost"] = None  # not relevant, but null
    assert check(household).errors == []
    household["closing"]["gps"] = None
    assert codes(check(household)) == [("closing.gps", "response.required")]


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


# --------------------------------------------------------------------------- choices


def test_choice_filter_excludes_a_region_of_another_country() -> None:
    result = check(changed(set_answer("identification.region", "UZ-QR")))
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
    result = check(changed(set_answer("intentions.want_cannot_move", "no")))
    assert codes(result) == [("intentions.want_cannot_move", "response.not_relevant")]


def test_an_answer_to_a_skipped_question_in_a_repeat() -> None:
    result = check(changed(set_answer("household.members[2].member_education", "none")))
    assert codes(result) == [("household.members[2].member_education", "response.not_relevant")]


def test_a_skipped_group_is_reported_once_at_the_outermost_node() -> None:
    answers = refusal(
        household={"hh_size": 2, "members": [{"member_age": 3, "member_sex": "junk"}]},
        hazard_exposure={"worst_year": "junk"},
        intentions={},
    )
    result = check(answers)
    assert codes(result) == [
        ("household", "response.not_relevant"),
        ("hazard_exposure", "response.not_relevant"),
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
    assert codes(check(refusal(household={"hh_size": 2}))) == [
        ("household", "response.not_relevant")
    ]


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
    household = changed(set_answer("household.members[0].member_age", 150))
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
    household = changed(set_answer("migration_remittances.members_abroad", 4))
    assert codes(check(household)) == [
        ("migration_remittances.members_abroad", "response.constraint_failed")
    ]
    household = changed(set_answer("displacement_history.move_details.move_date", "2025-07-01"))
    household["displacement_history"]["move_details"]["move_months"] = 1
    errors = codes(check(household))
    assert ("displacement_history.move_details.move_date", "response.constraint_failed") in errors
    later = datetime.datetime(2025, 8, 1, tzinfo=datetime.UTC)
    assert reference_validator().validate(household, now=later).ok


def test_a_constraint_is_not_evaluated_on_an_empty_or_invalid_answer() -> None:
    household = changed(set_answer("household.members[2].member_age", "old"))
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
    answers = refusal(hazard_exposure={"hazard_affected": "yes"})
    result = check(answers)
    assert result.errors == []
    assert result.warnings == []
    assert result.answers.get("hazard_exposure") in (None, {})


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


def test_calculations_only_the_device_can_know_keep_the_client_value() -> None:
    definition = minimal_definition()
    definition["questions"] += [
        {"name": "draw", "type": "calculate", "calculation": "random()"},
        {"name": "key", "type": "calculate", "calculation": "uuid()"},
        {"name": "started", "type": "calculate", "calculation": "once(now())"},
        {"name": "order", "type": "calculate", "calculation": "randomize(${members}, 3)"},
        {"name": "double", "type": "calculate", "calculation": "${draw} * 2"},
        {"name": "unsent", "type": "calculate", "calculation": "uuid(6)"},
        {"name": "bad", "type": "calculate", "calculation": "concat('x', random())"},
    ]
    validator = ResponseValidator(load_definition(definition))
    answers = {
        "country": "KG",
        "cluster": "c1",
        "hh_size": 1,
        "members": [{}],
        "draw": 0.25,
        "key": "d3b07384-d9a0-4c9f-8f2b-1b2c3d4e5f60",
        "started": "2025-05-31T08:00:00.000+05:00",
        "double": 0.5,
        "bad": {"not": "a value"},
    }
    result = validator.validate(answers, now=NOW)
    assert result.ok
    assert result.trusted == ["draw", "key", "started"]
    assert [(w.path, w.code) for w in result.warnings] == [
        ("draw", "response.calculation_trusted"),
        ("key", "response.calculation_trusted"),
        ("started", "response.calculation_trusted"),
        ("bad", "response.calculation_mismatch"),  # not a text or a number: recomputed
    ]
    assert result.answers["draw"] == 0.25
    assert result.answers["started"] == "2025-05-31T08:00:00.000+05:00"
    assert result.answers["double"] == 0.5  # recomputed from the kept draw, agrees
    assert len(result.answers["unsent"]) == 6  # nothing sent: the server draws one
    assert str(result.answers["bad"]).startswith("x0.")


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
        ("identification.region", "response.invalid_choice"),
        ("identification.household_number", "response.constraint_failed"),
        ("consent_intro", "response.invalid_type"),
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
    assert result.errors[2].as_dict() == {
        "path": "consent_intro",
        "code": "response.invalid_type",
        "message": result.errors[2].message,
    }


def test_the_validator_is_reusable_and_responses_do_not_leak() -> None:
    validator = reference_validator()
    bad = copy.deepcopy(reference_household())
    bad["household"]["members"][0]["member_age"] = 150
    assert not validator.validate(bad, now=NOW).ok
    assert validator.validate(reference_household(), now=NOW).ok
    assert not validator.validate(bad, now=NOW).ok
