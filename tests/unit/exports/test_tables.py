"""Table writers: CSV, XLSX, SDMX-CSV 2.0 and JSON read back, and no suppressed number leaks."""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from openpyxl import load_workbook

from survey_service.exports.tables import (
    FLAGS_NOTE,
    SDMX_CSV_MEDIA_TYPE,
    VALUE_COLUMNS,
    Table,
    to_csv,
    to_json,
    to_sdmx_csv,
    to_xlsx,
)
from tests.helpers import SDMX_ATTRIBUTES, dataflow, read_back

Key = tuple[str, ...]

DIMENSIONS = ["country", "hazard_type", "displacement_status"]
CODES = [["KZ", "KG", "_T"], ["MH0600", "MH0401", "_T"], ["IDP", "NON_DISPLACED", "_T"]]
PRIMARY: Key = ("KG", "MH0401", "IDP")
SECONDARY: Key = ("KG", "MH0401", "NON_DISPLACED")
FLAGGED: Key = ("KZ", "MH0401", "IDP")

# What the suppressed cells held before disclosure control: none of it may reach any output.
HIDDEN: dict[Key, dict[str, Any]] = {
    PRIMARY: {
        "estimate": 9191.9191,
        "se": 717.1717,
        "ci_low": 7575.7575,
        "ci_high": 10808.0808,
        "cv": 0.78027,
        "deff": 6.0606,
        "df": 8675309,
        "n": 3,
        "sum_weights": 5151.5151,
    },
    SECONDARY: {
        "estimate": 2323.2323,
        "se": 414.1414,
        "ci_low": 1492.1492,
        "ci_high": 3154.3154,
        "cv": 0.17826,
        "deff": 4.0404,
        "df": 8675310,
        "n": 12,
        "sum_weights": 3636.3636,
    },
}
HIDDEN_TOKENS = sorted(
    {repr(v) for values in HIDDEN.values() for k, v in values.items() if k != "n"}
)

LABELS = {
    "country": {
        "KZ": {"en": "Kazakhstan", "ru": "Казахстан"},
        "KG": {"en": "Kyrgyzstan", "ru": "Кыргызстан"},
        "_T": {"en": "Total", "ru": "Всего"},
    },
    "hazard_type": {
        "MH0600": {"en": "Flood", "ru": "Наводнение"},
        "MH0401": {"en": "Drought"},  # no Russian: falls back to English
    },
    # NON_DISPLACED and _T have no label at all: they fall back to the code
    "displacement_status": {"IDP": {"en": "Internally displaced", "ru": "Внутренне перемещённые"}},
    "_variable": {"displaced_members": {"en": "Members displaced", "ru": "Перемещённые члены"}},
}
RU_LABELS = {
    "country": {"KZ": "Казахстан", "KG": "Кыргызстан", "_T": "Всего"},
    "hazard_type": {"MH0600": "Наводнение", "MH0401": "Drought", "_T": "_T"},
    "displacement_status": {
        "IDP": "Внутренне перемещённые",
        "NON_DISPLACED": "NON_DISPLACED",
        "_T": "_T",
    },
}

METADATA: dict[str, Any] = {
    "questionnaire_id": "climate-migration-household",
    "versions": ["2025.1", "2025.2"],
    "stat": "total",
    "variable": "displaced_members",
    "unit": "household",
    "confidence": 0.95,
    "weights": "w_final",
    "filters": {"country": ["KZ", "KG"]},
    "disclosure_threshold": 10,
    "generated_at": "2025-11-20T10:00:00+00:00",
    "reference_period": {"from": "2025-04-01", "to": "2025-10-31"},
}


def published(index: int) -> dict[str, Any]:
    estimate = 100.0 + 7.25 * index
    se = 2.5 + 0.125 * index
    return {
        "estimate": estimate,
        "se": se,
        "ci_low": estimate - 5.0,
        "ci_high": estimate + 5.0,
        "cv": se / estimate,
        "deff": 1.25,
        "df": 40,
        "n": 30 + index,
        "sum_weights": 1000.0 + 12.5 * index,
    }


