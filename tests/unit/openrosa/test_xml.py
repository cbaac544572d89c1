"""OpenRosa XML: Collect and Enketo instances, refused payloads, round trips, server documents."""

from __future__ import annotations

import datetime
import json
import random
import uuid
from functools import cache
from typing import Any

import defusedxml.ElementTree as DET
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey_service.openrosa.xml import (
    FORM_LIST_NS,
    MANIFEST_NS,
    MAX_DEPTH,
    MAX_ELEMENTS,
    OPENROSA_HEADERS,
    RESPONSE_NS,
    FormEntry,
    Instance,
    InstanceError,
    MediaEntry,
    form_list_xml,
    instance_xml,
    manifest_xml,
    openrosa_response,
    parse_instance,
    phone_path,
)
from survey_service.questionnaire.definition import Definition, load_definition
from survey_service.synthetic import household
from survey_service.validation import ResponseValidator
from tests.helpers import REFERENCE

FORM_ID = "climate-migration-household"
NOW = datetime.datetime(2025, 7, 1, 12, 0, tzinfo=datetime.UTC)
UUID = "uuid:6f1c1d2e-8a51-4c53-9a5e-3f0e2b1c4d5a"


@cache
def reference() -> Definition:
    return load_definition(json.loads(REFERENCE.read_text(encoding="utf-8")))


@cache
def validator() -> ResponseValidator:
    return ResponseValidator(reference())


def label(text: str) -> dict[str, str]:
    return {"en": text}


@cache
def all_types() -> Definition:
    """A small questionnaire with every type, a group in a repeat and a repeat in a repeat."""
    return load_definition(
        {
            "id": "all-types",
            "title": label("All types"),
            "default_language": "en",
            "choice_lists": {
                "letters": [{"name": n, "label": label(n)} for n in ("a", "b", "c_1", "d-2")]
            },
            "questions": [
                {"name": "intro", "type": "note", "label": label("Hello")},
                {"name": "t", "type": "text", "label": label("Text")},
                {"name": "i", "type": "integer", "label": label("Integer")},
                {"name": "d", "type": "decimal", "label": label("Decimal")},
                {"name": "one", "type": "select_one", "choices": "letters", "label": label("1")},
                {
                    "name": "many",
                    "type": "select_multiple",
                    "choices": "letters",
                    "label": label("N"),
                },
                {"name": "day", "type": "date", "label": label("Date")},
                {"name": "at", "type": "datetime", "label": label("Datetime")},
                {"name": "where", "type": "geopoint", "label": label("Where")},
                {"name": "calc", "type": "calculate", "calculation": "1 + 1"},
                {
                    "name": "outer",
                    "type": "group",
                    "label": label("Outer"),
                    "questions": [
                        {
                            "name": "people",
                            "type": "repeat",
                            "label": label("People"),
                            "questions": [
                                {"name": "p_name", "type": "text", "label": label("Name")},
                                {
                                    "name": "p_details",
                                    "type": "group",
                                    "label": label("Details"),
                                    "questions": [
                                        {"name": "p_age", "type": "integer", "label": label("Age")}
                                    ],
                                },
                                {
                                    "name": "visits",
                                    "type": "repeat",
                                    "label": label("Visits"),
                                    "questions": [
                                        {"name": "v_day", "type": "date", "label": label("Day")},
                                        {"name": "v_cost", "type": "decimal", "label": label("$")},
                                    ],
                                },
                            ],
                        }
                    ],
                },
            ],
        }
    )


def parse(xml: str | bytes, definition: Definition | None = None, **kwargs: Any) -> Instance:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return parse_instance(data, definition, **kwargs)


def refused(xml: str | bytes, code: str, definition: Definition | None = None, **kw: Any) -> str:
    with pytest.raises(InstanceError) as caught:
        parse(xml, definition, **kw)
    assert caught.value.code == code, caught.value.message
    assert caught.value.message and len(caught.value.message) < 200
    return caught.value.message


# --------------------------------------------------------------------------- Collect and Enketo

