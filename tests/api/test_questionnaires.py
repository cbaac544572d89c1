"""Researchers create, edit, publish, close and reopen questionnaires over HTTP."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

from survey_service.questionnaire.xlsform.vocabulary import XLSX_MEDIA_TYPE
from survey_service.questionnaire.xlsform.writer import xlsform_from_definition
from tests.helpers import assert_problem, minimal_definition

BASE = "/api/v1/questionnaires"


def create(client: FlaskClient, headers: dict[str, str], definition: dict[str, Any]) -> Any:
    return client.post(BASE, json=definition, headers=headers)


def test_create_returns_a_draft_with_location(client: FlaskClient, researcher: dict) -> None:
    response = create(client, researcher, minimal_definition())
    assert response.status_code == 201
    assert response.headers["Location"] == f"{BASE}/flood-pilot"
    body = response.get_json()
    assert body["id"] == "flood-pilot"
    assert body["status"] == "open"
    assert body["latest_version"] == 0
    assert body["draft_changed"] is True
    assert body["versions"] == []
    assert body["draft"]["title"]["ru"] == "Пилот: наводнения"


def test_list_and_fetch(client: FlaskClient, researcher: dict, make_user: Any) -> None:
    create(client, researcher, minimal_definition("flood-pilot"))
    create(client, researcher, minimal_definition("drought-pilot"))
    enumerator = make_user("enumerator")
    listing = client.get(BASE, headers=enumerator)
    assert listing.status_code == 200
    assert [q["id"] for q in listing.get_json()] == ["drought-pilot", "flood-pilot"]
    one = client.get(f"{BASE}/drought-pilot", headers=enumerator)
    assert one.status_code == 200
    assert one.get_json()["title"] == {"en": "Flood pilot", "ru": "Пилот: наводнения"}
    draft = client.get(f"{BASE}/drought-pilot/draft", headers=enumerator)
    assert draft.get_json() == minimal_definition("drought-pilot")


def test_unknown_questionnaire_is_404(client: FlaskClient, admin: dict) -> None:
    for url in (f"{BASE}/nope", f"{BASE}/nope/versions", f"{BASE}/nope/versions/1"):
        assert_problem(client.get(url, headers=admin), 404, "questionnaire.not_found")
    assert_problem(
        client.post(f"{BASE}/nope/publish", headers=admin), 404, "questionnaire.not_found"
    )


def test_creating_twice_conflicts(client: FlaskClient, researcher: dict) -> None:
    create(client, researcher, minimal_definition())
    assert_problem(create(client, researcher, minimal_definition()), 409, "questionnaire.exists")


def test_publish_edit_publish_and_versions_stay_readable(
    client: FlaskClient, researcher: dict
) -> None:
    create(client, researcher, minimal_definition())
    first = client.post(f"{BASE}/flood-pilot/publish", headers=researcher)
    assert first.status_code == 201
    assert first.headers["Location"] == f"{BASE}/flood-pilot/versions/1"
    assert first.get_json()["version"] == 1
    assert len(first.get_json()["content_hash"]) == 64

    assert_problem(
        client.post(f"{BASE}/flood-pilot/publish", headers=researcher),
        409,
        "questionnaire.unchanged",
    )

    edited = minimal_definition()
    edited["title"]["en"] = "Flood pilot, second wave"
    put = client.put(f"{BASE}/flood-pilot/draft", json=edited, headers=researcher)
    assert put.status_code == 200
    assert put.get_json()["draft_changed"] is True
    second = client.post(f"{BASE}/flood-pilot/publish", headers=researcher)
    assert second.get_json()["version"] == 2

    versions = client.get(f"{BASE}/flood-pilot/versions", headers=researcher).get_json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["content_hash"] != versions[1]["content_hash"]
    v1 = client.get(f"{BASE}/flood-pilot/versions/1", headers=researcher).get_json()
    assert v1["definition"]["title"]["en"] == "Flood pilot"
    v2 = client.get(f"{BASE}/flood-pilot/versions/2", headers=researcher).get_json()
    assert v2["definition"]["title"]["en"] == "Flood pilot, second wave"
    detail = client.get(f"{BASE}/flood-pilot", headers=researcher).get_json()
    assert detail["latest_version"] == 2 and detail["draft_changed"] is False
    assert_problem(
        client.get(f"{BASE}/flood-pilot/versions/3", headers=researcher),
        404,
        "questionnaire.version_not_found",
    )


def test_draft_edits_do_not_touch_published_versions(client: FlaskClient, researcher: dict) -> None:
    create(client, researcher, minimal_definition())
    client.post(f"{BASE}/flood-pilot/publish", headers=researcher)
    edited = minimal_definition()
    edited["questions"][1]["label"]["en"] = "Cluster number"
    client.put(f"{BASE}/flood-pilot/draft", json=edited, headers=researcher)
    v1 = client.get(f"{BASE}/flood-pilot/versions/1", headers=researcher).get_json()
    assert v1["definition"]["questions"][1]["label"]["en"] == "Cluster"


def test_draft_id_cannot_change(client: FlaskClient, researcher: dict) -> None:
    create(client, researcher, minimal_definition())
    body = assert_problem(
        client.put(
            f"{BASE}/flood-pilot/draft", json=minimal_definition("other-id"), headers=researcher
        ),
        422,
        "definition.invalid",
    )
    assert body["errors"][0]["path"] == "id"


def test_close_and_reopen(client: FlaskClient, researcher: dict) -> None:
    create(client, researcher, minimal_definition())
    closed = client.post(f"{BASE}/flood-pilot/close", headers=researcher)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    again = client.post(f"{BASE}/flood-pilot/close", headers=researcher)
    assert again.get_json()["status"] == "closed"
    opened = client.post(f"{BASE}/flood-pilot/open", headers=researcher)
    assert opened.get_json()["status"] == "open"


def test_invalid_definition_lists_every_problem_and_stores_nothing(
    client: FlaskClient, researcher: dict
) -> None:
    bad = minimal_definition()
    bad["questions"].append({"name": "cluster", "type": "text", "label": {"en": "Again"}})
    bad["questions"][3]["relevant"] = "${flooded} = 'yes' and ${nowhere} > 1"
    bad["questions"][4]["constraint"] = ". >= 1 and"
    bad["questions"][0]["choices"] = "no_such_list"
    bad["questions"].append({"name": "x", "type": "calculate", "calculation": "${y} + 1"})
    bad["questions"].append({"name": "y", "type": "calculate", "calculation": "${x} * 2"})
    bad["questions"].append(
        {"name": "z", "type": "integer", "label": {"en": "Z"}, "constraint": "eval(.)"}
    )
    bad["tags"]["hazard_type"] = "cluster"
    bad["design"]["weight"] = "missing_weight"
    response = create(client, researcher, bad)
    body = assert_problem(response, 422, "definition.invalid")
    found = {(e["path"], e["code"]) for e in body["errors"]}
    assert {
        ("questions[7].name", "definition.duplicate_name"),
        ("questions[3].relevant", "definition.unknown_reference"),
        ("questions[4].constraint", "definition.expression_syntax"),
        ("questions[0].choices", "definition.unknown_choice_list"),
        ("questions[8].calculation", "definition.calculation_cycle"),
        ("questions[10].constraint", "definition.unknown_function"),
        ("tags.hazard_type", "definition.invalid_binding"),
        ("design.weight", "definition.invalid_binding"),
    } <= found, found
    assert all(e["message"] for e in body["errors"])
    listing = client.get(BASE, headers=researcher).get_json()
    assert listing == []


def test_a_function_the_server_cannot_evaluate_is_refused_at_save_not_at_submission(
    client: FlaskClient, researcher: dict
) -> None:
    bad = minimal_definition()
    bad["questions"].append({"name": "a", "type": "calculate", "calculation": "substring('x', 1)"})
    bad["questions"].append(
        {"name": "b", "type": "calculate", "calculation": "digest(${cluster}, 'sha-3')"}
    )
    bad["questions"].append(
        {"name": "c", "type": "calculate", "calculation": "format-date(today(), '%Z')"}
    )
    body = assert_problem(create(client, researcher, bad), 422, "definition.invalid")
    found = {(e["path"], e["code"]) for e in body["errors"]}
    count = len(bad["questions"])
    assert {
        (f"questions[{count - 3}].calculation", "definition.unknown_function"),
        (f"questions[{count - 2}].calculation", "definition.expression_syntax"),
        (f"questions[{count - 1}].calculation", "definition.expression_syntax"),
    } <= found, found
    good = minimal_definition()
    good["questions"].append(
        {"name": "a", "type": "calculate", "calculation": "digest(${cluster}, 'SHA-256', 'hex')"}
    )
    assert create(client, researcher, good).status_code == 201


def test_schema_problems_have_paths(client: FlaskClient, researcher: dict) -> None:
    bad = minimal_definition()
    del bad["title"]
    bad["questions"][1]["type"] = "signature"
    bad["questions"][2]["colour"] = "red"
    bad["id"] = "Not A Slug"
    body = assert_problem(create(client, researcher, bad), 422, "definition.invalid")
    paths = {e["path"] for e in body["errors"] if e["code"] == "definition.schema"}
    assert {"title", "questions[1].type", "questions[2].colour", "id"} <= paths


def test_tag_must_be_a_select_outside_repeats(client: FlaskClient, researcher: dict) -> None:
    bad = minimal_definition()
    bad["tags"]["admin1"] = "sex"  # inside the members repeat
    bad["tags"]["displacement_status"] = "hh_size"  # an integer
    body = assert_problem(create(client, researcher, bad), 422, "definition.invalid")
    messages = {e["path"]: e["message"] for e in body["errors"]}
    assert "inside the repeat" in messages["tags.admin1"]
    assert "integer" in messages["tags.displacement_status"]


def test_tag_choices_must_be_codes(client: FlaskClient, researcher: dict) -> None:
    bad = minimal_definition()
    bad["choice_lists"]["countries"].append({"name": "Kyrgyzstan", "label": {"en": "K"}})
    body = assert_problem(create(client, researcher, bad), 422, "definition.invalid")
    assert body["errors"][0]["path"] == "tags.country"
    assert "'Kyrgyzstan'" in body["errors"][0]["message"]


def test_translations_need_the_default_language(client: FlaskClient, researcher: dict) -> None:
    bad = minimal_definition()
    bad["questions"][1]["label"] = {"ru": "Кластер"}
    bad["questions"][2]["label"] = {"en": "Flooded?", "de": "Überflutet?"}
    body = assert_problem(create(client, researcher, bad), 422, "definition.invalid")
    found = {(e["path"], e["code"]) for e in body["errors"]}
    assert ("questions[1].label", "definition.missing_translation") in found
    assert ("questions[2].label.de", "definition.missing_translation") in found


def test_bad_bodies(client: FlaskClient, researcher: dict) -> None:
    not_json = client.post(
        BASE, data="{nope", headers={**researcher, "Content-Type": "application/json"}
    )
    assert_problem(not_json, 400, "request.invalid_json")
    text = client.post(BASE, data="hello", headers={**researcher, "Content-Type": "text/plain"})
    assert_problem(text, 415, "request.unsupported_media_type")
    array = client.post(BASE, json=[1, 2], headers=researcher)
    assert_problem(array, 422, "definition.invalid")


def test_roles_and_authentication(client: FlaskClient, make_user: Any) -> None:
    assert_problem(client.get(BASE), 401, "auth.required")
    assert client.get(BASE).headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(
        client.get(BASE, headers={"Authorization": "Bearer sst_nope"}), 401, "auth.invalid_token"
    )
    assert_problem(
        client.get(BASE, headers={"Authorization": "Token abc"}), 401, "auth.unsupported_scheme"
    )
    for role in ("enumerator", "supervisor", "statistician"):
        headers = make_user(role)
        assert_problem(create(client, headers, minimal_definition()), 403, "auth.forbidden")
    researcher = make_user("researcher")
    create(client, researcher, minimal_definition())
    enumerator = make_user("enumerator")
    for path in ("publish", "close", "open"):
        assert_problem(
            client.post(f"{BASE}/flood-pilot/{path}", headers=enumerator), 403, "auth.forbidden"
        )
    put = client.put(f"{BASE}/flood-pilot/draft", json=minimal_definition(), headers=enumerator)
    assert_problem(put, 403, "auth.forbidden")


def test_reference_questionnaire_is_accepted(
    client: FlaskClient, researcher: dict, reference_definition: dict
) -> None:
    response = create(client, researcher, reference_definition)
    assert response.status_code == 201, response.get_json()
    published = client.post(f"{BASE}/{reference_definition['id']}/publish", headers=researcher)
    assert published.status_code == 201


def test_a_definition_pyxform_cannot_build_is_refused_as_a_spreadsheet_is(
    client: FlaskClient, researcher: dict
) -> None:
    bad = minimal_definition()
    bad["questions"].append(
        {"name": "home", "type": "geopoint", "label": {"en": "Home"}, "parameters": "colour=red"}
    )
    body = assert_problem(create(client, researcher, bad), 422, "definition.invalid")
    assert body["detail"] == "The questionnaire definition has 1 problem(s)."
    assert [(e["path"], e["code"]) for e in body["errors"]] == [
        ("questions[7]", "xlsform.rejected")
    ]
    assert "colour" in body["errors"][0]["message"]
    # the same definition as a spreadsheet: the same refusal, at the row instead of the path
    sheet = client.post(
        BASE,
        data=xlsform_from_definition(bad),
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    from_sheet = assert_problem(sheet, 422, "xlsform.invalid")
    assert from_sheet["errors"] == [{**body["errors"][0], "path": "survey!A12"}]
    assert client.get(BASE, headers=researcher).get_json() == []


def test_a_draft_pyxform_cannot_build_is_refused_and_the_draft_kept(
    client: FlaskClient, researcher: dict
) -> None:
    create(client, researcher, minimal_definition())
    bad = minimal_definition()
    bad["questions"][0]["parameters"] = "randomize=sometimes"
    put = client.put(f"{BASE}/flood-pilot/draft", json=bad, headers=researcher)
    body = assert_problem(put, 422, "definition.invalid")
    # pyxform names no row for this rule: the problem is the whole definition's
    assert [(e["path"], e["code"]) for e in body["errors"]] == [("", "xlsform.rejected")]
    assert "randomize" in body["errors"][0]["message"]
    draft = client.get(f"{BASE}/flood-pilot/draft", headers=researcher).get_json()
    assert draft == minimal_definition()


def test_definitions_nested_too_deeply(client: FlaskClient, researcher: dict) -> None:
    """Groups within groups beyond what the schema validator can walk, or values nested
    deeper than Python's stack: a 422 naming the limit, never a 500."""

    def post(definition: dict[str, Any], deep: str) -> Any:
        text = json.dumps(definition).replace('"<deep>"', deep)
        return client.post(
            "/api/v1/questionnaires",
            data=text,
            content_type="application/json",
            headers=researcher,
        )

    leaf: Any = {"name": "leaf", "type": "text", "label": {"en": "Leaf"}}
    groups = leaf
    for depth in range(150):
        groups = {"name": f"g{depth}", "type": "group", "label": {"en": "G"}, "questions": [groups]}
    definition = minimal_definition(id="deep-groups")
    definition["questions"].append("<deep>")
    body = assert_problem(post(definition, json.dumps(groups)), 422, "definition.invalid")
    assert [(e["path"], e["code"]) for e in body["errors"]] == [("", "definition.too_deep")]
    assert "64 levels" in body["errors"][0]["message"]
    definition = minimal_definition(id="deep-label")
    definition["questions"][0]["label"] = "<deep>"
    deep_label = post(definition, "[" * 1000 + '"x"' + "]" * 1000)
    assert assert_problem(deep_label, 422, "definition.invalid")["errors"][0]["path"] == ""
    # as deep as a form may reasonably go: 25 groups within each other
    groups = leaf
    for depth in range(25):
        groups = {"name": f"g{depth}", "type": "group", "label": {"en": "G"}, "questions": [groups]}
    definition = minimal_definition(id="nested-groups")
    definition["questions"].append("<deep>")
    assert post(definition, json.dumps(groups)).status_code == 201
