"""A statistics office uploads final weights as CSV; each upload is the next version of a set."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_service.models import WeightSet, WeightSetEntry
from survey_service.services import weights as weights_service
from tests.helpers import assert_problem, body, household, minimal_definition

Q = "/api/v1/questionnaires/flood-pilot"
UNKNOWN = "6f1c8a52-4f0e-4b8e-9d1e-0c9a4a7e2b11"


@pytest.fixture
def published(client: FlaskClient, researcher: dict[str, str]) -> None:
    for definition in (minimal_definition(), minimal_definition("drought-pilot")):
        created = client.post("/api/v1/questionnaires", json=definition, headers=researcher)
        assert created.status_code == 201
        publish = f"/api/v1/questionnaires/{definition['id']}/publish"
        assert client.post(publish, headers=researcher).status_code == 201


@pytest.fixture
def enumerator(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return {"Authorization": make_user("enumerator")["Authorization"]}


@pytest.fixture
def statistician(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return {"Authorization": make_user("statistician")["Authorization"]}


@pytest.fixture
def households(
    published: None, client: FlaskClient, enumerator: dict[str, str]
) -> Callable[..., list[str]]:
    """Submit households to a questionnaire; their instance ids, in arrival order."""

    def submit(*countries: str, questionnaire: str = Q) -> list[str]:
        ids = []
        for country in countries:
            payload = body(household(country=country))
            response = client.post(f"{questionnaire}/responses", json=payload, headers=enumerator)
            assert response.status_code == 201, response.get_json()
            ids.append(payload["instance_id"])
        return ids

    return submit


def weights_csv(*rows: tuple[Any, ...], header: str = "instance_id,weight,stratum,psu") -> str:
    return "\n".join([header, *(",".join(str(cell) for cell in row) for row in rows)]) + "\n"


def upload(
    client: FlaskClient,
    headers: dict[str, str],
    data: str | bytes,
    name: str = "final",
    questionnaire: str = Q,
    content_type: str = "text/csv",
) -> Any:
    content = data.encode() if isinstance(data, str) else data
    return client.put(
        f"{questionnaire}/weights/{name}", data=content, content_type=content_type, headers=headers
    )


def stored(app: Flask) -> tuple[int, int]:
    """How many weight sets and entries the database holds."""
    with app.extensions["survey"]["sessions"]() as session:
        sets = session.scalar(select(func.count()).select_from(WeightSet))
        entries = session.scalar(select(func.count()).select_from(WeightSetEntry))
        return sets or 0, entries or 0


class TestUpload:
    def test_first_upload_is_version_1_and_reports_missing_responses(
        self,
        app: Flask,
        client: FlaskClient,
        statistician: dict[str, str],
        households: Callable[..., list[str]],
    ) -> None:
        a, b, c = households("KG", "KG", "TJ")
        response = upload(
            client, statistician, weights_csv((a, 152.75, "north", "p1"), (c, 3, "south", "p2"))
        )
        assert response.status_code == 201, response.get_json()
        assert response.headers["Location"] == f"{Q}/weights/final?version=1"
        summary = response.get_json()
        assert summary.pop("created_at")
        assert summary == {
            "name": "final",
            "version": 1,
            "entries": 2,
            "missing": 1,
            "missing_instance_ids": [b],
        }
        with app.extensions["survey"]["sessions"]() as session:
            entries = session.execute(
                select(WeightSetEntry.weight, WeightSetEntry.stratum, WeightSetEntry.psu).order_by(
                    WeightSetEntry.weight
                )
            ).all()
        assert [tuple(e) for e in entries] == [(3.0, "south", "p2"), (152.75, "north", "p1")]

        fetched = client.get(response.headers["Location"], headers=statistician)
        assert fetched.status_code == 200
        record = fetched.get_json()
        assert record["questionnaire_id"] == "flood-pilot"
        assert (record["name"], record["version"], record["entries"], record["missing"]) == (
            "final",
            1,
            2,
            1,
        )
        assert record["created_by"] is not None

    def test_multipart_upload_with_semicolons_and_a_bom(
        self, client: FlaskClient, researcher: dict[str, str], households: Callable[..., list[str]]
    ) -> None:
        (a,) = households("KG")
        content = f"\ufeffWeight;Instance_ID\r\n10;uuid:{a.upper()}\r\n"
        response = client.put(
            f"{Q}/weights/final",
            data={"file": (io.BytesIO(content.encode()), "weights.csv")},
            content_type="multipart/form-data",
            headers=researcher,
        )
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["entries"] == 1
        assert response.get_json()["missing"] == 0

    def test_each_upload_is_the_next_version_and_names_are_independent(
        self,
        app: Flask,
        client: FlaskClient,
        admin: dict[str, str],
        households: Callable[..., list[str]],
    ) -> None:
        a, b = households("KG", "TJ")
        assert upload(client, admin, weights_csv((a, 1, "s", "p"))).status_code == 201
        second = upload(client, admin, weights_csv((a, 2, "s", "p"), (b, 2, "s", "p")))
        assert second.get_json()["version"] == 2
        assert second.headers["Location"] == f"{Q}/weights/final?version=2"
        other = upload(client, admin, weights_csv((b, 5, "s", "p")), name="trimmed_v2-2027")
        assert other.get_json()["version"] == 1
        assert stored(app) == (3, 4)

        latest = client.get(f"{Q}/weights/final", headers=admin).get_json()
        assert (latest["version"], latest["entries"], latest["missing"]) == (2, 2, 0)
        first = client.get(f"{Q}/weights/final?version=1", headers=admin).get_json()
        assert (first["version"], first["entries"], first["missing"]) == (1, 1, 1)

        listing = client.get(f"{Q}/weights", headers=admin)
        assert listing.status_code == 200
        sets = listing.get_json()
        assert [(s["name"], s["version"], s["entries"]) for s in sets] == [
            ("final", 2, 2),
            ("trimmed_v2-2027", 1, 1),
        ]
        assert [(v["version"], v["entries"], v["missing"]) for v in sets[0]["versions"]] == [
            (1, 1, 1),
            (2, 2, 0),
        ]

    def test_rejected_responses_are_not_missing(
        self,
        client: FlaskClient,
        admin: dict[str, str],
        households: Callable[..., list[str]],
    ) -> None:
        a, b, c = households("KG", "KG", "KG")
        review = client.post(
            f"/api/v1/responses/{b}/review",
            json={"state": "rejected", "comment": "duplicate household"},
            headers=admin,
        )
        assert review.status_code == 200
        summary = upload(client, admin, weights_csv((a, 1, "s", "p"))).get_json()
        assert (summary["missing"], summary["missing_instance_ids"]) == (1, [c])

    def test_weights_of_another_questionnaire_are_not_counted(
        self, client: FlaskClient, admin: dict[str, str], households: Callable[..., list[str]]
    ) -> None:
        (a,) = households("KG")
        households("KG", questionnaire="/api/v1/questionnaires/drought-pilot")
        summary = upload(client, admin, weights_csv((a, 1, "s", "p"))).get_json()
        assert (summary["missing"], summary["missing_instance_ids"]) == (0, [])

    def test_large_sets_are_inserted_and_looked_up_in_chunks(
        self,
        app: Flask,
        client: FlaskClient,
        admin: dict[str, str],
        households: Callable[..., list[str]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(weights_service, "CHUNK", 2)
        ids = households("KG", "KG", "TJ", "TJ", "KG")
        rows = [(instance_id, i + 1, "s", f"p{i}") for i, instance_id in enumerate(ids)]
        summary = upload(client, admin, weights_csv(*rows)).get_json()
        assert (summary["entries"], summary["missing"]) == (5, 0)
        assert stored(app) == (1, 5)

    def test_missing_ids_are_capped(
        self,
        client: FlaskClient,
        admin: dict[str, str],
        households: Callable[..., list[str]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(weights_service, "MAX_MISSING_LISTED", 2)
        a, b, c, d = households("KG", "KG", "KG", "KG")
        summary = upload(client, admin, weights_csv((a, 1, "s", "p"))).get_json()
        assert (summary["missing"], summary["missing_instance_ids"]) == (3, [b, c])


class TestRefused:
    def test_unknown_instances_fail_the_whole_upload(
        self,
        app: Flask,
        client: FlaskClient,
        admin: dict[str, str],
        households: Callable[..., list[str]],
    ) -> None:
        (a,) = households("KG")
        (elsewhere,) = households("KG", questionnaire="/api/v1/questionnaires/drought-pilot")
        data = weights_csv((a, 1, "s", "p"), (UNKNOWN, 1, "s", "p"), (elsewhere, 1, "s", "p"))
        problem = assert_problem(upload(client, admin, data), 422, "weights.unknown_instance")
        assert [(e["path"], e["code"]) for e in problem["errors"]] == [
            ("line 3.instance_id", "weights.unknown_instance"),
            ("line 4.instance_id", "weights.unknown_instance"),
        ]
        assert problem["problem_count"] == 2
        assert "nothing was stored" in problem["detail"]
        assert stored(app) == (0, 0)

    def test_invalid_csv_lists_every_problem(
        self,
        app: Flask,
        client: FlaskClient,
        admin: dict[str, str],
        households: Callable[..., list[str]],
    ) -> None:
        (a,) = households("KG")
        data = f"instance_id;weight;stratum;psu\n{a};1,5;s;p\nx;0;;p\n"
        problem = assert_problem(upload(client, admin, data), 422, "weights.invalid_csv")
        assert [(e["path"], e["code"]) for e in problem["errors"]] == [
            ("line 2.weight", "weights.invalid_row"),
            ("line 3.instance_id", "weights.invalid_row"),
            ("line 3.weight", "weights.invalid_row"),
            ("line 3.stratum", "weights.invalid_row"),
        ]
        assert "decimal comma" in problem["errors"][0]["message"]
        assert stored(app) == (0, 0)

    @pytest.mark.parametrize(
        "data",
        [b"", b"instance_id,weight\n", b"instance_id,weight,region\n", b"\xff\xfei\x00d\x00"],
    )
    def test_files_without_usable_rows(
        self, client: FlaskClient, admin: dict[str, str], published: None, data: bytes
    ) -> None:
        problem = assert_problem(upload(client, admin, data), 422, "weights.invalid_csv")
        assert problem["errors"][0]["path"] == "line 1"

    def test_duplicate_instances_point_at_the_earlier_line(
        self, client: FlaskClient, admin: dict[str, str], households: Callable[..., list[str]]
    ) -> None:
        (a,) = households("KG")
        data = weights_csv((a, 1, "s", "p"), (f"uuid:{a}", 2, "s", "p"))
        problem = assert_problem(upload(client, admin, data), 422, "weights.invalid_csv")
        assert problem["errors"] == [
            {
                "path": "line 3.instance_id",
                "code": "weights.duplicate_instance",
                "message": f"{a} is already on line 2",
            }
        ]

    @pytest.mark.parametrize("name", ["Final", "1st", "final.v2", "x" * 65, "_w"])
    def test_invalid_names(
        self,
        client: FlaskClient,
        admin: dict[str, str],
        households: Callable[..., list[str]],
        name: str,
    ) -> None:
        (a,) = households("KG")
        problem = assert_problem(
            upload(client, admin, weights_csv((a, 1, "s", "p")), name=name),
            422,
            "weights.invalid_name",
        )
        assert problem["errors"][0]["path"] == "name"

    def test_unknown_questionnaire(self, client: FlaskClient, admin: dict[str, str]) -> None:
        data = weights_csv((UNKNOWN, 1, "s", "p"))
        response = upload(client, admin, data, questionnaire="/api/v1/questionnaires/nope")
        assert_problem(response, 404, "questionnaire.not_found")

    @pytest.mark.parametrize(
        "content_type", ["application/json", "text/plain", "application/octet-stream"]
    )
    def test_other_media_types(
        self, client: FlaskClient, admin: dict[str, str], published: None, content_type: str
    ) -> None:
        data = weights_csv((UNKNOWN, 1, "s", "p"))
        response = upload(client, admin, data, content_type=content_type)
        problem = assert_problem(response, 415, "request.unsupported_media_type")
        assert content_type in problem["detail"]

    @pytest.mark.parametrize("multipart", [False, True])
    def test_a_body_over_the_size_limit(
        self,
        app: Flask,
        client: FlaskClient,
        admin: dict[str, str],
        published: None,
        monkeypatch: pytest.MonkeyPatch,
        multipart: bool,
    ) -> None:
        # uploads have their own bound (SURVEY_MAX_UPLOAD_LENGTH), above other requests'
        settings = app.extensions["survey"]["settings"]
        monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100)
        monkeypatch.setitem(
            app.extensions["survey"], "settings", replace(settings, max_upload_length=200)
        )
        data = weights_csv(*[(UNKNOWN, 1, "s", "p")] * 10).encode()
        response = (
            client.put(
                f"{Q}/weights/final",
                data={"file": (io.BytesIO(data), "w.csv")},
                content_type="multipart/form-data",
                headers=admin,
            )
            if multipart
            else upload(client, admin, data)
        )
        assert_problem(response, 413, "request.too_large")

    def test_uploads_may_exceed_the_limit_of_other_requests(
        self,
        app: Flask,
        client: FlaskClient,
        admin: dict[str, str],
        households: Callable[..., list[str]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        (first,) = households("KG")
        monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 20)  # SURVEY_MAX_CONTENT_LENGTH
        response = upload(client, admin, weights_csv((first, 1.5, "s", "p")))
        assert response.status_code == 201, response.get_json()
        refused = client.post(f"{Q}/responses", json=body(), headers=admin)
        assert_problem(refused, 413, "request.too_large")

    def test_multipart_without_the_file_part(
        self, client: FlaskClient, admin: dict[str, str], published: None
    ) -> None:
        response = client.put(
            f"{Q}/weights/final",
            data={"weights": (io.BytesIO(b"instance_id,weight\n"), "w.csv")},
            content_type="multipart/form-data",
            headers=admin,
        )
        assert_problem(response, 400, "request.missing_file")


class TestAccess:
    @pytest.mark.parametrize("role", ["enumerator", "supervisor"])
    def test_only_researchers_statisticians_and_admins_upload(
        self,
        app: Flask,
        client: FlaskClient,
        make_user: Callable[..., dict[str, str]],
        households: Callable[..., list[str]],
        role: str,
    ) -> None:
        (a,) = households("KG")
        headers = {"Authorization": make_user(role)["Authorization"]}
        assert_problem(
            upload(client, headers, weights_csv((a, 1, "s", "p"))), 403, "auth.forbidden"
        )
        assert stored(app) == (0, 0)

    def test_credentials_are_required(self, client: FlaskClient, published: None) -> None:
        assert_problem(
            upload(client, {}, weights_csv((UNKNOWN, 1, "s", "p"))), 401, "auth.required"
        )
        assert_problem(client.get(f"{Q}/weights"), 401, "auth.required")

    @pytest.mark.parametrize("role", ["enumerator", "supervisor", "statistician", "researcher"])
    def test_every_role_reads_weight_sets(
        self,
        client: FlaskClient,
        admin: dict[str, str],
        make_user: Callable[..., dict[str, str]],
        households: Callable[..., list[str]],
        role: str,
    ) -> None:
        (a,) = households("KG")
        assert upload(client, admin, weights_csv((a, 1, "s", "p"))).status_code == 201
        headers = {"Authorization": make_user(role, ("TJ",))["Authorization"]}
        assert client.get(f"{Q}/weights", headers=headers).status_code == 200
        assert client.get(f"{Q}/weights/final", headers=headers).status_code == 200

    def test_a_country_restricted_statistician_weights_only_its_countries(
        self,
        app: Flask,
        client: FlaskClient,
        make_user: Callable[..., dict[str, str]],
        households: Callable[..., list[str]],
    ) -> None:
        kg1, tj1, kg2, tj2 = households("KG", "TJ", "KG", "TJ")
        kyrgyz = {"Authorization": make_user("statistician", ("KG",))["Authorization"]}
        refused = upload(client, kyrgyz, weights_csv((kg1, 1, "s", "p"), (tj1, 1, "s", "p")))
        problem = assert_problem(refused, 422, "weights.unknown_instance")
        assert [e["path"] for e in problem["errors"]] == ["line 3.instance_id"]
        assert stored(app) == (0, 0)

        summary = upload(client, kyrgyz, weights_csv((kg1, 1, "s", "p"))).get_json()
        # the count and the ids cover only what the uploader may see: not the TJ households
        assert (summary["missing"], summary["missing_instance_ids"]) == (1, [kg2])

    def test_a_country_restricted_reader_counts_only_its_countries(
        self,
        client: FlaskClient,
        admin: dict[str, str],
        make_user: Callable[..., dict[str, str]],
        households: Callable[..., list[str]],
    ) -> None:
        kg1, _kg2, tj1, _tj2, _tj3 = households("KG", "KG", "TJ", "TJ", "TJ")
        uploaded = upload(client, admin, weights_csv((kg1, 1, "s", "p"), (tj1, 2, "s", "p")))
        assert (uploaded.get_json()["entries"], uploaded.get_json()["missing"]) == (2, 3)
        kyrgyz = {"Authorization": make_user("statistician", ("KG",))["Authorization"]}
        tajik = {"Authorization": make_user("researcher", ("TJ",))["Authorization"]}
        for reader, expected in ((kyrgyz, (1, 1)), (tajik, (1, 2)), (admin, (2, 3))):
            record = client.get(f"{Q}/weights/final", headers=reader).get_json()
            assert (record["entries"], record["missing"]) == expected
            (listed,) = client.get(f"{Q}/weights", headers=reader).get_json()
            assert (listed["entries"], listed["missing"]) == expected
            (version,) = listed["versions"]
            assert (version["entries"], version["missing"]) == expected
        # households arriving after the upload are not counted as missing from it
        households("KG")
        record = client.get(f"{Q}/weights/final", headers=kyrgyz).get_json()
        assert (record["entries"], record["missing"]) == (1, 1)


class TestReading:
    def test_unknown_set_version_or_questionnaire(
        self, client: FlaskClient, admin: dict[str, str], households: Callable[..., list[str]]
    ) -> None:
        (a,) = households("KG")
        assert client.get(f"{Q}/weights", headers=admin).get_json() == []
        assert_problem(client.get(f"{Q}/weights/final", headers=admin), 404, "weights.not_found")
        upload(client, admin, weights_csv((a, 1, "s", "p")))
        assert_problem(
            client.get(f"{Q}/weights/final?version=2", headers=admin), 404, "weights.not_found"
        )
        assert_problem(client.get(f"{Q}/weights/other", headers=admin), 404, "weights.not_found")
        nope = "/api/v1/questionnaires/nope"
        assert_problem(client.get(f"{nope}/weights", headers=admin), 404, "questionnaire.not_found")
        assert_problem(
            client.get(f"{nope}/weights/final", headers=admin), 404, "questionnaire.not_found"
        )

    @pytest.mark.parametrize("version", ["0", "-1", "abc", "1.5"])
    def test_a_bad_version_is_a_field_error(
        self, client: FlaskClient, admin: dict[str, str], published: None, version: str
    ) -> None:
        response = client.get(f"{Q}/weights/final?version={version}", headers=admin)
        problem = assert_problem(response, 422, "request.invalid")
        assert [e["path"] for e in problem["errors"]] == ["version"]

    def test_the_openapi_document_describes_the_upload(self, client: FlaskClient) -> None:
        spec = client.get("/api/v1/openapi.json").get_json()
        put = spec["paths"]["/api/v1/questionnaires/{qid}/weights/{name}"]["put"]
        content = put["requestBody"]["content"]
        assert content["text/csv"]["schema"]["type"] == "string"
        multipart = content["multipart/form-data"]["schema"]
        assert multipart == {"$ref": "#/components/schemas/WeightsUpload"}
        assert spec["components"]["schemas"]["WeightsUpload"]["properties"]["file"]["format"] == (
            "binary"
        )
        created = put["responses"]["201"]["content"]["application/json"]["schema"]
        assert created == {"$ref": "#/components/schemas/WeightSetSummary"}
        listing = spec["paths"]["/api/v1/questionnaires/{qid}/weights"]["get"]
        assert listing["responses"]["200"]["content"]["application/json"]["schema"]["items"] == {
            "$ref": "#/components/schemas/WeightSetHistory"
        }