# As ODK Collect sends it (pretty-printed here for reading): the submissions namespace as the
# default, orx:meta, a jr:template copy of the repeat, empty elements for skipped questions.
COLLECT = """<?xml version='1.0' ?>
<data xmlns="http://opendatakit.org/submissions" xmlns:jr="http://openrosa.org/javarosa"
      xmlns:orx="http://openrosa.org/xforms" xmlns:odk="http://www.opendatakit.org/xforms"
      id="climate-migration-household" version="2025061201">
  <interview_start>2025-06-07T10:04:41.123+06:00</interview_start>
  <identification>
    <country>KG</country>
    <region>KG-C</region>
    <settlement_type>village</settlement_type>
    <cluster>KG-R-0042</cluster>
    <household_number>17</household_number>
    <stratum>KG-R</stratum>
    <design_weight>1</design_weight>
    <currency>KGS</currency>
  </identification>
  <consent_intro/>
  <consent>yes</consent>
  <household>
    <hh_size>2</hh_size>
    <members jr:template="">
      <member_name/><member_sex/><member_age/><member_relationship/><member_education/>
      <member_activity/><member_elsewhere/><member_where/><member_destination/>
      <member_destination_specify/><member_away_reason/>
    </members>
    <members>
      <member_name>Aibek Toktogulov</member_name>
      <member_sex>M</member_sex>
      <member_age>45</member_age>
      <member_relationship>head</member_relationship>
      <member_education>vocational</member_education>
      <member_activity>farming</member_activity>
      <member_elsewhere>no</member_elsewhere>
      <member_where/>
      <member_destination/>
      <member_destination_specify/>
      <member_away_reason/>
    </members>
    <members>
      <member_name>Gulnara Toktogulova</member_name>
      <member_sex>F</member_sex>
      <member_age>41</member_age>
      <member_relationship>spouse</member_relationship>
      <member_education>higher</member_education>
      <member_activity>employee</member_activity>
      <member_elsewhere>yes</member_elsewhere>
      <member_where>abroad</member_where>
      <member_destination>RU</member_destination>
      <member_destination_specify/>
      <member_away_reason>work</member_away_reason>
    </members>
    <respondent_line>1</respondent_line>
  </household>
  <hazard_exposure>
    <hazards_experienced>MH0603 GH0300</hazards_experienced>
    <hazard_affected>yes</hazard_affected>
    <worst_hazard>MH0603</worst_hazard>
    <worst_year>2024</worst_year>
    <worst_severity>severe</worst_severity>
  </hazard_exposure>
  <impacts>
    <housing_damage>minor</housing_damage>
    <has_land>yes</has_land>
    <land_lost_ha>0.5</land_lost_ha>
    <crops_lost>less_half</crops_lost>
    <has_livestock>no</has_livestock>
    <livestock_lost/>
    <income_lost>25000</income_lost>
  </impacts>
  <displacement_history>
    <moved_due_hazard>no</moved_due_hazard>
    <move_details>
      <move_date/><move_from_region/><move_abroad/><move_to_region/><move_to_country/>
      <move_months/><returned/>
    </move_details>
  </displacement_history>
  <intentions>
    <plan_move>no</plan_move>
    <plan_move_destination/>
    <want_cannot_move>no</want_cannot_move>
    <move_reasons/>
    <move_barriers/>
  </intentions>
  <current_status>
    <forced_move_other>no</forced_move_other>
    <displacement_status>NON_DISPLACED</displacement_status>
  </current_status>
  <migration_remittances>
    <members_abroad>1</members_abroad>
    <remittances_received>yes</remittances_received>
    <remittance_amount>15000.50</remittance_amount>
    <remittance_frequency>monthly</remittance_frequency>
    <remittance_uses>food education</remittance_uses>
  </migration_remittances>
  <assistance>
    <assistance_received>none</assistance_received>
    <assistance_sources/>
  </assistance>
  <closing>
    <gps>42.8746 74.5698 760.3 4.8</gps>
    <interview_end>2025-06-07T10:41:12.517+06:00</interview_end>
  </closing>
  <orx:meta>
    <orx:instanceID>uuid:6f1c1d2e-8a51-4c53-9a5e-3f0e2b1c4d5a</orx:instanceID>
    <orx:deprecatedID>uuid:0b7e9a40-1f0c-4d8e-b1a3-9d2f6c5e4a31</orx:deprecatedID>
    <orx:instanceName>KG-R-0042 / 17</orx:instanceName>
  </orx:meta>
</data>
"""

COLLECT_ANSWERS: dict[str, Any] = {
    "interview_start": "2025-06-07T10:04:41.123+06:00",
    "consent": "yes",
    "identification": {
        "country": "KG",
        "region": "KG-C",
        "settlement_type": "village",
        "cluster": "KG-R-0042",
        "household_number": 17,
        "stratum": "KG-R",
        "design_weight": "1",
        "currency": "KGS",
    },
    "household": {
        "hh_size": 2,
        "members": [
            {
                "member_name": "Aibek Toktogulov",
                "member_sex": "M",
                "member_age": 45,
                "member_relationship": "head",
                "member_education": "vocational",
                "member_activity": "farming",
                "member_elsewhere": "no",
            },
            {
                "member_name": "Gulnara Toktogulova",
                "member_sex": "F",
                "member_age": 41,
                "member_relationship": "spouse",
                "member_education": "higher",
                "member_activity": "employee",
                "member_elsewhere": "yes",
                "member_where": "abroad",
                "member_destination": "RU",
                "member_away_reason": "work",
            },
        ],
        "respondent_line": 1,
    },
    "hazard_exposure": {
        "hazards_experienced": ["MH0603", "GH0300"],
        "hazard_affected": "yes",
        "worst_hazard": "MH0603",
        "worst_year": 2024,
        "worst_severity": "severe",
    },
    "impacts": {
        "housing_damage": "minor",
        "has_land": "yes",
        "land_lost_ha": 0.5,
        "crops_lost": "less_half",
        "has_livestock": "no",
        "income_lost": 25000,
    },
    "displacement_history": {"moved_due_hazard": "no"},
    "intentions": {"plan_move": "no", "want_cannot_move": "no"},
    "current_status": {"forced_move_other": "no", "displacement_status": "NON_DISPLACED"},
    "migration_remittances": {
        "members_abroad": 1,
        "remittances_received": "yes",
        "remittance_amount": 15000.5,
        "remittance_frequency": "monthly",
        "remittance_uses": ["food", "education"],
    },
    "assistance": {"assistance_received": ["none"]},
    "closing": {
        "gps": {"lat": 42.8746, "lon": 74.5698, "alt": 760.3, "accuracy": 4.8},
        "interview_end": "2025-06-07T10:41:12.517+06:00",
    },
}


