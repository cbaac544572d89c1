"""The authorization matrix: every route and method of the app × every caller, against a table.

Callers: each role, unrestricted and restricted to KG, and six kinds of bad credentials (none,
a malformed header, an unknown token, a revoked token, a deactivated user's token, a wrong
Basic password). Rows: a published reference questionnaire with one response in KG and one in
TJ, a review, a weight set, and users in KG and TJ, so every path reaches its record: no
"404, no such id" can hide an allow (the unrestricted admin must reach every endpoint).

A case fails on an unexpected allow (a 2xx or 3xx where the table says 401 or 403, or a 2xx
for a row outside the caller's countries, or an out-of-country instance id in a 2xx body), on
an unexpected refusal of a role the table allows, and on a route missing from the table: a new
endpoint is not served until its rule is written here.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from survey_service import create_app
from survey_service.models import Role
from survey_service.services import accounts
from tests.conftest import empty_tables
from tests.helpers import REFERENCE, body, reference_household

ADMIN, RESEARCHER, SUPERVISOR, ENUMERATOR, STATISTICIAN = (
    Role.ADMIN,
    Role.RESEARCHER,
    Role.SUPERVISOR,
    Role.ENUMERATOR,
    Role.STATISTICIAN,
)
EVERY_ROLE = frozenset(Role)
EDIT = frozenset({ADMIN, RESEARCHER})
SUBMIT = frozenset({ADMIN, SUPERVISOR, ENUMERATOR})
READ = frozenset({ADMIN, SUPERVISOR, RESEARCHER, ENUMERATOR})
REVIEW = frozenset({ADMIN, SUPERVISOR})
WEIGHTS = frozenset({ADMIN, RESEARCHER, STATISTICIAN})
ADMINS = frozenset({ADMIN})


@dataclass(frozen=True)
class Rule:
    """Who may call an endpoint. `roles` None: anyone, without credentials.

    `rows`: how country scoping applies. "row": the request names a row of a country (a KG
    or a TJ one in its path or body, both tried), and a caller restricted to other countries
    gets no 2xx for it (enumerators: only their own responses). "list": the reply shows rows
    or counts of them, and a caller restricted to KG never sees the TJ response in a 2xx.
    """

    roles: frozenset[Role] | None
    rows: str = ""


PUBLIC = Rule(None)

#: The expected rule of every route and method (HEAD and OPTIONS aside: Flask answers them
#: as the GET does, or itself).
TABLE: dict[tuple[str, str], Rule] = {
    ("/api/v1/health", "GET"): PUBLIC,
    ("/api/v1/openapi.json", "GET"): PUBLIC,
    ("/api/v1/docs", "GET"): PUBLIC,
    ("/static/<filename>", "GET"): PUBLIC,
    ("/api/v1/users/me", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/users", "GET"): Rule(ADMINS),
    ("/api/v1/users", "POST"): Rule(ADMINS, rows="row"),
    ("/api/v1/users/<user_id>", "GET"): Rule(ADMINS),
    ("/api/v1/users/<user_id>", "PATCH"): Rule(ADMINS, rows="row"),
    # oneself always; another user's: admins within their countries (callers are never
    # the target here)
    ("/api/v1/users/<user_id>/tokens", "GET"): Rule(ADMINS, rows="row"),
    ("/api/v1/users/<user_id>/tokens", "POST"): Rule(ADMINS, rows="row"),
    ("/api/v1/users/<user_id>/tokens/<token_id>", "DELETE"): Rule(ADMINS, rows="row"),
    ("/api/v1/questionnaires", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires", "POST"): Rule(EDIT),
    ("/api/v1/questionnaires/<qid>", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/draft", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/draft", "PUT"): Rule(EDIT),
    ("/api/v1/questionnaires/<qid>/publish", "POST"): Rule(EDIT),
    ("/api/v1/questionnaires/<qid>/close", "POST"): Rule(EDIT),
    ("/api/v1/questionnaires/<qid>/open", "POST"): Rule(EDIT),
    ("/api/v1/questionnaires/<qid>/versions", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/versions/<version>", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/versions/<version>/xform", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/versions/<version>/xlsform", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/draft/media", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/draft/media/<filename>", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/draft/media/<filename>", "PUT"): Rule(EDIT),
    ("/api/v1/questionnaires/<qid>/draft/media/<filename>", "DELETE"): Rule(EDIT),
    ("/api/v1/questionnaires/<qid>/versions/<version>/media", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/versions/<version>/media/<filename>", "GET"): Rule(EVERY_ROLE),
    ("/api/v1/questionnaires/<qid>/responses", "GET"): Rule(READ, rows="list"),
    ("/api/v1/questionnaires/<qid>/responses", "POST"): Rule(SUBMIT, rows="row"),
    ("/api/v1/questionnaires/<qid>/responses/batch", "POST"): Rule(SUBMIT, rows="row"),
    ("/api/v1/questionnaires/<qid>/aggregates", "GET"): Rule(EVERY_ROLE, rows="list"),
    ("/api/v1/questionnaires/<qid>/aggregates", "POST"): Rule(EVERY_ROLE, rows="list"),
    ("/api/v1/questionnaires/<qid>/weights", "GET"): Rule(EVERY_ROLE, rows="list"),
    ("/api/v1/questionnaires/<qid>/weights/<name>", "GET"): Rule(EVERY_ROLE, rows="list"),
    ("/api/v1/questionnaires/<qid>/weights/<name>", "PUT"): Rule(WEIGHTS, rows="row"),
    ("/api/v1/responses/<instance_id>", "GET"): Rule(READ, rows="row"),
    ("/api/v1/responses/<instance_id>", "PUT"): Rule(SUBMIT, rows="row"),
    ("/api/v1/responses/<instance_id>/revisions", "GET"): Rule(READ, rows="row"),
    ("/api/v1/responses/<instance_id>/revisions/<revision>", "GET"): Rule(READ, rows="row"),
    ("/api/v1/responses/<instance_id>/review", "GET"): Rule(READ, rows="row"),
    ("/api/v1/responses/<instance_id>/review", "POST"): Rule(REVIEW, rows="row"),
    ("/openrosa/formList", "GET"): Rule(SUBMIT),
    ("/openrosa/forms/<qid>/<version>/form.xml", "GET"): Rule(SUBMIT),
    ("/openrosa/forms/<qid>/<version>/manifest", "GET"): Rule(SUBMIT),
    ("/openrosa/forms/<qid>/<version>/media/<filename>", "GET"): Rule(SUBMIT),
    ("/openrosa/submission", "POST"): Rule(SUBMIT),
    ("/openrosa/submission", "HEAD"): Rule(SUBMIT),
}

BAD_CREDENTIALS = ("none", "malformed", "unknown", "revoked", "deactivated", "wrong_password")
COUNTRIES = ("KG", "TJ")  # the seeded rows; restricted callers work on KG
PASSWORD = "correct horse battery staple"
QID = json.loads(REFERENCE.read_text(encoding="utf-8"))["id"]
MEDIA = "villages.csv"  # a media file of the draft and of version 1
VILLAGES = b"name,label\nv1,Ak-Suu\n"


def _plain(rule: str) -> str:
    """A rule with its converters left out (`<qid:qid>` is `<qid>`): a table key names the
    route, and a converter changing (a pattern added, say) does not make it a new one."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule)


