"""XForms built by pyxform from definitions: ids, versions, translations, binds, repeats, hashes."""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml import ElementTree

from survey_service.errors import FieldError
from survey_service.questionnaire.xform import (
    XFormError,
    xform_from_definition,
    xform_hash,
    xform_problems,
)
from tests.helpers import FEATURE_DEFINITION, REFERENCE

NS = {
    "h": "http://www.w3.org/1999/xhtml",
    "x": "http://www.w3.org/2002/xforms",
    "jr": "http://openrosa.org/javarosa",
}
JR = "{http://openrosa.org/javarosa}"
LANGUAGES = {
    "English (en)",
    "Russian (ru)",
    "Kazakh (kk)",
    "Kirghiz (ky)",
    "Uzbek (uz)",
    "Tajik (tg)",
    "Turkmen (tk)",
}


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE.read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def reference_xml(reference: dict[str, Any]) -> str:
    return xform_from_definition(reference, version=7)


def parse(xml: str) -> Element:
    root: Element = ElementTree.fromstring(xml.encode("utf-8"))
    return root


def model(root: Element) -> Element:
    found = root.find("h:head/x:model", NS)
    assert found is not None
    return found


def main_instance(root: Element) -> Element:
    instance = model(root).find("x:instance", NS)  # the first one, without an id
    assert instance is not None
    assert "id" not in instance.attrib
    return instance[0]


def binds(root: Element) -> dict[str, dict[str, str]]:
    return {b.attrib["nodeset"]: b.attrib for b in model(root).findall("x:bind", NS)}


def texts(root: Element, language: str) -> dict[str, str]:
    for translation in model(root).findall("x:itext/x:translation", NS):
        if translation.attrib["lang"] == language:
            return {
                t.attrib["id"]: "".join(t.find("x:value", NS).itertext())  # type: ignore[union-attr]
                for t in translation.findall("x:text", NS)
            }
    raise AssertionError(f"no translation {language!r}")


def test_the_reference_questionnaire_converts(
    reference: dict[str, Any], reference_xml: str
) -> None:
    root = parse(reference_xml)
    assert root.tag == "{http://www.w3.org/1999/xhtml}html"
    title = root.find("h:head/h:title", NS)
    assert title is not None
    assert title.text == reference["title"]["en"]


def test_the_instance_is_named_after_the_id_with_the_version(reference_xml: str) -> None:
    data = main_instance(parse(reference_xml))
    assert data.tag == "{http://www.w3.org/2002/xforms}climate-migration-household"
    assert data.attrib["id"] == "climate-migration-household"
    assert data.attrib["version"] == "7"
    assert data.find("x:meta/x:instanceID", NS) is not None
    # the answers nest as in the definition
    assert data.find("x:household/x:members/x:member_age", NS) is not None


def test_every_language_has_its_translation_and_falls_back_to_the_default(
    reference: dict[str, Any], reference_xml: str
) -> None:
    root = parse(reference_xml)
    found = {t.attrib["lang"] for t in model(root).findall("x:itext/x:translation", NS)}
    assert found == LANGUAGES
    default = model(root).find("x:itext/x:translation[@default='true()']", NS)
    assert default is not None
    assert default.attrib["lang"] == "English (en)"
    hint = "/climate-migration-household/household/hh_size:hint"
    assert (
        texts(root, "Russian (ru)")[hint] == reference["questions"][4]["questions"][0]["hint"]["ru"]
    )
    assert (
        texts(root, "Kazakh (kk)")[hint] == reference["questions"][4]["questions"][0]["hint"]["kk"]
    )
    # a text missing in a language: the English one stands in, not pyxform's "-"
    partial = copy.deepcopy(reference)
    del partial["questions"][4]["questions"][0]["hint"]["kk"]
    partial_root = parse(xform_from_definition(partial, version=7))
    assert texts(partial_root, "Kazakh (kk)")[hint] == texts(partial_root, "English (en)")[hint]
    assert all(value != "-" for value in texts(partial_root, "Kazakh (kk)").values())


def test_binds_carry_constraints_relevance_and_required(reference_xml: str) -> None:
    found = binds(parse(reference_xml))
    hh_size = found["/climate-migration-household/household/hh_size"]
    assert hh_size["type"] == "int"
    assert hh_size["required"] == "true()"
    assert hh_size["constraint"] == ". >= 1 and . <= 30"
    assert hh_size[f"{JR}constraintMsg"].startswith("jr:itext(")
    group = found["/climate-migration-household/household"]
    assert group["relevant"] == " /climate-migration-household/consent  = 'yes'"
    gps = found["/climate-migration-household/closing/gps"]
    assert gps["type"] == "geopoint"
    stratum = found["/climate-migration-household/identification/stratum"]
    assert "calculate" in stratum


def test_the_repeat_counts_with_jr_count(reference_xml: str) -> None:
    root = parse(reference_xml)
    repeats = root.findall(".//x:repeat", NS)
    assert [r.attrib["nodeset"] for r in repeats] == [
        "/climate-migration-household/household/members"
    ]
    assert (
        repeats[0].attrib[f"{JR}count"].strip() == "/climate-migration-household/household/hh_size"
    )


def test_a_choice_filter_becomes_an_itemset_predicate(reference_xml: str) -> None:
    root = parse(reference_xml)
    select = root.find(
        ".//x:select1[@ref='/climate-migration-household/identification/region']", NS
    )
    assert select is not None
    itemset = select.find("x:itemset", NS)
    assert itemset is not None
    assert itemset.attrib["nodeset"] == (
        "instance('regions')/root/item"
        "[country =  /climate-migration-household/identification/country ]"
    )


