"""Health, the OpenAPI document, and problem+json for routing errors."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from survey_service import create_app
from tests.api.test_questionnaires import assert_problem


def test_health(client: FlaskClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_reports_an_unreachable_database(tmp_path: Any) -> None:
    app = create_app({"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/api/v1/health")
    app.extensions["survey"]["engine"].dispose()
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_openapi_document(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    for path in (
        "/api/v1/questionnaires",
        "/api/v1/questionnaires/{qid}/publish",
        "/api/v1/questionnaires/{qid}/versions/{version}",
        "/api/v1/users",
    ):
        assert path in spec["paths"], path
    assert "Definition" in spec["components"]["schemas"]
    assert client.get("/api/v1/docs").status_code == 200


def test_unknown_route_and_method(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404, "request.not_found")
    response = client.delete("/api/v1/health")
    assert_problem(response, 405, "request.method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_body_too_large(app: Any, researcher: dict) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    client = app.test_client()
    response = client.post(
        "/api/v1/questionnaires",
        data=b"{" + b" " * limit + b"}",
        headers={**researcher, "Content-Type": "application/json"},
    )
    assert_problem(response, 413, "request.too_large")
