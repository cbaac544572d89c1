"""Aggregates through HTTP: every statistic, unit and format, checked against svy; suppression."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from survey_service.config import load_settings
from survey_service.exports.tables import VALUE_COLUMNS
from tests.helpers import assert_problem, dataflow, read_back, svy_reference

Q = "/api/v1/questionnaires/agg-pilot"
A = f"{Q}/aggregates"
REL = 1e-9
COUNTRIES = ("KG", "TJ")
AREAS = ("U", "R")
PSUS = 5  # per stratum; codes P1..P5 reused in every stratum, as field teams number them
HAZARDS = ("MH0600", "MH0401")


def choices(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "label": {"en": f"{n} (en)", "ru": f"{n} (ru)"}} for n in names]


def pilot_definition(threshold: int = 3) -> dict[str, Any]:
    """A household survey with a stratified two-stage design and a person roster."""
    return {
        "id": "agg-pilot",
        "title": {"en": "Aggregates pilot"},
        "default_language": "en",
        "languages": ["en", "ru"],
        "choice_lists": {
            "countries": choices(*COUNTRIES),
            "areas": choices(*AREAS),
            "hazards": choices(*HAZARDS),
            "statuses": choices("IDP", "NON_DISPLACED"),
            "needs": choices("food", "water", "shelter"),
            "sexes": choices("F", "M"),
        },
        "questions": [
            {"name": "country", "type": "select_one", "choices": "countries", "label": {"en": "C"}},
            {"name": "area", "type": "select_one", "choices": "areas", "label": {"en": "Area"}},
            {
                "name": "stratum",
                "type": "calculate",
                "calculation": "concat(${country}, '-', ${area})",
            },
            {"name": "cluster", "type": "text", "label": {"en": "Cluster"}},
            {"name": "wt", "type": "decimal", "label": {"en": "Weight"}},
            {"name": "hazard", "type": "select_one", "choices": "hazards", "label": {"en": "H"}},
            {"name": "status", "type": "select_one", "choices": "statuses", "label": {"en": "S"}},
            {"name": "income", "type": "decimal", "label": {"en": "Income", "ru": "Доход"}},
            {"name": "hh_size", "type": "integer", "label": {"en": "Size"}, "required": True},
            {"name": "needs", "type": "select_multiple", "choices": "needs", "label": {"en": "N"}},
            {"name": "secret", "type": "integer", "label": {"en": "Secret"}, "pii": True},
            {
                "name": "members",
                "type": "repeat",
                "label": {"en": "Members"},
                "repeat_count": "${hh_size}",
                "questions": [
                    {"name": "sex", "type": "select_one", "choices": "sexes", "label": {"en": "S"}},
                    {"name": "age", "type": "integer", "label": {"en": "Age"}},
                ],
            },
        ],
        "tags": {"country": "country", "hazard_type": "hazard", "displacement_status": "status"},
        "design": {"weight": "wt", "stratum": "stratum", "psu": "cluster"},
        "persons": {"sex": "sex", "age": "age"},
        "settings": {"disclosure_threshold": threshold},
    }


def households(seed: int = 7) -> Iterator[dict[str, Any]]:
    """Unequal PSU sizes and weights, hazards clustered in PSUs, some answers missing."""
    rng = random.Random(seed)
    for country in COUNTRIES:
        for area in AREAS:
            for p in range(1, PSUS + 1):
                weight = round(rng.uniform(20, 300), 2)
                usual = rng.choice(HAZARDS)
                for j in range(rng.randint(3, 9)):
                    size = rng.randint(1, 5)
                    answers: dict[str, Any] = {
                        "country": country,
                        "area": area,
                        "cluster": f"P{p}",
                        "wt": weight,
                        "hh_size": size,
                        "status": "IDP" if rng.random() < 0.3 else "NON_DISPLACED",
                        "needs": rng.sample(["food", "water", "shelter"], rng.randint(1, 2)),
                        "members": [
                            {"sex": rng.choice("FM"), "age": rng.randint(0, 90)}
                            for _ in range(size)
                        ],
                    }
                    if rng.random() < 0.85:
                        answers["hazard"] = usual if rng.random() < 0.8 else rng.choice(HAZARDS)
                    if j == 0 or rng.random() < 0.8:  # every PSU has someone answering
                        answers["income"] = round(rng.gauss(1000, 400), 2)
                    yield answers


@pytest.fixture
def survey(client: FlaskClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    """The pilot published and its households submitted; returns their answers."""
    return publish_and_submit(client, admin, pilot_definition())


def publish_and_submit(
    client: FlaskClient, admin: dict[str, str], definition: dict[str, Any]
) -> list[dict[str, Any]]:
    assert client.post("/api/v1/questionnaires", json=definition, headers=admin).status_code == 201
    assert client.post(f"{Q}/publish", headers=admin).status_code == 201
    data = list(households())
    body = {"responses": [{"instance_id": str(uuid.uuid4()), "answers": a} for a in data]}
    reply = client.post(f"{Q}/responses/batch", json=body, headers=admin)
    assert reply.get_json()["summary"] == {"201": len(data)}, reply.get_json()
    for answers, item in zip(data, body["responses"], strict=True):
        answers["instance_id"] = item["instance_id"]  # for the tests, once submitted
    return data


def units_of(data: list[dict[str, Any]], cell: Callable[[dict[str, Any]], tuple[str, str]],
             y: Callable[[dict[str, Any]], Any], x: Callable[[dict[str, Any]], Any] | None = None,
             ) -> list[dict[str, Any]]:  # fmt: skip
    """The households as the svy oracle of tests/unit/test_estimation.py reads them."""
    units = []
    for a in data:
        region, status = cell(a)
        value = y(a)
        units.append(
            {
                "id": len(units),
                "h": f"{a['country']}-{a['area']}",
                "psu": a["cluster"],
                "w": a["wt"],
                "region": region,
                "status": status,
                "y": value,
                "x": x(a) if x is not None else None,
                "b": value,
                "N": 0,
            }
        )
    return units


def get(client: FlaskClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    reply = client.get(A, query_string=params, headers=headers)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    body: dict[str, Any] = reply.get_json()
    return body


def by_key(body: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(c[d] for d in body["dimensions"]): c for c in body["cells"]}


def assert_matches(cell: dict[str, Any], want: dict[str, float]) -> None:
    for name in ("estimate", "se", "ci_low", "ci_high", "deff"):
        if want[name] is None or (isinstance(want[name], float) and want[name] != want[name]):
            continue
        assert cell[name] == pytest.approx(want[name], rel=REL, abs=1e-12), name
    assert cell["df"] == want["df"]
    assert cell["n"] == want["n"]


def hazard(a: dict[str, Any]) -> str:
    return str(a.get("hazard", "_Z"))


@pytest.mark.parametrize("stat", ["total", "mean", "ratio"])
def test_household_estimates_match_svy(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str], stat: str
) -> None:
    params: dict[str, Any] = {"stat": stat, "variable": "income", "by": "country,hazard_type"}
    if stat == "ratio":
        params["denominator"] = "hh_size"
    body = get(client, admin, **params)
    assert body["design"] == {"strata": 4, "psus": 20, "df": 16}
    units = units_of(
        survey,
        lambda a: (a["country"], hazard(a)),
        lambda a: a.get("income"),
        (lambda a: float(a["hh_size"])) if stat == "ratio" else None,
    )
    want = svy_reference(units, stat, fpc=False, single_psu="fail")
    cells = by_key(body)
    assert set(cells) == {k for k in want if k}
    for key, cell in cells.items():
        assert cell["CONF_STATUS"] == "F"
        assert_matches(cell, want[key])


def test_proportions_of_a_choice_and_of_a_condition(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    units = units_of(
        survey,
        lambda a: (a["country"], hazard(a)),
        lambda a: 1.0 if a["status"] == "IDP" else 0.0,
    )
    want = svy_reference(units, "proportion", fpc=False, single_psu="fail")
    of_choice = get(
        client, admin, stat="proportion", variable="status", value="IDP", by="country,hazard_type"
    )
    of_condition = get(
        client,
        admin,
        stat="proportion",
        variable="${status} = 'IDP'",
        by="country,hazard_type",
    )
    for body in (of_choice, of_condition):
        for key, cell in by_key(body).items():
            assert_matches(cell, want[key])
    # a select_multiple: households naming water among their needs
    water = get(client, admin, stat="proportion", variable="needs", value="water")
    (whole,) = water["cells"]
    expected = sum(a["wt"] for a in survey if "water" in a["needs"]) / sum(a["wt"] for a in survey)
    assert whole["estimate"] == pytest.approx(expected, rel=REL)


def test_count_is_unweighted_units(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    body = get(client, admin, stat="count", by="country")
    counts = {c["country"]: c["estimate"] for c in body["cells"]}
    assert counts == {c: sum(a["country"] == c for a in survey) for c in COUNTRIES}
    assert all(c["se"] is None for c in body["cells"])


def test_persons_by_sex_and_age_group(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    """A roster is a unit: persons keep their household's weight, stratum and PSU."""
    body = get(
        client, admin, stat="mean", unit="members", variable="age", by="sex,age_group",
        age_groups="broad",
    )  # fmt: skip
    people = []
    for a in survey:
        for m in a["members"]:
            group = "Y0T14" if m["age"] <= 14 else "Y15T64" if m["age"] <= 64 else "Y_GE65"
            people.append({**a, "person": m, "group": group})
    units = units_of(
        people, lambda p: (p["person"]["sex"], p["group"]), lambda p: p["person"]["age"]
    )
    want = svy_reference(units, "mean", fpc=False, single_psu="fail")
    cells = by_key(body)
    assert set(cells) == {k for k in want if k}
    for key, cell in cells.items():
        assert_matches(cell, want[key])
    # a household question reads the same for all its people
    sizes = get(client, admin, stat="mean", unit="members", variable="hh_size")
    people_weight = sum(a["wt"] * a["hh_size"] for a in survey)
    expected = sum(a["wt"] * a["hh_size"] ** 2 for a in survey) / people_weight
    assert sizes["cells"][0]["estimate"] == pytest.approx(expected, rel=REL)