def test_collect_instance_with_namespaces_template_and_empty_elements() -> None:
    instance = parse(COLLECT, reference())
    assert instance.form_id == FORM_ID
    assert instance.version == 2025061201
    assert instance.instance_id == UUID
    assert instance.deprecated_id == "uuid:0b7e9a40-1f0c-4d8e-b1a3-9d2f6c5e4a31"
    assert instance.instance_name == "KG-R-0042 / 17"
    assert instance.meta["instanceID"] == UUID
    assert instance.problems == []
    assert instance.attachments == []
    assert json.dumps(instance.answers, sort_keys=True) == json.dumps(
        COLLECT_ANSWERS, sort_keys=True
    )
    # what Collect sent, calculates included, is a valid response for the server validator
    result = validator().validate(instance.answers, now=NOW)
    assert result.errors == []


# As Enketo sends it: one line, the root named after the form, an unprefixed meta, a single
# repeat instance, and an edit (deprecatedID).
ENKETO = (
    '<climate-migration-household xmlns:jr="http://openrosa.org/javarosa" '
    'xmlns:odk="http://www.opendatakit.org/xforms" xmlns:orx="http://openrosa.org/xforms" '
    'xmlns:ev="http://www.w3.org/2001/xml-events" id="climate-migration-household" version="7">'
    "<interview_start>2025-05-25T13:26:58.000+05:00</interview_start><consent_intro/>"
    "<consent>yes</consent><identification><country>KZ</country><region>KZ-61</region>"
    "<settlement_type>village</settlement_type><cluster>KZ-R-0306</cluster>"
    "<household_number>70</household_number><stratum>KZ-R</stratum>"
    "<design_weight>1</design_weight><currency>KZT</currency></identification>"
    "<household><hh_size>1</hh_size><members><member_name>Serik Nurlanov</member_name>"
    "<member_sex>M</member_sex><member_age>71</member_age>"
    "<member_relationship>head</member_relationship>"
    "<member_education>vocational</member_education><member_activity>retired</member_activity>"
    "<member_elsewhere>no</member_elsewhere><member_where/><member_destination/>"
    "<member_destination_specify/><member_away_reason/></members>"
    "<respondent_line>1</respondent_line></household>"
    "<hazard_exposure><hazards_experienced>none</hazards_experienced>"
    "<hazard_affected>no</hazard_affected><worst_hazard/><worst_year/><worst_severity/>"
    "</hazard_exposure>"
    "<impacts><housing_damage/><has_land/><land_lost_ha/><crops_lost/><has_livestock/>"
    "<livestock_lost/><income_lost/></impacts>"
    "<displacement_history><moved_due_hazard/><move_details><move_date/><move_from_region/>"
    "<move_abroad/><move_to_region/><move_to_country/><move_months/><returned/></move_details>"
    "</displacement_history>"
    "<intentions><plan_move>no</plan_move><plan_move_destination/>"
    "<want_cannot_move>no</want_cannot_move><move_reasons/><move_barriers/></intentions>"
    "<current_status><forced_move_other>no</forced_move_other>"
    "<displacement_status>NON_DISPLACED</displacement_status></current_status>"
    "<migration_remittances><members_abroad>0</members_abroad>"
    "<remittances_received>no</remittances_received><remittance_amount/>"
    "<remittance_frequency/><remittance_uses/></migration_remittances>"
    "<assistance><assistance_received>none</assistance_received><assistance_sources/>"
    "</assistance>"
    "<closing><gps>42.284172 67.904268 348.0 5.9</gps>"
    "<interview_end>2025-05-25T13:43:58.000+05:00</interview_end></closing>"
    "<meta><instanceID>uuid:2a7c3e1f-5b6d-4e8f-9a0b-1c2d3e4f5a6b</instanceID>"
    "<deprecatedID>uuid:9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f</deprecatedID></meta>"
    "</climate-migration-household>"
)


def test_enketo_instance_single_repeat_instance_is_an_array() -> None:
    instance = parse(ENKETO, reference())
    assert instance.form_id == FORM_ID
    assert instance.version == 7
    assert instance.instance_id == "uuid:2a7c3e1f-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
    assert instance.deprecated_id == "uuid:9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f"
    assert instance.instance_name is None
    answers = instance.answers
    assert answers["household"]["members"] == [
        {
            "member_name": "Serik Nurlanov",
            "member_sex": "M",
            "member_age": 71,
            "member_relationship": "head",
            "member_education": "vocational",
            "member_activity": "retired",
            "member_elsewhere": "no",
        }
    ]
    # groups whose every element is empty (skipped by relevance) are left out entirely
    assert "impacts" not in answers and "displacement_history" not in answers
    assert answers["hazard_exposure"] == {
        "hazards_experienced": ["none"],
        "hazard_affected": "no",
    }
    assert answers["closing"]["gps"] == {
        "lat": 42.284172,
        "lon": 67.904268,
        "alt": 348.0,
        "accuracy": 5.9,
    }
    assert answers["interview_start"] == "2025-05-25T13:26:58.000+05:00"  # kept as sent
    assert "consent_intro" not in answers
    assert instance.problems == []
    assert validator().validate(answers, now=NOW).errors == []


def test_without_a_definition_answers_are_strings_and_repeats_cannot_be_told() -> None:
    instance = parse(ENKETO)
    answers = instance.answers
    assert answers["household"]["members"]["member_age"] == "71"  # one instance: a dict
    assert answers["closing"]["gps"] == "42.284172 67.904268 348.0 5.9"
    assert "meta" not in answers and "consent_intro" not in answers and "impacts" not in answers
    collect = parse(COLLECT).answers
    assert [m["member_name"] for m in collect["household"]["members"]] == [
        "Aibek Toktogulov",
        "Gulnara Toktogulova",
    ]
    assert collect["hazard_exposure"]["hazards_experienced"] == "MH0603 GH0300"


