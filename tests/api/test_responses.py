"""Enumerators submit households; the server validates everything and never duplicates one."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from survey_service.models import Principal, QuestionnaireVersion, Response, ResponseUnit
from survey_service.services import responses as service
from tests.helpers import assert_problem, body, household, minimal_definition

Q = "/api/v1/questionnaires/flood-pilot"


@pytest.fixture
def published(client: FlaskClient, researcher: dict[str, str]) -> None:
    assert (
        client.post(
            "/api/v1/questionnaires", json=minimal_definition(), headers=researcher
        ).status_code
        == 201
    )
    assert client.post(f"{Q}/publish", headers=researcher).status_code == 201


@pytest.fixture
def enumerator(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return {"Authorization": make_user("enumerator", ("KG", "TJ"))["Authorization"]}


def stored_count(app: Flask) -> int:
    with app.extensions["survey"]["sessions"]() as session:
        return session.scalar(select(func.count()).select_from(Response)) or 0


def submit(client: FlaskClient, headers: dict[str, str], payload: dict[str, Any]) -> Any:
    return client.post(f"{Q}/responses", json=payload, headers=headers)


@pytest.mark.usefixtures("published")
class TestSubmit:
    def test_valid_household_is_stored_with_tags(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = body()
        response = submit(client, enumerator, payload)
        assert response.status_code == 201, response.get_json()
        assert response.headers["Location"] == f"/api/v1/responses/{payload['instance_id']}"
        record = response.get_json()
        assert record["instance_id"] == payload["instance_id"]
        assert record["version"] == 1 and record["revision"] == 1
        assert record["tags"]["country"] == "KG"
        assert record["design"]["psu"] == "KG-017"
        assert record["review_state"] == "received"
        assert record["answers"]["n_members"] == 2  # calculated by the server
        assert record["collected_at"] == "2026-06-01T03:00:00+00:00"
        assert record["received_at"]
        fetched = client.get(response.headers["Location"], headers=enumerator)
        assert fetched.get_json() == record

    def test_identical_resend_returns_the_stored_record(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = body()
        first = submit(client, enumerator, payload)
        again = submit(client, enumerator, payload)
        assert again.status_code == 200
        assert again.get_json() == first.get_json()
        prefixed = {**payload, "instance_id": "uuid:" + payload["instance_id"].upper()}
        assert submit(client, enumerator, prefixed).status_code == 200
        assert stored_count(app) == 1

    def test_same_instance_different_content_conflicts(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = body()
        submit(client, enumerator, payload)
        changed = {**payload, "answers": household(cluster="KG-018")}
        assert_problem(submit(client, enumerator, changed), 409, "response.conflict")
        assert stored_count(app) == 1

    def test_files_come_with_the_media_answers_that_name_them(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        """A household posted as a form would, with a photo: the questionnaire has no photo
        question, so no answer names the file, and the whole submission is refused."""
        payload = body()
        multipart = client.post(
            f"{Q}/responses",
            data={
                "submission": json.dumps(payload),
                "house.jpg": (io.BytesIO(b"\xff\xd8\xffphoto"), "house.jpg", "image/jpeg"),
            },
            headers=enumerator,
            content_type="multipart/form-data",
        )
        problem = assert_problem(multipart, 422, "response.unreferenced_file")
        assert [e["path"] for e in problem["errors"]] == ["house.jpg"]
        assert stored_count(app) == 0
        alone = client.post(
            f"{Q}/responses",
            data={"submission": json.dumps(payload)},
            headers=enumerator,
            content_type="multipart/form-data",
        )
        assert alone.status_code == 201, alone.get_json()

    def test_every_failing_field_is_listed_and_nothing_stored(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        answers = household(
            flood_year=1990,
            hh_size=3,
            colour="red",
            members=[{"sex": "F", "age": 34}, {"sex": "X", "age": 150}],
        )
        del answers["cluster"]
        problem = assert_problem(submit(client, enumerator, body(answers)), 422, "response.invalid")
        found = {(e["path"], e["code"]) for e in problem["errors"]}
        assert found >= {
            ("flood_year", "response.constraint_failed"),
            ("colour", "response.unknown_field"),
            ("cluster", "response.required"),
            ("members", "response.repeat_count_mismatch"),
            ("members[1].sex", "response.invalid_choice"),
            ("members[1].age", "response.constraint_failed"),
        }, found
        by_path = {e["path"]: e["message"] for e in problem["errors"]}
        assert by_path["flood_year"] == "2015 to 2026"
        assert stored_count(app) == 0

    def test_messages_in_the_response_language(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = body(household(flood_year=1990), language="ru")
        problem = assert_problem(submit(client, enumerator, payload), 422, "response.invalid")
        assert problem["errors"][0]["message"] == "С 2015 по 2026"

    def test_without_a_language_messages_follow_accept_language(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        """A Kazakh phone: the questionnaire offers English and Russian, so Russian (q=0.8)."""
        payload = body(household(flood_year=1990, colour="red"))
        headers = {**enumerator, "Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"}
        problem = assert_problem(submit(client, headers, payload), 422, "response.invalid")
        by_path = {e["path"]: e["message"] for e in problem["errors"]}
        assert by_path["flood_year"] == "С 2015 по 2026"
        assert by_path["colour"].startswith('Неизвестное поле "colour"')

    def test_a_named_language_wins_over_accept_language(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = body(household(flood_year=1990), language="en")
        headers = {**enumerator, "Accept-Language": "ru"}
        problem = assert_problem(submit(client, headers, payload), 422, "response.invalid")
        assert problem["errors"][0]["message"] == "2015 to 2026"

    @pytest.mark.parametrize("accepted", [None, "de-DE,fr;q=0.5", "ru;q=0, de"])
    def test_no_acceptable_language_means_the_default_language(
        self, client: FlaskClient, enumerator: dict[str, str], accepted: str | None
    ) -> None:
        headers = {**enumerator, **({"Accept-Language": accepted} if accepted else {})}
        payload = body(household(flood_year=1990))
        problem = assert_problem(submit(client, headers, payload), 422, "response.invalid")
        assert problem["errors"][0]["message"] == "2015 to 2026"

    def test_accept_language_chooses_the_language_only_of_the_messages(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        headers = {**enumerator, "Accept-Language": "ru"}
        stored = submit(client, headers, body())
        assert stored.status_code == 201, stored.get_json()
        assert stored.get_json()["language"] is None  # the interview's language was not named

    def test_a_batch_follows_accept_language_item_by_item(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        items = [body(household(flood_year=1990)), body(household(flood_year=1990), language="en")]
        reply = client.post(
            f"{Q}/responses/batch",
            json={"responses": items},
            headers={**enumerator, "Accept-Language": "ru-KG,ru;q=0.9,en;q=0.5"},
        )
        assert reply.status_code == 200, reply.get_json()
        messages = [r["errors"][0]["message"] for r in reply.get_json()["results"]]
        assert messages == ["С 2015 по 2026", "2015 to 2026"]

    def test_answer_to_a_skipped_question_is_an_error(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = body(household(flooded="no", flood_year=2020))
        problem = assert_problem(submit(client, enumerator, payload), 422, "response.invalid")
        assert [(e["path"], e["code"]) for e in problem["errors"]] == [
            ("flood_year", "response.not_relevant")
        ]

    def test_what_hangs_on_a_rejected_answer_is_not_reported(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        # flood_year is relevant when flooded = 'yes', the roster counts hh_size members:
        # rejected, both answers count as empty, but only their own errors are reported
        payload = body(household(flooded="perhaps", hh_size="two"))
        problem = assert_problem(submit(client, enumerator, payload), 422, "response.invalid")
        assert [(e["path"], e["code"]) for e in problem["errors"]] == [
            ("flooded", "response.invalid_choice"),
            ("hh_size", "response.invalid_type"),
        ]
        assert stored_count(client.application) == 0

    def test_deeply_nested_values_are_refused_not_failed(
        self, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        """Values nested beyond what is stored and written back: a 4xx, never a 500 (Python's
        recursion limit is about 1,000 levels, orjson writes 255, and reads 1,024)."""

        def post(payload: dict[str, Any], levels: int, path: str = "responses") -> Any:
            # the JSON text is put together by hand: json.dumps would recurse as deep
            text = json.dumps(payload).replace('"<deep>"', "[" * levels + "1" + "]" * levels)
            return client.post(
                f"{Q}/{path}", data=text, content_type="application/json", headers=enumerator
            )

        for levels in (33, 300, 900):  # meta is itself one level
            meta = {"x": "<deep>"}
            problem = assert_problem(post(body(meta=meta), levels - 1), 422, "request.invalid")
            assert [e["path"] for e in problem["errors"]] == ["meta"]
            assert "nested at most 32 levels" in problem["errors"][0]["message"]
            # a calculation's value sent by the client (the server computes its own)
            answers = household(n_members="<deep>")
            problem = assert_problem(post(body(answers), levels), 422, "response.invalid")
            assert [(e["path"], e["code"]) for e in problem["errors"]] == [
                ("n_members", "response.invalid_type")
            ]
            assert "nested at most 32 levels" in problem["errors"][0]["message"]
        beyond = post(body(meta={"x": "<deep>"}), 1100)  # deeper than JSON is read to
        assert_problem(beyond, 400, "request.invalid_json")
        assert stored_count(client.application) == 0
        assert post(body(meta={"x": "<deep>"}), 31).status_code == 201
        assert post(body(household(n_members="<deep>")), 32).status_code == 201
        batch = {"responses": [body(household(n_members="<deep>")), body()]}
        results = post(batch, 900, "responses/batch").get_json()["results"]
        assert [r["status"] for r in results] == [422, 201]

    def test_wrong_types(self, client: FlaskClient, enumerator: dict[str, str]) -> None:
        payload = body(household(hh_size="two", flood_year=2020.5))
        problem = assert_problem(submit(client, enumerator, payload), 422, "response.invalid")
        codes = {(e["path"], e["code"]) for e in problem["errors"]}
        assert ("hh_size", "response.invalid_type") in codes
        assert ("flood_year", "response.invalid_type") in codes

    def test_request_shape_errors(self, client: FlaskClient, enumerator: dict[str, str]) -> None:
        missing = client.post(
            f"{Q}/responses", json={"instance_id": str(uuid.uuid4())}, headers=enumerator
        )
        problem = assert_problem(missing, 422, "request.invalid")
        assert problem["errors"][0]["path"] == "answers"
        bad_id = submit(client, enumerator, body(instance_id="not-a-uuid"))
        assert_problem(bad_id, 422, "response.invalid_instance_id")
        bad_time = body()
        bad_time["meta"]["started_at"] = "yesterday"
        problem = assert_problem(submit(client, enumerator, bad_time), 422, "response.invalid")
        assert problem["errors"][0]["path"] == "meta.started_at"

    def test_every_shape_error_is_listed(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        payload = {
            **body(),
            "version": "1",
            "language": 7,
            # a 20-digit number is read exactly (by the standard library), NaN along with it
            "meta": {"battery": float("nan"), "serial": 12345678901234567890},
            "answer": {},
        }
        response = client.post(
            f"{Q}/responses",
            data=json.dumps(payload),  # NaN is not JSON; Python's encoder writes it anyway
            content_type="application/json",
            headers=enumerator,
        )
        problem = assert_problem(response, 422, "request.invalid")
        assert {e["path"] for e in problem["errors"]} == {"version", "language", "meta", "answer"}
        assert all(e["code"] == "request.invalid_field" for e in problem["errors"])
        not_json = client.post(
            f"{Q}/responses",
            data=json.dumps({**body(), "meta": {"battery": float("nan")}}),
            content_type="application/json",
            headers=enumerator,
        )
        assert_problem(not_json, 400, "request.invalid_json")
        for not_an_object in ("[{}]", '"household"', "null"):
            refused = client.post(
                f"{Q}/responses",
                data=not_an_object,
                content_type="application/json",
                headers=enumerator,
            )
            assert_problem(refused, 422, "request.invalid")
        no_json = client.post(f"{Q}/responses", data="{", headers=enumerator)
        assert_problem(no_json, 415, "request.unsupported_media_type")
        for garbage in ("{", "[" * 100_000 + "]" * 100_000, b"\xff\xfe\xfa"):
            broken = client.post(
                f"{Q}/responses", data=garbage, content_type="application/json", headers=enumerator
            )
            assert_problem(broken, 400, "request.invalid_json")
        assert stored_count(app) == 0

    def test_country_outside_the_account(
        self, app: Flask, client: FlaskClient, make_user: Callable[..., dict[str, str]]
    ) -> None:
        tajik = {"Authorization": make_user("enumerator", ("TJ",))["Authorization"]}
        problem = assert_problem(submit(client, tajik, body()), 403, "response.country_forbidden")
        assert problem["errors"][0]["code"] == "response.country_forbidden"
        assert stored_count(app) == 0

    def test_roles_that_may_not_submit(
        self, client: FlaskClient, make_user: Callable[..., dict[str, str]]
    ) -> None:
        for role in ("statistician", "researcher"):
            headers = {"Authorization": make_user(role)["Authorization"]}
            assert_problem(submit(client, headers, body()), 403, "auth.forbidden")
        assert_problem(client.post(f"{Q}/responses", json=body()), 401, "auth.required")

    def test_closed_unknown_and_unpublished(
        self, client: FlaskClient, researcher: dict[str, str], enumerator: dict[str, str]
    ) -> None:
        client.post(f"{Q}/close", headers=researcher)
        assert_problem(submit(client, enumerator, body()), 409, "questionnaire.closed")
        client.post(f"{Q}/open", headers=researcher)
        assert submit(client, enumerator, body()).status_code == 201
        missing = client.post(
            "/api/v1/questionnaires/nope/responses", json=body(), headers=enumerator
        )
        assert_problem(missing, 404, "questionnaire.not_found")
        assert_problem(
            submit(client, enumerator, body(version=7)), 404, "questionnaire.version_not_found"
        )
        client.post(
            "/api/v1/questionnaires", json=minimal_definition("draft-only"), headers=researcher
        )
        unpublished = client.post(
            "/api/v1/questionnaires/draft-only/responses", json=body(), headers=enumerator
        )
        assert_problem(unpublished, 409, "questionnaire.unpublished")

    def test_response_is_validated_against_its_version(
        self, client: FlaskClient, researcher: dict[str, str], enumerator: dict[str, str]
    ) -> None:
        stricter = minimal_definition()
        stricter["questions"][4]["constraint"] = ". >= 1 and . < 2"
        client.put(f"{Q}/draft", json=stricter, headers=researcher)
        assert client.post(f"{Q}/publish", headers=researcher).get_json()["version"] == 2
        latest = submit(client, enumerator, body())
        problem = assert_problem(latest, 422, "response.invalid")
        assert problem["errors"][0]["path"] == "hh_size"
        pinned = submit(client, enumerator, body(version=1))
        assert pinned.status_code == 201
        assert pinned.get_json()["version"] == 1

    def test_numbers_beyond_64_bits(
        self, client: FlaskClient, researcher: dict[str, str], enumerator: dict[str, str]
    ) -> None:
        """Integer answers are refused beyond 64 bits (what bigint, Stata, SPSS and Parquet
        hold); decimals, calculations and meta keep larger whole numbers exactly."""
        definition = minimal_definition("big-numbers")
        definition["questions"] += [
            {"name": "livestock", "type": "integer", "label": {"en": "Livestock"}},
            {"name": "income", "type": "decimal", "label": {"en": "Income"}},
            {"name": "income_twice", "type": "calculate", "calculation": "${income} * 2"},
        ]
        assert client.post("/api/v1/questionnaires", json=definition, headers=researcher)
        client.post("/api/v1/questionnaires/big-numbers/publish", headers=researcher)
        path = "/api/v1/questionnaires/big-numbers/responses"

        def post(route: str, payload: dict[str, Any]) -> Any:
            # the standard library writes big integers exactly (as a client would)
            text = json.dumps(payload)
            return client.post(
                route, data=text, content_type="application/json", headers=enumerator
            )

        for too_big in (2**63, -(2**63) - 1, 10**400):
            refused = post(path, body(household(livestock=too_big)))
            problem = assert_problem(refused, 422, "response.invalid")
            assert problem["errors"] == [
                {
                    "path": "livestock",
                    "code": "response.invalid_type",
                    "message": "Invalid value: expected a whole number from "
                    "-9223372036854775808 to 9223372036854775807.",
                }
            ]
        largest = body(household(livestock=2**63 - 1, income=10**30), meta={"serial": 10**25})
        stored = post(path, largest)
        assert stored.status_code == 201, stored.get_json()
        record = json.loads(stored.data)  # not get_json(): keep the integers exact
        assert record["answers"]["livestock"] == 2**63 - 1
        assert record["answers"]["income"] == 10**30
        assert record["meta"]["serial"] == 10**25
        assert post(path, largest).status_code == 200  # a resend hashes the same
        batch = post(f"{path}/batch", {"responses": [largest, body(household(income=10**20))]})
        assert [r["status"] for r in batch.get_json()["results"]] == [200, 201]
        again = client.get(f"/api/v1/responses/{largest['instance_id']}", headers=enumerator)
        assert json.loads(again.data)["answers"]["income"] == 10**30

    def test_racing_identical_requests_store_one_row(
        self, app: Flask, enumerator: dict[str, str]
    ) -> None:
        payload = body()
        statuses: list[int] = []
        barrier = threading.Barrier(4)

        def post() -> None:
            client = app.test_client()
            barrier.wait()
            statuses.append(submit(client, enumerator, payload).status_code)

        threads = [threading.Thread(target=post) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 200, 200, 201]
        assert stored_count(app) == 1
        history = app.test_client().get(
            f"/api/v1/responses/{payload['instance_id']}/revisions", headers=enumerator
        )
        assert [r["revision"] for r in history.get_json()] == [1]


@pytest.mark.usefixtures("published")
class TestBatch:
    def test_mixed_batch_results_in_request_order(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str]
    ) -> None:
        stored = body()
        submit(client, enumerator, stored)
        good, other_good = body(), body()
        bad = body(household(hh_size=40))
        conflict = {**stored, "answers": household(cluster="changed")}
        twin = {**good}
        items = [good, bad, stored, conflict, {"instance_id": "x"}, other_good, twin, 7]
        response = client.post(
            f"{Q}/responses/batch", json={"responses": items}, headers=enumerator
        )
        assert response.status_code == 200
        results = response.get_json()["results"]
        assert [r["status"] for r in results] == [201, 422, 200, 409, 422, 201, 200, 422]
        assert results[0]["instance_id"] == good["instance_id"]
        assert results[1]["errors"][0]["path"] == "hh_size"
        assert results[3]["code"] == "response.conflict"
        assert {e["path"] for e in results[4]["errors"]} == {"answers"}
        assert response.get_json()["summary"] == {"201": 2, "422": 3, "200": 2, "409": 1}
        assert stored_count(app) == 3

    def test_racing_batches_store_a_shared_household_once(
        self, app: Flask, make_user: Callable[..., dict[str, str]]
    ) -> None:
        """A batch copying a household that another, uncommitted batch holds waits for it,
        then stores the rest and answers 200 for the shared one (a resend)."""
        engine = app.extensions["survey"]["engine"]
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time: batches cannot overlap there")
        user = make_user("enumerator", ("KG",))
        principal = Principal(int(user["id"]), user["name"], "enumerator", ("KG",))
        shared, first_own, second_own = body(), body(), body()
        replies: list[Any] = []

        def second_batch() -> None:
            reply = app.test_client().post(
                f"{Q}/responses/batch",
                json={"responses": [shared, second_own]},
                headers={"Authorization": user["Authorization"]},
            )
            replies.append(reply.get_json())

        with app.extensions["survey"]["sessions"]() as first:
            items = [service.parse_submission(x) for x in (shared, first_own)]
            results = service.submit_responses(first, "flood-pilot", items, principal)
            assert [r.outcome for r in results] == [service.Outcome.STORED] * 2
            racer = threading.Thread(target=second_batch)
            racer.start()
            with engine.connect() as watcher:  # until the second waits on the first's row
                for _ in range(200):
                    waiting = watcher.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                        )
                    )
                    if waiting:
                        break
                    time.sleep(0.05)
            assert waiting, "the second batch never waited for the first"
            first.commit()
        racer.join(timeout=30)
        assert [r["status"] for r in replies[0]["results"]] == [200, 201]
        assert stored_count(app) == 3

    def test_batch_limit(self, app: Flask, client: FlaskClient, enumerator: dict) -> None:
        limit = app.extensions["survey"]["settings"].max_batch_size
        items = [body() for _ in range(limit + 1)]
        response = client.post(
            f"{Q}/responses/batch", json={"responses": items}, headers=enumerator
        )
        assert_problem(response, 413, "batch.too_large")
        empty = client.post(f"{Q}/responses/batch", json={"responses": []}, headers=enumerator)
        assert_problem(empty, 422, "request.invalid")
        wrong = client.post(f"{Q}/responses/batch", json={"items": [body()]}, headers=enumerator)
        problem = assert_problem(wrong, 422, "request.invalid")
        assert {e["path"] for e in problem["errors"]} == {"items", "responses"}
        listed = client.post(f"{Q}/responses/batch", json=[body()], headers=enumerator)
        assert_problem(listed, 422, "request.invalid")

    def test_closed_questionnaire_refuses_the_batch(
        self, client: FlaskClient, researcher: dict, enumerator: dict
    ) -> None:
        client.post(f"{Q}/close", headers=researcher)
        response = client.post(
            f"{Q}/responses/batch", json={"responses": [body()]}, headers=enumerator
        )
        assert_problem(response, 409, "questionnaire.closed")


@pytest.mark.usefixtures("published")
class TestListing:
    def test_filters_and_cursor_pagination(
        self, client: FlaskClient, enumerator: dict[str, str], admin: dict[str, str]
    ) -> None:
        ids = []
        for country in ("KG", "TJ", "KG", "KG", "TJ"):
            payload = body(household(country=country))
            ids.append(payload["instance_id"])
            assert submit(client, enumerator, payload).status_code == 201
        page = client.get(f"{Q}/responses?limit=2", headers=admin).get_json()
        seen = [r["instance_id"] for r in page["items"]]
        while page["next_cursor"]:
            page = client.get(
                f"{Q}/responses?limit=2&cursor={page['next_cursor']}", headers=admin
            ).get_json()
            seen += [r["instance_id"] for r in page["items"]]
        assert seen == ids
        kg = client.get(f"{Q}/responses?country=KG", headers=admin).get_json()["items"]
        assert [r["instance_id"] for r in kg] == [ids[0], ids[2], ids[3]]
        none = client.get(f"{Q}/responses?review_state=approved", headers=admin).get_json()
        assert none == {"items": [], "next_cursor": None}
        future = client.get(
            f"{Q}/responses?received_from=2100-01-01T00:00:00Z", headers=admin
        ).get_json()
        assert future["items"] == []
        v1 = client.get(
            f"{Q}/responses?version=1&collected_to=2026-06-02T00:00:00Z", headers=admin
        ).get_json()
        assert len(v1["items"]) == 5

    def test_bad_query_parameters(self, client: FlaskClient, admin: dict[str, str]) -> None:
        assert_problem(
            client.get(f"{Q}/responses?cursor=zzz", headers=admin), 400, "request.invalid_cursor"
        )
        problem = assert_problem(
            client.get(f"{Q}/responses?limit=0&review_state=x", headers=admin),
            422,
            "request.invalid",
        )
        assert {e["path"] for e in problem["errors"]} == {"limit", "review_state"}
        naive = client.get(f"{Q}/responses?received_from=2026-01-01T00:00:00", headers=admin)
        assert_problem(naive, 422, "request.invalid")
        # found by the schema fuzzing: a moment before year 1 in UTC was a 500
        early = client.get(
            f"{Q}/responses?received_from=0001-01-01T00:00:02%2B01:00", headers=admin
        )
        (error,) = assert_problem(early, 422, "request.invalid")["errors"]
        assert error["path"] == "received_from"

    def test_row_level_access(
        self, client: FlaskClient, make_user: Callable[..., dict[str, str]]
    ) -> None:
        alice = {"Authorization": make_user("enumerator")["Authorization"]}
        bob = {"Authorization": make_user("enumerator")["Authorization"]}
        mine = body()
        submit(client, alice, mine)
        submit(client, bob, body(household(country="TJ")))
        own = client.get(f"{Q}/responses", headers=alice).get_json()["items"]
        assert [r["instance_id"] for r in own] == [mine["instance_id"]]
        assert_problem(
            client.get(f"/api/v1/responses/{mine['instance_id']}", headers=bob),
            404,
            "response.not_found",
        )
        tajik_supervisor = {"Authorization": make_user("supervisor", ("TJ",))["Authorization"]}
        seen = client.get(f"{Q}/responses", headers=tajik_supervisor).get_json()["items"]
        assert [r["tags"]["country"] for r in seen] == ["TJ"]
        statistician = {"Authorization": make_user("statistician")["Authorization"]}
        assert_problem(client.get(f"{Q}/responses", headers=statistician), 403, "auth.forbidden")

    def test_unknown_response(self, client: FlaskClient, admin: dict[str, str]) -> None:
        for key in (str(uuid.uuid4()), "garbage"):
            assert_problem(
                client.get(f"/api/v1/responses/{key}", headers=admin), 404, "response.not_found"
            )


@pytest.mark.usefixtures("published")
class TestRevisionsAndReview:
    def test_revision_history(
        self, client: FlaskClient, enumerator: dict[str, str], admin: dict[str, str]
    ) -> None:
        payload = body()
        submit(client, enumerator, payload)
        url = f"/api/v1/responses/{payload['instance_id']}"
        revised = client.put(
            url,
            json={
                "answers": household(country="TJ", flood_year=2021),
                "reason": "wrong country recorded",
            },
            headers=admin,
        )
        assert revised.status_code == 200, revised.get_json()
        record = revised.get_json()
        assert record["revision"] == 2 and record["tags"]["country"] == "TJ"
        same = client.put(
            url,
            json={"answers": household(country="TJ", flood_year=2021), "reason": "retry"},
            headers=admin,
        )
        assert same.get_json()["revision"] == 2
        history = client.get(f"{url}/revisions", headers=admin).get_json()
        assert [(r["revision"], r["reason"]) for r in history] == [
            (1, None),
            (2, "wrong country recorded"),
        ]
        assert history[1]["author_id"] is not None and history[1]["created_at"]
        first = client.get(f"{url}/revisions/1", headers=admin).get_json()
        assert first["answers"]["country"] == "KG"
        assert_problem(
            client.get(f"{url}/revisions/9", headers=admin), 404, "response.revision_not_found"
        )
        # the original submission resent by a client that lost the reply is still a retry
        assert submit(client, enumerator, payload).status_code == 200

    def test_analysis_arrays_follow_each_revision(
        self, app: Flask, client: FlaskClient, enumerator: dict[str, str], admin: dict[str, str]
    ) -> None:
        """Aggregates read typed arrays, kept in step with the answers by intake and revisions."""
        payload = body()
        submit(client, enumerator, payload)

        def stored() -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
            with app.extensions["survey"]["sessions"]() as db:
                response = db.scalars(select(Response)).one()
                layout = db.scalars(select(QuestionnaireVersion.analysis_layout)).one()
                units = db.execute(
                    select(ResponseUnit.unit, ResponseUnit.instances, ResponseUnit.num)
                ).all()
                names = layout["household"]
                return (
                    dict(zip(names["num"], response.num, strict=True)),
                    dict(zip(names["cat"], response.cat, strict=True)),
                    [tuple(u) for u in units],
                )

        num, cat, units = stored()
        assert num == {"flood_year": 2020.0, "hh_size": 2.0, "n_members": 2.0}
        assert cat == {"country": "KG", "flooded": "yes", "n_members": "2"}
        assert units == [("members", 2, [[34.0], [36.0]])]
        answers = household(
            hh_size=3, members=[{"sex": "F", "age": 34}, {"sex": "M", "age": 36}, {"age": 5}]
        )
        url = f"/api/v1/responses/{payload['instance_id']}"
        revised = client.put(url, json={"answers": answers, "reason": "a child"}, headers=admin)
        assert revised.status_code == 200, revised.get_json()
        num, cat, units = stored()
        assert num["hh_size"] == 3.0 and num["n_members"] == 3.0
        assert units == [("members", 3, [[34.0], [36.0], [5.0]])]

    def test_invalid_revision_changes_nothing(
        self, client: FlaskClient, enumerator: dict[str, str], admin: dict[str, str]
    ) -> None:
        payload = body()
        submit(client, enumerator, payload)
        url = f"/api/v1/responses/{payload['instance_id']}"
        bad = client.put(
            url, json={"answers": household(hh_size=0), "reason": "fix"}, headers=admin
        )
        assert_problem(bad, 422, "response.invalid")
        no_reason = client.put(url, json={"answers": household()}, headers=admin)
        assert_problem(no_reason, 422, "request.invalid")
        blank = client.put(url, json={"answers": household(), "reason": "  "}, headers=admin)
        assert_problem(blank, 422, "response.invalid")
        assert client.get(url, headers=admin).get_json()["revision"] == 1

    def test_review_states_are_kept(
        self,
        client: FlaskClient,
        enumerator: dict[str, str],
        make_user: Callable[..., dict[str, str]],
    ) -> None:
        payload = body()
        submit(client, enumerator, payload)
        supervisor = {"Authorization": make_user("supervisor")["Authorization"]}
        url = f"/api/v1/responses/{payload['instance_id']}/review"
        flagged = client.post(
            url, json={"state": "has_issues", "comment": "ages look off"}, headers=supervisor
        )
        assert flagged.get_json()["review_state"] == "has_issues"
        client.post(url, json={"state": "approved"}, headers=supervisor)
        events = client.get(url, headers=supervisor).get_json()
        assert [(e["from_state"], e["to_state"], e["comment"]) for e in events] == [
            ("received", "has_issues", "ages look off"),
            ("has_issues", "approved", None),
        ]
        assert_problem(
            client.post(url, json={"state": "approved"}, headers=enumerator), 403, "auth.forbidden"
        )
        problem = assert_problem(
            client.post(url, json={"state": "lost"}, headers=supervisor), 422, "request.invalid"
        )
        assert problem["errors"][0]["path"] == "state"


class TestAcceptLanguageAmongTheQuestionnairesLanguages:
    """The service's own texts exist in every language of the region; an author's texts fall
    back to the questionnaire's default language where they have no translation."""

    @pytest.fixture
    def kazakh(self, client: FlaskClient, researcher: dict[str, str]) -> str:
        definition = minimal_definition("flood-pilot-kk", languages=["en", "ru", "kk"])
        created = client.post("/api/v1/questionnaires", json=definition, headers=researcher)
        assert created.status_code == 201, created.get_json()
        url = "/api/v1/questionnaires/flood-pilot-kk"
        assert client.post(f"{url}/publish", headers=researcher).status_code == 201
        return url

    def test_kazakh_service_messages_and_default_language_author_messages(
        self, client: FlaskClient, enumerator: dict[str, str], kazakh: str
    ) -> None:
        answers = household(flood_year=1990, colour="red")
        del answers["cluster"]
        reply = client.post(
            f"{kazakh}/responses",
            json=body(answers),
            headers={**enumerator, "Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"},
        )
        problem = assert_problem(reply, 422, "response.invalid")
        by_path = {e["path"]: e["message"] for e in problem["errors"]}
        assert by_path["colour"] == (
            'Белгісіз өріс "colour": сауалнамада бұл жерде мұндай сұрақ жоқ.'
        )
        assert by_path["cluster"] == "Бұл сұраққа жауап беру міндетті."
        assert by_path["flood_year"] == "2015 to 2026"  # the author wrote no Kazakh message
