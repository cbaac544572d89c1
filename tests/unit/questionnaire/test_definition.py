"""The definition checker: every problem with its path, and the typed tree it builds."""

from __future__ import annotations

from typing import Any

import pytest

from survey_service.questionnaire.definition import (
    DefinitionError,
    check_definition,
    content_hash,
    format_path,
    load_definition,
)
from tests.helpers import minimal_definition


def codes_at(definition: Any) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in check_definition(definition)}


def test_minimal_definition_is_clean() -> None:
    assert check_definition(minimal_definition()) == []


def test_reference_questionnaire_is_clean(reference_definition: dict) -> None:
    problems = check_definition(reference_definition)
    assert problems == [], problems[:10]


def test_languages_awaiting_review_must_be_offered() -> None:
    marked = minimal_definition(settings={"translations_awaiting_review": ["ru"]})
    assert check_definition(marked) == []
    unknown = minimal_definition(settings={"translations_awaiting_review": ["ru", "kk"]})
    assert codes_at(unknown) == {
        ("settings.translations_awaiting_review[1]", "definition.missing_translation")
    }
    twice = minimal_definition(settings={"translations_awaiting_review": ["ru", "ru"]})
    assert {code for _, code in codes_at(twice)} == {"definition.schema"}


def test_tree_walk_repeat_and_choices() -> None:
    definition = load_definition(minimal_definition())
    names = [q.name for q in definition.walk()]
    assert names == [
        "country",
        "cluster",
        "flooded",
        "flood_year",
        "hh_size",
        "members",
        "sex",
        "age",
        "n_members",
    ]
    age = definition.by_name["age"]
    assert age.repeat is definition.by_name["members"]
    assert definition.by_name["hh_size"].repeat is None
    assert age.json_path == "questions[5].questions[1]"
    assert definition.choice_names(definition.by_name["sex"]) == {"F", "M"}
    assert "constraint" in age.expressions
    assert definition.tags == {"country": "country"}


def test_or_other_accepts_other() -> None:
    data = minimal_definition()
    data["questions"][2]["or_other"] = True
    definition = load_definition(data)
    assert definition.choice_names(definition.by_name["flooded"]) == {"yes", "no", "other"}


def test_choice_filter_names_choice_properties() -> None:
    data = minimal_definition()
    data["choice_lists"]["regions"] = [
        {"name": "KG-C", "label": {"en": "Chuy"}, "properties": {"country": "KG"}},
        {"name": "TJ-SU", "label": {"en": "Sughd"}, "properties": {"country": "TJ"}},
    ]
    data["questions"].insert(
        1,
        {
            "name": "region",
            "type": "select_one",
            "choices": "regions",
            "label": {"en": "Region"},
            "choice_filter": "country = ${country}",
        },
    )
    data["tags"]["admin1"] = "region"
    assert check_definition(data) == []
    data["questions"][1]["choice_filter"] = "province = ${country} and name != 'x'"
    assert codes_at(data) == {("questions[1].choice_filter", "definition.unknown_reference")}


def test_bare_names_outside_choice_filters_are_refused() -> None:
    data = minimal_definition()
    data["questions"][3]["relevant"] = "flooded = 'yes'"
    problems = check_definition(data)
    assert [p.code for p in problems] == ["definition.unknown_reference"]
    assert "did you mean ${flooded}" in problems[0].message


def test_keys_must_fit_the_type() -> None:
    data = minimal_definition()
    data["questions"][1]["choices"] = "yes_no"
    data["questions"][5]["constraint"] = ". > 0"
    data["questions"][4]["repeat_count"] = "3"
    data["questions"].append({"name": "lonely", "type": "select_one", "label": {"en": "?"}})
    data["questions"].append({"name": "no_label", "type": "integer"})
    assert codes_at(data) == {
        ("questions[1].choices", "definition.invalid_property"),
        ("questions[5].constraint", "definition.invalid_property"),
        ("questions[4].repeat_count", "definition.invalid_property"),
        ("questions[7].choices", "definition.missing_property"),
        ("questions[8].label", "definition.missing_property"),
    }