def test_orx_version_attribute_and_versions_that_are_not_integers() -> None:
    body = "<orx:meta><orx:instanceID>uuid:1</orx:instanceID></orx:meta>"
    ns = 'xmlns:orx="http://openrosa.org/xforms"'
    assert parse(f'<data {ns} id="f" orx:version="12">{body}</data>').version == 12
    assert parse(f'<data {ns} id="f" version="2025-06">{body}</data>').version is None
    assert parse(f'<data {ns} id="f">{body}</data>').version is None
    # no id attribute: the root's name is the form id, unless it is the generic `data`
    assert parse(f"<my-form {ns}>{body}</my-form>").form_id == "my-form"


def instance_of(body: str, form_id: str = "all-types") -> str:
    return (
        f'<data xmlns:jr="http://openrosa.org/javarosa" id="{form_id}" version="1">'
        f"{body}<meta><instanceID>{UUID}</instanceID></meta></data>"
    )


def test_nested_groups_repeats_in_repeats_and_templates() -> None:
    xml = instance_of(
        "<intro>ignored even when sent</intro><t>  two  spaces </t><i>-3</i><d>1e3</d>"
        "<many>a  c_1\td-2</many><calc>2</calc>"
        "<outer>"
        '<people jr:template=""><p_name/><p_details><p_age/></p_details>'
        '<visits jr:template=""><v_day/><v_cost/></visits></people>'
        "<people><p_name>Ann</p_name><p_details><p_age>30</p_age></p_details>"
        '<visits jr:template=""><v_day/><v_cost/></visits>'
        "<visits><v_day>2025-01-02</v_day><v_cost>10</v_cost></visits>"
        "<visits><v_day/><v_cost>2.50</v_cost></visits></people>"
        "<people><p_name/><p_details><p_age/></p_details></people>"
        "<people><p_name>Bo</p_name><visits><v_day/><v_cost/></visits></people>"
        "</outer>"
    )
    instance = parse(xml, all_types())
    assert instance.answers == {
        "t": "  two  spaces ",
        "i": -3,
        "d": 1000.0,
        "many": ["a", "c_1", "d-2"],
        "calc": "2",
        "outer": {
            "people": [
                {
                    "p_name": "Ann",
                    "p_details": {"p_age": 30},
                    "visits": [{"v_day": "2025-01-02", "v_cost": 10}, {"v_cost": 2.5}],
                },
                {},  # an empty instance among answered ones keeps the positions
                {"p_name": "Bo"},  # a repeat whose only instance is empty is left out
            ]
        },
    }
    assert instance.problems == []


def test_values_that_do_not_convert_stay_raw_and_are_reported_like_the_validator() -> None:
    xml = COLLECT.replace("<member_age>45</member_age>", "<member_age>abc</member_age>")
    xml = xml.replace("<worst_year>2024</worst_year>", "<worst_year>2024.0</worst_year>")
    xml = xml.replace("<gps>42.8746 74.5698 760.3 4.8</gps>", "<gps>north</gps>")
    xml = xml.replace("<land_lost_ha>0.5</land_lost_ha>", "<land_lost_ha>NaN</land_lost_ha>")
    instance = parse(xml, reference())
    assert instance.answers["household"]["members"][0]["member_age"] == "abc"
    assert instance.answers["closing"]["gps"] == "north"
    ours = {(p["path"], p["code"]) for p in instance.problems}
    assert ours == {
        ("household.members[0].member_age", "response.invalid_type"),
        ("hazard_exposure.worst_year", "response.invalid_type"),
        ("closing.gps", "response.invalid_type"),
        ("impacts.land_lost_ha", "response.invalid_type"),
    }
    assert all(p["message"] for p in instance.problems)
    theirs = {(e.path, e.code) for e in validator().validate(instance.answers, now=NOW).errors}
    assert ours <= theirs


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("i", "1_000"),
        ("i", "٣"),  # Arabic-Indic digit: int() would take it
        ("i", "9" * 500),
        ("d", "inf"),
        ("d", "1e999"),
        ("d", "0x10"),
        ("day", "2025-02-30"),
        ("day", "07/06/2025"),
        ("at", "2025-06-07T10:04:41"),  # no offset
        ("at", "2025-06-07 10:04:41+06:00"),
        ("where", "1"),
        ("where", "1 2 3 4 5"),
        ("where", "1 two"),
    ],
)
def test_strict_number_and_date_reading(kind: str, text: str) -> None:
    instance = parse(instance_of(f"<{kind}>{text}</{kind}>"), all_types())
    assert instance.answers == {kind: text}
    assert [p["path"] for p in instance.problems] == [kind]


def test_datetimes_are_kept_verbatim() -> None:
    for text in ("2025-06-07T10:04:41Z", "2025-06-07T10:04+0600", "2025-06-07T10:04:41.5-03:30"):
        instance = parse(instance_of(f"<at> {text}\n</at>"), all_types())
        assert instance.answers == {"at": text}
        assert instance.problems == []


