"""Writers for published aggregate tables: CSV, XLSX, SDMX-CSV 2.0 and the JSON body."""

# Contract
# --------
# A `Table` arrives after disclosure control (`survey_service.statistics.disclosure`).
# Every writer validates the whole table *before* it yields or returns anything, so a
# bad table raises `ValueError` at call time, never half-way through a streamed body.
#
# Suppression, fail-closed: a cell is withheld when its CONF_STATUS is anything but
# "F" (free). A withheld cell loses every number -- estimate, se, ci_low, ci_high,
# cv, deff, df, n, sum_weights -- whatever the table holds there, and its OBS_STATUS
# is written as "Q"; only its key and flags are written. A cell without CONF_STATUS
# is an error (disclosure control has not run). A published cell with a None value
# (e.g. a mean over no unit: OBS_STATUS "Q", CONF_STATUS "F") is written empty too.
#
# Numbers: ints as ints, floats at `repr` precision (shortest round-trip text, no
# rounding), None and NaN empty. Infinity (a CV over an estimate of 0) is "inf" /
# "-inf" in CSV and as text in XLSX (Excel has no infinity), "INF" / "-INF" in
# SDMX-CSV (the xs:double spelling SDMX uses) and None in JSON (RFC 8259 has none).
# XLSX cells are numbers, written by openpyxl with 16 significant digits (Excel shows
# 15), so a float may come back 1 ulp off, and a whole float comes back as an int.
#
# Labels: `labels[dimension][code][language]`, falling back to "en", then to the code
# (margins "_T" included: give them a label such as "Total" in `labels` if wanted).
# The variable's label is `labels["_variable"][metadata["variable"]]` (or the only
# entry of `labels["_variable"]`).
#
# SDMX-CSV 2.0
# ------------
# STRUCTURE "dataflow", STRUCTURE_ID by unit of analysis (`metadata["unit"]`):
# "household" -> CAMIG:DF_CLIMIG_HH(1.0), UNIT_MEASURE HH; the person roster
# "members" -> CAMIG:DF_CLIMIG_PERS(1.0), UNIT_MEASURE PS; any other unit raises
# (extend `SDMX_UNITS`). UNIT_MEASURE names the population unit the statistic is
# about, not the unit of a mean's variable. ACTION "I" (information).
# Dimensions, in the table's order: country REF_AREA, admin1 REF_AREA_SUB,
# hazard_type HAZARD, displacement_status DISP_STATUS, sex SEX, age_group AGE, any
# other dimension its name upper-cased; then STAT_MEASURE (`SDMX_STAT_MEASURES`: COUNT,
# TOTAL, MEAN, PROP, RATIO for the estimation module's five statistics) and TIME_PERIOD.
# Codes are written as the table holds them ("_T" for margins) and must be SDMX IDs
# ([A-Za-z0-9_@$-]+).
# TIME_PERIOD from `metadata["reference_period"]` = {"from": date, "to": date} (ISO
# strings or `datetime.date`): the year when both dates fall in one calendar year
# (the survey's reference year, "2025"), otherwise an SDMX time range, which the
# standard spells start/duration (SDMX 2.1 Section 6, 4.2.7), e.g.
# "2024-11-01/P151D" for 2024-11-01..2025-03-31 inclusive. An ISO start/end interval
# ("2024-11-01/2025-03-31") is not a valid SDMX time period, hence the duration.
# OBS_VALUE is the estimate; attributes OBS_STATUS, CONF_STATUS, UNIT_MEASURE, SE,
# CI_LOW, CI_HIGH, CV, NOBS (n). The key does not name the variable: a dataflow that
# holds several variables' tables needs a further dimension for it.

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from survey_service.statistics.disclosure import CONF_FREE, OBS_SUPPRESSED

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = [
    "CSV_MEDIA_TYPE",
    "FLAGS_NOTE",
    "SDMX_CSV_MEDIA_TYPE",
    "SDMX_DIMENSIONS",
    "SDMX_STAT_MEASURES",
    "SDMX_UNITS",
    "VALUE_COLUMNS",
    "XLSX_MEDIA_TYPE",
    "Table",
    "to_csv",
    "to_json",
    "to_sdmx_csv",
    "to_xlsx",
]

CSV_MEDIA_TYPE: Final = "text/csv; charset=utf-8; header=present"
XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SDMX_CSV_MEDIA_TYPE: Final = "application/vnd.sdmx.data+csv; version=2.0.0"

