"""When a response was collected: meta.started_at, else the ODK `start`, `end`, `today` answers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from survey_service.models import Response
from tests.api.test_openrosa import basic, instance_from_xform, post_submission
from tests.helpers import household, minimal_definition

QID = "odk-times"


@pytest.fixture
def published(client: FlaskClient, researcher: dict[str, str]) -> None:
    definition = minimal_definition(QID)
    definition["questions"] = [
        {"name": "start", "type": "start"},
        {"name": "end", "type": "end"},
        {"name": "today", "type": "today"},
        *definition["questions"],
    ]
    created = client.post("/api/v1/questionnaires", json=definition, headers=researcher)
    assert created.status_code == 201, created.get_json()
    publish = client.post(f"/api/v1/questionnaires/{QID}/publish", headers=researcher)
    assert publish.status_code == 201, publish.get_json()


@pytest.fixture
def enumerator(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_user("enumerator", ("KG", "TJ"))


def collected_at(app: Flask, instance_id: str) -> datetime | None:
    with app.extensions["survey"]["sessions"]() as session:
        value: datetime | None = session.scalar(
            select(Response.collected_at).where(Response.instance_id.contains(instance_id))
        )
    return value


def submit_json(
    client: FlaskClient, enumerator: dict[str, str], answers: dict[str, Any], **meta: str
) -> str:
    instance_id = str(uuid.uuid4())
    payload = {"instance_id": instance_id, "answers": answers, "meta": meta}
    headers = {"Authorization": enumerator["Authorization"]}
    response = client.post(f"/api/v1/questionnaires/{QID}/responses", json=payload, headers=headers)
    assert response.status_code == 201, response.get_json()
    return instance_id


START = "2026-06-01T09:00:00.000+06:00"
END = "2026-06-01T09:40:00.000+06:00"


@pytest.mark.usefixtures("published")
class TestJson:
    def test_the_start_answer_when_meta_has_no_start(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        answers = household(start=START, end=END, today="2026-06-01")
        instance_id = submit_json(client, enumerator, answers, ended_at="2026-06-01T04:00:00Z")
        assert collected_at(app, instance_id) == datetime(2026, 6, 1, 3, 0, tzinfo=UTC)

    def test_meta_started_at_wins_over_the_answers(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        answers = household(start=START)
        instance_id = submit_json(client, enumerator, answers, started_at="2026-05-31T10:00:00Z")
        assert collected_at(app, instance_id) == datetime(2026, 5, 31, 10, 0, tzinfo=UTC)

    def test_then_meta_ended_at_then_end_then_today_at_midnight_utc(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        ended = submit_json(client, enumerator, household(end=END), ended_at="2026-06-02T00:00:00Z")
        assert collected_at(app, ended) == datetime(2026, 6, 2, tzinfo=UTC)
        end = submit_json(client, enumerator, household(end=END, today="2026-06-01"))
        assert collected_at(app, end) == datetime(2026, 6, 1, 3, 40, tzinfo=UTC)
        today = submit_json(client, enumerator, household(today="2026-06-01"))
        assert collected_at(app, today) == datetime(2026, 6, 1, tzinfo=UTC)
        nothing = submit_json(client, enumerator, household())
        assert collected_at(app, nothing) is None


@pytest.mark.usefixtures("published")
def test_an_openrosa_submission_is_collected_at_its_start(
    app: Flask, client: FlaskClient, enumerator: dict[str, str]
) -> None:
    collect = basic(enumerator)
    form = client.get(f"/openrosa/forms/{QID}/1/form.xml", headers=collect)
    assert form.status_code == 200
    instance_id = str(uuid.uuid4())
    answers = household(start=START, end=END, today="2026-06-01")
    xml = instance_from_xform(form.data, answers, instance_id)
    reply = post_submission(client, collect, xml)
    assert reply.status_code == 201, reply.data
    assert collected_at(app, instance_id) == datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
