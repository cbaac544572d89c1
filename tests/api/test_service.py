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
# beyond PostgreSQL's integer columns (ids, versions, revisions): "integer out of range", a 500
# (found by the schema fuzzing)
INT32 = 2**31
Q = "/api/v1/questionnaires/climate-migration-household"


@pytest.mark.parametrize("number", [HUGE, INT32])
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "{q}/versions/{n}", 404),
        ("get", "{q}/versions/{n}/xform", 404),
        ("get", "/api/v1/users/{n}", 404),
        ("get", "/api/v1/users/{n}/tokens", 404),
        ("delete", "/api/v1/users/1/tokens/{n}", 404),
        ("get", "/api/v1/responses/x/revisions/{n}", 404),
        ("get", "{q}/responses?version={n}", 422),
        ("get", "{q}/aggregates?stat=mean&variable=hh_size&version={n}", 422),
        ("get", "{q}/aggregates?stat=mean&variable=hh_size&weights=w&weights_version={n}", 422),
        ("get", "{q}/weights/w?version={n}", 422),
    ],
)
def test_integers_beyond_the_columns_in_paths_and_queries(
    client: FlaskClient, admin: dict, method: str, path: str, status: int, number: int
) -> None:
    response = getattr(client, method)(path.format(q=Q, n=number), headers=admin)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    if status == 422:
        (error,) = response.get_json()["errors"]
        assert "less than or equal to 2147483647" in error["message"]


def test_integer_path_parameters_are_documented_as_int32(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    (parameter,) = document["paths"]["/api/v1/users/{user_id}"]["parameters"]
    assert parameter["schema"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 0,
        "maximum": 2**31 - 1,
    }