def build_table(*, leaky: bool = False) -> Table:
    """27 cells with all margins; `leaky` keeps the hidden numbers in the suppressed cells."""
    cells: list[dict[str, Any]] = []
    for index, key in enumerate(itertools.product(*CODES)):
        cell: dict[str, Any] = dict(zip(DIMENSIONS, key, strict=True))
        if key in HIDDEN:
            if leaky:
                cell.update(HIDDEN[key])
            else:  # as the endpoint sends them: no values, a secondary cell keeps n and df
                cell.update(dict.fromkeys(VALUE_COLUMNS))
                if key == SECONDARY:
                    cell.update(n=HIDDEN[key]["n"], df=HIDDEN[key]["df"])
            cell.update(OBS_STATUS="Q", CONF_STATUS="A" if key == PRIMARY else "D")
        elif key == FLAGGED:
            cell.update(published(index), estimate=8.0, se=2.5, cv=0.3125, ci_low=3.0)
            cell.update(ci_high=13.0, OBS_STATUS="U", CONF_STATUS="F")
        else:
            cell.update(published(index), OBS_STATUS="A", CONF_STATUS="F")
        cells.append(cell)
    return Table(list(DIMENSIONS), cells, copy.deepcopy(METADATA), copy.deepcopy(LABELS))


def cell_of(table: Table, key: Key) -> dict[str, Any]:
    return next(c for c in table.cells if tuple(c[d] for d in table.dimensions) == key)


def csv_rows(lines: list[str]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(lines), newline="")))


def xlsx_values(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    workbook = load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


def key_of(row: Mapping[str, Any]) -> Key:
    return tuple(row[d] for d in DIMENSIONS)


# -- CSV -------------------------------------------------------------------------------


def test_csv_streams_one_record_per_item_and_parses_back() -> None:
    table = build_table()
    lines = list(to_csv(table, lang="ru"))

    assert len(lines) == 1 + 27 and all(line.endswith("\r\n") for line in lines)
    header = next(csv.reader([lines[0]]))
    assert header == [
        "country",
        "country_label",
        "hazard_type",
        "hazard_type_label",
        "displacement_status",
        "displacement_status_label",
        *VALUE_COLUMNS,
        "OBS_STATUS",
        "CONF_STATUS",
    ]
    rows = csv_rows(lines)
    assert [key_of(r) for r in rows] == list(itertools.product(*CODES))
    for row in rows:
        key, source = key_of(row), cell_of(table, key_of(row))
        for dimension in DIMENSIONS:
            assert row[f"{dimension}_label"] == RU_LABELS[dimension][row[dimension]]
        if key in HIDDEN:
            assert all(row[name] == "" for name in VALUE_COLUMNS)
            assert row["OBS_STATUS"] == "Q"
            assert row["CONF_STATUS"] == ("A" if key == PRIMARY else "D")
            continue
        for name in ("estimate", "se", "ci_low", "ci_high", "cv", "deff", "sum_weights"):
            assert float(row[name]) == source[name]  # repr precision: exact round trip
        assert int(row["n"]) == source["n"] and int(row["df"]) == source["df"]
        assert (row["OBS_STATUS"], row["CONF_STATUS"]) == (source["OBS_STATUS"], "F")
    flagged = next(r for r in rows if key_of(r) == FLAGGED)
    assert (flagged["cv"], flagged["OBS_STATUS"], flagged["CONF_STATUS"]) == ("0.3125", "U", "F")


def test_csv_without_language_has_codes_only_and_quotes_per_rfc_4180() -> None:
    table = build_table()
    table.labels["country"]["KZ"]["en"] = 'Kazakhstan, "KZ"\nRepublic'
    header = next(csv.reader([next(to_csv(table, lang=None))]))
    assert header == [*DIMENSIONS, *VALUE_COLUMNS, "OBS_STATUS", "CONF_STATUS"]

    rows = csv_rows(list(to_csv(table, lang="kk")))  # no Kazakh labels: English, then code
    for row in rows:
        for dimension in DIMENSIONS:
            code = row[dimension]
            english = table.labels[dimension].get(code, {}).get("en", code)
            assert row[f"{dimension}_label"] == english
    assert rows[0]["country_label"] == 'Kazakhstan, "KZ"\nRepublic'


def test_numbers_keep_full_precision_and_non_finite_values_are_spelled_out() -> None:
    cell = {
        "estimate": 0.1 + 0.2,
        "se": np.float64(1 / 3),
        "ci_low": float("nan"),
        "ci_high": None,
        "cv": float("inf"),
        "deff": 1e-300,
        "df": np.int64(7),
        "n": 12,
        "sum_weights": 123456789.123,
        "OBS_STATUS": "A",
        "CONF_STATUS": "F",
    }
    metadata = {**METADATA, "reference_period": {"from": "2025-01-01", "to": "2025-12-31"}}
    table = Table([], [cell], metadata, {})

    (row,) = csv_rows(list(to_csv(table, lang="en")))
    assert row == {
        "estimate": "0.30000000000000004",
        "se": "0.3333333333333333",
        "ci_low": "",
        "ci_high": "",
        "cv": "inf",
        "deff": "1e-300",
        "df": "7",
        "n": "12",
        "sum_weights": "123456789.123",
        "OBS_STATUS": "A",
        "CONF_STATUS": "F",
    }
    sdmx_row = csv_rows(list(to_sdmx_csv(table)))[0]
    assert (sdmx_row["OBS_VALUE"], sdmx_row["CV"], sdmx_row["CI_LOW"]) == (
        "0.30000000000000004",
        "INF",
        "",
    )
    assert sdmx_row["TIME_PERIOD"] == "2025"
    # openpyxl writes numbers with 16 significant digits (Excel shows 15): nearly repr.
    data = xlsx_values(to_xlsx(table, lang=None))["data"]
    assert data[1][2:5] == (None, None, "inf") and data[1][6:] == (7, 12, 123456789.123, "A", "F")
    assert [data[1][0], data[1][1], data[1][5]] == pytest.approx([0.3, 1 / 3, 1e-300], rel=1e-15)
    body = to_json(table)
    assert body["cells"][0]["cv"] is None and body["cells"][0]["ci_low"] is None
    json.dumps(body, allow_nan=False)  # valid JSON: no NaN or Infinity


# -- nothing suppressed leaks ----------------------------------------------------------


def all_outputs(table: Table) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(to_xlsx(table, lang="ru"))) as archive:
        xlsx_text = "\n".join(archive.read(name).decode() for name in archive.namelist())
    return {
        "csv": "".join(to_csv(table, lang=None)),
        "csv_ru": "".join(to_csv(table, lang="ru")),
        "sdmx": "".join(to_sdmx_csv(table)),
        "xlsx": xlsx_text,
        "json": json.dumps(to_json(table), ensure_ascii=False),
    }