def test_unknown_elements_are_kept_and_duplicates_reported() -> None:
    xml = instance_of(
        "<i>1</i><i>2</i><surprise>x</surprise><extra><a>1</a><a>2</a></extra>"
        "<outer><people><p_name>A</p_name><p_age>3</p_age></people></outer>"
    )
    instance = parse(xml, all_types())
    assert instance.answers == {
        "i": 1,
        "surprise": "x",
        "extra": {"a": ["1", "2"]},
        "outer": {"people": [{"p_name": "A", "p_age": "3"}]},  # p_age belongs in p_details
    }
    assert instance.problems == [
        {
            "path": "i",
            "code": "openrosa.duplicate_element",
            "message": "sent 2 times where one answer is expected; the first is kept",
        }
    ]
    answers = parse(COLLECT.replace("<consent>", "<x>1</x><consent>"), reference()).answers
    errors = validator().validate(answers, now=NOW).errors
    assert [(e.path, e.code) for e in errors] == [("x", "response.unknown_field")]


def test_attachments_are_the_texts_naming_uploaded_files() -> None:
    xml = instance_of(
        "<t>photo-1.jpg</t><surprise> sound.m4a </surprise><other>not-uploaded.png</other>",
    ).replace("</instanceID>", "</instanceID><audit>audit.csv</audit>")
    names = ["photo-1.jpg", "sound.m4a", "audit.csv", "never-referenced.jpg"]
    instance = parse(xml, all_types(), media_names=names)
    assert instance.attachments == ["photo-1.jpg", "sound.m4a", "audit.csv"]
    assert instance.meta["audit"] == "audit.csv"
    assert parse(xml, media_names=()).attachments == []


