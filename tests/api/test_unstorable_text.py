"""Text that PostgreSQL cannot store (U+0000, a lone UTF-16 surrogate) is refused with its path,
on either database the same way, wherever it comes: URL, query, credentials, any JSON string."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_service.models import ApiToken, Questionnaire, Response, ResponseRevision, User
from tests.helpers import assert_problem, body, household, minimal_definition

Q = "/api/v1/questionnaires/flood-pilot"


def counts(app: Flask) -> tuple[int, ...]:
    with app.extensions["survey"]["sessions"]() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Questionnaire, Response, ResponseRevision, User, ApiToken)
        )


@pytest.fixture
def submitted(client: FlaskClient, admin: dict[str, str]) -> str:
    """The pilot published, with one household: its instance id."""
    assert (
        client.post("/api/v1/questionnaires", json=minimal_definition(), headers=admin).status_code
        == 201
    )
    assert client.post(f"{Q}/publish", headers=admin).status_code == 201
    payload = body()
    assert client.post(f"{Q}/responses", json=payload, headers=admin).status_code == 201
    return str(payload["instance_id"])


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
def test_json_strings_anywhere_are_refused_with_their_path(
    app: Flask,
    client: FlaskClient,
    admin: dict[str, str],
    make_user: Callable[..., dict[str, str]],
    submitted: str,
    bad: str,
) -> None:
    user = make_user("enumerator")
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", f"{Q}/responses", body(household(cluster=f"KG{bad}1")), "answers.cluster"),
        ("POST", f"{Q}/responses", body(meta={"device_id": bad}), "meta.device_id"),
        ("POST", f"{Q}/responses", body(language=bad), "language"),
        (
            "POST",
            f"{Q}/responses/batch",
            {"responses": [body(meta={"x": [bad]})]},
            "responses[0].meta.x[0]",
        ),
        (
            "POST",
            "/api/v1/questionnaires",
            minimal_definition("other", title={"en": bad}),
            "title.en",
        ),
        ("PUT", f"{Q}/draft", minimal_definition(title={"en": f"a{bad}"}), "title.en"),
        (
            "PUT",
            f"/api/v1/responses/{submitted}",
            {"answers": household(), "reason": bad},
            "reason",
        ),
        (
            "POST",
            f"/api/v1/responses/{submitted}/review",
            {"state": "approved", "comment": bad},
            "comment",
        ),
        ("POST", f"/api/v1/users/{user['id']}/tokens", {"label": bad}, "label"),
        ("POST", "/api/v1/users", {"name": f"ab{bad}", "role": "admin"}, "name"),
        ("POST", f"{Q}/responses", {**body(), f"key{bad}": 1}, "key\\u" + f"{ord(bad):04x}"),
    ]
    before = counts(app)
    for method, path, document, where in cases:
        # JSON text: the standard library writes U+0000 and surrogates as \u escapes
        data = json.dumps(document).encode()
        reply = client.open(
            path, method=method, data=data, content_type="application/json", headers=admin
        )
        problem = assert_problem(reply, 422, "request.invalid_text")
        assert [e["path"] for e in problem["errors"]] == [where], path
        assert problem["errors"][0]["code"] == "request.invalid_text"
    assert counts(app) == before


@pytest.mark.parametrize(
    "url, where",
    [
        ("/api/v1/questionnaires/flood%00pilot", "path"),
        ("/api/v1/questionnaires/flood-pilot/versions/1?x=%00", "query.x"),
        ("/api/v1/questionnaires/flood-pilot/responses?cursor=a%00b", "query.cursor"),
        ("/api/v1/responses/abc%00", "path"),
        ("/api/v1/users?a%00=1", "query.a\\u0000"),
    ],
)
def test_urls_holding_nul_are_refused_with_their_path(
    client: FlaskClient, admin: dict[str, str], url: str, where: str
) -> None:
    problem = assert_problem(client.get(url, headers=admin), 422, "request.invalid_text")
    assert [e["path"] for e in problem["errors"]] == [where]


@pytest.mark.parametrize("credentials", ["ad\x00min:secret", "admin:se\x00cret", "\x00:"])
def test_basic_credentials_holding_nul_are_malformed(client: FlaskClient, credentials: str) -> None:
    header = "Basic " + base64.b64encode(credentials.encode()).decode()
    reply = client.get("/api/v1/questionnaires", headers={"Authorization": header})
    assert_problem(reply, 401, "auth.malformed")
