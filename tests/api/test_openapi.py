"""The OpenAPI document tells the truth: error media types, path patterns, security, bodies."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import assert_problem

PROBLEM = "application/problem+json"
#: endpoints anyone may call, without credentials
PUBLIC = {("get", "/api/v1/health")}


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, Any]:
    spec: dict[str, Any] = app.test_client().get("/api/v1/openapi.json").get_json()
    return spec


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    ]


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_every_error_response_is_declared_problem_json(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in _operations(document):
        assert "default" in operation["responses"], (method, path)
        for status, response in operation["responses"].items():
            content = _resolve(document, response).get("content", {})
            error = status == "default" or (int(status) >= 400 and (method, path) not in PUBLIC)
            if error and set(content) != {PROBLEM}:
                wrong.append((method, path, status, sorted(content)))
    assert wrong == []


def test_the_problem_schema_has_the_fields_of_rfc_9457_and_the_service(
    document: dict[str, Any],
) -> None:
    error = _resolve(document, {"$ref": "#/components/responses/DEFAULT_ERROR"})
    schema = _resolve(document, error["content"][PROBLEM]["schema"])
    properties = schema["properties"]
    assert {"type", "title", "status", "detail", "code", "instance", "errors"} <= set(properties)
    assert {"problem_count", "allowed"} <= set(properties)
    item = _resolve(document, properties["errors"]["items"])
    assert set(item["properties"]) == {"path", "code", "message"}
    assert schema.get("additionalProperties") is not False  # RFC 9457 extension members


def test_every_path_parameter_has_a_pattern_or_a_format(document: dict[str, Any]) -> None:
    loose = []
    for path, item in document["paths"].items():
        parameters = list(item.get("parameters", []))
        for method, operation in item.items():
            if method != "parameters":
                parameters += operation.get("parameters", [])
        for parameter in parameters:
            schema = _resolve(document, parameter)["schema"] if "$ref" in parameter else None
            schema = schema or parameter["schema"]
            if parameter["in"] == "path" and "pattern" not in schema and "format" not in schema:
                loose.append((path, parameter["name"]))
    assert loose == []


@pytest.mark.parametrize(
    ("parameter", "valid", "invalid"),
    [
        ("qid", "climate-migration-household", "Climate Migration"),
        ("instance_id", "uuid:6f1c8a52-4f0e-4b8e-9d1e-0c9a4a7e2b11", "not-a-uuid"),
        ("name", "final_2025", "Final 2025"),
    ],
)
def test_string_path_patterns_accept_what_the_service_accepts(
    document: dict[str, Any], parameter: str, valid: str, invalid: str
) -> None:
    import re

    patterns = {
        p["schema"]["pattern"]
        for item in document["paths"].values()
        for p in item.get("parameters", [])
        if p["name"] == parameter
    }
    assert len(patterns) == 1, patterns
    (pattern,) = patterns
    assert re.search(pattern, valid)
    assert not re.search(pattern, invalid)


def test_public_endpoints_need_no_token(document: dict[str, Any], client: FlaskClient) -> None:
    assert document["security"] == [{"bearerAuth": []}]
    for method, path, operation in _operations(document):
        if (method, path) in PUBLIC:
            assert operation.get("security") == [], (method, path)
            assert getattr(client, method)(path).status_code < 400
        else:
            assert "security" not in operation, (method, path)  # the document's default


def test_a_token_is_issued_with_no_body_or_a_label(
    document: dict[str, Any], client: FlaskClient, make_user: Any
) -> None:
    body = document["paths"]["/api/v1/users/{user_id}/tokens"]["post"]["requestBody"]
    assert body["required"] is False
    schema = _resolve(document, body["content"]["application/json"]["schema"])
    assert set(schema["properties"]) == {"label"}
    user = make_user("enumerator")
    auth = {"Authorization": user["Authorization"]}
    path = f"/api/v1/users/{user['id']}/tokens"
    assert client.post(path, headers=auth).status_code == 201
    labelled = client.post(path, headers=auth, json={"label": "tablet 7"})
    assert labelled.status_code == 201
    assert labelled.get_json()["label"] == "tablet 7"
    assert_problem(client.post(path, headers=auth, json={"id": 5}), 422, "request.invalid")


def test_the_aggregate_table_schema_names_every_field_sent(document: dict[str, Any]) -> None:
    table = _resolve(document, {"$ref": "#/components/schemas/AggregateTable"})
    sent = {
        "cells",
        "dimensions",
        "questionnaire",
        "definition_version",
        "versions",
        "stat",
        "variable",
        "value",
        "denominator",
        "unit",
        "filters",
        "review_states",
        "weights",
        "confidence",
        "single_psu",
        "design",
        "excluded_without_weight",
        "margins",
        "disclosure_control",
        "reference_period",
        "generated_at",
    }
    assert set(table["properties"]) == sent
    assert set(table["required"]) == sent


@pytest.mark.parametrize(
    ("path", "media_types"),
    [
        (
            "/api/v1/questionnaires/{qid}/aggregates",
            {
                "application/json",
                "text/csv; charset=utf-8; header=present",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.sdmx.data+csv; version=2.0.0",
            },
        ),
        ("/api/v1/questionnaires/{qid}/versions/{version}/xform", {"text/xml"}),
        (
            "/api/v1/questionnaires/{qid}/versions/{version}/xlsform",
            {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        ),
    ],
)
def test_files_are_documented_with_their_media_types(
    document: dict[str, Any], path: str, media_types: set[str]
) -> None:
    # found by the schema fuzzing: format=sdmx-csv answered a media type the document lacked
    assert set(document["paths"][path]["get"]["responses"]["200"]["content"]) == media_types
