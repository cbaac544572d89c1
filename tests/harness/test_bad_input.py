"""The bad-input corpus: requests a hostile or careless client sends, each refused with its
status, its problem code and media type, and every table of the schema left as it was.

A table of cases by class: oversized and chunked bodies, nesting, NULs and invalid UTF-8
(JSON bodies, query strings, path parameters, Basic credentials), XML entities (OpenRosa
submissions, XLSForm parts and form media), spreadsheet bombs, malformed weight CSVs and
form media files. The app under test has small body limits (2 MiB, weight uploads 4 MiB,
media files 2 MiB) so that "over the limit" costs little;
the database holds a published questionnaire and one household, so that a case that slipped
through would change a count. OpenRosa submissions are answered in OpenRosa's XML (phones
show its message), not in problem+json: those cases check the status and the reply's nature.
"""

from __future__ import annotations

import base64
import codecs
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from survey_service import create_app
from survey_service.questionnaire.xlsform.vocabulary import XLSX_MEDIA_TYPE
from tests.helpers import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    MIB,
    assert_problem,
    body,
    household,
    lying_sizes,
    many_entries_xlsx,
    minimal_definition,
    row_counts,
    rows_bomb,
    shared_strings_bomb,
    whitespace_sheet_bomb,
    xlsx_with_doctype,
)

QID = "flood-pilot"
Q = f"/api/v1/questionnaires/{QID}"
MAX_CONTENT_LENGTH = 2 * MIB
MAX_UPLOAD_LENGTH = 4 * MIB
ON_POSTGRES = (os.environ.get("SURVEY_TEST_DATABASE_URL") or "").startswith("postgresql")
UNKNOWN = "6f1c8a52-4f0e-4b8e-9d1e-0c9a4a7e2b11"  # no household has this instance id


@dataclass
class World:
    """The app under test, its users' headers and the household it holds."""

    app: Flask
    client: FlaskClient
    researcher: dict[str, str]
    enumerator: dict[str, str]
    statistician: dict[str, str]
    enumerator_name: str
    enumerator_token: str
    instance_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    def post_json(self, path: str, raw: bytes, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(
            path,
            data=raw,
            headers={**(headers or self.enumerator), "Content-Type": "application/json"},
        )

    def put_csv(self, raw: bytes, name: str = "final") -> Any:
        return self.client.put(
            f"{Q}/weights/{name}",
            data=raw,
            headers={**self.statistician, "Content-Type": "text/csv"},
        )

    def put_media(self, filename: str, raw: bytes) -> Any:
        return self.client.put(
            f"{Q}/draft/media/{filename}",
            data=raw,
            headers={**self.researcher, "Content-Type": "application/octet-stream"},
        )

    def post_xlsx(self, content: bytes) -> Any:
        return self.client.post(
            "/api/v1/questionnaires",
            data=content,
            headers={**self.researcher, "Content-Type": XLSX_MEDIA_TYPE},
        )

    def chunked(self, method: str, path: str, raw: bytes, content_type: str, who: str) -> Any:
        """A body sent as HTTP/1.1 chunks: no Content-Length, the stream ends the body."""
        headers = {**getattr(self, who), "Content-Type": content_type}
        environ = EnvironBuilder(
            path=path, method=method, input_stream=io.BytesIO(raw), headers=headers
        ).get_environ()
        del environ["CONTENT_LENGTH"]
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
        return Response.from_app(self.app, environ, buffered=True)

    def basic(self, name: bytes, secret: bytes) -> dict[str, str]:
        raw = base64.b64encode(name + b":" + secret).decode()
        return {"Authorization": f"Basic {raw}"}

    def submit(self, xml: bytes) -> Any:
        token = self.basic(self.enumerator_name.encode(), self.enumerator_token.encode())
        return self.client.post(
            "/openrosa/submission",
            data={"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")},
            headers={**token, "X-OpenRosa-Version": "1.0"},
            content_type="multipart/form-data",
        )


@dataclass(frozen=True)
class Case:
    """A request and the refusal it must get: `status` and problem `code` (None: an
    OpenRosa reply), and the code of the first field error when one is named."""

    send: Callable[[World], Any]
    status: int
    code: str | None
    error: str | None = None


def weights(world: World, *rows: str, header: str = "instance_id,weight") -> bytes:
    """A weight CSV whose first row weighs the stored household (valid), then `rows`."""
    return "\n".join([header, f"{world.instance_id},1.5", *rows, ""]).encode()