def test_no_suppressed_number_appears_in_any_output_even_if_the_table_still_holds_it() -> None:
    clean, leaky = build_table(), build_table(leaky=True)
    for table in (clean, leaky):
        for name, text in all_outputs(table).items():
            for token in HIDDEN_TOKENS:
                assert token not in text, f"{token} leaked into {name}"
            for word in ("None", "nan", "NaN"):
                assert word not in text, f"{word!r} written into {name}"
    # Fail-closed: a table whose suppressed cells still carry numbers writes the same bytes.
    assert "".join(to_csv(leaky, lang="ru")) == "".join(to_csv(clean, lang="ru"))
    assert "".join(to_sdmx_csv(leaky)) == "".join(to_sdmx_csv(clean))
    assert to_json(leaky) == to_json(clean)
    assert xlsx_values(to_xlsx(leaky, lang="ru")) == xlsx_values(to_xlsx(clean, lang="ru"))
    # n of the suppressed cells (3 and 12) is withheld too: checked field by field.
    for output in (list(to_csv(leaky, lang=None)), list(to_sdmx_csv(leaky))):
        for row in csv_rows(output):
            if any(row.get("CONF_STATUS") == flag for flag in ("A", "D")):
                assert row.get("n", "") == "" and row.get("NOBS", "") == ""


def test_a_cell_without_conf_status_is_refused_before_anything_is_written() -> None:
    table = build_table()
    del cell_of(table, FLAGGED)["CONF_STATUS"]
    for write in (
        lambda: to_csv(table, lang=None),
        lambda: to_sdmx_csv(table),
        lambda: to_xlsx(table, lang=None),
        lambda: to_json(table),
    ):
        with pytest.raises(ValueError, match="CONF_STATUS"):
            write()  # raised at call time, not on the first next()


# -- XLSX ------------------------------------------------------------------------------


