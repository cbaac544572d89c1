"""Researchers upload XLSForm spreadsheets and download versions as XLSForm or XForm."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
import xlwt  # type: ignore[import-untyped]  # no type hints
from flask import Flask
from flask.testing import FlaskClient

from survey_service.questionnaire.xlsform.reader import definition_from_xlsform
from survey_service.questionnaire.xlsform.vocabulary import XLSX_MEDIA_TYPE
from survey_service.questionnaire.xlsform.writer import xlsform_from_definition
from tests.helpers import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    MIB,
    assert_problem,
    lying_sizes,
    many_entries_xlsx,
    row_counts,
    rows_bomb,
    shared_strings_bomb,
    whitespace_sheet_bomb,
    xlsx_with_doctype,
)

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
            ["osm", "photo", "Photo", None],
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


# Decompression bombs and their kin: refused before they are parsed, within a second (of
# the process's CPU time: wall time on a shared CI machine says more of its neighbours)

BOMBS: dict[str, tuple[Callable[[], bytes], int, str]] = {
    # 64 MiB of strings in a 70 KB file (the 0.5 MB, 200 MB one cost 210 s and 1.1 GB)
    "shared strings of 64 MiB": (
        lambda: shared_strings_bomb(64 * MIB),
        413,
        "xlsform.too_large",
    ),
    # whitespace inside a sheet (a 1 MB zip with 1 GiB of it cost 2 GB)
    "a sheet of 64 MiB of whitespace": (
        lambda: whitespace_sheet_bomb(64 * MIB),
        413,
        "xlsform.too_large",
    ),
    "a part inflating 1,000 times": (
        lambda: whitespace_sheet_bomb(8 * MIB),
        413,
        "xlsform.compression_ratio",
    ),
    # the header says 1,000 bytes, the data inflates to 64 MiB: zipfile stops at the
    # declared size and the CRC does not match
    "a header lying about the size": (
        lambda: lying_sizes(shared_strings_bomb(64 * MIB), "xl/sharedStrings.xml", 1_000),
        422,
        "xlsform.invalid",
    ),
    # the 130 KB workbook with 300k rows took 54 s and answered 299,999 errors
    "300,000 rows": (lambda: rows_bomb(300_000), 413, "xlsform.too_many_rows"),
    "1,500 columns": (lambda: rows_bomb(1, columns=1_500), 413, "xlsform.too_many_columns"),
    "250,000 cells": (lambda: rows_bomb(5_000, columns=50), 413, "xlsform.too_many_cells"),
    "1,000 files in the archive": (
        lambda: many_entries_xlsx(1_000),
        413,
        "xlsform.too_many_entries",
    ),
    "billion laughs in a sheet": (
        lambda: xlsx_with_doctype(BILLION_LAUGHS),
        422,
        "xlsform.invalid",
    ),
    "an external entity in a sheet": (
        lambda: xlsx_with_doctype(EXTERNAL_ENTITY),
        422,
        "xlsform.invalid",
    ),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_spreadsheet_bomb_is_refused_within_a_second_and_nothing_is_stored(
    app: Flask, client: FlaskClient, researcher: dict, bomb: str
) -> None:
    make, status, code = BOMBS[bomb]
    content = make()
    assert len(content) < 2_000_000
    before = row_counts(app)
    started = time.process_time()
    response = client.post(
        "/api/v1/questionnaires",
        data=content,
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    elapsed = time.process_time() - started
    problem = assert_problem(response, status, code)
    assert elapsed < 1.0
    assert row_counts(app) == before
    if status == 413:
        assert problem["limit"] and problem["maximum"] > 0
        assert "nothing was stored" in problem["detail"]
    else:
        (error,) = problem["errors"]
        expected = "xlsform.unreadable" if "lying" in bomb else "xlsform.forbidden_xml"
        assert error["code"] == expected


def test_a_bomb_sent_as_multipart_is_refused_too(client: FlaskClient, researcher: dict) -> None:
    response = client.post(
        "/api/v1/questionnaires",
        data={"file": (io.BytesIO(whitespace_sheet_bomb(64 * MIB)), "household.xlsx")},
        headers=researcher,
        content_type="multipart/form-data",
    )
    problem = assert_problem(response, 413, "xlsform.too_large")
    assert problem["limit"] == "entry_size"


def test_a_legacy_xls_with_too_many_rows_is_refused(client: FlaskClient, researcher: dict) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("survey")
    sheet.write(0, 0, "type")
    for row in range(1, 25_001):
        sheet.write(row, 0, "integer")
    out = io.BytesIO()
    book.save(out)
    started = time.process_time()
    response = client.post(
        "/api/v1/questionnaires",
        data=out.getvalue(),
        headers={**researcher, "Content-Type": "application/vnd.ms-excel"},
    )
    assert_problem(response, 413, "xlsform.too_many_rows")
    assert time.process_time() - started < 1.0


def test_the_problems_of_a_spreadsheet_are_listed_up_to_100_and_all_counted(
    client: FlaskClient, researcher: dict
) -> None:
    photos = [["osm", f"photo{i}", "Photo"] for i in range(150)]
    rows = [["type", "name", "label"], ["integer", "hh_size", "Household size"], *photos]
    response = client.post(
        "/api/v1/questionnaires",
        data=workbook(rows),
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    problem = assert_problem(response, 422, "xlsform.invalid")
    assert len(problem["errors"]) == 100
    assert problem["problem_count"] == 150
    assert "The first 100 are listed, 50 more are not." in problem["detail"]
    assert problem["errors"][0]["path"] == "survey!A3"


def test_the_warnings_of_a_spreadsheet_are_kept_with_the_draft(
    client: FlaskClient, researcher: dict
) -> None:
    content = workbook(
        [
            ["type", "name", "label", "disaggregation"],
            ["integer", "hh_size", "Household size", "by region"],
        ]
    )
    created = client.post(
        "/api/v1/questionnaires",
        data=content,
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    assert created.status_code == 201, created.get_json()
    warning = {
        "path": "survey!D1",
        "code": "xlsform.ignored_column",
        "message": created.get_json()["warnings"][0]["message"],
    }
    assert created.get_json()["warnings"] == [warning]
    assert "disaggregation" in warning["message"]
    shown = client.get("/api/v1/questionnaires/pilot-form", headers=researcher).get_json()
    assert shown["warnings"] == [warning]
    # the draft itself stays the definition, which can be sent back as it is
    draft = client.get("/api/v1/questionnaires/pilot-form/draft", headers=researcher).get_json()
    assert "warnings" not in draft
    replaced = client.put("/api/v1/questionnaires/pilot-form/draft", json=draft, headers=researcher)
    assert replaced.status_code == 200, replaced.get_json()
    assert replaced.get_json()["warnings"] == []  # a definition sent as JSON has none
    again = client.put(
        "/api/v1/questionnaires/pilot-form/draft",
        data=content,
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    assert again.get_json()["warnings"] == [warning]


def test_a_designers_workbook_is_accepted_and_its_answers_are_checked(
    client: FlaskClient, researcher: dict, admin: dict, make_user: Callable[..., dict]
) -> None:
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::Français", "relevant"])
    survey.append(["select_one places", "place", "Lieu", None])
    survey.append(["text", "detail", "Précisez", "${place} = ’Er_Rassiyé’"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::Français"])
    choices.append(["places", "Er_Rassiyé", "Er Rassiyé"])
    choices.append(["places", "cabinet d'assistant medical", "Cabinet d'assistant médical"])
    settings = book.create_sheet("settings")
    settings.append(["form_id"])
    settings.append(["designers-form"])
    out = io.BytesIO()
    book.save(out)
    created = client.post(
        "/api/v1/questionnaires",
        data=out.getvalue(),
        headers={**researcher, "Content-Type": XLSX_MEDIA_TYPE},
    )
    assert created.status_code == 201, created.get_json()
    assert [(w["path"], w["code"]) for w in created.get_json()["warnings"]] == [
        ("survey!C1", "xlsform.language_named"),
        ("survey!D3", "xlsform.quotes_fixed"),
        ("choices!C1", "xlsform.language_named"),
        ("choices!B2", "xlsform.choice_name"),
        ("choices!B3", "xlsform.choice_name"),
    ]
    q = "/api/v1/questionnaires/designers-form"
    assert client.post(f"{q}/publish", headers=admin).status_code == 201
    enumerator = {"Authorization": make_user("enumerator")["Authorization"]}

    def submit(place: str) -> Any:
        payload = {"instance_id": str(uuid.uuid4()), "answers": {"place": place}}
        return client.post(f"{q}/responses", json=payload, headers=enumerator)

    assert submit("Er_Rassiyé").status_code == 201, submit("Er_Rassiyé").get_json()
    assert submit("cabinet d'assistant medical").status_code == 201
    refused = submit("cabinet")
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["code"] == "response.invalid_choice"
