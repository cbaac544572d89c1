"""Admins manage accounts; every user manages their own tokens; secrets are shown once."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.helpers import assert_problem


def test_admin_creates_a_user_whose_token_works(client: FlaskClient, admin: dict) -> None:
    response = client.post(
        "/api/v1/users",
        json={"name": "aigul", "role": "enumerator", "countries": ["kg", "TJ"]},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["countries"] == ["KG", "TJ"]
    assert body["role"] == "enumerator"
    assert body["token"].startswith("sst_")
    assert response.headers["Location"] == f"/api/v1/users/{body['id']}"
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["name"] == "aigul"
    assert "token" not in me.get_json()["tokens"][0]
    listing = client.get("/api/v1/users", headers=admin).get_json()
    assert "aigul" in [u["name"] for u in listing]


def test_user_validation(client: FlaskClient, admin: dict) -> None:
    missing = client.post("/api/v1/users", json={"name": "x"}, headers=admin)
    body = assert_problem(missing, 422, "request.invalid")
    assert {e["path"] for e in body["errors"]} == {"role"}
    bad_role = client.post("/api/v1/users", json={"name": "x", "role": "king"}, headers=admin)
    assert assert_problem(bad_role, 422, "request.invalid")["errors"][0]["path"] == "role"
    bad_country = client.post(
        "/api/v1/users",
        json={"name": "x", "role": "enumerator", "countries": ["XX"]},
        headers=admin,
    )
    body = assert_problem(bad_country, 422, "user.invalid")
    assert body["errors"][0]["path"] == "countries[0]"
    client.post("/api/v1/users", json={"name": "dup", "role": "researcher"}, headers=admin)
    again = client.post("/api/v1/users", json={"name": "dup", "role": "researcher"}, headers=admin)
    assert_problem(again, 409, "user.exists")


def test_only_admins_manage_users(client: FlaskClient, make_user: Any) -> None:
    researcher = make_user("researcher")
    assert_problem(client.get("/api/v1/users", headers=researcher), 403, "auth.forbidden")
    created = client.post("/api/v1/users", json={"name": "x", "role": "admin"}, headers=researcher)
    assert_problem(created, 403, "auth.forbidden")


def test_tokens_issue_list_revoke(client: FlaskClient, make_user: Any) -> None:
    user = make_user("enumerator")
    uid = user["id"]
    headers = {"Authorization": user["Authorization"]}
    issued = client.post(f"/api/v1/users/{uid}/tokens", json={"label": "tablet 7"}, headers=headers)
    assert issued.status_code == 201
    new = issued.get_json()
    assert new["label"] == "tablet 7" and new["token"].startswith(new["prefix"])
    tokens = client.get(f"/api/v1/users/{uid}/tokens", headers=headers).get_json()
    assert len(tokens) == 2 and all("token" not in t for t in tokens)
    revoke = client.delete(f"/api/v1/users/{uid}/tokens/{new['id']}", headers=headers)
    assert revoke.status_code == 204
    dead = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {new['token']}"})
    assert_problem(dead, 401, "auth.invalid_token")
    # the first token still works
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200


def test_users_cannot_touch_others_tokens(client: FlaskClient, make_user: Any) -> None:
    alice, bob = make_user("enumerator"), make_user("enumerator")
    response = client.get(
        f"/api/v1/users/{bob['id']}/tokens", headers={"Authorization": alice["Authorization"]}
    )
    assert_problem(response, 403, "auth.forbidden")
    missing = client.delete(
        f"/api/v1/users/{alice['id']}/tokens/999999",
        headers={"Authorization": alice["Authorization"]},
    )
    assert_problem(missing, 404, "token.not_found")


def test_deactivated_user_is_locked_out(client: FlaskClient, admin: dict, make_user: Any) -> None:
    user = make_user("enumerator")
    patched = client.patch(f"/api/v1/users/{user['id']}", json={"active": False}, headers=admin)
    assert patched.status_code == 200 and patched.get_json()["active"] is False
    response = client.get("/api/v1/users/me", headers={"Authorization": user["Authorization"]})
    assert_problem(response, 401, "auth.invalid_token")


def test_admin_changes_role_and_countries(client: FlaskClient, admin: dict, make_user: Any) -> None:
    user = make_user("enumerator")
    patched = client.patch(
        f"/api/v1/users/{user['id']}",
        json={"role": "supervisor", "countries": ["UZ"]},
        headers=admin,
    )
    assert patched.get_json()["role"] == "supervisor"
    assert patched.get_json()["countries"] == ["UZ"]
    assert_problem(client.get("/api/v1/users/99999", headers=admin), 404, "user.not_found")


def test_basic_auth_with_password_or_token(client: FlaskClient, make_user: Any) -> None:
    user = make_user("enumerator", password="correct horse battery")
    secret = user["Authorization"].removeprefix("Bearer ")

    def basic(name: str, password: str) -> dict[str, str]:
        raw = base64.b64encode(f"{name}:{password}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    assert (
        client.get(
            "/api/v1/users/me", headers=basic(user["name"], "correct horse battery")
        ).status_code
        == 200
    )
    assert client.get("/api/v1/users/me", headers=basic(user["name"], secret)).status_code == 200
    wrong = client.get("/api/v1/users/me", headers=basic(user["name"], "wrong password!"))
    assert_problem(wrong, 401, "auth.invalid_credentials")
    garbled = client.get("/api/v1/users/me", headers={"Authorization": "Basic %%%"})
    assert_problem(garbled, 401, "auth.malformed")


def test_tokens_are_stored_only_as_hashes(app: Any, make_user: Any) -> None:
    from sqlalchemy import select

    from survey_service.models import ApiToken, User

    user = make_user("researcher", password="a long enough password")
    secret = user["Authorization"].removeprefix("Bearer ")
    with app.extensions["survey"]["sessions"]() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
        assert secret not in stored and all(len(h) == 64 for h in stored)
        password_hash = session.scalar(select(User.password_hash).where(User.name == user["name"]))
        assert password_hash.startswith("$argon2id$")


def test_deeply_nested_bodies_are_refused_not_failed(client: FlaskClient, admin: dict) -> None:
    """Bodies read through marshmallow schemas: nesting deeper than Python's stack allows is
    a 400 or a 422 like any other bad body, never a 500."""

    def post(levels: int) -> Any:
        countries = "[" * levels + '"KG"' + "]" * levels
        text = '{"name": "deep", "role": "enumerator", "countries": [' + countries + "]}"
        return client.post(
            "/api/v1/users", data=text, content_type="application/json", headers=admin
        )

    body = assert_problem(post(1000), 422, "request.invalid")
    assert body["errors"][0]["path"] == "countries[0]"
    assert_problem(post(1100), 400, "request.invalid_json")  # beyond what JSON is read to


class TestCountryRestrictedAdmin:
    """An admin restricted to some countries never grants more than it has: each user it
    creates or edits, itself included, ends restricted to a non-empty subset of its
    countries, and users beyond its countries are not its to change."""

    @staticmethod
    def kyrgyz_admin(make_user: Any) -> dict[str, str]:
        return make_user("admin", ("KG",))

    def test_cannot_widen_its_own_countries(self, client: FlaskClient, make_user: Any) -> None:
        me = self.kyrgyz_admin(make_user)
        headers = {"Authorization": me["Authorization"]}
        for countries in ([], ["KG", "TJ"], ["TJ"]):
            response = client.patch(
                f"/api/v1/users/{me['id']}", json={"countries": countries}, headers=headers
            )
            body = assert_problem(response, 403, "user.beyond_scope")
            assert body["errors"][0]["path"] == "countries"
        assert client.get("/api/v1/users/me", headers=headers).get_json()["countries"] == ["KG"]

    def test_cannot_create_users_beyond_its_countries(
        self, client: FlaskClient, make_user: Any
    ) -> None:
        headers = {"Authorization": self.kyrgyz_admin(make_user)["Authorization"]}
        for countries in ([], ["KG", "TJ"], ["UZ"]):
            response = client.post(
                "/api/v1/users",
                json={"name": "boss", "role": "admin", "countries": countries},
                headers=headers,
            )
            body = assert_problem(response, 403, "user.beyond_scope")
            assert body["errors"][0]["path"] == "countries"
        names = [u["name"] for u in client.get("/api/v1/users", headers=headers).get_json()]
        assert "boss" not in names

    def test_manages_users_within_its_countries(self, client: FlaskClient, make_user: Any) -> None:
        me = self.kyrgyz_admin(make_user)
        headers = {"Authorization": me["Authorization"]}
        created = client.post(
            "/api/v1/users",
            json={"name": "aigul", "role": "enumerator", "countries": ["kg"]},
            headers=headers,
        )
        assert created.status_code == 201, created.get_json()
        uid = created.get_json()["id"]
        patched = client.patch(
            f"/api/v1/users/{uid}", json={"role": "supervisor", "active": False}, headers=headers
        )
        assert patched.status_code == 200, patched.get_json()
        issued = client.post(f"/api/v1/users/{uid}/tokens", json={}, headers=headers)
        assert issued.status_code == 201
        revoked = client.delete(
            f"/api/v1/users/{uid}/tokens/{issued.get_json()['id']}", headers=headers
        )
        assert revoked.status_code == 204
        # narrowing itself within its countries is fine
        assert (
            client.patch(
                f"/api/v1/users/{me['id']}",
                json={"countries": ["KG"], "role": "admin"},
                headers=headers,
            ).status_code
            == 200
        )

    @pytest.mark.parametrize("their_countries", [(), ("TJ",), ("KG", "TJ")])
    def test_cannot_touch_users_beyond_its_countries(
        self, client: FlaskClient, make_user: Any, their_countries: tuple[str, ...]
    ) -> None:
        headers = {"Authorization": self.kyrgyz_admin(make_user)["Authorization"]}
        other = make_user("enumerator", their_countries)
        uid = other["id"]
        attempts = [
            client.patch(f"/api/v1/users/{uid}", json={"countries": ["KG"]}, headers=headers),
            client.patch(f"/api/v1/users/{uid}", json={"active": False}, headers=headers),
            client.patch(f"/api/v1/users/{uid}", json={"role": "admin"}, headers=headers),
            client.get(f"/api/v1/users/{uid}/tokens", headers=headers),
            client.post(f"/api/v1/users/{uid}/tokens", json={}, headers=headers),
            client.delete(f"/api/v1/users/{uid}/tokens/1", headers=headers),
        ]
        for response in attempts:
            assert_problem(response, 403, "user.out_of_scope")
        # their token still works, unchanged
        them = client.get("/api/v1/users/me", headers={"Authorization": other["Authorization"]})
        assert them.status_code == 200
        assert them.get_json()["countries"] == sorted(their_countries)
        assert them.get_json()["active"] is True

    def test_an_unrestricted_admin_may_do_everything(
        self, client: FlaskClient, admin: dict, make_user: Any
    ) -> None:
        kyrgyz = self.kyrgyz_admin(make_user)
        widened = client.patch(
            f"/api/v1/users/{kyrgyz['id']}", json={"countries": []}, headers=admin
        )
        assert widened.status_code == 200 and widened.get_json()["countries"] == []
        created = client.post(
            "/api/v1/users", json={"name": "root2", "role": "admin"}, headers=admin
        )
        assert created.status_code == 201


class TestLookAlikeNames:
    """User names are stored in NFKC form; a name mixing scripts, or one that looks like an
    existing user's (the same UTS #39 skeleton, case aside), is refused."""

    @staticmethod
    def create(client: FlaskClient, admin: dict, name: str) -> Any:
        return client.post(
            "/api/v1/users", json={"name": name, "role": "enumerator"}, headers=admin
        )

    def test_a_name_mixing_scripts_is_refused(self, client: FlaskClient, admin: dict) -> None:
        for name in ("\u0430dmin1", "admin\u0391", "Ай\u0067уль"):  # Cyrillic а, Greek Α, Latin g
            body = assert_problem(self.create(client, admin, name), 422, "user.invalid")
            assert body["errors"] == [
                {
                    "path": "name",
                    "code": "user.mixed_script_name",
                    "message": body["errors"][0]["message"],
                }
            ]

    def test_fullwidth_names_are_stored_normalised_and_sign_in_either_way(
        self, client: FlaskClient, admin: dict
    ) -> None:
        created = client.post(
            "/api/v1/users",
            json={"name": "ｅｎｕｍ２", "role": "enumerator", "password": "correct horse battery"},
            headers=admin,
        )
        assert created.status_code == 201, created.get_json()
        assert created.get_json()["name"] == "enum2"
        again = self.create(client, admin, "enum2")
        assert_problem(again, 409, "user.exists")
        for typed in ("enum2", "ｅｎｕｍ２"):
            raw = base64.b64encode(f"{typed}:correct horse battery".encode()).decode()
            me = client.get("/api/v1/users/me", headers={"Authorization": f"Basic {raw}"})
            assert me.status_code == 200 and me.get_json()["name"] == "enum2"

    @pytest.mark.parametrize(
        ("existing", "look_alike"),
        [
            ("cap", "\u0441\u0430\u0440"),  # all Cyrillic: с а р
            ("aigul", "Aigul"),
            ("nurlan1", "nurlanl"),
            ("mary", "rnary"),
        ],
    )
    def test_a_name_that_looks_like_an_existing_one_is_refused(
        self, client: FlaskClient, admin: dict, existing: str, look_alike: str
    ) -> None:
        assert self.create(client, admin, existing).status_code == 201
        response = self.create(client, admin, look_alike)
        body = assert_problem(response, 422, "user.confusable_name")
        assert [(e["path"], e["code"]) for e in body["errors"]] == [
            ("name", "user.confusable_name")
        ]
        assert existing in body["detail"]

    def test_single_script_names_of_any_script_are_fine(
        self, client: FlaskClient, admin: dict
    ) -> None:
        for name in ("Айгуль", "aigul.t", "nurlan_2024", "Ωμέγα", "café@kg"):
            response = self.create(client, admin, name)
            assert response.status_code == 201, response.get_json()
            assert response.get_json()["name"] == name

    def test_a_look_alike_name_stored_before_the_rule_can_still_be_managed(
        self, app: Any, client: FlaskClient, admin: dict
    ) -> None:
        from survey_service.models import User

        with app.extensions["survey"]["sessions"]() as session:
            legacy = User(name="\u0430dmin1", role="admin", countries=[], active=True)
            session.add(legacy)
            session.commit()
            uid = legacy.id
        response = client.patch(f"/api/v1/users/{uid}", json={"active": False}, headers=admin)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["active"] is False