def stratum_csv(world: World, stratum: str) -> bytes:
    """The stored household's weight with `stratum`: stored, unless the stratum is refused."""
    return f"instance_id,weight,stratum\n{world.instance_id},1.5,{stratum}\n".encode()


def nested(depth: int) -> bytes:
    """A submission whose answers nest `depth` objects deep (as text: json.dumps would recurse)."""
    head, _, tail = json.dumps(body({"hh_size": "DEEP"})).partition('"DEEP"')
    return (head + '{"a": ' * depth + "1" + "}" * depth + tail).encode()


def laughs_instance(doctype: bytes) -> bytes:
    return b'<?xml version="1.0"?>' + doctype + b'<data id="flood-pilot">&e;</data>'


def deep_instance(depth: int) -> bytes:
    return b'<data id="flood-pilot">' + b"<g>" * depth + b"</g>" * depth + b"</data>"


def definition_with(**changes: Any) -> bytes:
    return json.dumps(minimal_definition("nul-pilot", **changes)).encode()


def case(
    name: str,
    send: Callable[[World], Any],
    status: int,
    code: str | None,
    marks: Any = (),
) -> Any:
    return pytest.param(Case(send, status, code), id=name, marks=marks)


def xlsx_case(name: str, make: Callable[[], bytes], code: str = "") -> Any:
    """A workbook refused: 413 with the limit's `code`, else 422 naming the part's problem
    (`code`, by default a forbidden DTD)."""
    send: Callable[[World], Any] = lambda w: w.post_xlsx(make())  # noqa: E731
    if code.startswith(("xlsform.too_", "xlsform.compression")):
        return pytest.param(Case(send, 413, code), id=name)
    error = code or "xlsform.forbidden_xml"
    return pytest.param(Case(send, 422, "xlsform.invalid", error), id=name)


def csv_case(name: str, make: Callable[[World], bytes], error: str) -> Any:
    """A weight CSV refused with 422 `weights.invalid_csv`, its first problem `error`."""
    send: Callable[[World], Any] = lambda w: w.put_csv(make(w))  # noqa: E731
    return pytest.param(Case(send, 422, "weights.invalid_csv", error), id=name)


