"""XLSForm import and export: every supported feature, every refusal with its cell, round trips."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from pyxform.xls2xform import convert

from survey_service.questionnaire.definition import DefinitionError, check_definition
from survey_service.questionnaire.xlsform import (
    XLSFormError,
    definition_from_xlsform,
    language_column_name,
    xlsform_from_definition,
)
from tests.helpers import FEATURE_DEFINITION, REFERENCE

Rows = list[list[Any]]


def workbook(
    survey: Rows, choices: Rows | None = None, settings: Rows | None = None, **extra: Rows
) -> bytes:
    """An .xlsx with the given sheets; each is a list of rows, the first being the headers."""
    book = Workbook()
    sheets: dict[str, Rows | None] = {
        "survey": survey,
        "choices": choices,
        "settings": settings,
        **extra,
    }
    first = True
    for title, rows in sheets.items():
        if rows is None:
            continue
        if first:
            sheet = book.active
            assert sheet is not None
            sheet.title = title
            first = False
        else:
            sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def problems_of(content: bytes, filename: str = "form.xlsx") -> list[dict[str, str]]:
    with pytest.raises(XLSFormError) as caught:
        definition_from_xlsform(content, filename)
    return caught.value.problems


def codes_at(problems: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(p["path"], p["code"]) for p in problems]


# --------------------------------------------------------------------------------------------
# A workbook with every supported feature

EN, RU = "English (en)", "Russian (ru)"
SURVEY_HEADERS = [
    "type",
    "name",
    f"label::{EN}",
    f"label::{RU}",
    f"hint::{EN}",
    "relevant",
    "required",
    f"required_message::{EN}",
    "constraint",
    f"constraint_message::{EN}",
    f"constraint_message::{RU}",
    "calculation",
    "choice_filter",
    "repeat_count",
    "default",
    "appearance",
    "parameters",
    "dimension",
    "design",
    "pii",
]


def survey_row(**cells: Any) -> list[Any]:
    """A survey row from column -> value (`label`/`label_ru`/`hint`/`required_message`/...)."""
    names = {
        "label": f"label::{EN}",
        "label_ru": f"label::{RU}",
        "hint": f"hint::{EN}",
        "required_message": f"required_message::{EN}",
        "constraint_message": f"constraint_message::{EN}",
        "constraint_message_ru": f"constraint_message::{RU}",
    }
    values = {names.get(k, k): v for k, v in cells.items()}
    unknown = set(values) - set(SURVEY_HEADERS)
    assert not unknown, unknown
    return [values.get(h) for h in SURVEY_HEADERS]


FEATURE_SURVEY: Rows = [
    SURVEY_HEADERS,
    survey_row(type="dateTime", name="start_time", label="Start", required="yes"),
    survey_row(
        type="select_one countries",
        name="country",
        label="Country",
        label_ru="Страна",
        hint="Where the household lives",
        required="TRUE",
        required_message="Choose a country",
        dimension="country",
        design="stratum",
    ),
    survey_row(
        type="select_one regions",
        name="region",
        label="Region",
        choice_filter="country = ${country}",
        required="yes",
        dimension="admin1",
    ),
    survey_row(
        type="select one hazards", name="hazard", label="Worst hazard", dimension="hazard_type"
    ),
    survey_row(
        type="select_one statuses",
        name="status",
        label="Status",
        dimension="displacement_status",
        appearance="minimal",
    ),
    survey_row(
        type="begin group",
        name="hh",
        label="Household",
        label_ru="Домохозяйство",
        relevant="${country} != ''",
        appearance="field-list",
    ),
    survey_row(
        type="integer",
        name="hh_size",
        label="People",
        required="${status} != 'IDP'",
        required_message="How many people?",
        constraint=". >= 1 and . <= 30",
        constraint_message="Between 1 and 30",
        constraint_message_ru="От 1 до 30",
        default=1,
    ),
    survey_row(type="calculate", name="wt", calculation="1.5", design="weight"),
    survey_row(type="text", name="cluster", label="Cluster", design="psu", required="no"),
    survey_row(type="begin repeat", name="members", label="Member", repeat_count="${hh_size}"),
    survey_row(type="text", name="member_name", label="Name", pii="yes"),
    survey_row(type="decimal", name="member_income", label="Income", default="2.5"),
    survey_row(type="select_one sexes", name="member_sex", label="Sex", dimension="sex"),
    survey_row(type="integer", name="member_age", label="Age", dimension="age"),
    survey_row(type="begin_repeat", name="trips", label="Trip", repeat_count="${hh_size} - 1"),
    survey_row(type="date", name="trip_date", label="Date", pii="no"),
    survey_row(type="geopoint", name="trip_gps", label="Where", parameters="capture-accuracy=10"),
    survey_row(type="end_repeat"),
    survey_row(type="end repeat"),
    survey_row(type="end group"),
    [],  # an empty row is allowed, as in pyxform
    survey_row(type="select_multiple hazards or_other", name="hazards_seen", label="Hazards"),
    survey_row(type="select_one yes_no or_other", name="moved", label="Moved?"),
    survey_row(
        type="text",
        name="moved_other",
        label="Where else?",
        relevant="selected(${moved}, 'other')",
    ),
    survey_row(type="note", name="thanks", label="Thank you", hint="Say it"),
    survey_row(type="calculate", name="n_members", calculation="count(${member_name})", label="N"),
]
FEATURE_CHOICES: Rows = [
    ["list_name", "name", f"label::{EN}", f"label::{RU}", "country"],
    ["countries", "KG", "Kyrgyzstan", "Кыргызстан", None],
    ["countries", "KZ", "Kazakhstan", None, None],
    ["regions", "KG-C", "Chuy", None, "KG"],
    ["regions", "KZ-10", "Abai", None, "KZ"],
    ["hazards", "MH0600", "Flood", "Наводнение", None],
    ["hazards", "MH0401", "Drought", None, None],
    ["statuses", "IDP", "Internally displaced", None, None],
    ["statuses", "NON_DISPLACED", "Not displaced", None, None],
    ["yes_no", "yes", "Yes", "Да", None],
    ["yes_no", "no", "No", "Нет", None],
    ["sexes", "F", "Female", None, None],
    ["sexes", "M", "Male", None, None],
]
FEATURE_SETTINGS: Rows = [
    [
        "form_id",
        "form_title",
        f"title_translation::{RU}",
        f"description::{EN}",
        "default_language",
        "disclosure_threshold",
    ],
    ["Climate_Pilot 2", "Pilot", "Пилот", "A pilot survey", EN, 5],
]


def feature_workbook() -> bytes:
    return workbook(FEATURE_SURVEY, FEATURE_CHOICES, FEATURE_SETTINGS)


def test_every_supported_feature_maps_onto_the_definition() -> None:
    definition = definition_from_xlsform(feature_workbook(), "pilot.xlsx")
    assert definition == FEATURE_DEFINITION
    assert check_definition(definition) == []


def test_the_feature_workbook_round_trips() -> None:
    first = definition_from_xlsform(feature_workbook(), "pilot.xlsx")
    exported = xlsform_from_definition(first)
    second = definition_from_xlsform(exported, "anything.xlsx")
    assert second == first
    # and once more: the export is stable
    assert definition_from_xlsform(xlsform_from_definition(second), "x.xlsx") == first


def test_the_reference_questionnaire_round_trips() -> None:
    reference = json.loads(REFERENCE.read_text("utf-8"))
    exported = xlsform_from_definition(reference)
    assert definition_from_xlsform(exported, "climate.xlsx") == reference


def test_the_export_is_an_xlsform_pyxform_converts_itself() -> None:
    reference = json.loads(REFERENCE.read_text("utf-8"))
    warnings: list[str] = []
    result = convert(xlsform_from_definition(reference), warnings=warnings, file_type=".xlsx")
    assert "climate-migration-household" in result.xform


def test_the_export_lays_out_survey_choices_and_settings() -> None:
    book = load_workbook(io.BytesIO(xlsform_from_definition(FEATURE_DEFINITION)))
    assert book.sheetnames == ["survey", "choices", "settings"]
    survey = [[c.value for c in row] for row in book["survey"].iter_rows()]
    headers = survey[0]
    assert headers[:4] == ["type", "name", f"label::{EN}", f"label::{RU}"]
    assert {"dimension", "design", "pii", "choice_filter", "repeat_count"} <= set(headers)
    types = [row[0] for row in survey[1:]]
    assert "select_multiple hazards or_other" in types
    assert types.count("end repeat") == 2
    # the generated `other` text question is not written: the reader adds it back
    names = [row[1] for row in survey[1:]]
    assert "hazards_seen_other" not in names
    assert "moved_other" in names
    choices = [[c.value for c in row] for row in book["choices"].iter_rows()]
    assert choices[0] == ["list_name", "name", f"label::{EN}", f"label::{RU}", "country"]
    settings = [[c.value for c in row] for row in book["settings"].iter_rows()]
    assert dict(zip(settings[0], settings[1], strict=True)) == {
        "form_id": "climate-pilot-2",
        "form_title": "Pilot",
        f"title_translation::{RU}": "Пилот",
        f"description::{EN}": "A pilot survey",
        "default_language": EN,
        "disclosure_threshold": 5,
    }


def test_a_plain_single_language_sheet_needs_no_settings() -> None:
    content = workbook(
        [
            ["type", "name", "label", "hint", "required", "relevant", "calculate"],
            ["integer", "age", "Age", "In years", "yes", None, None],
            ["text", "why", "Why?", None, None, "${age} > 60", None],
            ["calculate", "double", None, None, None, None, "${age} * 2"],
        ]
    )
    definition = definition_from_xlsform(content, "Elderly Survey.xlsx")
    assert definition == {
        "id": "elderly-survey",  # from the file name, as pyxform does without form_id
        "title": {"en": "elderly-survey"},
        "default_language": "en",
        "questions": [
            {
                "name": "age",
                "type": "integer",
                "label": {"en": "Age"},
                "hint": {"en": "In years"},
                "required": True,
            },
            {"name": "why", "type": "text", "label": {"en": "Why?"}, "relevant": "${age} > 60"},
            {"name": "double", "type": "calculate", "calculation": "${age} * 2"},
        ],
    }
    assert definition_from_xlsform(xlsform_from_definition(definition), "x.xlsx") == definition


def test_unsuffixed_columns_are_in_the_default_language() -> None:
    content = workbook(
        [
            ["type", "name", "label", "label::Russian (ru)", "label::uz"],
            ["text", "q", "Question", "Вопрос", "Savol"],
        ],
        settings=[["form_id", "form_title", "default_language"], ["q-form", "Q", "en"]],
    )
    definition = definition_from_xlsform(content, "q.xlsx")
    assert definition["languages"] == ["en", "ru", "uz"]
    assert definition["questions"][0]["label"] == {"en": "Question", "ru": "Вопрос", "uz": "Savol"}


def test_without_a_default_language_setting_the_first_named_language_is_the_default() -> None:
    content = workbook(
        [
            ["type", "name", "label::Russian (ru)", "label::English (en)"],
            ["text", "q", "Вопрос", None],
        ]
    )
    definition = definition_from_xlsform(content, "ru-form.xlsx")
    assert definition["default_language"] == "ru"
    assert definition["languages"] == ["ru", "en"]
    assert definition["title"] == {"ru": "ru-form"}


def test_aliases_pyxform_accepts_are_read() -> None:
    content = workbook(
        [
            ["type", "name", "caption", "relevance", "calculate", "jr:count"],
            ["int", "n", "N", None, None, None],
            ["begin repeat", "r", "R", "${n} > 0", None, "${n}"],
            ["string", "s", "S", None, None, None],
            ["end repeat", None, None, None, None, None],
            ["q calculate", "c", None, None, "${n} + 1", None],
        ],
        settings=[["set_form_id", "set_form_title"], ["aliases", "Aliases"]],
    )
    definition = definition_from_xlsform(content, "a.xlsx")
    assert definition["id"] == "aliases"
    questions = definition["questions"]
    assert [q["type"] for q in questions] == ["integer", "repeat", "calculate"]
    assert questions[1]["repeat_count"] == "${n}"
    assert questions[1]["relevant"] == "${n} > 0"
    assert questions[2]["calculation"] == "${n} + 1"


def test_a_language_code_in_the_settings_and_columns_in_any_spelling() -> None:
    assert language_column_name("ky") == "Kirghiz (ky)"
    assert language_column_name("uz-Cyrl") == "Uzbek (uz-Cyrl)"
    content = workbook(
        [["type", "name", "label::Kazakh"], ["text", "q", "Сұрақ"]],
        settings=[["form_id", "form_title", "default_language"], ["kk-form", "Q", "Kazakh (kk)"]],
    )
    assert definition_from_xlsform(content, "q.xlsx")["questions"][0]["label"] == {"kk": "Сұрақ"}


# --------------------------------------------------------------------------------------------
# Refusals, each at its cell

MINIMAL_SETTINGS: Rows = [["form_id", "form_title"], ["refusals", "Refusals"]]


def refused(survey: Rows, choices: Rows | None = None) -> list[dict[str, str]]:
    return problems_of(workbook(survey, choices, MINIMAL_SETTINGS))


@pytest.mark.parametrize(
    "type_text",
    [
        "image",
        "photo",
        "audio",
        "video",
        "file",
        "barcode",
        "range",
        "rank yes_no",
        "select_one_from_file places.csv",
        "select_one_external places",
        "select_one ${earlier}",
        "acknowledge",
        "trigger",
        "geotrace",
        "geoshape",
        "hidden",
        "start",
        "end",
        "today",
        "deviceid",
        "username",
        "audit",
        "xml-external",
    ],
)
def test_an_unsupported_type_is_refused_at_its_type_cell(type_text: str) -> None:
    problems = refused(
        [
            ["type", "name", "label"],
            ["text", "ok", "Fine"],
            [type_text, "bad", "Bad"],
        ],
        [["list_name", "name", "label"], ["yes_no", "yes", "Yes"]],
    )
    assert codes_at(problems) == [("survey!A3", "xlsform.unsupported_type")]
    assert type_text.split()[0] in problems[0]["message"]


def test_a_refused_begin_loop_takes_its_rows_and_its_end_along() -> None:
    problems = refused(
        [
            ["type", "name", "label", "relevant"],
            ["text", "ok", "Fine", None],
            ["begin loop over yes_no", "l", "L", None],
            ["text", "inside", "Inside", None],
            ["end loop", None, None, None],
            ["text", "after", "After", "${inside} != ''"],
        ],
        [["list_name", "name", "label"], ["yes_no", "yes", "Yes"]],
    )
    # the reference to the refused row is not reported a second time
    assert codes_at(problems) == [("survey!A3", "xlsform.unsupported_type")]


def test_an_unsupported_function_is_refused_at_its_cell() -> None:
    problems = refused(
        [
            ["type", "name", "label", "relevant", "constraint"],
            ["integer", "n", "N", None, ". > 0"],
            ["text", "t", "T", "pulldata('f', 'x', 'y', ${n}) = 1", None],
            ["integer", "m", "M", None, "once(.) > 1"],
        ]
    )
    assert codes_at(problems) == [
        ("survey!D3", "xlsform.unsupported_function"),
        ("survey!E4", "xlsform.unsupported_function"),
    ]
    assert "pulldata" in problems[0]["message"]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("dimension", "district", "'district' is not one of country, admin1"),
        ("dimension", "gender", "hazard_type, displacement_status, sex, age"),
        ("design", "cluster", "'cluster' is not one of weight, stratum, psu"),
        ("pii", "maybe", "pii is yes or no"),
    ],
)
def test_an_unknown_value_in_the_extra_columns_is_refused(
    column: str, value: str, message: str
) -> None:
    problems = refused(
        [
            ["type", "name", "label", column],
            ["select_one c", "q", "Q", value],
        ],
        [["list_name", "name", "label"], ["c", "KG", "Kyrgyzstan"]],
    )
    assert codes_at(problems) == [("survey!D2", "xlsform.invalid_value")]
    assert message in problems[0]["message"]


def test_a_role_bound_twice_is_refused_at_the_second_cell() -> None:
    problems = refused(
        [
            ["type", "name", "label", "design"],
            ["text", "a", "A", "stratum"],
            ["text", "b", "B", "psu stratum"],
        ]
    )
    assert codes_at(problems) == [("survey!D3", "xlsform.invalid_value")]
    assert "already given by 'a' (survey!D2)" in problems[0]["message"]


def test_a_binding_check_definition_refuses_points_at_the_extra_column() -> None:
    problems = refused(
        [
            ["type", "name", "label", "dimension"],
            ["text", "country", "Country", "country"],
        ]
    )
    assert codes_at(problems) == [("survey!D2", "definition.invalid_binding")]


@pytest.mark.parametrize(
    ("form_id", "expected"),
    [("опрос", None), ("2024", None), ("ab", None), ("My Survey", "my-survey")],
)
def test_the_form_id_becomes_a_slug_or_is_refused(form_id: str, expected: str | None) -> None:
    content = workbook(
        [["type", "name", "label"], ["text", "q", "Q"]],
        settings=[["form_title", "form_id"], ["T", form_id]],
    )
    if expected is None:
        problems = problems_of(content)
        assert codes_at(problems) == [("settings!B2", "xlsform.invalid_value")]
        assert repr(form_id) in problems[0]["message"]
    else:
        assert definition_from_xlsform(content, "f.xlsx")["id"] == expected


def test_a_file_name_that_cannot_be_an_id_is_refused_without_form_id() -> None:
    content = workbook([["type", "name", "label"], ["text", "q", "Q"]])
    problems = problems_of(content, "анкета.xlsx")
    assert codes_at(problems) == [("settings", "xlsform.invalid_value")]
    assert "анкета.xlsx" in problems[0]["message"]


@pytest.mark.parametrize(
    ("header", "cell"),
    [("media::image", "D3"), ("guidance_hint", "D3"), ("read_only", "D3"), ("bind::odk:x", "D3")],
)
def test_a_survey_column_the_service_cannot_keep_is_refused(header: str, cell: str) -> None:
    problems = refused(
        [
            ["type", "name", "label", header],
            ["text", "a", "A", None],
            ["text", "b", "B", "something"],
            ["text", "c", "C", "more"],
        ]
    )
    assert codes_at(problems) == [(f"survey!{cell}", "xlsform.unsupported_column")]


def test_an_empty_unknown_column_is_harmless() -> None:
    content = workbook(
        [["type", "name", "label", "media::image"], ["text", "a", "A", None]],
        settings=MINIMAL_SETTINGS,
    )
    assert definition_from_xlsform(content, "f.xlsx")["questions"][0]["name"] == "a"


def test_media_columns_of_choices_are_refused() -> None:
    problems = refused(
        [["type", "name", "label"], ["select_one c", "q", "Q"]],
        [["list_name", "name", "label", "image"], ["c", "a", "A", "a.png"]],
    )
    assert codes_at(problems) == [("choices!D2", "xlsform.unsupported_column")]


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("version", "2024010101", "xlsform.unsupported_column"),
        ("instance_name", "concat('a')", "xlsform.unsupported_column"),
        ("default_language", "Martian", "xlsform.invalid_value"),
        ("disclosure_threshold", "ten", "xlsform.invalid_value"),
    ],
)
def test_a_setting_the_service_cannot_honour_is_refused(header: str, value: str, code: str) -> None:
    content = workbook(
        [["type", "name", "label"], ["text", "q", "Q"]],
        settings=[["form_id", "form_title", header], ["settings-test", "T", value]],
    )
    assert codes_at(problems_of(content)) == [("settings!C2", code)]


def test_sheets_the_service_does_not_read_are_refused() -> None:
    content = workbook(
        [["type", "name", "label"], ["text", "q", "Q"]],
        settings=MINIMAL_SETTINGS,
        external_choices=[["list_name", "name", "label"], ["x", "a", "A"]],
    )
    assert codes_at(problems_of(content)) == [("external_choices", "xlsform.unsupported_sheet")]


@pytest.mark.parametrize(
    ("content", "filename"),
    [(b"not a spreadsheet", "form.xlsx"), (b"\xd0\xcf\x11\xe0 broken", "form.xls"), (b"", "f.csv")],
)
def test_an_unreadable_file_is_refused(content: bytes, filename: str) -> None:
    assert codes_at(problems_of(content, filename)) == [("", "xlsform.unreadable")]


def test_a_workbook_without_a_survey_sheet_is_refused() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "choices"
    sheet.append(["list_name", "name", "label"])
    book.create_sheet("notes")
    buffer = io.BytesIO()
    book.save(buffer)
    assert codes_at(problems_of(buffer.getvalue())) == [("survey", "xlsform.missing_sheet")]


@pytest.mark.parametrize(
    ("rows", "cell", "message"),
    [
        ([["begin group", "g", "G"], ["text", "q", "Q"], ["end repeat"]], "A4", "'end repeat'"),
        ([["text", "q", "Q"], ["end group"]], "A3", "open nothing"),
        ([["begin repeat", "r", "R"], ["text", "q", "Q"]], "A2", "never ended"),
    ],
)
def test_unbalanced_groups_and_repeats_are_refused(rows: Rows, cell: str, message: str) -> None:
    problems = refused([["type", "name", "label"], *rows])
    assert codes_at(problems) == [(f"survey!{cell}", "xlsform.structure")]
    assert message in problems[0]["message"]


def test_a_language_that_cannot_be_told_is_refused_once_at_its_header() -> None:
    problems = refused(
        [
            ["type", "name", "label", "label::Elvish tongue"],
            ["text", "a", "A", "x"],
            ["text", "b", "B", "y"],
        ]
    )
    assert codes_at(problems) == [("survey!D1", "xlsform.invalid_value")]
    assert "'label::English (en)'" in problems[0]["message"]


def test_a_missing_name_is_located_in_the_name_column() -> None:
    problems = refused([["type", "name", "label"], ["text", "a", "A"], ["note", None, "Hello"]])
    assert codes_at(problems) == [("survey!B3", "definition.schema")]


def test_a_datetime_with_a_now_default_asks_for_the_interview_time() -> None:
    content = workbook(
        [["type", "name", "label", "default"], ["datetime", "started", "Started", "now()"]],
        settings=MINIMAL_SETTINGS,
    )
    question = definition_from_xlsform(content, "f.xlsx")["questions"][0]
    assert question == {
        "name": "started",
        "type": "datetime",
        "label": {"en": "Started"},
        "default": "now()",
    }


@pytest.mark.parametrize(
    ("survey", "choices", "settings", "cell"),
    [
        (  # two columns give the English label differently
            [["type", "name", "label", "label::English (en)"], ["text", "q", "Q", "Other Q"]],
            None,
            MINIMAL_SETTINGS,
            "survey!D2",
        ),
        (  # values in an end row
            [["type", "name", "label"], ["begin group", "g", "G"], ["text", "q", "Q"]]
            + [["end group", None, "G again"]],
            None,
            MINIMAL_SETTINGS,
            "survey!C4",
        ),
        (  # a choice without a list
            [["type", "name", "label"], ["select_one c", "q", "Q"]],
            [["list_name", "name", "label"], ["c", "a", "A"], [None, "b", "B"]],
            MINIMAL_SETTINGS,
            "choices!B3",
        ),
        (  # a second settings row
            [["type", "name", "label"], ["text", "q", "Q"]],
            None,
            [*MINIMAL_SETTINGS, ["other", "Other"]],
            "settings!A3",
        ),
    ],
)
def test_values_that_cannot_be_taken_are_refused(
    survey: Rows, choices: Rows | None, settings: Rows, cell: str
) -> None:
    problems = problems_of(workbook(survey, choices, settings))
    assert codes_at(problems) == [(cell, "xlsform.invalid_value")]


def test_a_row_without_a_type_is_refused() -> None:
    problems = refused([["type", "name", "label"], ["text", "q", "Q"], [None, "lost", "Lost"]])
    assert codes_at(problems) == [("survey!A3", "xlsform.missing_type")]


def test_check_definition_problems_come_back_as_cells() -> None:
    problems = refused(
        [
            ["type", "name", "label::English (en)", "label::Russian (ru)", "relevant"],
            ["text", "a", "A", None, "${nowhere} = 1"],
            ["begin group", "g", "G", None, None],
            ["integer", "a", "Again", None, None],
            ["text", "ru_only", None, "Только по-русски", None],
            ["end group", None, None, None, None],
            ["select_one missing_list", "s", "S", None, None],
            ["note", "meta", "Reserved", None, None],
        ]
    )
    assert codes_at(problems) == [
        ("survey!E2", "definition.unknown_reference"),
        ("survey!B4", "definition.duplicate_name"),
        ("survey!C5", "definition.missing_translation"),  # where the English text belongs
        ("survey!A7", "definition.unknown_choice_list"),
        ("survey!B8", "definition.reserved_name"),
    ]
    # JSON paths in messages are turned into cells too
    assert "already used at survey!A2" in problems[1]["message"]


def test_check_definition_problems_of_choices_come_back_as_cells() -> None:
    problems = refused(
        [["type", "name", "label"], ["select_one c", "q", "Q"]],
        [
            ["list_name", "name", "label", "bad property"],
            ["c", "a", "A", "x"],
            ["c", "a", "Again", None],
            ["c", "has space", "S", None],
        ],
    )
    assert codes_at(problems) == [
        ("choices!D2", "definition.schema"),  # the property's own column
        ("choices!B3", "definition.duplicate_name"),
        ("choices!B4", "definition.schema"),
    ]


def test_a_property_that_does_not_apply_is_refused_at_its_cell() -> None:
    problems = refused(
        [
            ["type", "name", "label", "choice_filter", "repeat_count"],
            ["integer", "n", "N", "x = 1", None],
            ["begin group", "g", "G", None, "3"],
            ["text", "t", "T", None, None],
            ["end group", None, None, None, None],
        ]
    )
    assert codes_at(problems) == [
        ("survey!D2", "definition.invalid_property"),
        ("survey!E3", "definition.invalid_property"),
    ]


def test_a_form_pyxform_itself_refuses_is_reported_at_its_row() -> None:
    problems = refused(
        [
            ["type", "name", "label", "parameters"],
            ["text", "a", "A", None],
            ["geopoint", "where", "Where", "capture-accuracy=10 colour=red"],
        ]
    )
    assert codes_at(problems) == [("survey!A3", "xlsform.rejected")]
    assert "colour" in problems[0]["message"]


def test_every_problem_is_reported_at_once() -> None:
    problems = refused(
        [
            ["type", "name", "label", "dimension", "relevant"],
            ["image", "photo", "Photo", None, None],
            ["text", "t", "T", "district", "once(.) = 1"],
            ["text", "u", "U", None, "${nope} = 1"],
        ]
    )
    assert codes_at(problems) == [
        ("survey!A2", "xlsform.unsupported_type"),
        ("survey!D3", "xlsform.invalid_value"),
        ("survey!E3", "xlsform.unsupported_function"),
        ("survey!E4", "definition.unknown_reference"),
    ]


def test_a_header_after_an_empty_column_is_located_by_its_own_letter() -> None:
    problems = refused(
        [["type", "name", "label", None, "relevant"], ["text", "a", "A", None, "${x}"]]
    )
    assert codes_at(problems) == [("survey!E2", "definition.unknown_reference")]


# --------------------------------------------------------------------------------------------
# Export


def test_exporting_a_definition_that_does_not_check_is_refused() -> None:
    broken = copy.deepcopy(FEATURE_DEFINITION)
    broken["questions"][0]["relevant"] = "${nowhere}"
    with pytest.raises(DefinitionError):
        xlsform_from_definition(broken)


def test_text_that_looks_like_a_formula_stays_text() -> None:
    definition = copy.deepcopy(FEATURE_DEFINITION)
    definition["questions"][0]["label"] = {"en": "= the start, as a formula would"}
    assert definition_from_xlsform(xlsform_from_definition(definition), "f.xlsx") == definition


def test_a_choice_property_named_like_a_column_cannot_be_exported() -> None:
    definition = copy.deepcopy(FEATURE_DEFINITION)
    definition["choice_lists"]["regions"][0]["properties"] = {"image": "x.png"}
    with pytest.raises(ValueError, match="'image'"):
        xlsform_from_definition(definition)
