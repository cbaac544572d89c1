"""ODK Collect and Enketo fetch forms and submit households over OpenRosa 1.0."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import random
import uuid
import xml.etree.ElementTree as ET  # noqa: S405 - parses only XML this service generated
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from survey_service import synthetic
from survey_service.models import Attachment, Response

QID = "climate-migration-household"
OR = {"X-OpenRosa-Version": "1.0"}
XF = "{http://www.w3.org/2002/xforms}"
JR_TEMPLATE = "{http://openrosa.org/javarosa}template"


def basic(user: dict[str, str]) -> dict[str, str]:
    token = user["Authorization"].removeprefix("Bearer ")
    raw = base64.b64encode(f"{user['name']}:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}", **OR}


@pytest.fixture
def published(client: FlaskClient, admin: dict[str, str], reference_definition: dict) -> None:
    client.post("/api/v1/questionnaires", json=reference_definition, headers=admin)
    assert client.post(f"/api/v1/questionnaires/{QID}/publish", headers=admin).status_code == 201


@pytest.fixture
def collect(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    """Basic credentials as an enumerator types them into Collect (user name and token)."""
    return basic(make_user("enumerator"))


@pytest.fixture
def attachments_dir(app: Flask) -> Path:
    path: Path = app.extensions["survey"]["settings"].resolved_attachments_dir()
    return path


def text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(value)
    if isinstance(value, dict):
        return " ".join(str(value.get(k, 0)) for k in ("lat", "lon", "alt", "accuracy"))
    return str(value)


def fill(element: ET.Element, answers: dict[str, Any]) -> None:
    """Fill an XForm instance template with answers, cloning repeat templates per instance."""
    children = list(element)
    for child in children:
        name = child.tag.split("}")[-1]
        if child.get(JR_TEMPLATE) is not None:
            element.remove(child)
            for item in answers.get(name, []):
                copy_ = copy.deepcopy(child)
                del copy_.attrib[JR_TEMPLATE]
                fill(copy_, item)
                element.append(copy_)
            continue
        value = answers.get(name)
        if isinstance(value, list) and len(child):  # a repeat: clones replace the blank one
            element.remove(child)
            continue
        if len(child) and name != "meta":
            fill(child, value if isinstance(value, dict) else {})
        elif value is not None and name != "meta":
            child.text = text(value)


def instance_from_xform(
    xform: bytes,
    answers: dict[str, Any],
    instance_id: str,
    deprecated: str | None = None,
    audit: str | None = None,
) -> bytes:
    """The instance Collect would send, built from the service's own XForm template
    (`audit`: the file name of an audit log, which Collect names in meta/audit)."""
    root = ET.fromstring(xform)  # noqa: S314 - our own XForm
    template = next(iter(root.find(f".//{XF}model").find(f"{XF}instance")))  # type: ignore[union-attr]
    instance = copy.deepcopy(template)
    fill(instance, answers)
    meta = instance.find(f"{XF}meta")
    assert meta is not None
    meta.find(f"{XF}instanceID").text = f"uuid:{instance_id}"  # type: ignore[union-attr]
    if deprecated:
        ET.SubElement(meta, f"{XF}deprecatedID").text = f"uuid:{deprecated}"
    if audit:
        ET.SubElement(meta, f"{XF}audit").text = audit
    return ET.tostring(instance, encoding="utf-8")


def post_submission(
    client: FlaskClient,
    headers: dict[str, str],
    xml: bytes,
    files: dict[str, tuple[bytes, str]] | None = None,
    **form: str,
) -> Any:
    data: dict[str, Any] = {"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")}
    for name, (content, media_type) in (files or {}).items():
        data[name] = (io.BytesIO(content), name, media_type)
    data.update(form)
    return client.post(
        "/openrosa/submission", data=data, headers=headers, content_type="multipart/form-data"
    )


def message(response: Any) -> str:
    root = ET.fromstring(response.data)  # noqa: S314 - our own reply
    return "".join(root.itertext()).strip()


def household(seed: int = 1) -> dict[str, Any]:
    return synthetic.household(random.Random(seed))


@pytest.fixture
def xform(client: FlaskClient, published: None, collect: dict[str, str]) -> bytes:
    response = client.get(f"/openrosa/forms/{QID}/1/form.xml", headers=collect)
    assert response.status_code == 200
    return response.data


def stored(app: Flask, model: Any = Response) -> int:
    with app.extensions["survey"]["sessions"]() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.usefixtures("published")
class TestForms:
    def test_form_list_download_and_manifest(self, client: FlaskClient, collect: dict) -> None:
        listing = client.get("/openrosa/formList", headers=collect)
        assert listing.status_code == 200
        assert listing.headers["X-OpenRosa-Version"] == "1.0"
        ns = "{http://openrosa.org/xforms/xformsList}"
        form = ET.fromstring(listing.data).find(f"{ns}xform")  # noqa: S314
        assert form is not None
        assert form.findtext(f"{ns}formID") == QID
        assert form.findtext(f"{ns}version") == "1"
        download = form.findtext(f"{ns}downloadUrl")
        assert download is not None and download.endswith(f"/openrosa/forms/{QID}/1/form.xml")
        xform = client.get(download.replace("http://localhost", ""), headers=collect)
        assert xform.status_code == 200
        digest = hashlib.md5(xform.data).hexdigest()  # noqa: S324 - OpenRosa's form hash
        assert form.findtext(f"{ns}hash") == f"md5:{digest}"
        root = ET.fromstring(xform.data)  # noqa: S314
        assert root.find(f".//{XF}instance/{XF}{QID}") is not None
        manifest = client.get(
            form.findtext(f"{ns}manifestUrl").replace("http://localhost", ""), headers=collect
        )
        assert manifest.status_code == 200
        assert b"http://openrosa.org/xforms/xformsManifest" in manifest.data

    def test_closed_questionnaires_are_not_listed(
        self, client: FlaskClient, collect: dict, admin: dict
    ) -> None:
        client.post(f"/api/v1/questionnaires/{QID}/close", headers=admin)
        listing = client.get("/openrosa/formList", headers=collect)
        assert QID.encode() not in listing.data

    def test_protocol_and_authentication(
        self, client: FlaskClient, make_user: Callable[..., dict[str, str]]
    ) -> None:
        enumerator = make_user("enumerator")
        no_header = client.get(
            "/openrosa/formList", headers=basic(enumerator) | {"X-OpenRosa-Version": ""}
        )
        assert no_header.status_code == 400 and "X-OpenRosa-Version" in message(no_header)
        anonymous = client.get("/openrosa/formList", headers=OR)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
        assert anonymous.headers["X-OpenRosa-Version"] == "1.0"
        wrong = dict(
            basic(enumerator),
            Authorization="Basic "
            + base64.b64encode(f"{enumerator['name']}:nope".encode()).decode(),
        )
        assert client.get("/openrosa/formList", headers=wrong).status_code == 401
        statistician = client.get("/openrosa/formList", headers=basic(make_user("statistician")))
        assert statistician.status_code == 403
        missing = client.get(f"/openrosa/forms/{QID}/9/form.xml", headers=basic(enumerator))
        assert missing.status_code == 404

    def test_401_says_how_to_sign_in_with_basic(
        self, client: FlaskClient, make_user: Callable[..., dict[str, str]]
    ) -> None:
        enumerator = make_user("enumerator")
        wrong = "Basic " + base64.b64encode(f"{enumerator['name']}:nope".encode()).decode()
        replies = {
            "anonymous": client.get("/openrosa/formList", headers=OR),
            "preflight": client.head("/openrosa/submission", headers=OR),
            "wrong password": client.get(
                "/openrosa/formList", headers=OR | {"Authorization": wrong}
            ),
            "bearer": client.get(
                "/openrosa/formList", headers=OR | {"Authorization": "Bearer sst_unknown"}
            ),
        }
        for case, reply in replies.items():
            assert reply.status_code == 401, case
            # one challenge, Basic (Collect sends Basic once challenged); Digest is not offered
            assert reply.headers.getlist("WWW-Authenticate") == [
                'Basic realm="survey-service", charset="UTF-8"'
            ], case
            assert reply.headers["X-OpenRosa-Version"] == "1.0"
        for case in ("anonymous", "wrong password", "bearer"):
            said = message(replies[case])
            assert "server settings" in said and "user name" in said, said
            assert "API token" in said and "password" in said, said
            assert "Bearer" not in said and "/api/" not in said, said
        assert message(replies["wrong password"]).startswith("Wrong user name or password.")

    def test_head_before_submission(self, client: FlaskClient, collect: dict) -> None:
        response = client.head("/openrosa/submission", headers=collect)
        assert response.status_code == 204
        assert int(response.headers["X-OpenRosa-Accept-Content-Length"]) > 0
        assert response.headers["X-OpenRosa-Version"] == "1.0"


class TestSubmission:
    def test_household_from_the_generated_xform_is_stored(
        self, app: Flask, client: FlaskClient, collect: dict, admin: dict, xform: bytes
    ) -> None:
        answers, key = household(), str(uuid.uuid4())
        response = post_submission(client, collect, instance_from_xform(xform, answers, key))
        assert response.status_code == 201, message(response)
        assert b"http://openrosa.org/http/response" in response.data
        record = client.get(f"/api/v1/responses/{key}", headers=admin).get_json()
        assert record["tags"]["country"] == answers["identification"]["country"]
        assert record["answers"]["household"]["members"] == answers["household"]["members"]
        assert record["version"] == 1

    def test_resend_is_not_stored_twice_and_changed_content_conflicts(
        self, app: Flask, client: FlaskClient, collect: dict, xform: bytes
    ) -> None:
        key = str(uuid.uuid4())
        xml = instance_from_xform(xform, household(), key)
        assert post_submission(client, collect, xml).status_code == 201
        assert post_submission(client, collect, xml).status_code == 201
        assert stored(app) == 1
        other = instance_from_xform(xform, household(seed=2), key)
        conflict = post_submission(client, collect, other)
        assert conflict.status_code == 409
        assert stored(app) == 1

    def test_invalid_household_is_refused_in_the_form_language(
        self, app: Flask, client: FlaskClient, collect: dict, xform: bytes
    ) -> None:
        answers = household()
        answers["household"]["members"][0]["member_age"] = 150
        xml = instance_from_xform(xform, answers, str(uuid.uuid4()))
        refused = post_submission(client, collect, xml)
        assert refused.status_code == 400
        assert message(refused) == (
            "Household member 1: How old is …, in completed years? (member_age) — "
            "Age must be between 0 and 120 years. Nothing was stored."
        )
        russian = post_submission(client, collect | {"Accept-Language": "ru"}, xml)
        assert any("а" <= c <= "я" for c in message(russian)), message(russian)
        assert stored(app) == 0
        answers["household"]["members"][0]["member_age"] = "old"
        typed = post_submission(
            client, collect, instance_from_xform(xform, answers, "x" * 0 + str(uuid.uuid4()))
        )
        assert typed.status_code == 400 and "member_age" in message(typed)

    def test_edit_with_deprecated_id_becomes_a_revision(
        self, client: FlaskClient, collect: dict, admin: dict, xform: bytes
    ) -> None:
        first, answers = str(uuid.uuid4()), household()
        post_submission(client, collect, instance_from_xform(xform, answers, first))
        answers["identification"]["household_number"] += 1
        edit = instance_from_xform(xform, answers, str(uuid.uuid4()), deprecated=first)
        assert post_submission(client, collect, edit).status_code == 201
        record = client.get(f"/api/v1/responses/{first}", headers=admin).get_json()
        assert record["revision"] == 2
        assert (
            record["answers"]["identification"]["household_number"]
            == answers["identification"]["household_number"]
        )
        history = client.get(f"/api/v1/responses/{first}/revisions", headers=admin).get_json()
        assert history[1]["reason"].startswith("edited on a device")

    def test_an_edit_of_an_edit_becomes_the_next_revision_of_the_same_household(
        self, app: Flask, client: FlaskClient, collect: dict, admin: dict, xform: bytes
    ) -> None:
        original, first_edit, second_edit = (str(uuid.uuid4()) for _ in range(3))
        answers = household()
        assert post_submission(client, collect, instance_from_xform(xform, answers, original))
        answers["identification"]["household_number"] += 1
        edit = instance_from_xform(xform, answers, first_edit, deprecated=original)
        assert post_submission(client, collect, edit).status_code == 201
        answers["identification"]["household_number"] += 1
        again = instance_from_xform(xform, answers, second_edit, deprecated=first_edit)
        reply = post_submission(client, collect, again)
        assert reply.status_code == 201, message(reply)
        assert message(reply) == "Edit received."
        assert stored(app) == 1
        for key in (original, first_edit, second_edit):  # every instanceID finds the household
            record = client.get(f"/api/v1/responses/uuid:{key}", headers=admin).get_json()
            assert record["instance_id"] == original and record["revision"] == 3
        assert (
            record["answers"]["identification"]["household_number"]
            == answers["identification"]["household_number"]
        )
        history = client.get(f"/api/v1/responses/{second_edit}/revisions", headers=admin)
        assert [r["revision"] for r in history.get_json()] == [1, 2, 3]

    def test_resending_an_edit_stores_nothing_new_and_never_reverts_a_later_one(
        self, app: Flask, client: FlaskClient, collect: dict, admin: dict, xform: bytes
    ) -> None:
        original, first_edit, second_edit = (str(uuid.uuid4()) for _ in range(3))
        answers = household()
        post_submission(client, collect, instance_from_xform(xform, answers, original))
        answers["identification"]["household_number"] += 1
        edit = instance_from_xform(xform, answers, first_edit, deprecated=original)
        assert post_submission(client, collect, edit).status_code == 201
        resent = post_submission(client, collect, edit)
        assert resent.status_code == 201 and message(resent) == "Already received."
        answers["identification"]["household_number"] += 1
        latest = instance_from_xform(xform, answers, second_edit, deprecated=first_edit)
        assert post_submission(client, collect, latest).status_code == 201
        late = post_submission(client, collect, edit)  # the first edit's reply was lost
        assert late.status_code == 201 and message(late) == "Already received."
        record = client.get(f"/api/v1/responses/{original}", headers=admin).get_json()
        assert record["revision"] == 3
        assert (
            record["answers"]["identification"]["household_number"]
            == answers["identification"]["household_number"]
        )
        answers["identification"]["household_number"] += 1
        changed = instance_from_xform(xform, answers, first_edit, deprecated=original)
        conflict = post_submission(client, collect, changed)
        assert conflict.status_code == 409
        assert "/api/" not in message(conflict) and "nothing was stored" in message(conflict)
        assert stored(app) == 1

    def test_an_edit_saved_without_changes_still_carries_the_chain(
        self, client: FlaskClient, collect: dict, admin: dict, xform: bytes
    ) -> None:
        original, unchanged, changed = (str(uuid.uuid4()) for _ in range(3))
        answers = household()
        post_submission(client, collect, instance_from_xform(xform, answers, original))
        same = instance_from_xform(xform, answers, unchanged, deprecated=original)
        assert post_submission(client, collect, same).status_code == 201
        answers["identification"]["household_number"] += 1
        later = instance_from_xform(xform, answers, changed, deprecated=unchanged)
        assert post_submission(client, collect, later).status_code == 201
        record = client.get(f"/api/v1/responses/{changed}", headers=admin).get_json()
        assert record["instance_id"] == original and record["revision"] == 3

    def test_an_edit_of_an_unknown_instance_is_refused_in_words(
        self, app: Flask, client: FlaskClient, collect: dict, xform: bytes
    ) -> None:
        unknown = str(uuid.uuid4())
        edit = instance_from_xform(xform, household(), str(uuid.uuid4()), deprecated=unknown)
        refused = post_submission(client, collect, edit)
        assert refused.status_code == 404
        text_ = message(refused)
        assert f"uuid:{unknown}" in text_ and "nothing was stored" in text_, text_
        assert "/api/" not in text_
        assert stored(app) == 0

    def test_an_edit_of_a_copy_edited_since_is_refused(
        self, client: FlaskClient, collect: dict, admin: dict, xform: bytes
    ) -> None:
        original, first_edit = str(uuid.uuid4()), str(uuid.uuid4())
        answers = household()
        post_submission(client, collect, instance_from_xform(xform, answers, original))
        answers["identification"]["household_number"] += 1
        edit = instance_from_xform(xform, answers, first_edit, deprecated=original)
        assert post_submission(client, collect, edit).status_code == 201
        answers["identification"]["household_number"] += 5  # another phone, the old copy
        stale = instance_from_xform(xform, answers, str(uuid.uuid4()), deprecated=original)
        refused = post_submission(client, collect, stale)
        assert refused.status_code == 409
        assert "edited since" in message(refused) and "/api/" not in message(refused)
        record = client.get(f"/api/v1/responses/{original}", headers=admin).get_json()
        assert record["revision"] == 2

    def test_bad_xml_and_unknown_versions(
        self, app: Flask, client: FlaskClient, collect: dict, xform: bytes
    ) -> None:
        malformed = post_submission(client, collect, b"<data><unclosed></data>")
        assert malformed.status_code == 400
        laughs = (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><data id="x">&b;</data>'
        )
        bomb = post_submission(client, collect, laughs)
        assert bomb.status_code == 400
        missing = client.post(
            "/openrosa/submission", data={}, headers=collect, content_type="multipart/form-data"
        )
        assert missing.status_code == 400 and "xml_submission_file" in message(missing)
        future = instance_from_xform(xform, household(), str(uuid.uuid4())).replace(
            b'version="1"', b'version="7"', 1
        )
        unknown = post_submission(client, collect, future)
        assert unknown.status_code == 400 and "version 7" in message(unknown)
        assert stored(app) == 0


@pytest.mark.usefixtures("published")
def test_no_reply_a_phone_shows_speaks_of_the_api_or_its_codes(
    client: FlaskClient,
    collect: dict[str, str],
    make_user: Callable[..., dict[str, str]],
    xform: bytes,
) -> None:
    """Every kind of OpenRosa refusal, read as the enumerator reads it on the phone."""
    original, edit = str(uuid.uuid4()), str(uuid.uuid4())
    answers = household()
    post_submission(client, collect, instance_from_xform(xform, answers, original))
    invalid = household(seed=3)
    invalid["household"]["members"][0]["member_age"] = 150
    invalid["household"]["members"][1]["member_age"] = "old"
    edited = copy.deepcopy(answers)
    edited["identification"]["household_number"] += 1
    post_submission(client, collect, instance_from_xform(xform, edited, edit, deprecated=original))
    edited["identification"]["household_number"] += 1
    sent = {
        "invalid": instance_from_xform(xform, invalid, str(uuid.uuid4())),
        "conflict": instance_from_xform(xform, household(seed=2), original),
        "edit conflict": instance_from_xform(xform, edited, edit, deprecated=original),
        "stale edit": instance_from_xform(xform, edited, str(uuid.uuid4()), deprecated=original),
        "unknown edit": instance_from_xform(
            xform, answers, str(uuid.uuid4()), deprecated=str(uuid.uuid4())
        ),
        "malformed": b"<data><unclosed></data>",
        "unknown version": instance_from_xform(xform, answers, str(uuid.uuid4())).replace(
            b'version="1"', b'version="7"', 1
        ),
    }
    replies = {case: post_submission(client, collect, xml) for case, xml in sent.items()}
    replies["unnamed file"] = post_submission(
        client, collect, sent["invalid"], {"x.jpg": (b"x", "image/jpeg")}
    )
    replies["no part"] = client.post(
        "/openrosa/submission", data={}, headers=collect, content_type="multipart/form-data"
    )
    replies["anonymous"] = client.get("/openrosa/formList", headers=OR)
    replies["statistician"] = client.get(
        "/openrosa/formList", headers=basic(make_user("statistician"))
    )
    replies["no form"] = client.get(f"/openrosa/forms/{QID}/9/form.xml", headers=collect)
    replies["no protocol"] = client.get(
        "/openrosa/formList", headers={**collect, **OR} | {"X-OpenRosa-Version": "0.9"}
    )
    for case, reply in replies.items():
        assert reply.status_code >= 400, case
        said = message(reply)
        assert said, case
        for jargon in ("/api/", "Bearer", "response.", "openrosa.", "auth.", "[0]", "[1]"):
            assert jargon not in said, (case, said)
    assert "Household member 2: How old is" in message(replies["invalid"])


def with_photo(answers: dict[str, Any], filename: str) -> dict[str, Any]:
    """The answers naming a photo: the reference questionnaire has no photo question, so a
    text answer names the file, as the answer of a photo question does in Collect."""
    answers["household"]["members"][0]["member_name"] = filename
    return answers


def on_disk(attachments_dir: Path, data: bytes) -> bool:
    """Whether a file of this content is stored (the folder is shared by every test)."""
    digest = hashlib.sha256(data).hexdigest()
    return (attachments_dir / digest[:2] / digest[2:4] / digest).exists()


def unique_bytes(prefix: bytes = b"\xff\xd8") -> bytes:
    return prefix + uuid.uuid4().bytes


@pytest.mark.usefixtures("published")
class TestAttachments:
    def test_attachments_are_stored_by_hash_and_split_submissions_assembled(
        self, app: Flask, client: FlaskClient, collect: dict, xform: bytes, attachments_dir: Path
    ) -> None:
        key = str(uuid.uuid4())
        xml = instance_from_xform(
            xform, with_photo(household(), "house.jpg"), key, audit="audit.csv"
        )
        photo, audit = b"\xff\xd8photo-bytes", b"event,node,start\nform start,,1\n"
        first = post_submission(
            client, collect, xml, {"house.jpg": (photo, "image/jpeg")}, **{"*isIncomplete*": "yes"}
        )
        assert first.status_code == 201, message(first)
        second = post_submission(client, collect, xml, {"audit.csv": (audit, "text/csv")})
        assert second.status_code == 201, message(second)
        again = post_submission(client, collect, xml, {"house.jpg": (photo, "image/jpeg")})
        assert again.status_code == 201, message(again)
        assert stored(app) == 1
        with app.extensions["survey"]["sessions"]() as session:
            files = {a.filename: a for a in session.scalars(select(Attachment))}
        assert set(files) == {"house.jpg", "audit.csv"}
        digest = hashlib.sha256(photo).hexdigest()
        assert files["house.jpg"].content_hash == digest and files["house.jpg"].size == len(photo)
        path = attachments_dir / digest[:2] / digest[2:4] / digest
        assert path.read_bytes() == photo

    def test_a_file_no_answer_names_is_refused_and_nothing_stored(
        self, app: Flask, client: FlaskClient, collect: dict, xform: bytes, attachments_dir: Path
    ) -> None:
        xml = instance_from_xform(
            xform, with_photo(household(), "house.jpg"), str(uuid.uuid4()), audit="audit.csv"
        )
        photo, extra = unique_bytes(), unique_bytes()
        refused = post_submission(
            client,
            collect,
            xml,
            {"house.jpg": (photo, "image/jpeg"), "extra.jpg": (extra, "image/jpeg")},
        )
        assert refused.status_code == 400
        assert refused.headers["X-OpenRosa-Version"] == "1.0"
        assert b"http://openrosa.org/http/response" in refused.data
        assert message(refused) == (
            "The file 'extra.jpg' is named by no answer of the form data: nothing was stored."
        )
        assert stored(app) == 0 and stored(app, Attachment) == 0
        assert not on_disk(attachments_dir, photo) and not on_disk(attachments_dir, extra)

    def test_several_unnamed_files_are_listed_up_to_three(
        self, app: Flask, client: FlaskClient, collect: dict, xform: bytes, attachments_dir: Path
    ) -> None:
        xml = instance_from_xform(xform, household(), str(uuid.uuid4()))
        files = {
            n: (unique_bytes(), "image/jpeg") for n in ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]
        }
        refused = post_submission(client, collect, xml, files)
        assert refused.status_code == 400
        assert message(refused) == (
            "The files 'a.jpg', 'b.jpg', 'c.jpg' (and 2 more) are named by no answer of the "
            "form data: nothing was stored."
        )
        assert stored(app) == 0
        assert not any(on_disk(attachments_dir, data) for data, _ in files.values())

    def test_a_split_submission_may_not_carry_an_unnamed_file_in_a_later_part(
        self, app: Flask, client: FlaskClient, collect: dict, xform: bytes, attachments_dir: Path
    ) -> None:
        key = str(uuid.uuid4())
        xml = instance_from_xform(xform, with_photo(household(), "house.jpg"), key)
        photo, extra = unique_bytes(), unique_bytes()
        first = post_submission(
            client, collect, xml, {"house.jpg": (photo, "image/jpeg")}, **{"*isIncomplete*": "yes"}
        )
        assert first.status_code == 201, message(first)
        later = post_submission(client, collect, xml, {"extra.jpg": (extra, "image/jpeg")})
        assert later.status_code == 400 and "'extra.jpg'" in message(later)
        with app.extensions["survey"]["sessions"]() as session:
            assert [a.filename for a in session.scalars(select(Attachment))] == ["house.jpg"]
        assert on_disk(attachments_dir, photo) and not on_disk(attachments_dir, extra)


FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "survey.example.org",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Prefix": "/kg",
}


def form_urls(client: FlaskClient, headers: dict[str, str]) -> list[str]:
    """The downloadUrl and manifestUrl of every form of the formList."""
    listing = client.get("/openrosa/formList", headers=headers)
    assert listing.status_code == 200, message(listing)
    ns = "{http://openrosa.org/xforms/xformsList}"
    root = ET.fromstring(listing.data)  # noqa: S314 - our own reply
    urls = [e.text or "" for tag in ("downloadUrl", "manifestUrl") for e in root.iter(ns + tag)]
    assert urls
    return urls


@pytest.mark.usefixtures("published")
def test_behind_a_trusted_tls_proxy_form_urls_are_public(
    database_url: str, collect: dict[str, str]
) -> None:
    from survey_service import create_app

    proxied = create_app({"env": "test", "database_url": database_url, "trusted_proxies": 1})
    try:
        urls = form_urls(proxied.test_client(), collect | FORWARDED)
        assert all(url.startswith("https://survey.example.org/kg/openrosa/forms/") for url in urls)
    finally:
        proxied.extensions["survey"]["engine"].dispose()


@pytest.mark.usefixtures("published")
def test_forwarded_headers_are_not_trusted_by_default(
    client: FlaskClient, collect: dict[str, str]
) -> None:
    urls = form_urls(client, collect | FORWARDED)  # spoofed: no proxy is configured
    assert all(url.startswith("http://localhost/openrosa/forms/") for url in urls), urls


def test_oversized_submission_gets_an_openrosa_413(
    database_url: str, make_user: Callable[..., dict[str, str]]
) -> None:
    from survey_service import create_app

    small = create_app({"env": "test", "database_url": database_url, "max_content_length": 2048})
    try:
        client = small.test_client()
        head = client.head("/openrosa/submission", headers=basic(make_user("enumerator")))
        assert head.headers["X-OpenRosa-Accept-Content-Length"] == "2048"
        response = post_submission(
            client,
            basic(make_user("enumerator")),
            b"<data/>",
            {"big.jpg": (b"x" * 4096, "image/jpeg")},
        )
        assert response.status_code == 413
        assert response.headers["X-OpenRosa-Version"] == "1.0"
        assert b"http://openrosa.org/http/response" in response.data
    finally:
        small.extensions["survey"]["engine"].dispose()