CASES = [
    # -- oversized and chunked bodies
    case(
        "json over the body limit",
        lambda w: w.post_json(f"{Q}/responses", b'{"a": "' + b"x" * MAX_CONTENT_LENGTH + b'"}'),
        413,
        "request.too_large",
    ),
    case(
        "chunked json over the body limit",
        lambda w: w.chunked(
            "POST",
            f"{Q}/responses",
            b'{"a": "' + b"x" * MAX_CONTENT_LENGTH + b'"}',
            "application/json",
            "enumerator",
        ),
        413,
        "request.too_large",
    ),
    case(
        "csv over the upload limit",
        lambda w: w.put_csv(weights(w) + b"x" * MAX_UPLOAD_LENGTH),
        413,
        "request.too_large",
    ),
    case(
        "chunked csv over the upload limit",
        lambda w: w.chunked(
            "PUT",
            f"{Q}/weights/final",
            weights(w, *(f"{w.instance_id},{n}" for n in range(400_000))),
            "text/csv",
            "statistician",
        ),
        413,
        "request.too_large",
    ),
    case(
        "xlsx over the body limit",
        lambda w: w.post_xlsx(b"PK" + b"\0" * MAX_CONTENT_LENGTH),
        413,
        "request.too_large",
    ),
    # -- nesting
    case(
        "json arrays 100,000 deep",
        lambda w: w.post_json(f"{Q}/responses", b"[" * 100_000),
        400,
        "request.invalid_json",
    ),
    case(
        "json objects 5,000 deep",
        lambda w: w.post_json(f"{Q}/responses", nested(5_000)),
        400,
        "request.invalid_json",
    ),
    case(
        "answers 500 deep",
        lambda w: w.post_json(f"{Q}/responses", nested(500)),
        422,
        "response.invalid",
    ),
    case("openrosa instance 10,000 deep", lambda w: w.submit(deep_instance(10_000)), 400, None),
    # -- NULs and invalid UTF-8
    case(
        "NUL in a definition's title",
        lambda w: w.post_json(
            "/api/v1/questionnaires",
            definition_with(title={"en": "Flood\u0000 pilot"}),
            w.researcher,
        ),
        422,
        "request.invalid_text",
    ),
    case(
        "NUL in a response's meta",
        lambda w: w.post_json(
            f"{Q}/responses", json.dumps(body(household(), meta={"device": "a\u0000b"})).encode()
        ),
        422,
        "request.invalid_text",
    ),
    case(
        "NUL in a query string",
        lambda w: w.client.get(f"{Q}/responses?country=K%00G", headers=w.researcher),
        422,
        "request.invalid_text",
    ),
    case(
        "NUL in a path parameter",
        lambda w: w.client.get("/api/v1/questionnaires/flood%00pilot", headers=w.researcher),
        422,
        "request.invalid_text",
    ),
    case(
        "NUL in Basic credentials",
        lambda w: w.client.get("/api/v1/users/me", headers=w.basic(b"enumerator\0", b"secret")),
        401,
        "auth.malformed",
    ),
    case(
        "invalid UTF-8 in a JSON body",
        lambda w: w.post_json(f"{Q}/responses", b'{"instance_id": "\xff\xfe"}'),
        400,
        "request.invalid_json",
    ),
    case(
        "invalid UTF-8 in a path parameter",
        lambda w: w.client.get("/api/v1/questionnaires/flood%FFpilot", headers=w.researcher),
        404,
        "questionnaire.not_found",
    ),
    case(
        "invalid UTF-8 in a query string",
        lambda w: w.client.get(f"{Q}/responses?version=%FF", headers=w.researcher),
        422,
        "request.invalid",
    ),
    case(
        "invalid UTF-8 in Basic credentials",
        lambda w: w.client.get("/api/v1/users/me", headers=w.basic(b"\xff\xfe", b"x")),
        401,
        "auth.malformed",
    ),
    # -- XML entities
    case(
        "billion laughs in a submission",
        lambda w: w.submit(laughs_instance(BILLION_LAUGHS.encode())),
        400,
        None,
    ),
    case(
        "external entity in a submission",
        lambda w: w.submit(laughs_instance(EXTERNAL_ENTITY.encode())),
        400,
        None,
    ),
    xlsx_case("billion laughs in an xlsx part", lambda: xlsx_with_doctype(BILLION_LAUGHS)),
    xlsx_case("external entity in an xlsx part", lambda: xlsx_with_doctype(EXTERNAL_ENTITY)),
    # -- spreadsheet bombs (the codes name the limit; limits.py documents them)
    xlsx_case(
        "shared strings inflating to 64 MiB",
        lambda: shared_strings_bomb(64 * MIB),
        "xlsform.too_large",
    ),
    xlsx_case(
        "a sheet of 64 MiB of whitespace",
        lambda: whitespace_sheet_bomb(64 * MIB),
        "xlsform.too_large",
    ),
    xlsx_case(
        "a part inflating 1,000 times",
        lambda: whitespace_sheet_bomb(8 * MIB),
        "xlsform.compression_ratio",
    ),
    xlsx_case(
        "a header lying about a part's size",
        lambda: lying_sizes(shared_strings_bomb(64 * MIB), "xl/sharedStrings.xml", 1_000),
        "xlsform.unreadable",
    ),
    xlsx_case("30,000 rows", lambda: rows_bomb(30_000), "xlsform.too_many_rows"),
    xlsx_case(
        "1,000 files in the archive",
        lambda: many_entries_xlsx(1_000),
        "xlsform.too_many_entries",
    ),
    # -- malformed weight CSVs (each would otherwise weigh the stored household)
    csv_case(
        "csv with a wrong column",
        lambda w: weights(w, header="instance_id,wieght"),
        "weights.unknown_column",
    ),
    csv_case(
        "csv without instance_id",
        lambda w: weights(w, header="id,weight"),
        "weights.unknown_column",
    ),
    csv_case(
        "csv with an infinite weight",
        lambda w: weights(w, f"{UNKNOWN},1e999"),
        "weights.invalid_row",
    ),
    csv_case(
        "csv with a ragged row", lambda w: weights(w, f"{UNKNOWN},1,5"), "weights.invalid_row"
    ),
    csv_case(
        "csv with a duplicate id",
        lambda w: weights(w, f"{w.instance_id},2"),
        "weights.duplicate_instance",
    ),
    csv_case(
        "csv with a BOM and a bad number",
        lambda w: codecs.BOM_UTF8 + weights(w, f"{UNKNOWN},abc"),
        "weights.invalid_row",
    ),
    csv_case(
        "csv in UTF-16", lambda w: weights(w).decode().encode("utf-16"), "weights.invalid_csv"
    ),
    csv_case(
        "csv in Latin-1",
        lambda w: weights(w, "caf\xe9,1").decode().encode("latin-1"),
        "weights.invalid_csv",
    ),
    # over the csv module's field limit: the file is refused as a whole
    csv_case(
        "csv with a million-character field",
        lambda w: stratum_csv(w, "s" * 1_000_000),
        "weights.invalid_csv",
    ),
    csv_case(
        "csv with a NUL in a stratum", lambda w: stratum_csv(w, "a\0b"), "weights.invalid_row"
    ),
    csv_case(
        "csv with an unterminated quote",
        lambda w: weights(w, '"unterminated,1'),
        "weights.invalid_csv",
    ),
    # -- form media files (the draft's; SURVEY_MAX_MEDIA_LENGTH is the body limit here)
    case(
        "media file over the media limit",
        lambda w: w.put_media("villages.csv", b"name\n" + b"v\n" * MAX_CONTENT_LENGTH),
        413,
        "request.too_large",
    ),
    case(
        "chunked media file over the media limit",
        lambda w: w.chunked(
            "PUT",
            f"{Q}/draft/media/villages.csv",
            b"name\n" + b"v\n" * MAX_CONTENT_LENGTH,
            "text/csv",
            "researcher",
        ),
        413,
        "request.too_large",
    ),
    case(
        "media xml with a billion laughs",
        lambda w: w.put_media(
            "items.xml", (BILLION_LAUGHS + "<worksheet>&e;</worksheet>").encode()
        ),
        422,
        "media.forbidden_xml",
    ),
    case(
        "media xml with an external entity",
        lambda w: w.put_media(
            "items.xml", (EXTERNAL_ENTITY + "<worksheet>&e;</worksheet>").encode()
        ),
        422,
        "media.forbidden_xml",
    ),
    case(
        "media csv with a NUL",
        lambda w: w.put_media("villages.csv", b"name,label\nv1,a\0b\n"),
        422,
        "media.invalid_csv",
    ),
    case(
        "media csv in UTF-16",
        lambda w: w.put_media("villages.csv", "name,label\nv1,Ош\n".encode("utf-16")),
        422,
        "media.invalid_csv",
    ),
    case(
        "media name with a NUL",
        lambda w: w.put_media("vill%00ages.csv", b"name\nv\n"),
        422,
        "request.invalid_text",
    ),
    case(
        "media name climbing out of its folder",
        lambda w: w.put_media("..%5Cvillages.csv", b"name\nv\n"),
        422,
        "media.invalid_name",
    ),
    case(
        "media picture that is a script",
        lambda w: w.put_media("photo.png", b"<script>alert(1)</script>"),
        422,
        "media.content_mismatch",
    ),
]