# --------------------------------------------------------------------------- refused


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<data id="f"><t>&lol9;</t><meta><instanceID>uuid:1</instanceID></meta></data>"""

FORBIDDEN = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<data id="f"><t>&xxe;</t><meta><instanceID>uuid:1</instanceID></meta></data>'
    ),
    "parameter entity": (
        '<!DOCTYPE data [<!ENTITY % remote SYSTEM "http://example.invalid/x.dtd"> %remote;]>'
        '<data id="f"><meta><instanceID>uuid:1</instanceID></meta></data>'
    ),
    "external DTD": (
        '<!DOCTYPE data SYSTEM "http://example.invalid/data.dtd">'
        '<data id="f"><meta><instanceID>uuid:1</instanceID></meta></data>'
    ),
    "bare DTD": '<!DOCTYPE data><data id="f"><meta><instanceID>uuid:1</instanceID></meta></data>',
}


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_dtds_and_entities_are_forbidden(name: str) -> None:
    refused(FORBIDDEN[name], "openrosa.forbidden_xml")
    refused(FORBIDDEN[name], "openrosa.forbidden_xml", all_types())


def test_oversized_refused_before_parsing() -> None:
    xml = instance_of("<t>" + "x" * 2000 + "</t>").encode()
    message = refused(xml, "openrosa.too_large", max_bytes=1000)
    assert "1,000 bytes" in message
    assert parse(xml, max_bytes=len(xml)).answers == {"t": "x" * 2000}


def test_too_many_or_too_deep_elements_refused() -> None:
    refused(instance_of("<x/>" * (MAX_ELEMENTS + 1)), "openrosa.too_large")
    deep = "<a>" * MAX_DEPTH + "</a>" * MAX_DEPTH
    refused(instance_of(deep), "openrosa.too_deep")
    refused("<a>" * 100_000 + "</a>" * 100_000, "openrosa.too_deep")


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "not xml",
        "<data id='f'><meta><instanceID>uuid:1</instanceID></meta>",  # unclosed
        "<data id='f'></dat>",
        "<data id='f'>&nbsp;</data>",  # an undefined entity
        "<p:data id='f'/>",  # an unbound prefix
        "<data id='f'>\x01</data>",
        "<data id='f'/><data id='g'/>",
        '<?xml version="1.0" encoding="no-such-encoding"?><data id="f"/>',
    ],
)
def test_malformed_refused(xml: str) -> None:
    refused(xml, "openrosa.malformed_xml")


def test_missing_or_empty_instance_id_refused() -> None:
    refused('<data id="f"><t>1</t></data>', "openrosa.missing_instance_id")
    refused(
        '<data id="f"><meta><instanceID> </instanceID></meta></data>',
        "openrosa.missing_instance_id",
    )
    refused(
        '<data id="f"><meta><instanceName>x</instanceName></meta></data>',
        "openrosa.missing_instance_id",
    )


def test_identity_refusals() -> None:
    refused(instance_of("", form_id="other-form"), "openrosa.form_mismatch", all_types())
    refused("<data><meta><instanceID>uuid:1</instanceID></meta></data>", "openrosa.missing_form_id")
    refused(
        '<data id="f" encrypted="yes"><base64EncryptedKey>x</base64EncryptedKey>'
        "<meta><instanceID>uuid:1</instanceID></meta></data>",
        "openrosa.encrypted",
    )


def test_resolver_picks_the_definition_from_the_form_id_and_version() -> None:
    seen: list[tuple[str, int | None]] = []

    def resolve(form_id: str, version: int | None) -> Definition | None:
        seen.append((form_id, version))
        return reference() if form_id == FORM_ID else None

    instance = parse(COLLECT, resolve=resolve)
    assert seen == [(FORM_ID, 2025061201)]
    assert instance.answers == COLLECT_ANSWERS
    assert parse(instance_of("<i>1</i>"), resolve=resolve).answers == {"i": "1"}  # unknown: raw
    with pytest.raises(InstanceError) as caught:  # a resolver's wrong definition is caught
        parse(instance_of("<i>1</i>"), resolve=lambda form_id, version: reference())
    assert caught.value.code == "openrosa.form_mismatch"
    with pytest.raises(TypeError):
        parse(COLLECT, reference(), resolve=resolve)


def test_messages_quote_sent_text_shortened() -> None:
    message = refused(instance_of("", form_id="x" * 5000), "openrosa.form_mismatch", all_types())
    assert len(message) < 120


def test_instance_error_is_a_value_error_with_code_and_message() -> None:
    error = InstanceError("openrosa.malformed_xml", "Bad.")
    assert isinstance(error, ValueError)
    assert (error.code, error.message, str(error)) == ("openrosa.malformed_xml", "Bad.", "Bad.")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_instance_errors(data: bytes) -> None:
    for definition in (None, all_types()):
        try:
            parse_instance(data, definition)
        except InstanceError as error:
            assert error.code.startswith("openrosa.")


PIECES = [
    b'<data id="all-types" version="1">',
    b"</data>",
    b"<meta><instanceID>uuid:1</instanceID></meta>",
    b"<t>",
    b"</t>",
    b"<i>",
    b"</i>",
    b"<where>",
    b"</where>",
    b"<outer><people>",
    b"</people></outer>",
    b'<visits xmlns:jr="http://openrosa.org/javarosa" jr:template="">',
    b"</visits>",
    b"12",
    b"-1.5e3",
    b" ",
    b"&amp;",
    b"&#0;",
    b"&#x1F600;",
    b"<![CDATA[x]]>",
    b"<!-- c -->",
    b"<?pi x?>",
    b"<!DOCTYPE data>",
    b'<?xml version="1.0" encoding="utf-16"?>',
    b"\xc3\xa9",
    b"\xff",
    b"<",
    b">",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join))
def test_xml_like_bytes_raise_only_instance_errors(data: bytes) -> None:
    for definition in (None, all_types()):
        try:
            instance = parse_instance(data, definition)
        except InstanceError as error:
            assert error.code.startswith("openrosa.")
        else:
            assert instance.instance_id == "uuid:1"


# --------------------------------------------------------------------------- writing, round trips


def test_round_trip_of_generated_households() -> None:
    definition = reference()
    rng = random.Random(20250607)  # noqa: S311 -- reproducible demo data
    for index in range(500):
        answers = household(rng)
        instance_id = f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
        xml = instance_xml(definition, answers, form_id=FORM_ID, version=3, instance_id=instance_id)
        instance = parse_instance(xml, definition)
        # type-faithful: JSON text differs between 5 and 5.0, or "5" and 5
        assert json.dumps(instance.answers, sort_keys=True) == json.dumps(
            answers, sort_keys=True
        ), index
        assert instance.answers == answers
        assert (instance.form_id, instance.version, instance.instance_id) == (
            FORM_ID,
            3,
            instance_id,
        )
        assert instance.problems == []


def test_written_instance_looks_like_collects() -> None:
    answers = parse(COLLECT, reference()).answers
    xml = instance_xml(
        reference(),
        answers,
        form_id=FORM_ID,
        version=2025061201,
        instance_id=UUID,
        deprecated_id="uuid:old",
        instance_name="KG-R-0042 / 17",
    )
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b'xmlns:jr="http://openrosa.org/javarosa"' in xml
    assert b'xmlns:orx="http://openrosa.org/xforms"' in xml
    root = DET.fromstring(xml)
    assert root.tag == FORM_ID
    assert (root.get("id"), root.get("version")) == (FORM_ID, "2025061201")
    assert [c.tag for c in root][:4] == [
        "interview_start",
        "identification",
        "consent_intro",
        "consent",
    ]
    meta = root.find("meta")
    assert meta is not None
    assert [c.tag for c in meta] == [
        "instanceID",
        "deprecatedID",
        "instanceName",
    ]
    assert root.findtext("meta/instanceID") == UUID
    assert root.find("consent_intro") is not None and not root.findtext("consent_intro")
    # every question has its element; skipped groups are there, empty
    assert root.find("displacement_history/move_details/move_date") is not None
    assert len(root.findall("household/members")) == 2
    assert root.findtext("closing/gps") == "42.8746 74.5698 760.3 4.8"
    assert root.findtext("migration_remittances/remittance_uses") == "food education"
    again = parse_instance(xml, reference())
    assert again.answers == answers
    assert (again.deprecated_id, again.instance_name) == ("uuid:old", "KG-R-0042 / 17")


def test_text_and_numbers_survive_a_round_trip() -> None:
    answers: dict[str, Any] = {
        "t": " <b>&amp; \"quotes\" 'single'\r\nCRLF\rCR\ttab — Қазақстан 🌧 ",
        "i": -(10**30),
        "d": 1e-7,
        "many": ["b"],
        "where": {"lat": -89.5, "lon": 179.25},
        "outer": {"people": [{"visits": [{"v_cost": 1e16}, {"v_cost": 0}]}]},
        "unknown": {"nested": "kept", "count": 3},
    }
    xml = instance_xml(all_types(), answers, form_id="all-types", version=1, instance_id=UUID)
    assert b"e-07" not in xml and b"1e+16" not in xml  # plain decimals, as xsd:decimal has
    read = parse_instance(xml, all_types()).answers
    assert read.pop("unknown") == {"nested": "kept", "count": "3"}  # no types for unknowns
    assert read == {k: v for k, v in answers.items() if k != "unknown"}
    point = {"lat": 1.5, "lon": 2.5, "accuracy": 3.0}  # accuracy without altitude: alt 0
    xml = instance_xml(
        all_types(), {"where": point}, form_id="all-types", version=1, instance_id=UUID
    )
    assert parse_instance(xml, all_types()).answers == {"where": {**point, "alt": 0}}


@pytest.mark.parametrize(
    "answers",
    [
        {"t": "bell \x07"},
        {"d": float("nan")},
        {"outer": ["not", "an", "object"]},
        {"outer": {"people": {"p_name": "not a list"}}},
        {"bad name": "x"},
        {"where": {"x": 1}},
    ],
)
def test_answers_without_an_xml_form_are_refused(answers: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        instance_xml(all_types(), answers, form_id="all-types", version=1, instance_id=UUID)


def typed_answers() -> st.SearchStrategy[dict[str, Any]]:
    text = st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00\ufffe\uffff"),
        min_size=1,
    ).filter(lambda s: s.strip(" \t\r\n") != "" and all(c in "\t\n\r" or c >= "\x20" for c in s))
    number = st.one_of(
        st.integers(-(2**63), 2**63), st.floats(allow_nan=False, allow_infinity=False)
    )
    offset = st.integers(-14 * 60, 14 * 60).map(
        lambda m: datetime.timezone(datetime.timedelta(minutes=m))
    )
    moment = st.builds(
        lambda d, tz: d.replace(tzinfo=tz).isoformat(),
        st.datetimes(min_value=datetime.datetime(1000, 1, 1)),
        offset,
    )
    lat = st.floats(-90, 90)
    lon = st.floats(-180, 180)
    point = st.one_of(
        st.fixed_dictionaries({"lat": lat, "lon": lon}),
        st.fixed_dictionaries({"lat": lat, "lon": lon, "alt": number}),
        st.fixed_dictionaries({"lat": lat, "lon": lon, "alt": number, "accuracy": number}),
    )
    letters = st.lists(st.sampled_from(["a", "b", "c_1", "d-2"]), min_size=1, unique=True)
    day = st.dates(min_value=datetime.date(1000, 1, 1)).map(datetime.date.isoformat)
    visit = st.fixed_dictionaries({"v_cost": number}, optional={"v_day": day})
    person = st.fixed_dictionaries(
        {"p_name": text},
        optional={
            "p_details": st.fixed_dictionaries({"p_age": st.integers()}),
            "visits": st.lists(visit, min_size=1, max_size=3),
        },
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "t": text,
            "i": st.integers(),
            "d": number,
            "one": st.sampled_from(["a", "b"]),
            "many": letters,
            "day": day,
            "at": moment,
            "where": point,
            "calc": st.sampled_from(["2", "x y"]),
            "outer": st.fixed_dictionaries({"people": st.lists(person, min_size=1, max_size=3)}),
        },
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_answers())
def test_round_trip_property(answers: dict[str, Any]) -> None:
    xml = instance_xml(all_types(), answers, form_id="all-types", version=1, instance_id=UUID)
    instance = parse_instance(xml, all_types())
    assert instance.problems == []
    assert json.dumps(instance.answers, sort_keys=True) == json.dumps(answers, sort_keys=True)


# --------------------------------------------------------------------------- server documents


def ns(tag: str, namespace: str) -> str:
    return f"{{{namespace}}}{tag}"


def test_form_list() -> None:
    xml = form_list_xml(
        [
            FormEntry(
                FORM_ID,
                "Household survey on climate & migration",
                "3",
                "0cc175b9c0f1b6a831c399e269772661",
                "https://survey.example/openrosa/forms/climate-migration-household/xform",
                "https://survey.example/openrosa/forms/climate-migration-household/manifest",
            ),
            FormEntry(
                "pilot", "Pilot", None, "md5:92eb5ffee6ae2fec3ad71c777531578f", "https://x/p"
            ),
        ]
    )
    root = DET.fromstring(xml)
    assert root.tag == ns("xforms", FORM_LIST_NS)
    first, second = root.findall(ns("xform", FORM_LIST_NS))

    def fields(e: Any) -> dict[str, str]:
        return {c.tag.rpartition("}")[2]: c.text for c in e}

    assert fields(first) == {
        "formID": FORM_ID,
        "name": "Household survey on climate & migration",
        "version": "3",
        "hash": "md5:0cc175b9c0f1b6a831c399e269772661",
        "downloadUrl": "https://survey.example/openrosa/forms/climate-migration-household/xform",
        "manifestUrl": "https://survey.example/openrosa/forms/climate-migration-household/manifest",
    }
    assert fields(second) == {
        "formID": "pilot",
        "name": "Pilot",
        "hash": "md5:92eb5ffee6ae2fec3ad71c777531578f",
        "downloadUrl": "https://x/p",
    }
    assert all(c.tag.startswith(f"{{{FORM_LIST_NS}}}") for c in root.iter())
    assert DET.fromstring(form_list_xml([])).tag == ns("xforms", FORM_LIST_NS)


def test_manifest() -> None:
    xml = manifest_xml([MediaEntry("villages.csv", "abc", "https://x/media/villages.csv?a=1&b=2")])
    root = DET.fromstring(xml)
    assert root.tag == ns("manifest", MANIFEST_NS)
    (media,) = root.findall(ns("mediaFile", MANIFEST_NS))
    assert media.findtext(ns("filename", MANIFEST_NS)) == "villages.csv"
    assert media.findtext(ns("hash", MANIFEST_NS)) == "md5:abc"
    assert media.findtext(ns("downloadUrl", MANIFEST_NS)) == "https://x/media/villages.csv?a=1&b=2"


def test_openrosa_response_and_headers() -> None:
    root = DET.fromstring(openrosa_response("Thank you: 1 form received <ok> & stored."))
    assert root.tag == ns("OpenRosaResponse", RESPONSE_NS)
    (message,) = root
    assert message.tag == ns("message", RESPONSE_NS)
    assert message.get("nature") == "submit_success"
    assert message.text == "Thank you: 1 form received <ok> & stored."
    error = DET.fromstring(openrosa_response("Bad \x00value", nature="error"))
    assert error[0].get("nature") == "error" and error[0].text == "Bad value"
    assert DET.fromstring(openrosa_response("x", nature=None))[0].get("nature") is None
    assert OPENROSA_HEADERS == {"X-OpenRosa-Version": "1.0"}


def test_a_validation_path_reads_on_a_phone_as_labels_counted_from_one() -> None:
    definition = reference()
    path = "household.members[2].member_age"
    assert phone_path(path, definition, "en") == (
        "Household member 3: How old is …, in completed years? (member_age)"
    )
    assert phone_path(path, definition, "ru") == (
        "Член домохозяйства 3: Сколько полных лет члену домохозяйства …? (member_age)"
    )
    assert phone_path(path, definition, "tg").startswith("Аъзои хонавода 3: ")
    # a language the questionnaire does not offer reads in its default language
    assert phone_path(path, definition, "fr") == phone_path(path, definition, "en")
    assert phone_path("household.members[0]", definition, "en") == ("Household member 1 (members)")
    assert phone_path("consent", definition, None) == (
        "Do you agree to take part in this interview? (consent)"
    )
    # what no question names stays as sent; a path of no question is the form itself
    assert phone_path("household.nonsense[1].x", definition, "en") == "nonsense 2: x"
    assert phone_path("", definition, "en") == "the form"
    assert phone_path("answers", definition, "en") == "the form"
    assert phone_path("household.members[0].member_age", None, "en") == "members 1: member_age"


# --------------------------------------------------------------------------- geometry and audit


@cache
def field_walk() -> Definition:
    """A walk along a river: a trace, a shape, and pyxform's audit (meta/audit)."""
    return load_definition(
        {
            "id": "field-walk",
            "title": label("Field walk"),
            "default_language": "en",
            "questions": [
                {"name": "river", "type": "geotrace", "label": label("River bank")},
                {"name": "plot", "type": "geoshape", "label": label("Flooded plot")},
                {"name": "audit", "type": "audit"},
            ],
        }
    )