def test_nested_repeats_other_choices_and_the_extra_columns() -> None:
    xml = xform_from_definition(FEATURE_DEFINITION, version=1)
    root = parse(xml)
    repeats = {r.attrib["nodeset"]: r.attrib for r in root.findall(".//x:repeat", NS)}
    assert (
        repeats["/climate-pilot-2/hh/members"][f"{JR}count"].strip()
        == "/climate-pilot-2/hh/hh_size"
    )
    # an expression count goes through a node pyxform adds beside the repeat, `trips_count`
    assert repeats["/climate-pilot-2/hh/members/trips"][f"{JR}count"].strip() == "../trips_count"
    assert "calculate" in binds(root)["/climate-pilot-2/hh/members/trips_count"]
    found = binds(root)
    assert found["/climate-pilot-2/hh/hh_size"]["required"] == " /climate-pilot-2/status  != 'IDP'"
    # or_other: a list with `other`, no question of pyxform's own besides the definition's
    select = root.find(".//x:select[@ref='/climate-pilot-2/hazards_seen']", NS)
    assert select is not None
    itemset = select.find("x:itemset", NS)
    assert itemset is not None
    list_name = re.match(r"instance\('([^']+)'\)", itemset.attrib["nodeset"])
    assert list_name is not None
    items = model(root).find(f"x:instance[@id='{list_name.group(1)}']/x:root", NS)
    assert items is not None
    assert [i.findtext("x:name", namespaces=NS) for i in items] == ["MH0600", "MH0401", "other"]
    names = [e.tag.split("}")[1] for e in main_instance(root).iter()]
    assert names.count("hazards_seen_other") == 1
    assert names.count("moved_other") == 1
    # the service's own columns stay out of the XForm
    assert "dimension" not in xml
    assert "pii" not in xml


def test_an_or_other_select_with_a_choice_filter_keeps_other() -> None:
    definition = copy.deepcopy(FEATURE_DEFINITION)
    region = definition["questions"][2]
    region["or_other"] = True
    definition["questions"].insert(
        3,
        {
            "name": "region_other",
            "type": "text",
            "label": {"en": "Which?"},
            "relevant": "selected(${region}, 'other')",
        },
    )
    root = parse(xform_from_definition(definition, version=1))
    select = root.find(".//x:select1[@ref='/climate-pilot-2/region']", NS)
    assert select is not None
    itemset = select.find("x:itemset", NS)
    assert itemset is not None
    assert itemset.attrib["nodeset"].endswith(
        "[(country =  /climate-pilot-2/country ) or name = 'other']"
    )


def test_the_hash_is_openrosa_md5_and_follows_the_content(reference: dict[str, Any]) -> None:
    first = xform_from_definition(reference, version=7)
    assert re.fullmatch(r"md5:[0-9a-f]{32}", xform_hash(first))
    assert xform_hash(first) == xform_hash(xform_from_definition(reference, version=7))
    assert xform_hash(first) != xform_hash(xform_from_definition(reference, version=8))
    assert xform_hash("") == "md5:d41d8cd98f00b204e9800998ecf8427e"


def test_a_form_pyxform_refuses_raises_with_the_question_path() -> None:
    definition = copy.deepcopy(FEATURE_DEFINITION)
    trip_gps = definition["questions"][5]["questions"][3]["questions"][4]["questions"][1]
    assert trip_gps["name"] == "trip_gps"
    trip_gps["parameters"] = "colour=red"
    with pytest.raises(XFormError) as caught:
        xform_from_definition(definition, version=1)
    assert caught.value.path == "questions[5].questions[3].questions[4].questions[1]"
    assert "colour" in caught.value.message


def test_a_refusal_pyxform_gives_without_a_row_has_no_path() -> None:
    definition = copy.deepcopy(FEATURE_DEFINITION)
    definition["questions"][2]["parameters"] = "randomize=sometimes"
    with pytest.raises(XFormError) as caught:
        xform_from_definition(definition, version=1)
    assert caught.value.path is None
    assert "randomize" in caught.value.message


def test_the_problems_of_a_definition_pyxform_refuses_name_the_question_or_nothing() -> None:
    assert xform_problems(FEATURE_DEFINITION) == []
    definition = copy.deepcopy(FEATURE_DEFINITION)
    definition["questions"][5]["questions"][3]["questions"][4]["questions"][1]["parameters"] = (
        "colour=red"
    )
    [problem] = xform_problems(definition)
    assert (problem.path, problem.code) == (
        "questions[5].questions[3].questions[4].questions[1]",
        "xlsform.rejected",
    )
    assert "colour" in problem.message
    definition = copy.deepcopy(FEATURE_DEFINITION)
    definition["questions"][2]["parameters"] = "randomize=sometimes"
    assert [(p.path, p.code) for p in xform_problems(definition)] == [("", "xlsform.rejected")]
    assert all(isinstance(p, FieldError) for p in xform_problems(definition))


def test_the_build_verdict_is_remembered_by_content(monkeypatch: pytest.MonkeyPatch) -> None:
    from survey_service.questionnaire import xform

    builds: list[str] = []
    real = xform.xform_from_definition

    def counting(definition: Any, version: int) -> str:
        builds.append(definition["id"])
        return real(definition, version=version)

    monkeypatch.setattr(xform, "xform_from_definition", counting)
    definition = copy.deepcopy(FEATURE_DEFINITION)
    definition["id"] = "remembered-once"
    assert xform_problems(definition) == []
    assert xform_problems(copy.deepcopy(definition)) == []  # equal content: no second build
    definition["title"] = {"en": "Changed", "ru": "Изменено"}
    assert xform_problems(definition) == []
    assert builds == ["remembered-once", "remembered-once"]
