"""A body over its limit is refused whole (413), chunked or not, on every path that reads one;
nothing of it is stored. (The real server's side: tests/harness/test_transport.py.)"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from survey_service import create_app
from survey_service.models import Questionnaire, Response, User, WeightSet, WeightSetEntry
from tests.api.test_openrosa import basic
from tests.helpers import assert_problem, body, household, minimal_definition, xlsform_workbook

LIMIT, UPLOAD_LIMIT = 8192, 16384
Q = "/api/v1/questionnaires/flood-pilot"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def small(app: Flask, database_url: str) -> Iterator[FlaskClient]:
    """A client of the service with small limits, on the test database."""
    limits = {"max_content_length": LIMIT, "max_upload_length": UPLOAD_LIMIT}
    small_app = create_app({"env": "test", "database_url": database_url, **limits})
    yield small_app.test_client()
    small_app.extensions["survey"]["engine"].dispose()


def send(
    client: FlaskClient,
    method: str,
    path: str,
    data: bytes,
    content_type: str,
    headers: dict[str, str],
    *,
    chunked: bool,
) -> Any:
    """The request as a server hands it over: chunked, without a Content-Length."""
    if not chunked:
        return client.open(
            path, method=method, data=data, content_type=content_type, headers=headers
        )
    return client.open(
        path,
        method=method,
        input_stream=io.BytesIO(data),
        content_type=content_type,
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def multipart(**files: tuple[bytes, str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body with these files (content, file name, media type)."""
    fields = {
        name: FileStorage(io.BytesIO(data), filename, content_type=kind)
        for name, (data, filename, kind) in files.items()
    }
    boundary, data = encode_multipart(fields)
    return data, f"multipart/form-data; boundary={boundary}"


def counts(app: Flask) -> tuple[int, ...]:
    with app.extensions["survey"]["sessions"]() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Questionnaire, Response, WeightSet, User)
        )


@pytest.fixture
def published(client: FlaskClient, admin: dict[str, str]) -> list[str]:
    """The pilot, published, with two households: their instance ids."""
    assert (
        client.post("/api/v1/questionnaires", json=minimal_definition(), headers=admin).status_code
        == 201
    )
    assert client.post(f"{Q}/publish", headers=admin).status_code == 201
    ids = []
    for country in ("KG", "TJ"):
        payload = body(household(country=country))
        assert client.post(f"{Q}/responses", json=payload, headers=admin).status_code == 201
        ids.append(payload["instance_id"])
    return ids


def over(limit: int, text: bytes = b"") -> bytes:
    return text + b" " * (limit + 1 - len(text))


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_every_body_over_its_limit_is_refused_whole(
    app: Flask,
    small: FlaskClient,
    admin: dict[str, str],
    make_user: Callable[..., dict[str, str]],
    published: list[str],
    chunked: bool,
) -> None:
    weights = "instance_id,weight\n" + "".join(f"{i},1.5\n" for i in published)
    xlsx = xlsform_workbook([["type", "name", "label"], ["text", "q", "Q"]])
    padded_weights = weights.encode() + b"\n" * UPLOAD_LIMIT
    requests: list[tuple[str, str, bytes, str]] = [
        # a JSON body read by json_body (the definition) and by webargs (a new user)
        (
            "POST",
            "/api/v1/questionnaires",
            over(LIMIT, b'{"id": "x", "title": "'),
            "application/json",
        ),
        (
            "POST",
            "/api/v1/users",
            over(LIMIT, b'{"name": "x", "role": "admin"}'),
            "application/json",
        ),
        ("POST", f"{Q}/responses", over(LIMIT, str(body()).encode()), "application/json"),
        # uploads: weights as text/csv and multipart, XLSForm raw and multipart
        ("PUT", f"{Q}/weights/final", padded_weights, "text/csv"),
        ("PUT", f"{Q}/weights/final", *multipart(file=(padded_weights, "w.csv", "text/csv"))),
        ("PUT", f"{Q}/draft", xlsx + b"\0" * LIMIT, XLSX),
        ("PUT", f"{Q}/draft", *multipart(file=(xlsx + b"\0" * LIMIT, "f.xlsx", XLSX))),
    ]
    before = counts(app)
    for method, path, data, content_type in requests:
        reply = send(small, method, path, data, content_type, admin, chunked=chunked)
        assert_problem(reply, 413, "request.too_large")
        assert counts(app) == before, path


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_an_openrosa_submission_over_the_limit_is_an_openrosa_413(
    app: Flask,
    small: FlaskClient,
    make_user: Callable[..., dict[str, str]],
    published: list[str],
    chunked: bool,
) -> None:
    data, content_type = multipart(
        xml_submission_file=(b"<data/>", "submission.xml", "text/xml"),
        photo=(b"x" * LIMIT, "photo.jpg", "image/jpeg"),
    )
    headers = basic(make_user("enumerator"))
    before = counts(app)
    reply = send(
        small, "POST", "/openrosa/submission", data, content_type, headers, chunked=chunked
    )
    assert reply.status_code == 413
    assert b"http://openrosa.org/http/response" in reply.data
    assert counts(app) == before


def test_a_chunked_body_of_exactly_the_limit_is_taken_whole(
    app: Flask, small: FlaskClient, admin: dict[str, str], published: list[str]
) -> None:
    head = f"instance_id,weight\n{published[0]},1.5\n".encode()
    last = f"{published[1]},1234567890\n".encode()
    data = head + b"\n" * (UPLOAD_LIMIT - len(head) - len(last)) + last
    reply = send(small, "PUT", f"{Q}/weights/final", data, "text/csv", admin, chunked=True)
    assert reply.status_code == 201, reply.get_json()
    with app.extensions["survey"]["sessions"]() as session:
        weights = session.scalars(select(WeightSetEntry.weight)).all()
    assert sorted(weights) == [1.5, 1234567890]
