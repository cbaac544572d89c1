"""Shared test helpers and factories: definitions, households, problem checks, reference oracles."""

from __future__ import annotations

import copy
import datetime
import io
import json
import math
import struct
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sdmx
import svy
from flask import Flask
from openpyxl import Workbook
from sdmx.model import common, v30
from sdmx.reader.csv import Reader
from sqlalchemy import func, select

from survey_service.db import Base
from survey_service.expressions import ExpressionError, Value, parse
from survey_service.questionnaire.definition import load_definition
from survey_service.validation import ResponseValidator, ValidatedResponse

ROOT = Path(__file__).resolve().parent.parent


REFERENCE = ROOT / "questionnaires" / "climate-migration-household.json"


def minimal_definition(qid: str = "flood-pilot", **changes: Any) -> dict[str, Any]:
    """A small valid definition with a roster, a constraint, skip logic and tags."""
    definition: dict[str, Any] = {
        "id": qid,
        "title": {"en": "Flood pilot", "ru": "Пилот: наводнения"},
        "default_language": "en",
        "languages": ["en", "ru"],
        "choice_lists": {
            "yes_no": [
                {"name": "yes", "label": {"en": "Yes", "ru": "Да"}},
                {"name": "no", "label": {"en": "No", "ru": "Нет"}},
            ],
            "countries": [
                {"name": "KG", "label": {"en": "Kyrgyzstan", "ru": "Кыргызстан"}},
                {"name": "TJ", "label": {"en": "Tajikistan", "ru": "Таджикистан"}},
            ],
            "sex": [
                {"name": "F", "label": {"en": "Female", "ru": "Женский"}},
                {"name": "M", "label": {"en": "Male", "ru": "Мужской"}},
            ],
        },
        "questions": [
            {
                "name": "country",
                "type": "select_one",
                "choices": "countries",
                "label": {"en": "Country", "ru": "Страна"},
                "required": True,
            },
            {"name": "cluster", "type": "text", "label": {"en": "Cluster"}, "required": True},
            {
                "name": "flooded",
                "type": "select_one",
                "choices": "yes_no",
                "label": {"en": "Flooded since 2015?"},
            },
            {
                "name": "flood_year",
                "type": "integer",
                "label": {"en": "Year of the flood"},
                "relevant": "${flooded} = 'yes'",
                "constraint": ". >= 2015 and . <= 2026",
                "constraint_message": {"en": "2015 to 2026", "ru": "С 2015 по 2026"},
            },
            {
                "name": "hh_size",
                "type": "integer",
                "label": {"en": "Household size"},
                "required": True,
                "constraint": ". >= 1 and . < 30",
            },
            {
                "name": "members",
                "type": "repeat",
                "label": {"en": "Members"},
                "repeat_count": "${hh_size}",
                "questions": [
                    {"name": "sex", "type": "select_one", "choices": "sex", "label": {"en": "Sex"}},
                    {
                        "name": "age",
                        "type": "integer",
                        "label": {"en": "Age"},
                        "constraint": ". >= 0 and . <= 120",
                    },
                ],
            },
            {"name": "n_members", "type": "calculate", "calculation": "count(${age})"},
        ],
        "tags": {"country": "country"},
        "design": {"psu": "cluster"},
    }
    definition.update(changes)
    return copy.deepcopy(definition)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"urn:survey-service:problem:{code}"
    assert body["title"] and body["detail"]
    return body


def household(**changes: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "country": "KG",
        "cluster": "KG-017",
        "flooded": "yes",
        "flood_year": 2020,
        "hh_size": 2,
        "members": [{"sex": "F", "age": 34}, {"sex": "M", "age": 36}],
    }
    answers.update(changes)
    return answers


def body(answers: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "instance_id": extra.pop("instance_id", str(uuid.uuid4())),
        "answers": household() if answers is None else answers,
        "meta": {"device_id": "tablet-7", "started_at": "2026-06-01T09:00:00+06:00"},
        **extra,
    }


NOW = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)


_validators: dict[str, ResponseValidator] = {}