def test_xlsx_has_typed_data_and_a_metadata_sheet_in_the_chosen_language() -> None:
    table = build_table()
    workbook = load_workbook(io.BytesIO(to_xlsx(table, lang="ru")))
    assert workbook.sheetnames == ["data", "metadata"]

    rows = list(workbook["data"].iter_rows(values_only=True))
    csv_lines = list(to_csv(table, lang="ru"))
    assert list(rows[0]) == next(csv.reader([csv_lines[0]]))
    header = list(rows[0])
    for values in rows[1:]:
        row: dict[str, Any] = dict(zip(map(str, header), values, strict=True))
        key = key_of(row)
        source = cell_of(table, key)
        assert row["country_label"] == RU_LABELS["country"][key[0]]
        if key in HIDDEN:
            assert all(row[name] is None for name in VALUE_COLUMNS)
            assert row["OBS_STATUS"] == "Q"
            continue
        for name in VALUE_COLUMNS:  # numbers as numbers (Excel keeps no int/float split)
            assert type(row[name]) in (int, float)
            assert row[name] == pytest.approx(source[name], rel=1e-15)
        assert row["OBS_STATUS"] == source["OBS_STATUS"]

    meta = list(workbook["metadata"].iter_rows(values_only=True))
    pairs = {r[0]: r[1] for r in meta if r[0] is not None and len(r) > 1}
    assert pairs["stat"] == "total" and pairs["disclosure_threshold"] == 10
    assert json.loads(str(pairs["reference_period"])) == METADATA["reference_period"]
    assert json.loads(str(pairs["versions"])) == ["2025.1", "2025.2"]
    assert pairs["language"] == "ru" and pairs["variable_label"] == "Перемещённые члены"
    assert pairs["flags"] == FLAGS_NOTE
    for text in ("A normal", "U low reliability", "30%", "Q missing or suppressed", "F free"):
        assert text in FLAGS_NOTE
    assert "A primary suppression" in FLAGS_NOTE and "D secondary suppression" in FLAGS_NOTE
    start = meta.index(("dimension", "code", "label"))
    labels = {(r[0], r[1]): r[2] for r in meta[start + 1 :]}
    assert labels == {
        (dimension, code): RU_LABELS[dimension][code]
        for dimension, codes in zip(DIMENSIONS, CODES, strict=True)
        for code in codes
    }


def test_xlsx_writes_text_that_looks_like_a_formula_as_text() -> None:
    table = build_table()
    table.labels["country"]["KZ"]["en"] = '=HYPERLINK("http://example.invalid","x")'
    workbook = load_workbook(io.BytesIO(to_xlsx(table, lang="en")))
    cells = [c for row in workbook["data"].iter_rows() for c in row if c.column == 2]
    kz = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    assert kz and all(c.data_type == "s" for c in kz)


# -- SDMX-CSV 2.0 ----------------------------------------------------------------------


def test_sdmx_csv_reads_back_with_sdmx1() -> None:
    table = build_table()
    lines = list(to_sdmx_csv(table))
    assert SDMX_CSV_MEDIA_TYPE == "application/vnd.sdmx.data+csv; version=2.0.0"
    assert next(csv.reader([lines[0]])) == [
        "STRUCTURE",
        "STRUCTURE_ID",
        "ACTION",
        "REF_AREA",
        "HAZARD",
        "DISP_STATUS",
        "STAT_MEASURE",
        "TIME_PERIOD",
        "OBS_VALUE",
        *SDMX_ATTRIBUTES,
    ]
    for record in csv.reader(lines[1:]):
        assert record[:3] == ["dataflow", "CAMIG:DF_CLIMIG_HH(1.0)", "I"]

    observations = read_back(lines, dataflow("DF_CLIMIG_HH", ["REF_AREA", "HAZARD", "DISP_STATUS"]))
    assert len(observations) == 27
    for obs in observations:
        key = {k: v.value for k, v in obs.dimension.values.items()}
        attributes = {k: v.value for k, v in obs.attached_attribute.items()}
        cell_key = (key["REF_AREA"], key["HAZARD"], key["DISP_STATUS"])
        source = cell_of(table, cell_key)
        assert (key["STAT_MEASURE"], key["TIME_PERIOD"]) == ("TOTAL", "2025")
        assert attributes["UNIT_MEASURE"] == "HH"
        if cell_key in HIDDEN:
            assert obs.value == ""
            assert all(attributes[a] == "" for a in ("SE", "CI_LOW", "CI_HIGH", "CV", "NOBS"))
            assert attributes["OBS_STATUS"] == "Q"
            assert attributes["CONF_STATUS"] == ("A" if cell_key == PRIMARY else "D")
            continue
        assert float(obs.value) == source["estimate"]
        assert float(attributes["SE"]) == source["se"]
        assert float(attributes["CI_LOW"]) == source["ci_low"]
        assert float(attributes["CI_HIGH"]) == source["ci_high"]
        assert float(attributes["CV"]) == source["cv"]
        assert int(attributes["NOBS"]) == source["n"]
        assert attributes["OBS_STATUS"] == ("U" if cell_key == FLAGGED else "A")
        assert attributes["CONF_STATUS"] == "F"
    totals = [
        o
        for o in observations
        if all(
            v.value == "_T"
            for k, v in o.dimension.values.items()
            if k in ("REF_AREA", "HAZARD", "DISP_STATUS")
        )
    ]
    assert len(totals) == 1