#: The numeric columns of a cell, in output order; all empty for a withheld cell.
VALUE_COLUMNS: Final = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "cv",
    "deff",
    "df",
    "n",
    "sum_weights",
)
STATUS_COLUMNS: Final = ("OBS_STATUS", "CONF_STATUS")
DEFAULT_LANGUAGE: Final = "en"

FLAGS_NOTE: Final = (
    "OBS_STATUS: A normal value; U low reliability (coefficient of variation above 30%); "
    "Q missing or suppressed (no value shown). CONF_STATUS: F free (published); "
    "A primary suppression (fewer contributing units than the disclosure threshold); "
    "D secondary suppression (hidden so that a suppressed cell cannot be recovered "
    "from the totals)."
)

#: SDMX concept of each known dimension; other dimensions use their name upper-cased.
SDMX_DIMENSIONS: Final[Mapping[str, str]] = {
    "country": "REF_AREA",
    "admin1": "REF_AREA_SUB",
    "hazard_type": "HAZARD",
    "displacement_status": "DISP_STATUS",
    "sex": "SEX",
    "age_group": "AGE",
}

#: STAT_MEASURE code of each statistic of `survey_service.statistics.estimation`.
SDMX_STAT_MEASURES: Final[Mapping[str, str]] = {
    "count": "COUNT",
    "total": "TOTAL",
    "mean": "MEAN",
    "proportion": "PROP",
    "ratio": "RATIO",
}

#: Unit of analysis -> (UNIT_MEASURE, STRUCTURE_ID).
SDMX_UNITS: Final[Mapping[str, tuple[str, str]]] = {
    "household": ("HH", "CAMIG:DF_CLIMIG_HH(1.0)"),
    "members": ("PS", "CAMIG:DF_CLIMIG_PERS(1.0)"),
}

#: SDMX attribute column -> cell field, after OBS_STATUS, CONF_STATUS and UNIT_MEASURE.
_SDMX_NUMERIC_ATTRIBUTES: Final = (
    ("SE", "se"),
    ("CI_LOW", "ci_low"),
    ("CI_HIGH", "ci_high"),
    ("CV", "cv"),
    ("NOBS", "n"),
)
_SDMX_FIXED_COLUMNS: Final = (
    "STRUCTURE",
    "STRUCTURE_ID",
    "STRUCTURE_NAME",
    "ACTION",
    "SERIES_KEY",
    "OBS_KEY",
    "STAT_MEASURE",
    "TIME_PERIOD",
    "OBS_VALUE",
    "OBS_STATUS",
    "CONF_STATUS",
    "UNIT_MEASURE",
    *(column for column, _ in _SDMX_NUMERIC_ATTRIBUTES),
)
_SDMX_COMPONENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_SDMX_CODE = re.compile(r"[A-Za-z0-9_@$-]+")

Number = int | float
Scalar = str | int | float | None


@dataclass(frozen=True)
class Table:
    """An aggregate table after disclosure control, as the aggregation endpoint builds it."""

    #: Dimension names, e.g. ["country", "sex", "age_group"]; empty for a single cell.
    dimensions: list[str]
    #: One dict per cell: a code per dimension ("_T" for a margin), the `VALUE_COLUMNS`,
    #: OBS_STATUS and CONF_STATUS.
    cells: list[dict[str, Any]]
    #: Questionnaire, version, stat, variable, unit, reference_period, generated_at, ...
    metadata: dict[str, Any] = field(default_factory=dict)
    #: dimension -> code -> language -> label; "_variable" holds the variable's label.
    labels: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Row:
    """A validated cell: numbers None where withheld or missing, NaN dropped."""

    codes: tuple[str, ...]
    values: dict[str, Number | None]
    obs_status: str
    conf_status: str
    withheld: bool


def to_csv(table: Table, *, lang: str | None = None) -> Iterator[str]:
    """Stream the table as RFC 4180 CSV records (CRLF-terminated), header first.

    Columns: per dimension its code and, when `lang` is given, ``<dimension>_label``;
    then `VALUE_COLUMNS`, OBS_STATUS, CONF_STATUS. Encode the text as UTF-8.
    """
    rows = _validated_rows(table)
    header = _flat_header(table.dimensions, lang)
    records = ([_csv_text(value) for value in _flat_row(table, row, lang)] for row in rows)
    return _csv_records(chain([header], records))


