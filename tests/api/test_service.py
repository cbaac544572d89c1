"""Health, the OpenAPI document, and problem+json for routing errors."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from survey_service import create_app
from tests.helpers import assert_problem


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


HUGE = 10**22  # beyond 64 bits: SQLite's driver refused it with an OverflowError (a 500)
Q = "/api/v1/questionnaires/climate-migration-household"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", f"{Q}/versions/{HUGE}", 404),
        ("get", f"{Q}/versions/{HUGE}/xform", 404),
        ("get", f"/api/v1/users/{HUGE}", 404),
        ("get", f"/api/v1/users/{HUGE}/tokens", 404),
        ("delete", f"/api/v1/users/1/tokens/{HUGE}", 404),
        ("get", f"/api/v1/responses/x/revisions/{HUGE}", 404),
        ("get", f"{Q}/responses?version={HUGE}", 422),
        ("get", f"{Q}/aggregates?stat=mean&variable=hh_size&version={HUGE}", 422),
        ("get", f"{Q}/aggregates?stat=mean&variable=hh_size&weights=w&weights_version={HUGE}", 422),
        ("get", f"{Q}/weights/w?version={HUGE}", 422),
    ],
)
def test_integers_beyond_64_bits_in_paths_and_queries(
    client: FlaskClient, admin: dict, method: str, path: str, status: int
) -> None:
    response = getattr(client, method)(path, headers=admin)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    if status == 422:
        (error,) = response.get_json()["errors"]
        assert "less than or equal to 9223372036854775807" in error["message"]


def test_integer_path_parameters_are_documented_as_int64(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    (parameter,) = document["paths"]["/api/v1/users/{user_id}"]["parameters"]
    assert parameter["schema"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 0,
        "maximum": 2**63 - 1,
    }
