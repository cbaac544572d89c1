"""Designers' workbooks as they come: what would not break on the phone is accepted, with a
warning at its cell, and obvious slips are fixed and said to be."""

from __future__ import annotations

from typing import Any

import pytest

from survey_service.questionnaire.definition import check_definition
from survey_service.questionnaire.xlsform.reader import XLSFormError, read_xlsform
from tests.helpers import Rows, xlsform_workbook

SETTINGS: Rows = [["form_id", "form_title"], ["lenient", "Lenient"]]


def read(
    survey: Rows, choices: Rows | None = None, settings: Rows | None = SETTINGS
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    definition, warnings = read_xlsform(xlsform_workbook(survey, choices, settings), "f.xlsx")
    assert check_definition(definition) == []
    return definition, warnings


def codes_at(warnings: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(w["path"], w["code"]) for w in warnings]


def test_typographic_quotes_in_expressions_are_made_straight() -> None:
    definition, warnings = read(
        [
            ["type", "name", "label", "relevant", "constraint", "calculation", "choice_filter"],
            ["select_one yn", "a", "A", None, None, None, None],
            ["integer", "b", "B", "${a} = ‘yes’", ". != “0”", None, None],
            ["calculate", "c", None, None, None, "if(${a} = ’yes’, 'l’eau', '')", None],
            ["select_one yn", "d", "D", None, None, None, "name != ‘no’"],
            ["text", "e", "E", "${a} = 'l’eau'", None, None, None],  # a literal: kept
        ],
        [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]],
    )
    b, c, d, e = definition["questions"][1:]
    assert b["relevant"] == "${a} = 'yes'"
    assert b["constraint"] == '. != "0"'
    assert c["calculation"] == "if(${a} = 'yes', 'l’eau', '')"
    assert d["choice_filter"] == "name != 'no'"
    assert e["relevant"] == "${a} = 'l’eau'"
    assert codes_at(warnings) == [
        ("survey!D3", "xlsform.quotes_fixed"),
        ("survey!E3", "xlsform.quotes_fixed"),
        ("survey!F4", "xlsform.quotes_fixed"),
        ("survey!G5", "xlsform.quotes_fixed"),
    ]
    assert "${a} = 'yes'" in warnings[0]["message"]


def test_checks_on_a_note_or_a_group_are_ignored() -> None:
    definition, warnings = read(
        [
            ["type", "name", "label", "required", "constraint", "constraint_message"],
            ["note", "intro", "Welcome", "yes", None, None],
            ["begin group", "g", "G", "true()", ". > 0", "Positive"],
            ["integer", "n", "N", "yes", ". > 0", "Positive"],
            ["note", "bye", "Thanks", "no", None, None],  # says nothing: dropped quietly
            ["end group", None, None, None, None, None],
        ]
    )
    intro, group = definition["questions"]
    assert set(intro) == {"name", "type", "label"}
    assert set(group) == {"name", "type", "label", "questions"}
    assert group["questions"][0]["required"] is True
    assert codes_at(warnings) == [
        ("survey!D2", "xlsform.ignored_value"),
        ("survey!D3", "xlsform.ignored_value"),
        ("survey!E3", "xlsform.ignored_value"),
        ("survey!F3", "xlsform.ignored_value"),
    ]


def test_languages_named_without_a_code_are_mapped_with_a_warning() -> None:
    definition, warnings = read(
        [
            ["type", "name", "label::english", "label::Français", "label::Русский"],
            ["text", "a", "Name", "Nom", "Имя"],
        ],
        settings=[["form_id", "default_language"], ["lenient", "english"]],
    )
    assert definition["default_language"] == "en"
    assert definition["languages"] == ["en", "fr", "ru"]
    assert definition["questions"][0]["label"] == {"en": "Name", "fr": "Nom", "ru": "Имя"}
    assert codes_at(warnings) == [
        ("survey!C1", "xlsform.language_named"),
        ("survey!D1", "xlsform.language_named"),
        ("survey!E1", "xlsform.language_named"),
        ("settings!B2", "xlsform.language_named"),
    ]
    assert "'label::French (fr)'" in warnings[1]["message"]


def test_languages_with_their_code_need_no_warning() -> None:
    definition, warnings = read(
        [["type", "name", "label::English (en)", "label::ru"], ["text", "a", "Name", "Имя"]]
    )
    assert definition["languages"] == ["en", "ru"]
    assert warnings == []


def test_texts_missing_the_default_language_take_another_with_a_warning() -> None:
    definition, warnings = read(
        [
            ["type", "name", "label::English (en)", "label::French (fr)", "hint::French (fr)"],
            ["text", "a", "Name", "Nom", "Votre nom"],
            ["text", "b", None, "Âge", None],
            ["select_one c", "s", None, "Choix", None],
        ],
        [
            ["list_name", "name", "label::English (en)", "label::French (fr)"],
            ["c", "x", None, "Ex"],
            ["c", "y", "Why", "Igrec"],
        ],
        settings=[["form_id", "default_language"], ["lenient", "en"]],
    )
    a, b, _ = definition["questions"]
    assert a["hint"] == {"fr": "Votre nom", "en": "Votre nom"}
    assert b["label"] == {"fr": "Âge", "en": "Âge"}
    assert definition["choice_lists"]["c"][0]["label"] == {"fr": "Ex", "en": "Ex"}
    assert codes_at(warnings) == [
        ("survey!E2", "xlsform.missing_translation"),  # no English hint column at all
        ("survey!C3", "xlsform.missing_translation"),
        ("choices!C2", "xlsform.missing_translation"),
    ]
    assert warnings[1]["message"].startswith("2 label cell(s)")
    assert "survey!C3, survey!C4" in warnings[1]["message"]


def test_choice_names_with_accents_apostrophes_or_spaces_are_kept() -> None:
    definition, warnings = read(
        [["type", "name", "label"], ["select_one places", "p", "Place"]],
        [
            ["list_name", "name", "label"],
            ["places", "Er_Rassiyé", "Er Rassiyé"],
            ["places", "cabinet d'assistant medical", "Cabinet d'assistant médical"],
            ["places", "plain", "Plain"],
        ],
    )
    names = [c["name"] for c in definition["choice_lists"]["places"]]
    assert names == ["Er_Rassiyé", "cabinet d'assistant medical", "plain"]
    assert codes_at(warnings) == [
        ("choices!B2", "xlsform.choice_name"),
        ("choices!B3", "xlsform.choice_name"),
    ]
    assert "select_one questions only" in warnings[1]["message"]
    assert "select_one" not in warnings[0]["message"]


@pytest.mark.parametrize("type_text", ["select_multiple places", "rank places"])
def test_a_space_in_a_name_of_a_multiple_answer_list_is_refused_at_its_cell(
    type_text: str,
) -> None:
    content = xlsform_workbook(
        [["type", "name", "label"], [type_text, "p", "Places"]],
        [
            ["list_name", "name", "label"],
            ["places", "Er_Rassiyé", "Er Rassiyé"],
            ["places", "cabinet d'assistant medical", "Cabinet"],
        ],
        SETTINGS,
    )
    with pytest.raises(XLSFormError) as caught:
        read_xlsform(content, "f.xlsx")
    assert codes_at(caught.value.problems) == [("choices!B3", "definition.invalid_choice_name")]
    assert "separated by spaces" in caught.value.problems[0]["message"]
