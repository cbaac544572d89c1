"""Media answers name files that arrive with the response, over the JSON API and OpenRosa."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_service.models import Attachment, Response
from tests.api.test_openrosa import instance_from_xform, post_submission
from tests.helpers import assert_problem, body, household, minimal_definition

QID = "photo-pilot"
Q = f"/api/v1/questionnaires/{QID}"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
OGG = b"OggS" + b"\x00" * 32


def photo_definition() -> dict[str, Any]:
    definition = minimal_definition(QID)
    definition["questions"] += [
        {"name": "house_photo", "type": "image", "label": {"en": "Photo of the house"}},
        {"name": "interview", "type": "audio", "label": {"en": "Recording"}},
    ]
    return definition


@pytest.fixture
def published(client: FlaskClient, researcher: dict[str, str]) -> None:
    created = client.post("/api/v1/questionnaires", json=photo_definition(), headers=researcher)
    assert created.status_code == 201, created.get_json()
    assert client.post(f"{Q}/publish", headers=researcher).status_code == 201


@pytest.fixture
def enumerator(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_user("enumerator", ("KG", "TJ"))


def counts(app: Flask) -> tuple[int, int]:
    with app.extensions["survey"]["sessions"]() as session:
        responses = session.scalar(select(func.count()).select_from(Response)) or 0
        files = session.scalar(select(func.count()).select_from(Attachment)) or 0
        return responses, files


def post(client: FlaskClient, user: dict[str, str], payload: dict[str, Any], **files: bytes) -> Any:
    data: dict[str, Any] = {"submission": json.dumps(payload)}
    for name, content in files.items():
        data[name] = (io.BytesIO(content), name, "application/octet-stream")
    return client.post(
        f"{Q}/responses",
        data=data,
        headers={"Authorization": user["Authorization"]},
        content_type="multipart/form-data",
    )


def with_media(**media: str) -> dict[str, Any]:
    return body(household(**media))


@pytest.mark.usefixtures("published")
class TestJsonApi:
    def test_a_household_with_its_photo_and_recording_is_stored_with_the_files(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = with_media(house_photo="house.jpg", interview="talk.ogg")
        reply = post(client, enumerator, payload, **{"house.jpg": JPEG, "talk.ogg": OGG})
        assert reply.status_code == 201, reply.get_json()
        assert reply.get_json()["answers"]["house_photo"] == "house.jpg"
        assert counts(app) == (1, 2)
        again = post(client, enumerator, payload, **{"house.jpg": JPEG, "talk.ogg": OGG})
        assert again.status_code == 200 and counts(app) == (1, 2)

    def test_a_media_answer_without_its_file_is_refused_at_its_path(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = with_media(house_photo="house.jpg")
        problem = assert_problem(post(client, enumerator, payload), 422, "response.missing_file")
        assert [(e["path"], e["code"]) for e in problem["errors"]] == [
            ("house_photo", "response.missing_file")
        ]
        # a plain JSON body carries no files: the same answer is refused the same way
        plain = client.post(
            f"{Q}/responses", json=payload, headers={"Authorization": enumerator["Authorization"]}
        )
        assert_problem(plain, 422, "response.missing_file")
        assert counts(app) == (0, 0)

    def test_a_file_of_the_wrong_kind_is_refused(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = with_media(house_photo="house.jpg", interview="talk.ogg")
        reply = post(client, enumerator, payload, **{"house.jpg": OGG, "talk.ogg": JPEG})
        problem = assert_problem(reply, 422, "response.invalid_file")
        assert {e["path"] for e in problem["errors"]} == {"house_photo", "interview"}
        assert counts(app) == (0, 0)

    def test_a_file_no_answer_names_is_refused_and_listed(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        reply = post(client, enumerator, body(), **{"stray.jpg": JPEG})
        problem = assert_problem(reply, 422, "response.unreferenced_file")
        assert [e["path"] for e in problem["errors"]] == ["stray.jpg"]
        assert "'stray.jpg'" in problem["detail"]
        assert counts(app) == (0, 0)

    def test_the_submission_part_is_required(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        reply = client.post(
            f"{Q}/responses",
            data={"house.jpg": (io.BytesIO(JPEG), "house.jpg", "image/jpeg")},
            headers={"Authorization": enumerator["Authorization"]},
            content_type="multipart/form-data",
        )
        assert_problem(reply, 422, "request.invalid")


def basic(user: dict[str, str]) -> dict[str, str]:
    token = user["Authorization"].removeprefix("Bearer ")
    raw = base64.b64encode(f"{user['name']}:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}", "X-OpenRosa-Version": "1.0"}


@pytest.mark.usefixtures("published")
class TestOpenRosa:
    @pytest.fixture
    def xform(self, client: FlaskClient, enumerator: dict[str, str]) -> bytes:
        response = client.get(f"/openrosa/forms/{QID}/1/form.xml", headers=basic(enumerator))
        assert response.status_code == 200
        return response.data

    def test_a_photo_that_never_arrives_is_refused_when_the_last_part_comes(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str], xform: bytes
    ) -> None:
        collect = basic(enumerator)
        answers = household(house_photo="house.jpg", interview="talk.ogg")
        xml = instance_from_xform(xform, answers, str(uuid.uuid4()))
        first = post_submission(
            client, collect, xml, {"talk.ogg": (OGG, "audio/ogg")}, **{"*isIncomplete*": "yes"}
        )
        assert first.status_code == 201, first.data
        last = post_submission(client, collect, xml)
        assert last.status_code == 400
        assert b"did not arrive" in last.data
        complete = post_submission(client, collect, xml, {"house.jpg": (JPEG, "image/jpeg")})
        assert complete.status_code == 201, complete.data
        assert counts(app) == (1, 2)

    def test_a_photo_that_is_no_picture_is_refused(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str], xform: bytes
    ) -> None:
        xml = instance_from_xform(xform, household(house_photo="house.jpg"), str(uuid.uuid4()))
        reply = post_submission(
            client, basic(enumerator), xml, {"house.jpg": (b"not a picture", "image/jpeg")}
        )
        assert reply.status_code == 400
        assert b"house.jpg" in reply.data
        assert counts(app) == (0, 0)


VILLAGES = (
    b"name,label,label::Russian (ru),area\nv1,Ak-Suu,Ak-Suu ru,KG-C\nv2,Kara-Suu,Kara-Suu ru,KG-O\n"
)
FILE_Q = "/api/v1/questionnaires/village-pilot"


def publish_with_villages(client: FlaskClient, researcher: dict[str, str]) -> None:
    """Attach villages.csv to the draft of village-pilot and publish it."""
    put = client.put(
        f"{FILE_Q}/draft/media/villages.csv",
        data=VILLAGES,
        content_type="text/csv",
        headers=researcher,
    )
    assert put.status_code in (200, 201), put.get_json()
    assert client.post(f"{FILE_Q}/publish", headers=researcher).status_code == 201


def village_definition() -> dict[str, Any]:
    definition = minimal_definition("village-pilot")
    definition["questions"] += [
        {"name": "region", "type": "text", "label": {"en": "Region"}},
        {
            "name": "village",
            "type": "select_one",
            "choices_file": "villages.csv",
            "choice_filter": "area = ${region}",
            "label": {"en": "Village"},
        },
    ]
    return definition


class TestChoicesFromFile:
    def test_answers_are_checked_against_the_versions_file(
        self,
        client: FlaskClient,
        researcher: dict[str, str],
        enumerator: dict[str, str],
    ) -> None:
        created = client.post(
            "/api/v1/questionnaires", json=village_definition(), headers=researcher
        )
        assert created.status_code == 201, created.get_json()
        refused = client.post(f"{FILE_Q}/publish", headers=researcher)
        problem = assert_problem(refused, 409, "questionnaire.missing_media")
        assert "villages.csv" in problem["detail"]
        publish_with_villages(client, researcher)
        headers = {"Authorization": enumerator["Authorization"]}
        xform = client.get("/openrosa/forms/village-pilot/1/form.xml", headers=basic(enumerator))
        assert xform.status_code == 200
        assert b'src="jr://file-csv/villages.csv"' in xform.data
        assert b"itemset" in xform.data

        def submit(**answers: Any) -> Any:
            return client.post(
                f"{FILE_Q}/responses", json=body(household(**answers)), headers=headers
            )

        assert submit(region="KG-C", village="v1").status_code == 201
        unknown = assert_problem(submit(region="KG-C", village="v9"), 422, "response.invalid")
        assert ("village", "response.invalid_choice") in {
            (e["path"], e["code"]) for e in unknown["errors"]
        }
        filtered = assert_problem(submit(region="KG-C", village="v2"), 422, "response.invalid")
        assert ("village", "response.invalid_choice") in {
            (e["path"], e["code"]) for e in filtered["errors"]
        }


class TestPulldata:
    def test_the_server_computes_pulldata_from_the_versions_table(
        self,
        client: FlaskClient,
        researcher: dict[str, str],
        enumerator: dict[str, str],
    ) -> None:
        definition = minimal_definition("village-pilot")
        definition["questions"] += [
            {"name": "village_code", "type": "text", "label": {"en": "Village code"}},
            {
                "name": "village_area",
                "type": "calculate",
                "calculation": "pulldata('villages', 'area', 'name', ${village_code})",
            },
        ]
        created = client.post("/api/v1/questionnaires", json=definition, headers=researcher)
        assert created.status_code == 201, created.get_json()
        publish_with_villages(client, researcher)
        headers = {"Authorization": enumerator["Authorization"]}
        sent = body(household(village_code="v2", village_area="made-up"))
        reply = client.post(f"{FILE_Q}/responses", json=sent, headers=headers)
        assert reply.status_code == 201, reply.get_json()
        record = reply.get_json()
        assert record["answers"]["village_area"] == "KG-O"
        assert [w["code"] for w in record["warnings"]] == ["response.calculation_mismatch"]
        unknown = body(household(village_code="v9"))
        stored = client.post(f"{FILE_Q}/responses", json=unknown, headers=headers).get_json()
        assert stored["answers"]["village_area"] == ""