TRACE = [
    {"lat": 42.87, "lon": 74.59, "alt": 760.5, "accuracy": 4.2},
    {"lat": 42.88, "lon": 74.6, "alt": 761, "accuracy": 3},
]
SHAPE = [
    {"lat": 42.0, "lon": 74.0, "alt": 0, "accuracy": 0},
    {"lat": 42.1, "lon": 74.0, "alt": 0, "accuracy": 0},
    {"lat": 42.1, "lon": 74.1, "alt": 0, "accuracy": 0},
    {"lat": 42.0, "lon": 74.0, "alt": 0, "accuracy": 0},
]


def test_traces_and_shapes_are_written_as_odk_points_separated_by_semicolons() -> None:
    answers = {"river": TRACE, "plot": SHAPE}
    xml = instance_xml(field_walk(), answers, form_id="field-walk", version=1, instance_id=UUID)
    root = DET.fromstring(xml)
    assert root.findtext("river") == "42.87 74.59 760.5 4.2;42.88 74.6 761 3"
    assert root.findtext("plot") == "42.0 74.0 0 0;42.1 74.0 0 0;42.1 74.1 0 0;42.0 74.0 0 0"
    assert parse(xml, field_walk()).answers == answers


def test_traces_as_collect_sends_them_are_lists_of_points() -> None:
    body = (
        "<river>42.87 74.59 760.5 4.2; 42.88 74.6 761 3;</river>"
        "<plot>42 74 0 0;42.1 74 0 0;42.1 74.1 0 0;42 74 0 0</plot><audit/>"
    )
    instance = parse(instance_of(body, "field-walk"), field_walk())
    assert instance.answers["river"] == TRACE
    assert instance.answers["plot"][1] == {"lat": 42.1, "lon": 74, "alt": 0, "accuracy": 0}
    assert instance.problems == []
    assert validator_of(field_walk()).validate(instance.answers, now=NOW).ok


