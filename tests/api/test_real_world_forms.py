"""A designer's real-world XLSForm (Kobo settings, metadata, every ODK question type) uploaded,
published and answered over the JSON API."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from survey_service.questionnaire.xlsform.vocabulary import XLSX_MEDIA_TYPE
from tests.helpers import assert_problem, xlsform_workbook
from tests.unit.questionnaire.xlsform.test_reader import CROPS, EVERY_TYPE_SURVEY, KOBO_SETTINGS

Q = "/api/v1/questionnaires/kobo-form"

FULL: dict[str, Any] = {
    "start": "2026-06-01T09:00:00.000+06:00",
    "end": "2026-06-01T09:40:00.000+06:00",
    "today": "2026-06-01",
    "deviceid": "collect:abc123",
    "username": "aigul",
    "audit": "audit.csv",
    "hh": "KG-017-04",
    "wake": "06:30:00.000+06:00",
    "code": "4006381333931",
    "ok": "OK",
    "go": "OK",
    "level": 4,
    "ranked": ["rice", "wheat"],
    "road": [{"lat": 42.87, "lon": 74.59}, {"lat": 42.88, "lon": 74.6, "alt": 800, "accuracy": 5}],
    "field": "42.1 74.1 0 0;42.2 74.1 0 0;42.2 74.2 0 0;42.1 74.1 0 0",
    "photo": "1717210000000.jpg",
    "voice": "voice.m4a",
}


@pytest.fixture
def enumerator(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return {"Authorization": make_user("enumerator")["Authorization"]}


@pytest.fixture
def published(client: FlaskClient, researcher: dict[str, str], admin: dict[str, str]) -> Any:
    content = xlsform_workbook(EVERY_TYPE_SURVEY, CROPS, settings=KOBO_SETTINGS)
    created = client.post(
        "/api/v1/questionnaires",
        data=content,
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    assert created.status_code == 201, created.get_json()
    published = client.post(f"{Q}/publish", headers=admin)
    assert published.status_code in (200, 201), published.get_json()
    return created.get_json()


def submit(client: FlaskClient, headers: dict[str, str], answers: dict[str, Any]) -> Any:
    payload = {"instance_id": str(uuid.uuid4()), "answers": answers}
    return client.post(f"{Q}/responses", json=payload, headers=headers)


def test_the_draft_keeps_the_kobo_settings(published: Any) -> None:
    assert published["draft"]["form"]["version"] == "vAbC123"
    assert published["draft"]["form"]["style"] == "pages"


def test_the_served_xform_has_the_metadata_as_pyxform_builds_them(
    client: FlaskClient, published: Any, admin: dict[str, str]
) -> None:
    xform = client.get(f"{Q}/versions/1/xform", headers=admin).get_data(as_text=True)
    assert 'jr:preloadParams="start"' in xform
    assert 'jr:preloadParams="deviceid"' in xform
    assert "odk:rank" in xform
    assert "https://example.org/x" not in xform  # answers come to this service


@pytest.mark.usefixtures("published")
def test_a_household_answering_every_type_is_stored(
    client: FlaskClient, enumerator: dict[str, str]
) -> None:
    """With the files its media answers name, sent along as multipart parts."""
    files = {
        "audit.csv": b"event,node,start\nform start,,1\n",
        "1717210000000.jpg": b"\xff\xd8\xff\xe0photo",
        "voice.m4a": b"\x00\x00\x00\x20ftypM4A voice",
    }
    payload = {"instance_id": str(uuid.uuid4()), "answers": FULL}
    data: dict[str, Any] = {"submission": json.dumps(payload)}
    for name, content in files.items():
        data[name] = (io.BytesIO(content), name)
    response = client.post(
        f"{Q}/responses", data=data, headers=enumerator, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_json()
    assert_problem(submit(client, enumerator, FULL), 422, "response.missing_file")


@pytest.mark.usefixtures("published")
def test_metadata_are_never_required(client: FlaskClient, enumerator: dict[str, str]) -> None:
    response = submit(client, enumerator, {"hh": "KG-017-05"})
    assert response.status_code == 201, response.get_json()


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("start", "yesterday", "response.invalid_type"),
        ("today", "2026-06-01T09:00:00Z", "response.invalid_type"),
        ("deviceid", 7, "response.invalid_type"),
        ("wake", "25:00", "response.invalid_type"),
        ("ok", "yes", "response.invalid_type"),
        ("level", 5, "response.out_of_range"),
        ("level", 12, "response.out_of_range"),
        ("level", "four", "response.invalid_type"),
        ("ranked", ["wheat"], "response.invalid_rank"),
        ("ranked", "wheat wheat rice", "response.invalid_rank"),
        ("ranked", ["wheat", "maize"], "response.invalid_choice"),
        ("road", [{"lat": 42.87, "lon": 74.59}], "response.invalid_geometry"),
        ("road", [{"lat": 142, "lon": 74.59}, {"lat": 1, "lon": 2}], "response.invalid_geopoint"),
        ("field", "42.1 74.1;42.2 74.1;42.2 74.2;42.3 74.3", "response.invalid_geometry"),
        ("field", [{"lat": 42.1, "lon": 74.1}] * 3, "response.invalid_geometry"),
        ("road", "here", "response.invalid_type"),
        ("photo", "../../etc/passwd", "response.invalid_file_name"),
        ("audit", "logs/audit.csv", "response.invalid_file_name"),
        ("places", "<xml/>", "response.invalid_type"),
    ],
)
def test_a_wrong_answer_is_refused_at_its_path(
    client: FlaskClient, enumerator: dict[str, str], name: str, value: Any, code: str
) -> None:
    response = submit(client, enumerator, {**FULL, name: value})
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert [(e["path"], e["code"]) for e in errors] == [(name, code)]
