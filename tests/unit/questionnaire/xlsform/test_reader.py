"""The XLSForm reader: every supported feature onto the definition, every refusal at its cell."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook

from survey_service.questionnaire.definition import check_definition
from survey_service.questionnaire.xlsform.reader import (
    XLSFormError,
    definition_from_xlsform,
    read_xlsform,
)
from survey_service.questionnaire.xlsform.vocabulary import language_column_name
from survey_service.questionnaire.xlsform.writer import xlsform_from_definition
from tests.helpers import FEATURE_DEFINITION, Rows, feature_workbook, xlsform_workbook


def problems_of(content: bytes, filename: str = "form.xlsx") -> list[dict[str, str]]:
    with pytest.raises(XLSFormError) as caught:
        definition_from_xlsform(content, filename)
    return caught.value.problems


def codes_at(problems: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(p["path"], p["code"]) for p in problems]


def test_every_supported_feature_maps_onto_the_definition() -> None:
    definition = definition_from_xlsform(feature_workbook(), "pilot.xlsx")
    assert definition == FEATURE_DEFINITION
    assert check_definition(definition) == []


def test_a_plain_single_language_sheet_needs_no_settings() -> None:
    content = xlsform_workbook(
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
    content = xlsform_workbook(
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
    content = xlsform_workbook(
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
    content = xlsform_workbook(
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
    content = xlsform_workbook(
        [["type", "name", "label::Kazakh"], ["text", "q", "Сұрақ"]],
        settings=[["form_id", "form_title", "default_language"], ["kk-form", "Q", "Kazakh (kk)"]],
    )
    assert definition_from_xlsform(content, "q.xlsx")["questions"][0]["label"] == {"kk": "Сұрақ"}


# --------------------------------------------------------------------------------------------
# Refusals, each at its cell

MINIMAL_SETTINGS: Rows = [["form_id", "form_title"], ["refusals", "Refusals"]]


def refused(survey: Rows, choices: Rows | None = None) -> list[dict[str, str]]:
    return problems_of(xlsform_workbook(survey, choices, MINIMAL_SETTINGS))


@pytest.mark.parametrize(
    "type_text",
    [
        "select_one_from_file places.xml",
        "select_one_external places",
        "select_one ${earlier}",
        "start-geopoint",
        "osm",
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


def test_choices_from_a_csv_file_become_choices_file() -> None:
    content = xlsform_workbook(
        [
            ["type", "name", "label", "choice_filter"],
            ["text", "region", "Region", None],
            ["select_one_from_file villages.csv", "village", "Village", "area = ${region}"],
            ["select_multiple_from_file villages.csv", "visited", "Visited", None],
        ],
        None,
        MINIMAL_SETTINGS,
    )
    questions = definition_from_xlsform(content, "q.xlsx")["questions"]
    assert [(q["type"], q.get("choices_file")) for q in questions[1:]] == [
        ("select_one", "villages.csv"),
        ("select_multiple", "villages.csv"),
    ]
    assert "choices" not in questions[1]


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
            ["text", "t", "T", "substring('f', 1, ${n}) = 'x'", None],
            ["integer", "m", "M", None, "extract-signed(., 'k') > 1"],
        ]
    )
    assert codes_at(problems) == [
        ("survey!D3", "xlsform.unsupported_function"),
        ("survey!E4", "xlsform.unsupported_function"),
    ]
    assert "substring" in problems[0]["message"]


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
    content = xlsform_workbook(
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
    content = xlsform_workbook([["type", "name", "label"], ["text", "q", "Q"]])
    problems = problems_of(content, "анкета.xlsx")
    assert codes_at(problems) == [("settings", "xlsform.invalid_value")]
    assert "анкета.xlsx" in problems[0]["message"]


@pytest.mark.parametrize(
    ("header", "key", "value"),
    [
        ("media::image", "media", {"image": {"en": "something"}}),
        ("guidance_hint", "guidance_hint", {"en": "something"}),
        ("read_only", "bind", {"readonly": "something"}),
        ("bind::odk:x", "bind", {"odk:x": "something"}),
        ("body::accuracyThreshold", "body", {"accuracyThreshold": "something"}),
    ],
)
def test_a_survey_column_with_meaning_is_kept(header: str, key: str, value: Any) -> None:
    content = xlsform_workbook(
        [
            ["type", "name", "label", header],
            ["text", "a", "A", None],
            ["text", "b", "B", "something"],
        ],
        settings=MINIMAL_SETTINGS,
    )
    definition, warnings = read_xlsform(content, "f.xlsx")
    assert key not in definition["questions"][0]
    assert definition["questions"][1][key] == value
    assert warnings == []


def test_a_column_without_meaning_is_ignored_with_a_warning_at_its_header() -> None:
    content = xlsform_workbook(
        [["type", "name", "label", "disaggregation"], ["text", "a", "A", "by sex"]],
        settings=MINIMAL_SETTINGS,
    )
    definition, warnings = read_xlsform(content, "f.xlsx")
    assert "disaggregation" not in definition["questions"][0]
    assert codes_at(warnings) == [("survey!D1", "xlsform.ignored_column")]


def test_an_empty_unknown_column_is_harmless() -> None:
    content = xlsform_workbook(
        [["type", "name", "label", "media::image"], ["text", "a", "A", None]],
        settings=MINIMAL_SETTINGS,
    )
    assert definition_from_xlsform(content, "f.xlsx")["questions"][0]["name"] == "a"


def test_media_columns_of_choices_are_kept() -> None:
    content = xlsform_workbook(
        [["type", "name", "label"], ["select_one c", "q", "Q"]],
        [["list_name", "name", "label", "image"], ["c", "a", "A", "a.png"]],
        settings=MINIMAL_SETTINGS,
    )
    choice = definition_from_xlsform(content, "f.xlsx")["choice_lists"]["c"][0]
    assert choice["media"] == {"image": {"en": "a.png"}}


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("public_key", "MIIBIjANBgkqh", "xlsform.encrypted"),
        ("clean_text_values", "maybe", "xlsform.invalid_value"),
        ("default_language", "Martian", "xlsform.invalid_value"),
        ("disclosure_threshold", "ten", "xlsform.invalid_value"),
    ],
)
def test_a_setting_the_service_cannot_honour_is_refused(header: str, value: str, code: str) -> None:
    content = xlsform_workbook(
        [["type", "name", "label"], ["text", "q", "Q"]],
        settings=[["form_id", "form_title", header], ["settings-test", "T", value]],
    )
    assert codes_at(problems_of(content)) == [("settings!C2", code)]


def test_sheets_the_service_does_not_read_are_refused() -> None:
    content = xlsform_workbook(
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
    content = xlsform_workbook(
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
    problems = problems_of(xlsform_workbook(survey, choices, settings))
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
        ("survey!A7", "definition.unknown_choice_list"),
        ("survey!B8", "definition.reserved_name"),
    ]
    # JSON paths in messages are turned into cells too
    assert "already used at survey!A2" in problems[1]["message"]


def test_check_definition_problems_of_choices_come_back_as_cells() -> None:
    problems = refused(
        [["type", "name", "label"], ["select_multiple c", "q", "Q"]],
        [
            ["list_name", "name", "label", "bad property"],
            ["c", "a", "A", "x"],
            ["c", "a", "Again", None],
            ["c", "has space", "S", None],
        ],
    )
    assert codes_at(problems) == [  # `bad property` is ignored, with a warning
        ("choices!B3", "definition.duplicate_name"),
        ("choices!B4", "definition.invalid_choice_name"),  # a select_multiple's list
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
            ["osm", "photo", "Photo", None, None],
            ["text", "t", "T", "district", "version() = 1"],
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


# -- real-world forms: settings, metadata, the other question types, round trips

KOBO_SETTINGS: Rows = [
    ["form_id", "form_title", "version", "instance_name", "submission_url", "style"]
    + ["clean_text_values"],
    ["kobo-form", "Kobo", "vAbC123", "concat(${hh}, '-', ${today})", "https://example.org/x"]
    + ["pages", "no"],
]
EVERY_TYPE_SURVEY: Rows = [
    ["type", "name", "label", "parameters", "image", "guidance_hint", "bind::odk:x", "required"],
    ["start", "start", None, None, None, None, None, None],
    ["end", "end", None, None, None, None, None, None],
    ["today", "today", None, None, None, None, None, None],
    ["deviceid", "deviceid", None, None, None, None, None, None],
    ["username", "username", None, None, None, None, None, None],
    ["phonenumber", "phonenumber", None, None, None, None, None, None],
    ["simserial", "simserial", None, None, None, None, None, None],
    ["subscriberid", "subscriberid", None, None, None, None, None, None],
    ["email", "email", None, None, None, None, None, None],
    ["audit", "audit", None, "track-changes=true", None, None, None, None],
    ["text", "hh", "Household", None, "house.png", "Ask the head", "yes", "yes"],
    ["time", "wake", "Woke up at", None, None, None, None, None],
    ["barcode", "code", "Scan", None, None, None, None, None],
    ["acknowledge", "ok", "Confirm", None, None, None, None, None],
    ["trigger", "go", "Go", None, None, None, None, None],
    ["range", "level", "Water level", "start=0 end=10 step=2", None, None, None, None],
    ["rank crops", "ranked", "Rank the crops", None, None, None, None, None],
    ["geotrace", "road", "Road", None, None, None, None, None],
    ["geoshape", "field", "Field", None, None, None, None, None],
    ["hidden", "secret", None, None, None, None, None, None],
    ["image", "photo", "Photo", None, None, None, None, None],
    ["audio", "voice", "Voice", None, None, None, None, None],
    ["video", "clip", "Clip", None, None, None, None, None],
    ["file", "doc", "Document", None, None, None, None, None],
    ["background-audio", "ambient", None, None, None, None, None, None],
    ["xml-external", "places", None, None, None, None, None, None],
    ["csv-external", "prices", None, None, None, None, None, None],
]
CROPS: Rows = [
    ["list_name", "name", "label", "image"],
    ["crops", "wheat", "Wheat", "wheat.png"],
    ["crops", "rice", "Rice", None],
]


def every_type_workbook() -> bytes:
    return xlsform_workbook(EVERY_TYPE_SURVEY, CROPS, settings=KOBO_SETTINGS)


def test_kobo_settings_are_kept_in_the_form_block() -> None:
    definition = definition_from_xlsform(every_type_workbook(), "f.xlsx")
    assert definition["form"] == {
        "version": "vAbC123",
        "instance_name": "concat(${hh}, '-', ${today})",
        "submission_url": "https://example.org/x",
        "style": "pages",
        "clean_text_values": False,
    }


def test_every_real_world_type_imports() -> None:
    definition, warnings = read_xlsform(every_type_workbook(), "f.xlsx")
    types = {q["name"]: q["type"] for q in definition["questions"]}
    assert types["start"] == "start"
    assert types["ranked"] == "rank"
    assert types["ambient"] == "background-audio"
    assert types["places"] == "xml-external"
    assert definition["questions"][10]["media"] == {"image": {"en": "house.png"}}
    assert definition["questions"][10]["guidance_hint"] == {"en": "Ask the head"}
    assert definition["questions"][10]["bind"] == {"odk:x": "yes"}
    assert warnings == []


def test_import_export_import_is_the_identity_on_every_feature() -> None:
    definition = definition_from_xlsform(every_type_workbook(), "f.xlsx")
    again = definition_from_xlsform(xlsform_from_definition(definition), "f.xlsx")
    assert again == definition


def test_a_range_off_its_own_parameters_is_refused_at_the_parameters_cell() -> None:
    problems = refused([["type", "name", "label", "parameters"], ["range", "r", "R", "step=0"]])
    assert codes_at(problems) == [("survey!D2", "definition.schema")]
