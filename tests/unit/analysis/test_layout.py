"""The analysis layout: slots stay put across versions; answers land in them, typed."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from survey_service.analysis.layout import EMPTY_LAYOUT, AnalysisLayout, Projector, UnitSlots
from survey_service.db import pg_array_literal
from survey_service.questionnaire.definition import load_definition
from tests.helpers import REFERENCE, minimal_definition


def layout_of(*definitions: dict[str, Any]) -> AnalysisLayout:
    layout = EMPTY_LAYOUT
    for definition in definitions:
        layout = layout.extended(load_definition(definition))
    return layout


def test_slots_by_type_and_unit() -> None:
    definition = minimal_definition()
    definition["questions"][1]["pii"] = True  # cluster: identifying, never aggregated
    layout = layout_of(definition)
    # calculate n_members lands in both arrays; text and pii questions nowhere
    assert layout.household == UnitSlots(
        num=("flood_year", "hh_size", "n_members"), cat=("country", "flooded", "n_members")
    )
    assert layout.units == {"members": UnitSlots(num=("age",), cat=("sex",))}
    assert layout.household.slot("num", "hh_size") == 1
    assert layout.household.slot("cat", "hh_size") is None


def test_a_new_version_only_appends_slots() -> None:
    first = minimal_definition()
    second = minimal_definition()
    questions = {q["name"]: q for q in second["questions"]}
    second["questions"].remove(questions["flood_year"])
    second["questions"].insert(0, {"name": "visit", "type": "date", "label": {"en": "Visit"}})
    questions["hh_size"]["type"] = "decimal"  # changes type but stays numeric
    questions["flooded"]["type"] = "integer"  # select_one -> integer: a new slot
    del questions["flooded"]["choices"]
    layout = layout_of(first, second)
    assert layout.household.num == ("flood_year", "hh_size", "n_members", "visit", "flooded")
    assert layout.household.cat == ("country", "flooded", "n_members")
    assert layout_of(first, second, first) == layout  # going back adds nothing
    assert AnalysisLayout.from_json(json.loads(json.dumps(layout.to_json()))) == layout
    assert AnalysisLayout.from_json(None) == EMPTY_LAYOUT


def test_answers_are_converted_into_their_slots() -> None:
    definition = minimal_definition()
    definition["questions"] += [
        {"name": "visit", "type": "date", "label": {"en": "Visit"}},
        {"name": "start", "type": "datetime", "label": {"en": "Start"}},
        {
            "name": "needs",
            "type": "select_multiple",
            "choices": "yes_no",
            "label": {"en": "Needs"},
        },
        {
            "name": "details",
            "type": "group",
            "label": {"en": "Details"},
            "questions": [
                {"name": "income", "type": "decimal", "label": {"en": "Income"}},
                {"name": "big", "type": "calculate", "calculation": "${income} > 100"},
                {"name": "label", "type": "calculate", "calculation": "concat('x', ${income})"},
            ],
        },
    ]
    loaded = load_definition(definition)
    layout = layout_of(definition)
    answers = {
        "country": "KG",
        "cluster": "KG-1",
        "hh_size": 2,
        "members": [{"sex": "F", "age": 34}, {"age": 3}],
        "n_members": 2,
        "visit": "1970-01-11",
        "start": "1970-01-02T06:00:00+06:00",
        "needs": ["yes", "no"],
        "details": {"income": 150.5, "big": True, "label": "x150.5"},
    }
    projection = Projector(layout, loaded).project(answers)
    num = dict(zip(layout.household.num, projection.num, strict=True))
    cat = dict(zip(layout.household.cat, projection.cat, strict=True))
    assert num == {
        "flood_year": None,
        "hh_size": 2.0,
        "n_members": 2.0,
        "visit": 10.0,
        "start": 1.0,  # midnight UTC on 2 January 1970: one day after the epoch
        "income": 150.5,
        "big": 1.0,
        "label": None,  # not a number
    }
    assert cat == {
        "country": "KG",
        "flooded": None,
        "n_members": "2",
        "needs": "yes no",
        "big": "true",
        "label": "x150.5",
    }
    rows = list(projection.unit_rows())
    assert rows == [
        {"unit": "members", "instances": 2, "num": [[34.0], [3.0]], "cat": [["F"], [None]]}
    ]


def test_nested_repeats_are_flattened_and_empty_units_store_nothing() -> None:
    definition = minimal_definition()
    definition["questions"][5]["questions"].append(
        {
            "name": "trips",
            "type": "repeat",
            "label": {"en": "Trips"},
            "questions": [{"name": "days", "type": "integer", "label": {"en": "Days"}}],
        }
    )
    layout = layout_of(definition)
    projector = Projector(layout, load_definition(definition))
    answers = {
        "members": [
            {"sex": "F", "trips": [{"days": 3}, {"days": 4}]},
            {"sex": "M"},
            {"sex": "M", "trips": [{"days": 5}]},
        ]
    }
    rows = {r["unit"]: r for r in projector.project(answers).unit_rows()}
    assert rows["trips"] == {
        "unit": "trips",
        "instances": 3,
        "num": [[3.0], [4.0], [5.0]],
        "cat": None,
    }
    nobody = {r["unit"]: r for r in projector.project({"members": []}).unit_rows()}
    assert nobody["members"] == {"unit": "members", "instances": 0, "num": None, "cat": None}


def test_every_answer_of_the_reference_questionnaire_is_placed() -> None:
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    layout = layout_of(data)
    assert "member_age" in layout.units["members"].num
    assert "member_name" not in layout.units["members"].cat  # pii
    assert "gps" not in layout.household.num + layout.household.cat  # geopoint, pii
    assert layout.household.slot("cat", "displacement_status") is not None


def test_a_layout_missing_a_question_is_refused() -> None:
    with pytest.raises(ValueError, match="the layout has no cat slot for 'country'"):
        Projector(EMPTY_LAYOUT, load_definition(minimal_definition()))


@pytest.mark.parametrize(
    ("values", "literal"),
    [
        ([1.0, None, 2.5e-7], "{1.0,null,2.5e-7}"),
        (["KG", None, ""], '{"KG",null,""}'),
        (['say "hi"', "back\\slash", "tab\there"], '{"say \\"hi\\"","back\\\\slash","tab\there"}'),
        ([[1.0], [None]], "{{1.0},{null}}"),
        ([["KG", None], ["a[1]", "]"]], '{{"KG",null},{"a[1]","]"}}'),
        ([["x]"], ["y"]], '{{"x]"},{"y"}}'),
        ([['say "hi"'], ["{x}"]], '{{"say \\"hi\\""},{"{x}"}}'),
        ([], "{}"),
        (None, None),
    ],
)
def test_postgresql_array_literals(values: Any, literal: str | None) -> None:
    assert pg_array_literal(copy.deepcopy(values)) == literal