def test_reserved_and_duplicate_names_in_nested_groups() -> None:
    data = minimal_definition()
    data["questions"][5]["questions"].append(
        {"name": "hh_size", "type": "integer", "label": {"en": "again"}}
    )
    data["questions"].append({"name": "meta", "type": "text", "label": {"en": "meta"}})
    assert codes_at(data) == {
        ("questions[5].questions[2].name", "definition.duplicate_name"),
        ("questions[7].name", "definition.reserved_name"),
    }


def test_duplicate_choice_names() -> None:
    data = minimal_definition()
    data["choice_lists"]["yes_no"].append({"name": "yes", "label": {"en": "Yes!"}})
    assert codes_at(data) == {("choice_lists.yes_no[2].name", "definition.duplicate_name")}


def test_self_referencing_calculation_is_a_cycle() -> None:
    data = minimal_definition()
    data["questions"][6]["calculation"] = "${n_members} + 1"
    problems = check_definition(data)
    assert [(p.path, p.code) for p in problems] == [
        ("questions[6].calculation", "definition.calculation_cycle")
    ]
    assert "${n_members} → ${n_members}" in problems[0].message


def test_longer_cycle_is_reported_once() -> None:
    data = minimal_definition()
    data["questions"] += [
        {"name": "a", "type": "calculate", "calculation": "${b}"},
        {"name": "b", "type": "calculate", "calculation": "${c} + ${hh_size}"},
        {"name": "c", "type": "calculate", "calculation": "${a}"},
    ]
    problems = [p for p in check_definition(data) if p.code == "definition.calculation_cycle"]
    assert len(problems) == 1
    assert "${a} → ${b} → ${c} → ${a}" in problems[0].message


def test_languages_must_include_the_default() -> None:
    data = minimal_definition(languages=["ru"])
    assert ("languages", "definition.missing_translation") in codes_at(data)


def test_not_an_object() -> None:
    assert [p.code for p in check_definition([])] == ["definition.schema"]
    with pytest.raises(DefinitionError) as caught:
        load_definition("text")
    assert caught.value.problems[0].code == "definition.schema"


def test_content_hash_ignores_key_order() -> None:
    a = {"id": "x", "title": {"en": "T", "ru": "Т"}}
    b = {"title": {"ru": "Т", "en": "T"}, "id": "x"}
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash({**a, "id": "y"})


def test_format_path() -> None:
    assert format_path(["questions", 3, "label", "en"]) == "questions[3].label.en"
    assert format_path(["choice_lists", "my-list", 0]) == 'choice_lists["my-list"][0]'


def test_persons_bind_sex_and_age_of_one_roster() -> None:
    good = minimal_definition(persons={"sex": "sex", "age": "age"})
    assert check_definition(good) == []
    assert load_definition(good).persons == {"sex": "sex", "age": "age"}
    wrong = minimal_definition(persons={"sex": "age", "age": "hh_size"})
    assert codes_at(wrong) == {
        ("persons.sex", "definition.invalid_binding"),  # an integer, not a select_one
        ("persons.age", "definition.invalid_binding"),  # not inside a repeat
    }
    elsewhere = minimal_definition(persons={"sex": "sex", "age": "days"})
    elsewhere["questions"].append(
        {
            "name": "trips",
            "type": "repeat",
            "label": {"en": "Trips"},
            "questions": [{"name": "days", "type": "integer", "label": {"en": "Days"}}],
        }
    )
    assert codes_at(elsewhere) == {("persons", "definition.invalid_binding")}
    unknown = minimal_definition(persons={"sex": "gender", "colour": "x"})
    assert codes_at(unknown) == {
        ("persons.sex", "definition.invalid_binding"),
        ("persons.colour", "definition.schema"),
    }