def test_sdmx_csv_for_persons_over_a_period_spanning_two_years() -> None:
    cells = [
        {
            "sex": sex,
            "age_group": age,
            "water_source": "PIPED",
            "estimate": 0.25,
            "se": 0.01,
            "ci_low": 0.23,
            "ci_high": 0.27,
            "cv": 0.04,
            "deff": 1.1,
            "df": 40,
            "n": 50,
            "sum_weights": 900.0,
            "OBS_STATUS": "A",
            "CONF_STATUS": "F",
        }
        for sex, age in itertools.product(["F", "M", "_T"], ["Y15T24", "Y_GE65", "_T"])
    ]
    metadata = {
        **METADATA,
        "stat": "proportion",
        "unit": "members",
        "reference_period": {"from": "2024-11-01", "to": "2025-03-31"},
    }
    table = Table(["sex", "age_group", "water_source"], cells, metadata, {})
    lines = list(to_sdmx_csv(table))
    rows = csv_rows(lines)
    assert {r["STRUCTURE_ID"] for r in rows} == {"CAMIG:DF_CLIMIG_PERS(1.0)"}
    assert {(r["UNIT_MEASURE"], r["STAT_MEASURE"]) for r in rows} == {("PS", "PROP")}
    assert {r["TIME_PERIOD"] for r in rows} == {"2024-11-01/P151D"}  # SDMX start/duration

    observations = read_back(lines, dataflow("DF_CLIMIG_PERS", ["SEX", "AGE", "WATER_SOURCE"]))
    keys = {tuple(v.value for v in o.dimension.values.values()) for o in observations}
    assert ("_T", "_T", "PIPED", "PROP", "2024-11-01/P151D") in keys and len(keys) == 9


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metadata": {"stat": "median"}}, "STAT_MEASURE"),
        ({"metadata": {"unit": "plots"}}, "unit of analysis"),
        ({"metadata": {"reference_period": None}}, "reference_period"),
        ({"metadata": {"reference_period": {"from": "2025-05-01", "to": "2025-04-01"}}}, "ends"),
        ({"metadata": {"reference_period": {"from": "April", "to": "2025-04-01"}}}, "ISO"),
        ({"dimension": "obs_value"}, "clash"),
        ({"dimension": "time.of.day"}, "SDMX ID"),
        ({"code": "piped water"}, "SDMX code"),
    ],
)
def test_sdmx_csv_refuses_what_it_cannot_express(change: dict[str, Any], message: str) -> None:
    dimension = change.get("dimension", "water_source")
    cell = {
        dimension: change.get("code", "PIPED"),
        **published(0),
        "OBS_STATUS": "A",
        "CONF_STATUS": "F",
    }
    table = Table([dimension], [cell], {**METADATA, **change.get("metadata", {})}, {})
    with pytest.raises(ValueError, match=message):
        to_sdmx_csv(table)


# -- JSON and edge cases ---------------------------------------------------------------


def test_json_body_is_cells_dimensions_and_metadata() -> None:
    table = build_table()
    body = to_json(table)
    assert list(body)[:2] == ["cells", "dimensions"]
    assert body["dimensions"] == DIMENSIONS and body["stat"] == "total"
    assert {k: body[k] for k in METADATA} == METADATA
    for cell in body["cells"]:
        key = tuple(cell[d] for d in DIMENSIONS)
        if key in HIDDEN:
            assert all(cell[name] is None for name in VALUE_COLUMNS)
        else:
            assert cell == cell_of(table, key)
    with pytest.raises(ValueError, match="body keys"):
        to_json(Table([], [], {"cells": 1}, {}))


def test_column_name_clashes_and_missing_codes_are_refused() -> None:
    cell = {"sex": "F", "sex_label": "x", **published(0), "OBS_STATUS": "A", "CONF_STATUS": "F"}
    with pytest.raises(ValueError, match="twice"):
        to_csv(Table(["sex", "sex_label"], [cell], METADATA, {}), lang="en")
    with pytest.raises(ValueError, match="no code for dimension 'age_group'"):
        to_csv(Table(["sex", "age_group"], [cell], METADATA, {}), lang=None)
    with pytest.raises(ValueError, match="must be a number"):
        to_csv(Table(["sex"], [{**cell, "n": "12"}], METADATA, {}), lang=None)