def reference_validator() -> ResponseValidator:
    if "reference" not in _validators:
        data = json.loads(REFERENCE.read_text(encoding="utf-8"))
        _validators["reference"] = ResponseValidator(load_definition(data))
    return _validators["reference"]


def member(name: str, sex: str, age: int, relationship: str, **more: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "member_name": name,
        "member_sex": sex,
        "member_age": age,
        "member_relationship": relationship,
        "member_elsewhere": "no",
    }
    if age >= 6:
        answers["member_education"] = "upper_secondary"
    if age >= 15:
        answers["member_activity"] = "farming"
    answers.update(more)
    return answers


def reference_household() -> dict[str, Any]:
    """A valid household of three in Kyrgyzstan: flooded, moved and back, a son in Russia."""
    return {
        "interview_start": "2025-06-01T10:00:00+06:00",
        "consent": "yes",
        "identification": {
            "country": "KG",
            "region": "KG-C",
            "settlement_type": "town",
            "cluster": "KG-U-0042",
            "household_number": 17,
        },
        "household": {
            "hh_size": 3,
            "members": [
                member("Aibek Asanov", "M", 45, "head"),
                member(
                    "Bakyt Asanov",
                    "M",
                    22,
                    "child",
                    member_elsewhere="yes",
                    member_where="abroad",
                    member_destination="RU",
                    member_away_reason="work",
                ),
                member("Aiday Asanova", "F", 3, "grandchild"),
            ],
            "respondent_line": 1,
        },
        "hazard_exposure": {
            "hazards_experienced": ["MH0600", "GH0303"],
            "worst_hazard": "MH0600",
            "worst_year": 2021,
            "worst_severity": "severe",
        },
        "impacts": {
            "housing_damage": "major",
            "has_land": "yes",
            "land_lost_ha": 0.5,
            "crops_lost": "half_or_more",
            "has_livestock": "no",
            "income_lost": 1200.5,
        },
        "displacement_history": {
            "moved_due_hazard": "yes",
            "move_details": {
                "move_date": "2021-05-01",
                "move_from_region": "KG-C",
                "move_abroad": "no",
                "move_to_region": "KG-T",
                "move_months": 12,
                "returned": "yes",
            },
        },
        "intentions": {
            "plan_move": "yes",
            "plan_move_destination": "other_region",
            "move_reasons": ["hazard_risk", "better_work"],
        },
        "current_status": {"forced_move_other": "no", "displacement_status": "IDP_RETURNED"},
        "migration_remittances": {
            "members_abroad": 1,
            "remittances_received": "yes",
            "remittance_amount": 500,
            "remittance_frequency": "monthly",
            "remittance_uses": ["food", "debt"],
        },
        "assistance": {"assistance_received": ["cash", "food"], "assistance_sources": ["ngo"]},
        "closing": {
            "gps": {"lat": 42.87, "lon": 74.59, "alt": 780.0, "accuracy": 4.5},
            "interview_end": "2025-06-01T10:55:00+06:00",
        },
    }


def validator_for(**changes: Any) -> ResponseValidator:
    """A validator of the minimal definition, with `changes` to it."""
    return ResponseValidator(load_definition(minimal_definition(**changes)))


def check(answers: Any, language: str | None = None, **kwargs: Any) -> ValidatedResponse:
    """The reference validator's verdict on `answers`, at NOW."""
    return reference_validator().validate(answers, language=language, now=NOW, **kwargs)


def codes(result: ValidatedResponse) -> list[tuple[str, str]]:
    """The (path, code) of each error, in order."""
    return [(e.path, e.code) for e in result.errors]