def _routes() -> list[tuple[str, str]]:
    """Every (rule, method) the app serves, HEAD and OPTIONS aside unless declared."""
    app = create_app({"env": "test", "database_url": "sqlite://"})
    found = set()
    for rule in app.url_map.iter_rules():
        methods = set(rule.methods or ()) - {"OPTIONS", "HEAD"}
        if rule.endpoint == "openrosa.submission":
            methods.add("HEAD")  # declared: the pre-flight of OpenRosa clients
        found.update((_plain(rule.rule), method) for method in methods)
    app.extensions["survey"]["engine"].dispose()
    return sorted(found)


ROUTES = _routes()
CALLERS = [f"{role.value}/{scope}" for role in Role for scope in ("all", "KG")] + [
    f"bad/{kind}" for kind in BAD_CREDENTIALS
]


@dataclass
class Seed:
    """The rows every case uses, and the Authorization header of every caller."""

    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    instance_ids: dict[str, str] = field(default_factory=dict)  # by country
    user_ids: dict[str, int] = field(default_factory=dict)  # targets, by country
    token_ids: dict[str, int] = field(default_factory=dict)  # of the targets


def _household(country: str) -> dict[str, Any]:
    answers = reference_household()
    if country == "TJ":
        answers["identification"].update(country="TJ", region="TJ-DU", cluster="TJ-U-0007")
        answers["displacement_history"]["move_details"].update(
            move_from_region="TJ-DU", move_to_region="TJ-SU"
        )
    return answers