@pytest.fixture(scope="module")
def bounded(database_url: str) -> Iterator[Flask]:
    limits = {
        "max_content_length": MAX_CONTENT_LENGTH,
        "max_upload_length": MAX_UPLOAD_LENGTH,
        "max_media_length": MAX_CONTENT_LENGTH,
    }
    app = create_app({"env": "test", "database_url": database_url, **limits})
    yield app
    app.extensions["survey"]["engine"].dispose()


@pytest.fixture
def world(bounded: Flask, make_user: Callable[..., dict[str, str]]) -> World:
    client = bounded.test_client()
    researcher = make_user("researcher")
    enumerator = make_user("enumerator")
    statistician = make_user("statistician")
    auth = {k: v for k, v in researcher.items() if k == "Authorization"}
    assert client.post("/api/v1/questionnaires", json=minimal_definition(), headers=auth)
    assert client.post(f"{Q}/publish", headers=auth).status_code == 201
    payload = body(household())
    enumerator_auth = {"Authorization": enumerator["Authorization"]}
    stored = client.post(f"{Q}/responses", json=payload, headers=enumerator_auth)
    assert stored.status_code == 201, stored.get_json()
    return World(
        app=bounded,
        client=client,
        researcher=auth,
        enumerator=enumerator_auth,
        statistician={"Authorization": statistician["Authorization"]},
        enumerator_name=enumerator["name"],
        enumerator_token=enumerator["Authorization"].removeprefix("Bearer "),
        instance_id=payload["instance_id"],
    )


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_and_changes_nothing(world: World, case: Case) -> None:
    before = row_counts(world.app)
    response = case.send(world)
    if case.code is None:
        assert response.status_code == case.status, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        assert b'nature="error"' in response.get_data()
    else:
        problem = assert_problem(response, case.status, case.code)
        if case.error is not None:
            assert problem["errors"][0]["code"] == case.error
    assert row_counts(world.app) == before