def changed(edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """The reference household after `edit`."""
    household = reference_household()
    edit(household)
    return household


def set_answer(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit for `changed`: the answer at a JSON path (`household.members[1].member_age`)."""

    def edit(h: dict[str, Any]) -> None:
        target: Any = h
        parts = path.replace("]", "").replace("[", ".").split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        target[parts[-1]] = value

    return edit


Unit = dict[str, Any]


SVY_SINGLETON = {"fail": None, "skip": "skip", "centered": "center"}


def svy_reference(
    units: list[Unit], stat: str, *, fpc: bool, single_psu: str
) -> dict[tuple[str, ...], dict[str, float]]:
    frame = pl.DataFrame(
        units,
        schema={
            "id": pl.Int64,
            "h": pl.Utf8,
            "psu": pl.Utf8,
            "w": pl.Float64,
            "region": pl.Utf8,
            "status": pl.Utf8,
            "y": pl.Float64,
            "x": pl.Float64,
            "b": pl.Float64,
            "N": pl.Int64,
        },
    )
    sample = svy.Sample(
        frame,
        svy.Design(
            stratum="h",
            psu="psu",
            wgt="w",
            pop_size="N" if fpc else None,
            singleton=SVY_SINGLETON[single_psu],
        ),
    )
    est = sample.estimation
    deff = "wor" if fpc else "wr"
    out: dict[tuple[str, ...], dict[str, float]] = {}
    for by in (["region", "status"], None):
        kw: dict[str, Any] = {"by": by, "deff": deff, "drop_nulls": True}
        if stat == "total":
            main = wald = est.total("y", **kw)
        elif stat == "mean":
            main = wald = est.mean("y", **kw)
        elif stat == "ratio":
            main = wald = est.ratio("y", "x", **kw)
        else:
            main, wald = est.prop("b", **kw), est.mean("b", **kw)
        rows = main.to_polars().rows(named=True)
        if stat == "proportion":  # keep level 1 of the 0/1 variable
            rows = [r for r in rows if r["b"] == 1.0]
        for key, row in zip(wald.keys(), rows, strict=True):
            cell = tuple(key) if by else ()
            ci = wald.contrast({key: 1.0}).to_polars().row(0, named=True)
            out[cell] = {
                "estimate": row["est"],
                "se": row["se"],
                "deff": row["deff"],
                "ci_low": ci["lci"],
                "ci_high": ci["uci"],
                "df": main.design_df,
                "n": row["n"],
            }
    return out


SDMX_ATTRIBUTES = [
    "OBS_STATUS",
    "CONF_STATUS",
    "UNIT_MEASURE",
    "SE",
    "CI_LOW",
    "CI_HIGH",
    "CV",
    "NOBS",
]


def dataflow(flow_id: str, dimensions: list[str]) -> v30.Dataflow:
    """The DSD an SDMX registry would hold for our tables, as sdmx1 objects."""
    agency = common.Agency(id="CAMIG")
    dsd = v30.DataStructureDefinition(id=f"DSD_{flow_id}", maintainer=agency, version="1.0")
    for concept in [*dimensions, "STAT_MEASURE"]:
        dsd.dimensions.append(v30.Dimension(id=concept))
    dsd.dimensions.append(v30.TimeDimension(id="TIME_PERIOD"))
    dsd.measures.append(v30.Measure(id="OBS_VALUE"))
    for concept in SDMX_ATTRIBUTES:
        dsd.attributes.append(common.DataAttribute(id=concept))
    return v30.Dataflow(id=flow_id, maintainer=agency, version="1.0", structure=dsd)


def read_back(lines: list[str], flow: v30.Dataflow) -> list[Any]:
    """Observations as sdmx1 reads them, checking every column maps to the DSD."""
    data = "".join(lines).encode()
    reader = Reader()
    reader.convert(io.BytesIO(data), structure=flow)
    assert reader.options.custom_columns == []  # no column sdmx1 failed to recognise
    message = sdmx.read_sdmx(io.BytesIO(data), format="csv", structure=flow)
    assert isinstance(message, sdmx.message.DataMessage)
    assert len(message.data) == 1
    assert message.data[0].action == common.ActionType.information
    return list(message.data[0].obs)


FEATURE_DEFINITION: dict[str, Any] = {
    "id": "climate-pilot-2",
    "title": {"en": "Pilot", "ru": "Пилот"},
    "default_language": "en",
    "languages": ["en", "ru"],
    "description": {"en": "A pilot survey"},
    "choice_lists": {
        "countries": [
            {"name": "KG", "label": {"en": "Kyrgyzstan", "ru": "Кыргызстан"}},
            {"name": "KZ", "label": {"en": "Kazakhstan"}},
        ],
        "regions": [
            {"name": "KG-C", "label": {"en": "Chuy"}, "properties": {"country": "KG"}},
            {"name": "KZ-10", "label": {"en": "Abai"}, "properties": {"country": "KZ"}},
        ],
        "hazards": [
            {"name": "MH0600", "label": {"en": "Flood", "ru": "Наводнение"}},
            {"name": "MH0401", "label": {"en": "Drought"}},
        ],
        "statuses": [
            {"name": "IDP", "label": {"en": "Internally displaced"}},
            {"name": "NON_DISPLACED", "label": {"en": "Not displaced"}},
        ],
        "yes_no": [
            {"name": "yes", "label": {"en": "Yes", "ru": "Да"}},
            {"name": "no", "label": {"en": "No", "ru": "Нет"}},
        ],
        "sexes": [
            {"name": "F", "label": {"en": "Female"}},
            {"name": "M", "label": {"en": "Male"}},
        ],
    },
    "questions": [
        {"name": "start_time", "type": "datetime", "label": {"en": "Start"}, "required": True},
        {
            "name": "country",
            "type": "select_one",
            "label": {"en": "Country", "ru": "Страна"},
            "hint": {"en": "Where the household lives"},
            "choices": "countries",
            "required": True,
            "required_message": {"en": "Choose a country"},
        },
        {
            "name": "region",
            "type": "select_one",
            "label": {"en": "Region"},
            "choices": "regions",
            "choice_filter": "country = ${country}",
            "required": True,
        },
        {
            "name": "hazard",
            "type": "select_one",
            "label": {"en": "Worst hazard"},
            "choices": "hazards",
        },
        {
            "name": "status",
            "type": "select_one",
            "label": {"en": "Status"},
            "choices": "statuses",
            "appearance": "minimal",
        },
        {
            "name": "hh",
            "type": "group",
            "label": {"en": "Household", "ru": "Домохозяйство"},
            "relevant": "${country} != ''",
            "appearance": "field-list",
            "questions": [
                {
                    "name": "hh_size",
                    "type": "integer",
                    "label": {"en": "People"},
                    "required": "${status} != 'IDP'",
                    "required_message": {"en": "How many people?"},
                    "constraint": ". >= 1 and . <= 30",
                    "constraint_message": {"en": "Between 1 and 30", "ru": "От 1 до 30"},
                    "default": 1,
                },
                {"name": "wt", "type": "calculate", "calculation": "1.5"},
                {"name": "cluster", "type": "text", "label": {"en": "Cluster"}, "required": False},
                {
                    "name": "members",
                    "type": "repeat",
                    "label": {"en": "Member"},
                    "repeat_count": "${hh_size}",
                    "questions": [
                        {
                            "name": "member_name",
                            "type": "text",
                            "label": {"en": "Name"},
                            "pii": True,
                        },
                        {
                            "name": "member_income",
                            "type": "decimal",
                            "label": {"en": "Income"},
                            "default": 2.5,
                        },
                        {
                            "name": "member_sex",
                            "type": "select_one",
                            "label": {"en": "Sex"},
                            "choices": "sexes",
                        },
                        {"name": "member_age", "type": "integer", "label": {"en": "Age"}},
                        {
                            "name": "trips",
                            "type": "repeat",
                            "label": {"en": "Trip"},
                            "repeat_count": "${hh_size} - 1",
                            "questions": [
                                {
                                    "name": "trip_date",
                                    "type": "date",
                                    "label": {"en": "Date"},
                                    "pii": False,
                                },
                                {
                                    "name": "trip_gps",
                                    "type": "geopoint",
                                    "label": {"en": "Where"},
                                    "parameters": "capture-accuracy=10",
                                },
                            ],
                        },
                    ],
                },
            ],
        },
        {
            "name": "hazards_seen",
            "type": "select_multiple",
            "label": {"en": "Hazards"},
            "choices": "hazards",
            "or_other": True,
        },
        {  # added, as pyxform adds it, since the sheet has no hazards_seen_other
            "name": "hazards_seen_other",
            "type": "text",
            "label": {"en": "Specify other."},
            "relevant": "selected(${hazards_seen}, 'other')",
        },
        {
            "name": "moved",
            "type": "select_one",
            "label": {"en": "Moved?"},
            "choices": "yes_no",
            "or_other": True,
        },
        {
            "name": "moved_other",
            "type": "text",
            "label": {"en": "Where else?"},
            "relevant": "selected(${moved}, 'other')",
        },
        {"name": "thanks", "type": "note", "label": {"en": "Thank you"}, "hint": {"en": "Say it"}},
        {
            "name": "n_members",
            "type": "calculate",
            "label": {"en": "N"},
            "calculation": "count(${member_name})",
        },
    ],
    "tags": {
        "country": "country",
        "admin1": "region",
        "hazard_type": "hazard",
        "displacement_status": "status",
    },
    "persons": {"sex": "member_sex", "age": "member_age"},
    "design": {"weight": "wt", "stratum": "country", "psu": "cluster"},
    "settings": {"disclosure_threshold": 5},
}


# --------------------------------------------------------------------------- expressions

ALMATY = datetime.timezone(datetime.timedelta(hours=5))
ALMATY_NOW = datetime.datetime(2024, 5, 6, 23, 30, tzinfo=ALMATY)  # 18:30 UTC: today is 2024-05-06


class FakeContext:
    """The smallest EvalContext: answers by name, '.', a repeat position, labels, properties."""

    def __init__(
        self,
        values: dict[str, Value] | None = None,
        current: Value = None,
        position: int = 1,
        labels: dict[tuple[str, str], str] | None = None,
        properties: dict[str, Value] | None = None,
        now: datetime.datetime = ALMATY_NOW,
    ) -> None:
        self.values = values or {}
        self._current = current
        self._position = position
        self.labels = labels or {}
        self.properties = properties or {}
        self._now = now

    def resolve(self, name: str) -> Value:
        return self.values.get(name)

    def current(self) -> Value:
        return self._current

    def position(self) -> int:
        return self._position

    def choice_label(self, question: str, value: str) -> str:
        return self.labels.get((question, value), "")

    def choice_property(self, name: str) -> Value:
        return self.properties.get(name)

    def now(self) -> datetime.datetime:
        return self._now


def ev(source: str, current: Value = None, **values: Value) -> Value:
    return parse(source).evaluate(FakeContext(values, current))


def ev_bool(source: str, current: Value = None, **values: Value) -> bool:
    return parse(source).evaluate_bool(FakeContext(values, current))


def same(actual: Value, expected: Value) -> bool:
    """Equality where NaN equals NaN, a bool only equals a bool, and 3 equals 3.0."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    return actual == expected


def syntax_error(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    return info.value


# --------------------------------------------------------------------------------------------
# XLSForm workbooks: one with every supported feature, read into FEATURE_DEFINITION

Rows = list[list[Any]]


def xlsform_workbook(
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
    return xlsform_workbook(FEATURE_SURVEY, FEATURE_CHOICES, FEATURE_SETTINGS)


# Spreadsheet bombs: small on disk, huge once inflated (each part is streamed into the zip)

MIB = 1024 * 1024
SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def small_xlsform(form_id: str = "bomb-form") -> bytes:
    return xlsform_workbook(
        [["type", "name", "label"], ["integer", "hh_size", "Household size"]],
        settings=[["form_id"], [form_id]],
    )


def xlsx_with_parts(parts: dict[str, Callable[[], Iterator[bytes]]], base: bytes = b"") -> bytes:
    """A workbook (`small_xlsform()` unless `base`) with each named part replaced or added,
    its bytes streamed in chunks so that the test never holds the inflated part."""
    source = zipfile.ZipFile(io.BytesIO(base or small_xlsform()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in parts:
                target.writestr(info, source.read(info.filename))
        for name, chunks in parts.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with target.open(info, "w") as stream:
                for chunk in chunks():
                    stream.write(chunk)
    return out.getvalue()


def _repeated(head: bytes, filler: bytes, size: int, tail: bytes) -> Iterator[bytes]:
    yield head
    for _ in range(size // MIB):
        yield filler * (MIB // len(filler))
    yield tail


def whitespace_sheet_bomb(size: int) -> bytes:
    """The first sheet with `size` bytes of whitespace before its data (valid XML)."""
    sheet = zipfile.ZipFile(io.BytesIO(small_xlsform())).read("xl/worksheets/sheet1.xml")
    head, data, tail = sheet.partition(b"<sheetData>")
    return xlsx_with_parts(
        {"xl/worksheets/sheet1.xml": lambda: _repeated(head, b" ", size, data + tail)}
    )


def shared_strings_bomb(size: int) -> bytes:
    """A sharedStrings.xml of one string of `size` letters."""
    head = f'<sst xmlns="{SHEET_NS}" count="1" uniqueCount="1"><si><t>'.encode()
    return xlsx_with_parts(
        {"xl/sharedStrings.xml": lambda: _repeated(head, b"a", size, b"</t></si></sst>")}
    )


def rows_bomb(rows: int, columns: int = 1) -> bytes:
    """The survey sheet with `rows` rows of `columns` numeric cells after its header."""

    def sheet() -> Iterator[bytes]:
        yield f'<worksheet xmlns="{SHEET_NS}"><sheetData>'.encode()
        yield b'<row r="1"><c r="A1" t="inlineStr"><is><t>type</t></is></c></row>'
        batch = []
        for number in range(2, rows + 2):
            # distinct numbers: compressing like a real sheet, not like a bomb
            cells = "".join(f"<c><v>{number * columns + c}</v></c>" for c in range(columns))
            batch.append(f'<row r="{number}">{cells}</row>')
            if len(batch) == 10_000:
                yield "".join(batch).encode()
                batch = []
        yield "".join(batch).encode() + b"</sheetData></worksheet>"

    return xlsx_with_parts({"xl/worksheets/sheet1.xml": sheet})


def xlsx_with_doctype(doctype: str) -> bytes:
    """The first sheet preceded by a DTD (billion laughs, an external entity) it uses."""
    sheet = zipfile.ZipFile(io.BytesIO(small_xlsform())).read("xl/worksheets/sheet1.xml")
    body = sheet.split(b"?>", 1)[-1].replace(b"<t>hh_size</t>", b"<t>&e;</t>")
    return xlsx_with_parts({"xl/worksheets/sheet1.xml": lambda: iter([doctype.encode(), body])})


BILLION_LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY l0 "lol">'
    + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    + '<!ENTITY e "&l9;">]>'
)
EXTERNAL_ENTITY = '<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>'


def lying_sizes(content: bytes, part: str, declared: int) -> bytes:
    """The archive with `part`'s uncompressed size declared as `declared` in both its local
    header and the central directory (the data and CRC left as they are)."""
    data = bytearray(content)
    info = zipfile.ZipFile(io.BytesIO(content)).getinfo(part)
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    start = 0
    while (central := data.find(b"PK\x01\x02", start)) != -1:
        (length,) = struct.unpack_from("<H", data, central + 28)
        if bytes(data[central + 46 : central + 46 + length]) == part.encode():
            struct.pack_into("<I", data, central + 24, declared)
        start = central + 4
    return bytes(data)


def many_entries_xlsx(count: int) -> bytes:
    return xlsx_with_parts({f"xl/media/empty{i}.bin": lambda: iter([b""]) for i in range(count)})


def row_counts(app: Flask) -> dict[str, int]:
    """The number of rows of every table of the schema: nothing stored leaves them equal."""
    engine = app.extensions["survey"]["engine"]
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }
