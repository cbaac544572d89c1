"""The XLSForm writer: the workbook's layout, and round trips through the reader."""

from __future__ import annotations

import copy
import io
import json

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from survey_service.questionnaire.definition import DefinitionError
from survey_service.questionnaire.xlsform.reader import definition_from_xlsform
from survey_service.questionnaire.xlsform.writer import xlsform_from_definition
from tests.helpers import EN, FEATURE_DEFINITION, REFERENCE, RU, feature_workbook


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


def test_languages_awaiting_review_travel_in_the_settings_sheet() -> None:
    definition = copy.deepcopy(FEATURE_DEFINITION)
    definition["settings"]["translations_awaiting_review"] = ["ru"]
    book = load_workbook(io.BytesIO(xlsform_from_definition(definition)))
    settings = [[c.value for c in row] for row in book["settings"].iter_rows()]
    assert dict(zip(settings[0], settings[1], strict=True))["translations_awaiting_review"] == "ru"
    assert definition_from_xlsform(xlsform_from_definition(definition), "f.xlsx") == definition


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