def test_a_trace_that_is_not_points_stays_raw_and_is_reported() -> None:
    instance = parse(instance_of("<river>42.87 74.59;north</river>", "field-walk"), field_walk())
    assert instance.answers["river"] == "42.87 74.59;north"
    assert [p["path"] for p in instance.problems] == ["river"]


def test_meta_audit_is_the_audit_answer_and_is_written_back_to_meta() -> None:
    xml = (
        '<field-walk id="field-walk" version="1"><river/><plot/>'
        f"<meta><audit>audit.csv</audit><instanceID>{UUID}</instanceID></meta></field-walk>"
    )
    instance = parse(xml, field_walk(), media_names=["audit.csv"])
    assert instance.answers == {"audit": "audit.csv"}
    assert instance.attachments == ["audit.csv"]
    assert validator_of(field_walk()).validate(instance.answers, now=NOW).ok
    written = instance_xml(
        field_walk(), instance.answers, form_id="field-walk", version=1, instance_id=UUID
    )
    root = DET.fromstring(written)
    assert root.find("audit") is None
    assert root.findtext("meta/audit") == "audit.csv"
    assert parse(written, field_walk()).answers == {"audit": "audit.csv"}


def validator_of(definition: Definition) -> ResponseValidator:
    return ResponseValidator(definition)