def test_a_tag_filter_is_a_domain_of_the_full_design(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    everywhere = by_key(get(client, admin, stat="mean", variable="income", by="country"))
    only_kg = get(client, admin, stat="mean", variable="income", by="country", country="KG")
    assert [c["country"] for c in only_kg["cells"]] == ["KG"]
    kg, whole = only_kg["cells"][0], everywhere[("KG",)]
    assert kg["df"] == whole["df"] == 16  # the PSUs of TJ still count
    for name in ("estimate", "se", "ci_low", "ci_high", "deff"):  # sums may be added in
        assert kg[name] == pytest.approx(whole[name], rel=1e-12)  # another order in parallel
    assert only_kg["filters"] == {"country": ["KG"]}


def test_margins_add_totals_over_every_dimension(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    body = get(client, admin, stat="total", variable="hh_size", by="country,status", margins="true")
    cells = by_key(body)
    assert ("_T", "_T") in cells and ("KG", "_T") in cells and ("_T", "IDP") in cells
    grand = sum(a["wt"] * a["hh_size"] for a in survey)
    assert cells[("_T", "_T")]["estimate"] == pytest.approx(grand, rel=REL)
    published = [c for k, c in cells.items() if k[0] != "_T" and k[1] != "_T"]
    assert sum(c["estimate"] for c in published) == pytest.approx(grand, rel=REL)
    units = units_of(survey, lambda a: ("all", "all"), lambda a: float(a["hh_size"]))
    want = svy_reference(units, "total", fpc=False, single_psu="fail")
    assert_matches(cells[("_T", "_T")], want[()])


def test_small_cells_are_suppressed_in_every_format(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    publish_and_submit(client, admin, pilot_definition(threshold=20))
    query = {"stat": "total", "variable": "income", "by": "country,hazard_type", "margins": "true"}
    body = get(client, admin, **query)
    suppressed = [c for c in body["cells"] if c["CONF_STATUS"] != "F"]
    primary = [c for c in suppressed if c["CONF_STATUS"] == "A"]
    assert primary and all(c["n"] is None for c in suppressed)
    assert all(c["estimate"] is None and c["se"] is None for c in suppressed)
    assert any(c["CONF_STATUS"] == "D" for c in suppressed)  # secondary, margins published
    # no suppressed cell is alone in its row or column: subtraction recovers nothing
    for other in (0, 1):
        lines: dict[str, list[dict[str, Any]]] = {}
        for c in body["cells"]:
            key = (c["country"], c["hazard_type"])
            lines.setdefault(key[other], []).append(c)
        for line in lines.values():
            assert sum(c["CONF_STATUS"] != "F" for c in line) != 1
    hidden = {(c["country"], c["hazard_type"]) for c in suppressed}
    for form in ("csv", "sdmx-csv"):
        reply = client.get(A, headers=admin, query_string={**query, "format": form})
        rows = list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))
        value, key = ("estimate", "country") if form == "csv" else ("OBS_VALUE", "REF_AREA")
        other = "hazard_type" if form == "csv" else "HAZARD"
        assert len(rows) == len(body["cells"])
        for row in rows:
            if (row[key], row[other]) in hidden:
                assert row[value] == "" and row["OBS_STATUS"] == "Q"
                assert row.get("se", row.get("SE")) == ""


def assert_suppressed_alone(cell: dict[str, Any]) -> None:
    """A primary suppression: its flags, and no value it could be derived from."""
    assert (cell["CONF_STATUS"], cell["OBS_STATUS"]) == ("A", "Q")
    assert all(cell[name] is None for name in VALUE_COLUMNS), cell


@pytest.mark.parametrize(
    "scope",
    [{}, {"country": "KG"}, {"by": "country", "country": "KG"}],
    ids=["no-by", "tiny-country", "tiny-country-by-country"],
)
def test_a_table_of_one_small_cell_is_published_with_it_suppressed(
    client: FlaskClient, admin: dict[str, str], scope: dict[str, str]
) -> None:
    """Found by schema fuzzing: a grand total alone, under the threshold, was a 500."""
    survey = publish_and_submit(client, admin, pilot_definition(threshold=1000))
    body = get(client, admin, stat="total", variable="income", **scope)
    assert len(survey) < 1000
    (cell,) = [c for c in body["cells"] if not c.get("country") or c["country"] == "KG"]
    assert_suppressed_alone(cell)
    reply = client.get(A, headers=admin, query_string={"stat": "count", **scope, "format": "csv"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    (row,) = [
        r
        for r in csv.DictReader(io.StringIO(reply.get_data(as_text=True)))
        if r.get("country", "KG") == "KG"
    ]
    assert row["estimate"] == "" and row["OBS_STATUS"] == "Q"


def test_a_table_whose_every_cell_is_small_is_published_all_suppressed(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    publish_and_submit(client, admin, pilot_definition(threshold=1000))
    for query in (
        {"stat": "count", "by": "country"},
        {"stat": "mean", "variable": "income", "by": "country,hazard_type", "margins": "true"},
        {"stat": "total", "variable": "income", "by": "country", "margins": "true"},
    ):
        body = get(client, admin, **query)
        assert body["cells"], query
        for cell in body["cells"]:
            assert_suppressed_alone(cell)


def test_formats_csv_xlsx_and_sdmx(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    query = {"stat": "mean", "variable": "income", "by": "country,hazard_type", "lang": "ru"}
    reply = client.get(A, query_string={**query, "format": "csv"}, headers=admin)
    assert reply.status_code == 200
    assert reply.mimetype == "text/csv"
    assert (
        'filename="agg-pilot-mean-income-country-hazard_type.csv"'
        in reply.headers["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))
    assert {r["country_label"] for r in rows} == {"KG (ru)", "TJ (ru)"}
    assert "Не применимо или не указано" in {r["hazard_type_label"] for r in rows}

    reply = client.get(A, query_string={**query, "format": "xlsx"}, headers=admin)
    sheet = load_workbook(io.BytesIO(reply.get_data()))["data"]
    header = [c.value for c in next(sheet.iter_rows())]
    assert header[:4] == ["country", "country_label", "hazard_type", "hazard_type_label"]
    assert sheet.max_row == len(rows) + 1

    reply = client.get(A, query_string={**query, "format": "sdmx-csv"}, headers=admin)
    assert reply.content_type == "application/vnd.sdmx.data+csv; version=2.0.0"
    text = reply.get_data(as_text=True)
    assert text.startswith("STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA,HAZARD,STAT_MEASURE")
    observations = read_back([text], dataflow("DF_CLIMIG_HH", ["REF_AREA", "HAZARD"]))
    assert len(observations) == len(rows)


def test_post_takes_the_same_specification(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    got = get(client, admin, stat="mean", variable="income", by="country")
    posted = client.post(
        A, json={"stat": "mean", "variable": "income", "by": ["country"]}, headers=admin
    )
    assert posted.status_code == 200
    for a, b in zip(got["cells"], posted.get_json()["cells"], strict=True):
        assert a.keys() == b.keys()
        for name, value in a.items():
            same = value if isinstance(value, str) else pytest.approx(value, rel=1e-12)
            assert b[name] == same, name


def test_rejected_responses_are_left_out(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    before = get(client, admin, stat="count")["cells"][0]["estimate"]
    first = client.get(f"{Q}/responses?limit=1", headers=admin).get_json()["items"][0]
    review = client.post(
        f"/api/v1/responses/{first['instance_id']}/review",
        json={"state": "rejected", "comment": "fabricated"},
        headers=admin,
    )
    assert review.status_code == 200
    assert get(client, admin, stat="count")["cells"][0]["estimate"] == before - 1
    every = get(client, admin, stat="count", review_state="received,rejected")
    assert every["cells"][0]["estimate"] == before


def test_a_country_restricted_account_sees_only_its_countries(
    survey: list[dict[str, Any]], client: FlaskClient, make_user: Callable[..., dict[str, str]]
) -> None:
    kyrgyz = {"Authorization": make_user("statistician", ("KG",))["Authorization"]}
    body = get(client, kyrgyz, stat="count", by="country")
    assert [c["country"] for c in body["cells"]] == ["KG"]


def test_every_problem_is_listed_with_what_is_allowed(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    reply = client.get(
        A,
        query_string={"stat": "mean", "variable": "colour", "by": "country,district,sex"},
        headers=admin,
    )
    problem = assert_problem(reply, 422, "aggregate.invalid")
    found = {(e["path"], e["code"]) for e in problem["errors"]}
    assert found == {
        ("variable", "aggregate.unknown_question"),
        ("by[1]", "aggregate.unknown_dimension"),
        ("by[2]", "aggregate.unknown_dimension"),
    }
    assert "income" in problem["allowed"]["variable"]
    assert "secret" not in problem["allowed"]["variable"]  # pii
    assert {"country", "hazard", "status"} <= set(problem["allowed"]["by"]) | {"hazard", "status"}
    sex = next(e for e in problem["errors"] if e["path"] == "by[2]")
    assert "unit=" in sex["message"]
    cases = [
        ({"stat": "median"}, "request.invalid"),
        ({"stat": "mean", "variable": "income", "colour": "x"}, "request.invalid"),
        ({"stat": "mean"}, "aggregate.invalid"),
        ({"stat": "mean", "variable": "status"}, "aggregate.invalid"),
        ({"stat": "mean", "variable": "secret"}, "aggregate.invalid"),
        ({"stat": "mean", "variable": "age"}, "aggregate.invalid"),
        ({"stat": "mean", "variable": "${income} +"}, "aggregate.invalid"),
        ({"stat": "mean", "variable": "regex(${cluster}, 'P')"}, "aggregate.invalid"),
        ({"stat": "proportion", "variable": "status", "value": "refugee"}, "aggregate.invalid"),
        ({"stat": "ratio", "variable": "income"}, "aggregate.invalid"),
        ({"stat": "mean", "variable": "income", "unit": "trips"}, "aggregate.invalid"),
        ({"stat": "mean", "variable": "income", "weights": "final"}, "aggregate.invalid"),
        ({"stat": "mean", "variable": "income", "confidence": "2"}, "aggregate.invalid"),
        ({"stat": "mean", "variable": "income", "format": "pdf"}, "request.invalid"),
        ({"stat": "mean", "variable": "income", "collected_from": "June"}, "request.invalid"),
        # found by the schema fuzzing: a moment before year 1 in UTC was a 500
        ({"stat": "count", "collected_to": "0001-01-01T00:30:00+01:00"}, "request.invalid"),
    ]
    for params, code in cases:
        assert_problem(client.get(A, query_string=params, headers=admin), 422, code)
    unknown = client.get("/api/v1/questionnaires/nowhere/aggregates?stat=count", headers=admin)
    assert_problem(unknown, 404, "questionnaire.not_found")


def summed(terms: int) -> str:
    return " + ".join(["${income}"] * terms)


def nested(levels: int) -> str:
    """`levels` chains, each in parentheses inside the next ('+' and '*' alternating)."""
    expression = "${income}"
    for level in range(levels):
        expression = f"({expression}) * 2" if level % 2 else f"({expression}) + 1"
    return expression


def assert_too_large(reply: Any, path: str, limit: str) -> None:
    problem = assert_problem(reply, 422, "aggregate.invalid")
    (error,) = problem["errors"]
    assert (error["path"], error["code"]) == (path, "aggregate.expression_too_large")
    assert limit in error["message"], error["message"]


def test_an_expression_over_the_size_limits_is_refused_with_the_limit(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    """Found by schema fuzzing: SQLite answered 503 ("Expression tree is too large",
    "parser stack overflow"), PostgreSQL 503 (SQLSTATE 54001), SQLAlchemy 500 (recursion)."""
    too_many = client.post(A, json={"stat": "mean", "variable": summed(101)}, headers=admin)
    assert_too_large(too_many, "variable", "at most 100")
    ratio = {"stat": "ratio", "variable": "income", "denominator": summed(101)}
    assert_too_large(client.post(A, json=ratio, headers=admin), "denominator", "at most 100")
    too_deep = client.get(A, query_string={"stat": "mean", "variable": nested(11)}, headers=admin)
    assert_too_large(too_deep, "variable", "at most 10")
    for comparisons in (15, 60, 160, 1000):  # once the 503s and 500s of the databases
        chain = " < ".join(["${income}"] * (comparisons + 1))
        reply = client.post(A, json={"stat": "proportion", "variable": chain}, headers=admin)
        assert_too_large(reply, "variable", "at most")
    for terms in (1000, 5000):
        reply = client.post(A, json={"stat": "total", "variable": summed(terms)}, headers=admin)
        assert_too_large(reply, "variable", "at most 100")
    # SQL says each term of a mod twice: 40 of them took PostgreSQL's path minutes to build
    repeated = {"stat": "mean", "variable": " mod ".join(["${hh_size}"] * 40)}
    assert_too_large(client.post(A, json=repeated, headers=admin), "variable", "10,000 nodes")


def test_a_statement_the_database_refuses_as_too_complex_is_the_same_422(
    survey: list[dict[str, Any]],
    client: FlaskClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The backstop behind the limits: with them lifted, SQLite's "Expression tree is too
    large" and "parser stack overflow", PostgreSQL's SQLSTATE 54001 and SQLAlchemy's
    RecursionError are a 422 at the expression, not a 503 or a 500."""
    for limit in ("MAX_TERMS", "MAX_DEPTH", "MAX_SQL_NODES"):
        monkeypatch.setattr(f"survey_service.expressions.sql.{limit}", 10**9)
    comparisons = " < ".join(["${income}"] * 300)
    for body in (
        {"stat": "mean", "variable": summed(6000)},
        {"stat": "proportion", "variable": comparisons},
    ):
        reply = client.post(A, json=body, headers=admin)
        assert_too_large(reply, "variable", "too large for the database")
    # the database does not say which expression: both are named
    ratio = {"stat": "ratio", "variable": "income", "denominator": summed(6000)}
    problem = assert_problem(client.post(A, json=ratio, headers=admin), 422, "aggregate.invalid")
    assert {(e["path"], e["code"]) for e in problem["errors"]} == {
        ("variable", "aggregate.expression_too_large"),
        ("denominator", "aggregate.expression_too_large"),
    }
    ordinary = client.post(A, json={"stat": "mean", "variable": summed(3)}, headers=admin)
    assert ordinary.status_code == 200  # the session is fine after the refusal


def test_an_expression_at_the_size_limits_is_aggregated(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    mean = get(client, admin, stat="mean", variable="income")["cells"][0]["estimate"]
    hundred = client.post(A, json={"stat": "mean", "variable": summed(100)}, headers=admin)
    assert hundred.status_code == 200, hundred.get_json()
    assert hundred.get_json()["cells"][0]["estimate"] == pytest.approx(100 * mean, rel=1e-9)
    deep = get(client, admin, stat="mean", variable=nested(10))
    assert deep["cells"][0]["estimate"] is not None
    chain = " < ".join(["${hh_size}"] * 11)  # ten comparisons: ten levels
    assert get(client, admin, stat="proportion", variable=chain)["cells"][0]["n"] == len(survey)
    conditions = " and ".join(["${income} > 0"] * 100)
    assert get(client, admin, stat="proportion", variable=conditions)["cells"]


def test_suppression_stays_on_unless_the_service_allows_otherwise(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str], app: Flask,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    query = {"stat": "count", "by": "country,hazard_type", "suppression": "off"}
    refused = client.get(A, query_string=query, headers=admin)
    assert_problem(refused, 403, "aggregate.suppression_required")
    internal = load_settings({"env": "test", "allow_unsuppressed": True})
    monkeypatch.setitem(app.extensions["survey"], "settings", internal)
    body = get(client, admin, **query)
    assert body["disclosure_control"] == "off: internal use only, not for publication"
    assert all(c["CONF_STATUS"] == "F" for c in body["cells"])


def test_sdmx_refuses_codes_it_cannot_carry(client: FlaskClient, admin: dict[str, str]) -> None:
    definition = pilot_definition()
    definition["questions"].append(
        {"name": "label", "type": "calculate", "calculation": "concat(${area}, ' area')"}
    )
    publish_and_submit(client, admin, definition)
    reply = client.get(
        A, query_string={"stat": "count", "by": "label", "format": "sdmx-csv"}, headers=admin
    )
    problem = assert_problem(reply, 422, "aggregate.format_unavailable")
    assert "'R area'" in problem["detail"] or "U area" in problem["detail"]


def test_a_weight_set_replaces_the_design_weights(
    survey: list[dict[str, Any]], client: FlaskClient, admin: dict[str, str]
) -> None:
    """Final weights uploaded after fieldwork; responses the set leaves out are reported."""
    rng = random.Random(11)
    final = {a["instance_id"]: round(a["wt"] * rng.uniform(0.8, 1.25), 3) for a in survey}
    left_out = survey[0]["instance_id"]
    lines = ["instance_id,weight"] + [
        f"{key},{weight}" for key, weight in final.items() if key != left_out
    ]
    upload = client.put(
        f"{Q}/weights/final",
        data="\n".join(lines).encode(),
        content_type="text/csv",
        headers=admin,
    )
    assert upload.status_code == 201, upload.get_json()
    assert upload.get_json()["missing"] == 1
    body = get(client, admin, stat="mean", variable="income", by="country", weights="final")
    assert body["weights"] == {"name": "final", "version": 1}
    assert body["excluded_without_weight"] == 1
    weighted = [
        {**a, "wt": final[a["instance_id"]]} for a in survey if a["instance_id"] != left_out
    ]
    units = units_of(weighted, lambda a: (a["country"], "all"), lambda a: a.get("income"))
    want = svy_reference(units, "mean", fpc=False, single_psu="fail")
    for cell in body["cells"]:
        assert_matches(cell, want[(cell["country"], "all")])
    design = get(client, admin, stat="mean", variable="income", by="country")
    assert design["weights"] == "design" and design["cells"] != body["cells"]
