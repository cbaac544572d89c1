"""Request plumbing: every database outage is a retryable 503 problem, on every path."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from survey_service import create_app
from survey_service.services.accounts import TOKEN_PREFIX
from tests.helpers import assert_problem

QID = "climate-migration-household"
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"
SOME_TOKEN = {"Authorization": f"Bearer {TOKEN_PREFIX}{'x' * 40}"}  # well formed: looked up


def assert_outage_reply(response: Any) -> None:
    """A 503 problem+json with the outage code and a Retry-After the client can honour."""
    assert_problem(response, 503, "database.unavailable")
    assert response.headers.get("Retry-After", "").isdigit(), response.headers


def assert_not_unhandled(caplog: pytest.LogCaptureFixture) -> None:
    unhandled = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert unhandled == []


def test_connection_lost_before_authentication(
    app: Flask, client: FlaskClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL restarted between two requests: the pooled connection is dead, and the first
    statement of the next request (the token lookup, on psycopg directly) finds out."""
    engine = app.extensions["survey"]["engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("a server-side disconnection needs PostgreSQL")
    assert client.get("/api/v1/users/me", headers=admin).status_code == 200
    killer = create_engine(engine.url)
    with killer.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    killer.dispose()
    replies = [client.get("/api/v1/users/me", headers=admin) for _ in range(12)]
    outages = [r for r in replies if r.status_code != 200]
    assert outages, "no request met the dead connection"
    for response in outages:
        assert_outage_reply(response)
    assert replies[-1].status_code == 200  # the pool recovered: no restart needed
    assert_not_unhandled(caplog)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/users/me"),
        ("post", f"/api/v1/questionnaires/{QID}/responses"),
        ("get", f"/api/v1/questionnaires/{QID}/aggregates?stat=count"),
    ],
)
def test_database_refusing_connections(
    method: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app({"database_url": UNREACHABLE})
    response = getattr(app.test_client(), method)(path, headers=SOME_TOKEN, json={})
    app.extensions["survey"]["engine"].dispose()
    assert_outage_reply(response)
    assert_not_unhandled(caplog)


def test_connection_pool_exhausted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'pool.db'}"})
    small = create_engine(
        f"sqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0, pool_timeout=0.1
    )
    app.extensions["survey"]["sessions"].configure(bind=small)
    with small.connect():  # every connection of the pool is in use
        response = app.test_client().get("/api/v1/users/me", headers=SOME_TOKEN)
    small.dispose()
    app.extensions["survey"]["engine"].dispose()
    assert_outage_reply(response)
    assert_not_unhandled(caplog)


def test_commit_failing(
    client: FlaskClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The connection is lost at the very end: the request's commit fails, nothing stored."""

    def lost(_session: Session) -> None:
        raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(Session, "commit", lost)
    response = client.post(
        "/api/v1/users", json={"name": "late", "role": "enumerator"}, headers=admin
    )
    monkeypatch.undo()
    assert_outage_reply(response)
    assert_not_unhandled(caplog)
    names = [u["name"] for u in client.get("/api/v1/users", headers=admin).get_json()]
    assert "late" not in names