def to_xlsx(table: Table, *, lang: str | None = None) -> bytes:
    """The table as an XLSX workbook: sheet "data" (the CSV columns), sheet "metadata"."""
    rows = _validated_rows(table)
    header = _flat_header(table.dimensions, lang)
    workbook = Workbook(write_only=True)

    data = workbook.create_sheet("data")
    data.freeze_panes = "A2"
    data.append([_xlsx_cell(data, name, bold=True) for name in header])
    for row in rows:
        data.append([_xlsx_cell(data, value) for value in _flat_row(table, row, lang)])

    meta = workbook.create_sheet("metadata")
    for is_header, record in _metadata_records(table, lang or DEFAULT_LANGUAGE, rows):
        meta.append([_xlsx_cell(meta, value, bold=is_header) for value in record])

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_sdmx_csv(table: Table) -> Iterator[str]:
    """Stream the table as SDMX-CSV 2.0 records (see the module notes for the columns)."""
    rows = _validated_rows(table)
    metadata = table.metadata
    stat = metadata.get("stat")
    stat_measure = SDMX_STAT_MEASURES.get(stat) if isinstance(stat, str) else None
    if stat_measure is None:
        raise ValueError(f"no SDMX STAT_MEASURE for statistic {stat!r}")
    unit = metadata.get("unit")
    unit_codes = SDMX_UNITS.get(unit) if isinstance(unit, str) else None
    if unit_codes is None:
        raise ValueError(f"no SDMX dataflow for unit of analysis {unit!r}")
    unit_measure, structure_id = unit_codes
    time_period = _time_period(metadata.get("reference_period"))
    dimension_ids = [_sdmx_dimension_id(name) for name in table.dimensions]
    for row in rows:
        for code in row.codes:
            if not _SDMX_CODE.fullmatch(code):
                raise ValueError(f"code {code!r} is not a valid SDMX code ID")
    header = [
        "STRUCTURE",
        "STRUCTURE_ID",
        "ACTION",
        *dimension_ids,
        "STAT_MEASURE",
        "TIME_PERIOD",
        "OBS_VALUE",
        "OBS_STATUS",
        "CONF_STATUS",
        "UNIT_MEASURE",
        *(column for column, _ in _SDMX_NUMERIC_ATTRIBUTES),
    ]
    _check_unique(header)
    prefix = ["dataflow", structure_id, "I"]
    suffix = [stat_measure, time_period]
    records = (
        [
            *prefix,
            *row.codes,
            *suffix,
            _sdmx_number(row.values["estimate"]),
            row.obs_status,
            row.conf_status,
            unit_measure,
            *(_sdmx_number(row.values[name]) for _, name in _SDMX_NUMERIC_ATTRIBUTES),
        ]
        for row in rows
    )
    return _csv_records(chain([header], records))


def to_json(table: Table) -> dict[str, Any]:
    """The endpoint's JSON body: ``{"cells": [...], "dimensions": [...], **metadata}``.

    Withheld cells keep only their key, None numbers and their flags; non-finite
    numbers become None (JSON has neither NaN nor infinity).
    """
    rows = _validated_rows(table)
    clash = {"cells", "dimensions"} & table.metadata.keys()
    if clash:
        raise ValueError(f"metadata must not use the body keys {sorted(clash)}")
    cells: list[dict[str, Any]] = []
    for source, row in zip(table.cells, rows, strict=True):
        cell: dict[str, Any] = (
            dict(zip(table.dimensions, row.codes, strict=True)) if row.withheld else dict(source)
        )
        for name in VALUE_COLUMNS:
            value = row.values[name]
            cell[name] = value if value is None or math.isfinite(value) else None
        cell["OBS_STATUS"] = row.obs_status
        cell["CONF_STATUS"] = row.conf_status
        cells.append(cell)
    return {"cells": cells, "dimensions": list(table.dimensions), **table.metadata}


# -- validation ------------------------------------------------------------------------


def _validated_rows(table: Table) -> list[_Row]:
    dimensions = table.dimensions
    _check_unique(dimensions)
    rows: list[_Row] = []
    for index, cell in enumerate(table.cells):
        codes: list[str] = []
        for dimension in dimensions:
            code = cell.get(dimension)
            if not isinstance(code, str) or not code:
                raise ValueError(f"cell {index}: no code for dimension {dimension!r}")
            codes.append(code)
        conf_status = cell.get("CONF_STATUS")
        if not isinstance(conf_status, str) or not conf_status:
            raise ValueError(f"cell {index}: no CONF_STATUS (run disclosure control first)")
        obs_status = cell.get("OBS_STATUS")
        if obs_status is not None and not isinstance(obs_status, str):
            raise ValueError(f"cell {index}: OBS_STATUS must be a string, got {obs_status!r}")
        withheld = conf_status != CONF_FREE
        if withheld:
            values: dict[str, Number | None] = dict.fromkeys(VALUE_COLUMNS)
            obs_status = OBS_SUPPRESSED
        else:
            values = {name: _number(cell.get(name), index, name) for name in VALUE_COLUMNS}
        rows.append(_Row(tuple(codes), values, obs_status or "", conf_status, withheld))
    return rows


