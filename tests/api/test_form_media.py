"""Researchers attach files to a draft; publishing freezes them; Collect and Enketo fetch them."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import xml.etree.ElementTree as ET  # noqa: S405 - parses only XML this service generated
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey_service import create_app
from survey_service.errors import NotFound, Unprocessable
from survey_service.services import form_media
from survey_service.storage import LocalStore
from tests.helpers import assert_problem, minimal_definition

Q = "/api/v1/questionnaires/flood-pilot"
VILLAGES = b"name,label,region\nv1,Ak-Suu,KG-C\nv2,Kara-Suu,KG-O\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
OR = {"X-OpenRosa-Version": "1.0"}
MANIFEST_NS = "{http://openrosa.org/xforms/xformsManifest}"


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture
def draft(client: FlaskClient, researcher: dict[str, str]) -> None:
    created = client.post("/api/v1/questionnaires", json=minimal_definition(), headers=researcher)
    assert created.status_code == 201


@pytest.fixture
def enumerator(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    user = make_user("enumerator")
    token = user["Authorization"].removeprefix("Bearer ")
    raw = base64.b64encode(f"{user['name']}:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def put(
    client: FlaskClient,
    headers: dict[str, str],
    filename: str,
    data: bytes,
    content_type: str = "application/octet-stream",
) -> object:
    return client.put(
        f"{Q}/draft/media/{filename}", data=data, content_type=content_type, headers=headers
    )


@pytest.mark.usefixtures("draft")
class TestDraftMedia:
    def test_attach_list_download_replace_delete(
        self, client: FlaskClient, researcher: dict[str, str], enumerator: dict[str, str]
    ) -> None:
        created = put(client, researcher, "villages.csv", VILLAGES, "text/csv")
        assert created.status_code == 201, created.get_json()
        assert created.headers["Location"].endswith("/draft/media/villages.csv")
        body = created.get_json()
        assert body["filename"] == "villages.csv" and body["media_type"] == "text/csv"
        assert body["size"] == len(VILLAGES)
        assert body["md5"] == md5(VILLAGES)
        assert body["sha256"] == hashlib.sha256(VILLAGES).hexdigest()
        # the media type is the extension's, whatever the upload said
        photo = put(client, researcher, "Logo.PNG", PNG, "text/html")
        assert photo.status_code == 201 and photo.get_json()["media_type"] == "image/png"

        listing = client.get(f"{Q}/draft/media", headers=enumerator)
        assert listing.status_code == 200
        assert [m["filename"] for m in listing.get_json()] == ["Logo.PNG", "villages.csv"]
        download = client.get(f"{Q}/draft/media/villages.csv", headers=enumerator)
        assert download.status_code == 200 and download.data == VILLAGES
        assert download.mimetype == "text/csv"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert "attachment" in download.headers["Content-Disposition"]

        changed = VILLAGES + b"v3,Osh,KG-O\n"
        replaced = put(client, researcher, "villages.csv", changed)
        assert replaced.status_code == 200 and replaced.get_json()["md5"] == md5(changed)
        assert client.get(f"{Q}/draft/media/villages.csv", headers=researcher).data == changed

        assert client.delete(f"{Q}/draft/media/Logo.PNG", headers=researcher).status_code == 204
        gone = client.get(f"{Q}/draft/media/Logo.PNG", headers=researcher)
        assert_problem(gone, 404, "media.not_found")
        again = client.delete(f"{Q}/draft/media/Logo.PNG", headers=researcher)
        assert_problem(again, 404, "media.not_found")

    def test_only_editors_attach_and_remove(
        self, client: FlaskClient, make_user: Callable[..., dict[str, str]]
    ) -> None:
        supervisor = {"Authorization": make_user("supervisor")["Authorization"]}
        refused = put(client, supervisor, "villages.csv", VILLAGES)
        assert_problem(refused, 403, "auth.forbidden")
        refused = client.delete(f"{Q}/draft/media/villages.csv", headers=supervisor)
        assert_problem(refused, 403, "auth.forbidden")

    def test_unknown_questionnaire(self, client: FlaskClient, researcher: dict[str, str]) -> None:
        missing = client.put(
            "/api/v1/questionnaires/nothing-here/draft/media/a.csv",
            data=VILLAGES,
            headers=researcher,
        )
        assert_problem(missing, 404, "questionnaire.not_found")
        listing = client.get("/api/v1/questionnaires/nothing-here/draft/media", headers=researcher)
        assert_problem(listing, 404, "questionnaire.not_found")

    @pytest.mark.parametrize(
        ("filename", "data", "code"),
        [
            (".hidden.csv", VILLAGES, "media.invalid_name"),
            ("village list .csv ", VILLAGES, "media.invalid_name"),
            ("a:b.csv", VILLAGES, "media.invalid_name"),
            ("tab%09here.csv", VILLAGES, "media.invalid_name"),
            ("x" * 252 + ".csv", VILLAGES, "media.invalid_name"),
            ("notes.txt", b"hello", "media.unsupported_type"),
            ("icon.svg", b"<svg/>", "media.unsupported_type"),
            ("no-extension", b"x", "media.unsupported_type"),
            ("empty.csv", b"", "media.empty"),
            ("latin1.csv", "name,label\nv1,Tütün\n".encode("latin-1"), "media.invalid_csv"),
            ("ragged.csv", b"name,label\nv1,A,extra\n", "media.invalid_csv"),
            ("twice.csv", b"name,name\nv1,A\n", "media.invalid_csv"),
            ("blank-header.csv", b"name,\nv1,A\n", "media.invalid_csv"),
            ("broken.xml", b"<root><item></root>", "media.invalid_xml"),
            (
                "bomb.xml",
                b'<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>',
                "media.forbidden_xml",
            ),
            ("points.geojson", b'{"type": "Feature"}', "media.invalid_geojson"),
            (
                "no-id.geojson",
                b'{"type": "FeatureCollection", "features": [{"type": "Feature", '
                b'"geometry": {"type": "Point", "coordinates": [74.6, 42.9]}, "properties": {}}]}',
                "media.invalid_geojson",
            ),
            ("photo.jpg", PNG, "media.content_mismatch"),
            ("sound.mp3", b"RIFF....WAVEfmt ", "media.content_mismatch"),
            ("video.mp4", b"\x00\x00\x00\x18moov", "media.content_mismatch"),
        ],
    )
    def test_refusals_have_stable_codes_and_store_nothing(
        self, client: FlaskClient, researcher: dict[str, str], filename: str, data: bytes, code: str
    ) -> None:
        refused = client.put(
            f"{Q}/draft/media/{filename}",
            data=data,
            content_type="application/octet-stream",
            headers=researcher,
        )
        assert_problem(refused, 422, code)
        assert client.get(f"{Q}/draft/media", headers=researcher).get_json() == []

    def test_csv_problems_are_listed_by_line(
        self, client: FlaskClient, researcher: dict[str, str]
    ) -> None:
        data = b"name,label\nv1,A\nv2\nv3,C,D\n"
        problem = assert_problem(put(client, researcher, "v.csv", data), 422, "media.invalid_csv")
        assert [e["path"] for e in problem["errors"]] == ["line 3", "line 4"]
        assert problem["problem_count"] == 2

    def test_accepted_kinds(self, client: FlaskClient, researcher: dict[str, str]) -> None:
        files = {
            "bom.csv": b"\xef\xbb\xbfname,label\r\n\r\nv1,A\r\n",
            "items.xml": b"<root><item><name>a</name><label>A</label></item></root>",
            "sites.geojson": b'{"type": "FeatureCollection", "features": [{"type": "Feature",'
            b' "id": 7, "geometry": {"type": "Point", "coordinates": [74.6, 42.9]},'
            b' "properties": {"name": "Bishkek"}}, {"type": "Feature", "geometry":'
            b' {"type": "Polygon", "coordinates": []}, "properties": {"id": "b"}}]}',
            "a.jpeg": b"\xff\xd8\xff\xe0" + b"\x00" * 16,
            "a.gif": b"GIF89a" + b"\x00" * 16,
            "a.mp3": b"ID3\x04" + b"\x00" * 16,
            "b.mp3": b"\xff\xfb\x90\x00" + b"\x00" * 16,
            "a.m4a": b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 16,
            "a.mp4": b"\x00\x00\x00\x20ftypisom" + b"\x00" * 16,
            "a.ogg": b"OggS" + b"\x00" * 16,
            "a.wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 16,
            "Лес села.csv": VILLAGES,
        }
        for filename, data in files.items():
            stored = put(client, researcher, filename, data)
            assert stored.status_code == 201, (filename, stored.get_json())
        listing = client.get(f"{Q}/draft/media", headers=researcher).get_json()
        assert {m["filename"] for m in listing} == set(files)
        download = client.get(f"{Q}/draft/media/Лес села.csv", headers=researcher)
        assert download.status_code == 200 and download.data == VILLAGES

    def test_a_file_over_the_media_limit_is_refused(
        self, app: Flask, researcher: dict[str, str]
    ) -> None:
        settings = dataclasses.replace(app.extensions["survey"]["settings"], max_media_length=64)
        small = create_app(settings)
        try:
            client = small.test_client()
            refused = put(client, researcher, "big.csv", b"name\n" + b"v\n" * 100)
            assert_problem(refused, 413, "request.too_large")
            assert put(client, researcher, "ok.csv", b"name\nv\n").status_code == 201
        finally:
            small.extensions["survey"]["engine"].dispose()

    def test_a_multipart_form_is_not_a_file(
        self, client: FlaskClient, researcher: dict[str, str]
    ) -> None:
        sent = client.put(
            f"{Q}/draft/media/villages.csv",
            data={"file": (io.BytesIO(VILLAGES), "villages.csv")},
            content_type="multipart/form-data",
            headers=researcher,
        )
        assert_problem(sent, 415, "request.unsupported_media_type")


@pytest.mark.usefixtures("draft")
class TestPublishing:
    def test_publishing_freezes_the_draft_media(
        self, client: FlaskClient, researcher: dict[str, str]
    ) -> None:
        put(client, researcher, "villages.csv", VILLAGES)
        assert client.post(f"{Q}/publish", headers=researcher).status_code == 201
        # the draft changes afterwards; version 1 keeps what it was published with
        put(client, researcher, "villages.csv", VILLAGES + b"v3,Osh,KG-O\n")
        put(client, researcher, "logo.png", PNG)
        v1 = client.get(f"{Q}/versions/1/media", headers=researcher)
        assert v1.status_code == 200
        assert [(m["filename"], m["md5"]) for m in v1.get_json()] == [
            ("villages.csv", md5(VILLAGES))
        ]
        download = client.get(f"{Q}/versions/1/media/villages.csv", headers=researcher)
        assert download.status_code == 200 and download.data == VILLAGES
        missing = client.get(f"{Q}/versions/1/media/logo.png", headers=researcher)
        assert_problem(missing, 404, "media.not_found")
        assert_problem(
            client.get(f"{Q}/versions/9/media", headers=researcher),
            404,
            "questionnaire.version_not_found",
        )
        assert_problem(
            client.get(f"{Q}/versions/9/media/villages.csv", headers=researcher),
            404,
            "questionnaire.version_not_found",
        )

    def test_a_change_of_media_alone_is_a_new_version(
        self, client: FlaskClient, researcher: dict[str, str]
    ) -> None:
        assert client.post(f"{Q}/publish", headers=researcher).status_code == 201
        unchanged = client.post(f"{Q}/publish", headers=researcher)
        assert_problem(unchanged, 409, "questionnaire.unchanged")
        put(client, researcher, "villages.csv", VILLAGES)
        assert client.post(f"{Q}/publish", headers=researcher).status_code == 201
        assert_problem(
            client.post(f"{Q}/publish", headers=researcher), 409, "questionnaire.unchanged"
        )
        # replaced by other bytes: changed; put back: unchanged again
        put(client, researcher, "villages.csv", VILLAGES + b"v3,Osh,KG-O\n")
        put(client, researcher, "villages.csv", VILLAGES)
        assert_problem(
            client.post(f"{Q}/publish", headers=researcher), 409, "questionnaire.unchanged"
        )
        client.delete(f"{Q}/draft/media/villages.csv", headers=researcher)
        assert client.post(f"{Q}/publish", headers=researcher).status_code == 201
        versions = [
            [
                m["filename"]
                for m in client.get(f"{Q}/versions/{n}/media", headers=researcher).get_json()
            ]
            for n in (1, 2, 3)
        ]
        assert versions == [[], ["villages.csv"], []]


@pytest.mark.usefixtures("draft")
class TestOpenRosa:
    def test_the_manifest_lists_each_file_with_its_hash_and_serves_it(
        self, client: FlaskClient, researcher: dict[str, str], enumerator: dict[str, str]
    ) -> None:
        put(client, researcher, "villages.csv", VILLAGES)
        put(client, researcher, "logo.png", PNG)
        assert client.post(f"{Q}/publish", headers=researcher).status_code == 201
        collect = enumerator | OR
        listing = ET.fromstring(client.get("/openrosa/formList", headers=collect).data)  # noqa: S314
        ns = "{http://openrosa.org/xforms/xformsList}"
        manifest_url = listing.findtext(f"{ns}xform/{ns}manifestUrl")
        assert manifest_url == "http://localhost/openrosa/forms/flood-pilot/1/manifest"
        manifest = client.get(manifest_url, headers=collect)
        assert manifest.status_code == 200
        assert manifest.headers["X-OpenRosa-Version"] == "1.0"
        files = ET.fromstring(manifest.data).findall(f"{MANIFEST_NS}mediaFile")  # noqa: S314
        entries = {
            f.findtext(f"{MANIFEST_NS}filename"): (
                f.findtext(f"{MANIFEST_NS}hash"),
                f.findtext(f"{MANIFEST_NS}downloadUrl"),
            )
            for f in files
        }
        assert entries == {
            "logo.png": (
                f"md5:{md5(PNG)}",
                "http://localhost/openrosa/forms/flood-pilot/1/media/logo.png",
            ),
            "villages.csv": (
                f"md5:{md5(VILLAGES)}",
                "http://localhost/openrosa/forms/flood-pilot/1/media/villages.csv",
            ),
        }
        for filename, data, media_type in (
            ("villages.csv", VILLAGES, "text/csv"),
            ("logo.png", PNG, "image/png"),
        ):
            served = client.get(entries[filename][1], headers=collect)
            assert served.status_code == 200 and served.data == data
            assert served.mimetype == media_type
            # Enketo's server fetches media without the OpenRosa header
            plain = client.get(entries[filename][1], headers=enumerator)
            assert plain.status_code == 200 and plain.data == data

    def test_media_files_need_a_field_account(
        self, client: FlaskClient, researcher: dict[str, str], enumerator: dict[str, str]
    ) -> None:
        put(client, researcher, "villages.csv", VILLAGES)
        assert client.post(f"{Q}/publish", headers=researcher).status_code == 201
        url = "/openrosa/forms/flood-pilot/1/media/villages.csv"
        anonymous = client.get(url, headers=OR)
        assert anonymous.status_code == 401 and "Basic" in anonymous.headers["WWW-Authenticate"]
        missing = client.get("/openrosa/forms/flood-pilot/1/media/other.csv", headers=enumerator)
        assert missing.status_code == 404
        assert (
            client.get(
                "/openrosa/forms/flood-pilot/7/manifest", headers=enumerator | OR
            ).status_code
            == 404
        )


@pytest.mark.usefixtures("draft")
def test_csv_rows_of_a_version_for_pulldata(
    app: Flask, client: FlaskClient, researcher: dict[str, str]
) -> None:
    put(client, researcher, "villages.csv", b"\xef\xbb\xbf" + VILLAGES)
    put(client, researcher, "logo.png", PNG)
    assert client.post(f"{Q}/publish", headers=researcher).status_code == 201
    store = LocalStore(app.extensions["survey"]["settings"].resolved_attachments_dir())
    with app.extensions["survey"]["sessions"]() as session:
        rows = form_media.media_csv_rows(session, store, "flood-pilot", 1, "villages.csv")
        assert [dict(r) for r in rows] == [
            {"name": "v1", "label": "Ak-Suu", "region": "KG-C"},
            {"name": "v2", "label": "Kara-Suu", "region": "KG-O"},
        ]
        assert form_media.media_csv_rows(session, store, "flood-pilot", 1, "villages.csv") is rows
        with pytest.raises(TypeError):
            rows[0]["name"] = "changed"  # type: ignore[index]  # read-only on purpose
        with pytest.raises(Unprocessable):
            form_media.media_csv_rows(session, store, "flood-pilot", 1, "logo.png")
        with pytest.raises(NotFound):
            form_media.media_csv_rows(session, store, "flood-pilot", 1, "other.csv")
