"""Schema fuzzing: schemathesis sends requests generated from the OpenAPI document to every
operation, with the ids of a seeded survey so that deep paths are reached; any 5xx, or a reply
the document does not describe (status, media type, body), fails.

`SURVEY_FUZZ_CASES` sets how many cases a run sends in all (default 10,000), spread over the
operations; the `ci` hypothesis profile (tests/conftest.py) replays the same cases every run.
"""

from __future__ import annotations

import copy
import json
import math
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from survey_service import create_app
from tests.helpers import REFERENCE, reference_household

CASES = int(os.environ.get("SURVEY_FUZZ_CASES", "10000"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
_METHODS = ("get", "put", "post", "patch", "delete")
MEDIA = "villages.csv"  # a media file of the seeded draft and of its version 1
VILLAGES = b"name,label\nv1,Ak-Suu\nv2,Kara-Suu\n"


def _operation_labels() -> list[str]:
    """Every operation of the document, as schemathesis labels them ("GET /api/v1/health")."""
    app = create_app({"env": "test", "database_url": "sqlite://"})
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    app.extensions["survey"]["engine"].dispose()
    return sorted(
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in _METHODS
    )


OPERATIONS = _operation_labels()
#: operations whose cases are slow to generate (a body of the definition's large JSON Schema:
#: about 0.3 s a case), given a fixed number; GET /health has no input, so hypothesis stops
#: after its few distinct cases
FIXED = {
    "POST /api/v1/questionnaires": 30,
    "PUT /api/v1/questionnaires/{qid}/draft": 30,
    "GET /api/v1/health": 4,
}
#: cases for each other operation, so that a run sends at least CASES in all
PER_OPERATION = math.ceil((CASES - sum(FIXED.values())) / (len(OPERATIONS) - len(FIXED)))


@dataclass
class Survey:
    """The seeded ids the path parameters are drawn from, and the admin's credentials."""

    admin: dict[str, str]
    admin_id: int
    other_id: int
    other_token_ids: list[int]
    qid: str
    instance_ids: list[str]
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
def survey(client: FlaskClient, make_user: Callable[..., dict[str, str]]) -> Survey:
    """A published reference questionnaire with twelve households (one revised, one reviewed),
    a weight set, an admin and an enumerator with two tokens."""
    admin_user = make_user("admin")
    admin = {"Authorization": admin_user["Authorization"]}
    other = make_user("enumerator", countries=("KG",))
    other_tokens = [
        client.post(f"/api/v1/users/{other['id']}/tokens", headers=admin).get_json()["id"]
        for _ in range(2)
    ]
    definition = json.loads(REFERENCE.read_text(encoding="utf-8"))
    qid = definition["id"]
    assert client.post("/api/v1/questionnaires", json=definition, headers=admin).status_code == 201
    # a media file of the draft, and of version 1
    media = f"/api/v1/questionnaires/{qid}/draft/media/{MEDIA}"
    assert client.put(media, data=VILLAGES, headers=admin).status_code == 201
    assert client.post(f"/api/v1/questionnaires/{qid}/publish", headers=admin).status_code == 201
    # a draft that differs from version 1, so that there is something to publish
    edited = definition | {"title": {**definition["title"], "en": "Fuzzed household survey"}}
    draft = f"/api/v1/questionnaires/{qid}/draft"
    assert client.put(draft, json=edited, headers=admin).status_code == 200
    # more households than the disclosure threshold (10), so a table has a published cell
    instance_ids = [str(uuid.UUID(int=n)) for n in range(1, 13)]
    batch = {
        "responses": [{"instance_id": i, "answers": reference_household()} for i in instance_ids]
    }
    sent = client.post(f"/api/v1/questionnaires/{qid}/responses/batch", json=batch, headers=admin)
    assert sent.get_json()["summary"] == {"201": len(instance_ids)}, sent.get_data(as_text=True)
    revised = copy.deepcopy(reference_household())
    revised["impacts"]["income_lost"] = 900
    first = f"/api/v1/responses/{instance_ids[0]}"
    reason = {"answers": revised, "reason": "callback"}
    assert client.put(first, json=reason, headers=admin).status_code == 200
    review = {"state": "approved", "comment": "checked"}
    assert client.post(f"{first}/review", json=review, headers=admin).status_code == 200
    rows = "".join(f"{i},{100 + n}.5,KG-U,KG-U-0042\n" for n, i in enumerate(instance_ids))
    weights = client.put(
        f"/api/v1/questionnaires/{qid}/weights/final",
        data="instance_id,weight,stratum,psu\n" + rows,
        content_type="text/csv",
        headers=admin,
    )
    assert weights.status_code == 201, weights.get_data(as_text=True)
    return Survey(admin, int(admin_user["id"]), int(other["id"]), other_tokens, qid, instance_ids)


def _path_choices(survey: Survey, method: str) -> dict[str, list[Any]]:
    """The seeded values of each path parameter. Changes to users and tokens go to the
    enumerator only: the admin whose token authenticates the run stays as it is."""
    writes = method in ("PATCH", "DELETE")
    return {
        "qid": [survey.qid],
        "version": [1],
        "instance_id": [*survey.instance_ids[:3], "uuid:" + survey.instance_ids[1].upper()],
        "revision": [1, 2],
        "name": ["final"],
        "user_id": [survey.other_id] if writes else [survey.admin_id, survey.other_id],
        "token_id": survey.other_token_ids,
        "filename": [MEDIA],
    }


def _successes(operation: Any, survey: Survey) -> list[Any]:
    """Requests that the operation honours: the explicit examples of each run, so that its
    successful replies are checked against the document too."""
    first = survey.instance_ids[0]
    definition = json.loads(REFERENCE.read_text(encoding="utf-8"))
    json_body = "application/json"
    bodies: dict[str, list[dict[str, Any]]] = {
        "POST /api/v1/questionnaires": [{"body": definition | {"id": "fuzz-copy"}}],
        "PUT /api/v1/questionnaires/{qid}/draft": [{"body": definition}],
        "POST /api/v1/questionnaires/{qid}/responses": [
            {"body": {"instance_id": str(uuid.uuid4()), "answers": reference_household()}}
        ],
        "POST /api/v1/questionnaires/{qid}/responses/batch": [
            {"body": {"responses": [{"instance_id": first, "answers": reference_household()}]}}
        ],
        "PUT /api/v1/responses/{instance_id}": [
            {"body": {"answers": reference_household(), "reason": "fuzz"}}
        ],
        "POST /api/v1/responses/{instance_id}/review": [{"body": {"state": "has_issues"}}],
        "PUT /api/v1/questionnaires/{qid}/weights/{name}": [
            {
                "body": f"instance_id,weight\n{first},2.5\n",
                "media_type": "text/csv",
            }
        ],
        "PUT /api/v1/questionnaires/{qid}/draft/media/{filename}": [
            {"body": VILLAGES.decode(), "media_type": "text/csv"}
        ],
        "GET /api/v1/questionnaires/{qid}/aggregates": [
            {"query": {"stat": "count", "by": "country"}},
            {"query": {"stat": "mean", "variable": "income_lost", "weights": "final"}},
        ],
        "POST /api/v1/questionnaires/{qid}/aggregates": [
            {"body": {"stat": "proportion", "variable": "moved_due_hazard", "value": "yes"}}
        ],
        "POST /api/v1/users": [{"body": {"name": "fuzz-user", "role": "enumerator"}}],
        "PATCH /api/v1/users/{user_id}": [{"body": {"countries": ["KG", "TJ"]}}],
        "POST /api/v1/users/{user_id}/tokens": [{"body": {"label": "fuzz"}}],
    }
    choices = _path_choices(survey, operation.method.upper())
    path = {p.name: choices[p.name][0] for p in operation.path_parameters}
    requests = bodies.get(operation.label, [{}])
    return [
        operation.Case(
            path_parameters=path,
            media_type=r.get("media_type", json_body if "body" in r else None),
            **{k: v for k, v in r.items() if k != "media_type"},
        )
        for r in requests
    ]


@pytest.fixture
def fuzz_schema(app: Flask) -> Iterator[Any]:
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize("label", OPERATIONS)
def test_every_reply_is_as_documented(label: str, fuzz_schema: Any, survey: Survey) -> None:
    operation = fuzz_schema.find_operation_by_label(label)
    names = [p.name for p in operation.path_parameters]
    choices = _path_choices(survey, operation.method.upper())
    seeded = st.fixed_dictionaries({name: st.sampled_from(choices[name]) for name in names})
    # mostly the seeded ids, so the operation does its work; sometimes generated ones (404s)
    cases = (
        st.one_of(
            seeded.flatmap(lambda params: operation.as_strategy(path_parameters=params)),
            operation.as_strategy(),
        )
        if names
        else operation.as_strategy()
    )
    # mostly as the admin; sometimes with no credentials at all
    authorizations = st.sampled_from([survey.admin, survey.admin, survey.admin, {}])

    @settings(
        max_examples=FIXED.get(label, PER_OPERATION),
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, headers=authorizations)
    def fuzz(case: Any, headers: dict[str, str]) -> None:
        case.headers = {k: v for k, v in (case.headers or {}).items() if k != "Authorization"}
        response = case.call(headers=headers)
        survey.statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    for example_case in _successes(operation, survey):
        fuzz = example(case=example_case, headers=survey.admin)(fuzz)
    fuzz()
    print(f"{label}: {len(survey.statuses)} cases")
    # the seeded ids and the examples take every operation to its work, not only its refusals
    assert any(status < 300 for status in survey.statuses), survey.statuses
