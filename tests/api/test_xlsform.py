"""Researchers upload XLSForm spreadsheets and download versions as XLSForm or XForm."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from flask.testing import FlaskClient

from survey_service.questionnaire.xlsform.reader import definition_from_xlsform
from survey_service.questionnaire.xlsform.vocabulary import XLSX_MEDIA_TYPE
from survey_service.questionnaire.xlsform.writer import xlsform_from_definition
from tests.helpers import assert_problem

QID = "climate-migration-household"


def workbook(rows: list[list[Any]], form_id: str = "pilot-form") -> bytes:
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    for row in rows:
        survey.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_id", "form_title", "default_language"])
    settings.append([form_id, "Pilot", "en"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    choices.append(["yes_no", "yes", "Yes"])
    choices.append(["yes_no", "no", "No"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_upload_the_reference_spreadsheet_as_multipart(
    client: FlaskClient, researcher: dict, reference_definition: dict
) -> None:
    content = xlsform_from_definition(reference_definition)
    response = client.post(
        "/api/v1/questionnaires",
        data={"file": (io.BytesIO(content), "household.xlsx")},
        headers=researcher,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["draft"] == reference_definition


def test_upload_as_a_raw_spreadsheet_and_replace_the_draft(
    client: FlaskClient, researcher: dict
) -> None:
    first = workbook([["type", "name", "label"], ["integer", "hh_size", "Household size"]])
    created = client.post(
        "/api/v1/questionnaires",
        data=first,
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["id"] == "pilot-form"
    second = workbook(
        [["type", "name", "label", "constraint"], ["integer", "hh_size", "Household size", ". > 0"]]
    )
    replaced = client.put(
        "/api/v1/questionnaires/pilot-form/draft",
        data=second,
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    assert replaced.status_code == 200
    assert replaced.get_json()["draft"]["questions"][0]["constraint"] == ". > 0"


def test_refusals_name_sheet_row_and_column(client: FlaskClient, researcher: dict) -> None:
    bad = workbook(
        [
            ["type", "name", "label", "constraint"],
            ["integer", "age", "Age", "foo(.)"],
            ["image", "photo", "Photo", None],
        ]
    )
    response = client.post(
        "/api/v1/questionnaires", data=bad, headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE}
    )
    problem = assert_problem(response, 422, "xlsform.invalid")
    paths = {e["path"] for e in problem["errors"]}
    assert any(p.startswith("survey!") and p.endswith("2") for p in paths), paths
    assert any(p.startswith("survey!") and p.endswith("3") for p in paths), paths
    garbage = client.post(
        "/api/v1/questionnaires",
        data=b"not a workbook",
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    assert_problem(garbage, 422, "xlsform.invalid")
    no_file = client.post(
        "/api/v1/questionnaires",
        data={"other": "x"},
        headers=researcher,
        content_type="multipart/form-data",
    )
    assert_problem(no_file, 400, "request.missing_file")
    assert client.get("/api/v1/questionnaires", headers=researcher).get_json() == []


def test_download_a_version_as_xlsform_and_xform(
    client: FlaskClient, admin: dict, reference_definition: dict
) -> None:
    client.post("/api/v1/questionnaires", json=reference_definition, headers=admin)
    client.post(f"/api/v1/questionnaires/{QID}/publish", headers=admin)
    sheet = client.get(f"/api/v1/questionnaires/{QID}/versions/1/xlsform", headers=admin)
    assert sheet.status_code == 200 and sheet.mimetype == XLSX_MEDIA_TYPE
    assert f"{QID}-v1.xlsx" in sheet.headers["Content-Disposition"]
    assert definition_from_xlsform(sheet.data, "back.xlsx") == reference_definition
    xform = client.get(f"/api/v1/questionnaires/{QID}/versions/1/xform", headers=admin)
    assert xform.status_code == 200 and xform.mimetype == "text/xml"
    assert f'id="{QID}"'.encode() in xform.data and b'version="1"' in xform.data
    missing = client.get(f"/api/v1/questionnaires/{QID}/versions/2/xform", headers=admin)
    assert_problem(missing, 404, "questionnaire.version_not_found")