def _number(value: object, index: int, name: str) -> Number | None:
    """An int or float (numpy scalars included); None for None and NaN."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"cell {index}: {name} must be a number or None, got {value!r}")
    if isinstance(value, Integral):
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number


def _check_unique(names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"column {name!r} would appear twice")
        seen.add(name)


# -- flat layout (CSV and the XLSX data sheet) -----------------------------------------


def _flat_header(dimensions: Sequence[str], lang: str | None) -> list[str]:
    header: list[str] = []
    for dimension in dimensions:
        header.append(dimension)
        if lang is not None:
            header.append(f"{dimension}_label")
    header += [*VALUE_COLUMNS, *STATUS_COLUMNS]
    _check_unique(header)
    return header


def _flat_row(table: Table, row: _Row, lang: str | None) -> list[Scalar]:
    out: list[Scalar] = []
    for dimension, code in zip(table.dimensions, row.codes, strict=True):
        out.append(code)
        if lang is not None:
            out.append(_label(table.labels.get(dimension, {}).get(code), lang, code))
    out += [row.values[name] for name in VALUE_COLUMNS]
    out += [row.obs_status, row.conf_status]
    return out


def _label(translations: Mapping[str, str] | None, lang: str, fallback: str) -> str:
    if translations:
        return translations.get(lang) or translations.get(DEFAULT_LANGUAGE) or fallback
    return fallback


def _csv_text(value: Scalar) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return repr(value) if isinstance(value, float) else str(value)


def _csv_records(records: Iterable[Sequence[str]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for record in records:
        writer.writerow(record)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


# -- XLSX ------------------------------------------------------------------------------


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Scalar, *, bold: bool = False) -> Any:
    """A cell for `value`; text is always text (a leading "=" is no formula)."""
    if isinstance(value, float) and not math.isfinite(value):
        value = repr(value)  # Excel has no infinity
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _metadata_records(
    table: Table, lang: str, rows: Sequence[_Row]
) -> Iterator[tuple[bool, list[Scalar]]]:
    """(is a header, row): key/value rows, then the label of every code of the table."""
    yield True, ["key", "value"]
    for key, value in table.metadata.items():
        yield False, [key, _metadata_value(value)]
    yield False, ["dimensions", ", ".join(table.dimensions)]
    yield False, ["language", lang]
    variable_labels = table.labels.get("_variable", {})
    variable = table.metadata.get("variable")
    translations = variable_labels.get(variable) if isinstance(variable, str) else None
    if translations is None and len(variable_labels) == 1:
        translations = next(iter(variable_labels.values()))
    if translations:
        yield False, ["variable_label", _label(translations, lang, str(variable))]
    yield False, ["flags", FLAGS_NOTE]
    yield False, []
    yield True, ["dimension", "code", "label"]
    for position, dimension in enumerate(table.dimensions):
        codes = dict.fromkeys(row.codes[position] for row in rows)
        translations_by_code = table.labels.get(dimension, {})
        for code in codes:
            yield False, [dimension, code, _label(translations_by_code.get(code), lang, code)]


def _metadata_value(value: object) -> Scalar:
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# -- SDMX ------------------------------------------------------------------------------


def _sdmx_dimension_id(dimension: str) -> str:
    concept = SDMX_DIMENSIONS.get(dimension, dimension.upper())
    if not _SDMX_COMPONENT_ID.fullmatch(concept):
        raise ValueError(f"dimension {dimension!r} gives no valid SDMX ID ({concept!r})")
    if concept in _SDMX_FIXED_COLUMNS:
        raise ValueError(f"dimension {dimension!r} would clash with SDMX column {concept!r}")
    return concept


def _sdmx_number(value: Number | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        return repr(value)
    return str(value)


def _time_period(period: object) -> str:
    if not isinstance(period, Mapping):
        raise ValueError("metadata['reference_period'] must be {'from': date, 'to': date} for SDMX")
    start, end = _date(period.get("from")), _date(period.get("to"))
    if end < start:
        raise ValueError(f"reference period ends before it starts: {start} .. {end}")
    if start.year == end.year:
        return str(start.year)
    return f"{start.isoformat()}/P{(end - start).days + 1}D"


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"reference period dates must be ISO dates, got {value!r}")