def _basic(name: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _seed(app: Flask) -> Seed:
    seed = Seed()
    with app.extensions["survey"]["sessions"]() as session:

        def user(name: str, role: Role, countries: tuple[str, ...] = ()) -> tuple[Any, str]:
            return accounts.create_user(session, name, role.value, countries, PASSWORD)

        for role in Role:
            for scope, countries in (("all", ()), ("KG", ("KG",))):
                _, secret = user(f"{role.value}-{scope.lower()}", role, countries)
                seed.headers[f"{role.value}/{scope}"] = {"Authorization": f"Bearer {secret}"}
        for country in COUNTRIES:
            target, _ = user(f"target-{country.lower()}", ENUMERATOR, (country,))
            seed.user_ids[country], seed.token_ids[country] = target.id, target.tokens[0].id
        revoked, revoked_secret = user("revoked", ADMIN)
        accounts.revoke_token(session, revoked.tokens[0].id)
        deactivated, deactivated_secret = user("deactivated", ADMIN)
        accounts.update_user(session, deactivated, active=False)
        session.commit()
    seed.headers |= {
        "bad/none": {},
        "bad/malformed": {"Authorization": "Basic %%%"},
        "bad/unknown": {"Authorization": f"Bearer {accounts.TOKEN_PREFIX}{'x' * 43}"},
        "bad/revoked": {"Authorization": f"Bearer {revoked_secret}"},
        "bad/deactivated": {"Authorization": f"Bearer {deactivated_secret}"},
        "bad/wrong_password": _basic("admin-all", "not the password at all"),
    }

    client = app.test_client()
    admin = seed.headers["admin/all"]
    definition = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert client.post("/api/v1/questionnaires", json=definition, headers=admin).status_code == 201
    _attach_media(client, seed)
    assert client.post(f"/api/v1/questionnaires/{QID}/publish", headers=admin).status_code == 201
    for country in COUNTRIES:
        payload = body(_household(country))
        submitted = client.post(
            f"/api/v1/questionnaires/{QID}/responses", json=payload, headers=admin
        )
        assert submitted.status_code == 201, submitted.get_json()
        seed.instance_ids[country] = payload["instance_id"]
        reviewed = client.post(
            f"/api/v1/responses/{payload['instance_id']}/review",
            json={"state": "approved", "comment": "seen"},
            headers=admin,
        )
        assert reviewed.status_code == 200, reviewed.get_json()
    uploaded = client.put(
        f"/api/v1/questionnaires/{QID}/weights/final",
        data=_weights_csv(*seed.instance_ids.values()),
        content_type="text/csv",
        headers=admin,
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    return seed


def _attach_media(client: FlaskClient, seed: Seed) -> None:
    """The draft's media file, as the admin puts it (again: a case may have deleted it)."""
    attached = client.put(
        f"/api/v1/questionnaires/{QID}/draft/media/{MEDIA}",
        data=VILLAGES,
        headers=seed.headers["admin/all"],
    )
    assert attached.status_code in (200, 201), attached.get_json()


def _weights_csv(*instance_ids: str) -> str:
    return "instance_id,weight\n" + "".join(f"{i},2.5\n" for i in instance_ids)


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    """The seeded rows serve every case of this module: `seeded` empties the tables once,
    after the last (this replaces the emptying after each test of tests/conftest.py)."""
    yield


@pytest.fixture(scope="module")
def seeded(app: Flask) -> Iterator[Seed]:
    empty_tables(app)
    yield _seed(app)
    empty_tables(app)


def _request(
    client: FlaskClient, seed: Seed, rule: str, method: str, country: str, caller: str
) -> TestResponse:
    """The request of one case: the path's ids and the body name rows of `country`."""
    instance_id = seed.instance_ids[country]
    path = (
        rule.replace("<qid>", QID)
        .replace("<version>", "1")
        .replace("<instance_id>", instance_id)
        .replace("<revision>", "1")
        .replace("<name>", "final")
        .replace("<user_id>", str(seed.user_ids[country]))
        .replace("<token_id>", str(seed.token_ids[country]))
        .replace("<filename>", "nothing.txt" if rule.startswith("/static/") else MEDIA)
    )
    if "/draft/media/<filename>" in rule:
        _attach_media(client, seed)
    headers = seed.headers[caller] | {"X-OpenRosa-Version": "1.0"}
    kwargs: dict[str, Any] = {"json": {}}
    if rule.endswith("/responses") and method == "POST":
        kwargs = {"json": body(_household(country))}
    elif rule.endswith("/responses/batch"):
        kwargs = {"json": {"responses": [body(_household(country))]}}
    elif rule == "/api/v1/responses/<instance_id>" and method == "PUT":
        kwargs = {"json": {"answers": _household(country), "reason": "matrix"}}
    elif rule.endswith("/review") and method == "POST":
        kwargs = {"json": {"state": "has_issues", "comment": "matrix"}}
    elif rule.endswith("/media/<filename>") and method == "PUT":
        kwargs = {"data": VILLAGES, "content_type": "text/csv"}
    elif rule.endswith("/weights/<name>") and method == "PUT":
        kwargs = {"data": _weights_csv(instance_id), "content_type": "text/csv"}
    elif rule == "/api/v1/users" and method == "POST":
        name = f"m{uuid.uuid4().hex}"
        kwargs = {"json": {"name": name, "role": "enumerator", "countries": [country]}}
    elif rule.endswith("/tokens") and method == "POST":
        kwargs = {"json": {"label": "matrix"}}
    elif method in {"GET", "HEAD", "DELETE"}:
        kwargs = {}
    return client.open(path, method=method, headers=headers, **kwargs)


def _cases() -> Iterator[Any]:
    for rule, method in ROUTES:
        rows = TABLE.get((rule, method), PUBLIC).rows
        for country in COUNTRIES if rows == "row" else COUNTRIES[:1]:
            for caller in CALLERS:
                yield pytest.param(
                    rule, method, country, caller, id=f"{method} {rule} {country} {caller}"
                )


def _allowed_item(response: TestResponse, rule: str) -> bool:
    """Whether a 2xx reply stored or showed its row (a batch answers 200 item by item)."""
    if rule.endswith("/responses/batch"):
        return all(200 <= item["status"] < 300 for item in response.get_json()["results"])
    return True


@pytest.mark.parametrize(("rule", "method", "country", "caller"), list(_cases()))
def test_authorization(
    client: FlaskClient, seeded: Seed, rule: str, method: str, country: str, caller: str
) -> None:
    expected = TABLE.get((rule, method))
    assert expected is not None, f"{method} {rule} is missing from TABLE: write its rule"
    response = _request(client, seeded, rule, method, country, caller)
    status, text = response.status_code, response.get_data().decode("utf-8", "replace")
    seen = f"{method} {rule} ({country}) as {caller}: {status} {text[:300]}"
    assert status < 500, seen
    if expected.roles is None:
        return
    kind, _, scope = caller.partition("/")
    if kind == "bad":
        assert status == 401, f"unexpected allow or refusal: {seen}"
        return
    role = Role(kind)
    if role not in expected.roles:
        assert status in (401, 403), f"unexpected allow: {seen}"
        return
    row = expected.rows == "row"
    if row and scope == "KG" and country != "KG":
        assert not (200 <= status < 300 and _allowed_item(response, rule)), (
            f"unexpected allow outside the caller's countries: {seen}"
        )
    elif not (row and role == ENUMERATOR):  # enumerators: their own rows only
        assert status not in (401, 403), f"unexpected refusal: {seen}"
    if expected.rows and scope == "KG" and 200 <= status < 300:
        assert seeded.instance_ids["TJ"] not in text, f"a TJ row in the reply: {seen}"
    if caller == "admin/all" and not rule.startswith("/static/"):
        assert status != 404, f"the seeded rows do not reach the endpoint: {seen}"


def test_every_rule_of_the_table_is_served() -> None:
    """A route removed from the app is removed from the table too."""
    assert set(TABLE) <= set(ROUTES), set(TABLE) - set(ROUTES)
