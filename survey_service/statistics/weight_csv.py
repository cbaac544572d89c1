"""Weight CSVs as uploaded: read leniently in form, strictly in content, into weight rows (pure)."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from survey_service import error_codes
from survey_service.errors import Problems, Unprocessable
from survey_service.instance_ids import normalize_instance_id

MAX_ROWS = 2_000_000
MAX_PROBLEMS = 100  # listed in a 422; the body says how many there are in all
MAX_CODE_LENGTH = 100  # stratum and psu, as the columns hold them

REQUIRED_COLUMNS = ("instance_id", "weight")
OPTIONAL_COLUMNS = ("stratum", "psu")
_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# what float() accepts, less "inf", "nan", "1_000" and the like
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@dataclass(frozen=True, slots=True)
class WeightRow:
    """One data row of a weight CSV: `line` is where it starts in the file (the header is 1)."""

    line: int
    instance_id: str
    weight: float
    stratum: str | None = None
    psu: str | None = None


def file_error(line: int, message: str) -> Unprocessable:
    """The 422 `weights.invalid_csv` for one problem of the whole file, at `line`."""
    problems = Problems(MAX_PROBLEMS)
    problems.add(f"line {line}", error_codes.WEIGHTS_INVALID_CSV, message)
    return problems.error(error_codes.WEIGHTS_INVALID_CSV, "The CSV file")


def _records(text: str, delimiter: str, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with content, and the line it starts on; unreadable CSV ends it."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        # the reader cannot resynchronise after broken quoting: report where, then stop
        problems.add(
            f"line {max(reader.line_num, start)}",
            error_codes.WEIGHTS_INVALID_CSV,
            f"not readable CSV ({exc}); reading stopped here",
        )


def _sniff_delimiter(text: str) -> str:
    """';' when the header line has more semicolons than commas, else ','."""
    header = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    return ";" if header.count(";") > header.count(",") else ","


def _header_columns(line: int, cells: list[str], problems: Problems) -> dict[str, int]:
    """The position of each known column; problems for unknown, repeated or missing ones."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = cell.strip().lower()
        if not name:
            problems.add(
                f"line {line}",
                error_codes.WEIGHTS_UNKNOWN_COLUMN,
                f"column {index + 1} has no name",
            )
        elif name not in _COLUMNS:
            problems.add(
                f"line {line}",
                error_codes.WEIGHTS_UNKNOWN_COLUMN,
                f"unknown column {cell.strip()!r}: the columns are {', '.join(_COLUMNS)}",
            )
        elif name in columns:
            problems.add(
                f"line {line}",
                error_codes.WEIGHTS_DUPLICATE_COLUMN,
                f"the column {name!r} appears twice",
            )
        else:
            columns[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            problems.add(
                f"line {line}",
                error_codes.WEIGHTS_MISSING_COLUMN,
                f"the column {name!r} is required",
            )
    return columns


def _weight(value: str) -> tuple[float | None, str]:
    """The weight in a cell, or None and why it is not one."""
    if not value:
        return None, "empty: every row needs a weight"
    if not _NUMBER.fullmatch(value):
        if "," in value:
            return None, (
                f"{value!r} is not a number: use a decimal point (1.25), "
                "not a decimal comma, and no thousands separators"
            )
        return None, f"{value!r} is not a number"
    weight = float(value)
    if not math.isfinite(weight):
        return None, f"{value!r} is too large"
    if weight <= 0:
        return None, f"{value!r} is not greater than 0"
    return weight, ""


def _code(value: str, column: str) -> str:
    """Why a stratum or PSU cell is not acceptable ('' when it is)."""
    if not value:
        return f"empty: the file has a {column} column, so every row needs one"
    if len(value) > MAX_CODE_LENGTH:
        return f"{len(value)} characters: at most {MAX_CODE_LENGTH}"
    if "\x00" in value:  # SQLite would store it, PostgreSQL cannot: refused on both
        return "holds U+0000, which cannot be stored"
    return ""


def parse_weights_csv(data: bytes, *, max_rows: int = MAX_ROWS) -> list[WeightRow]:
    """The rows of a weight CSV; Unprocessable `weights.invalid_csv` listing every problem.

    The header names the columns `instance_id` and `weight`, and optionally `stratum` and
    `psu`, in any order and any case; the file is UTF-8 (a BOM is fine), separated by commas
    or semicolons (as the header line shows). Blank lines are skipped.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise file_error(
            line, f"the file is not UTF-8 text (byte {exc.start + 1}); save it as CSV UTF-8"
        ) from exc
    problems = Problems(MAX_PROBLEMS)
    records = _records(text, _sniff_delimiter(text), problems)
    header = next(records, None)
    if header is None:
        if problems.total:  # the first line is broken
            raise problems.error(error_codes.WEIGHTS_INVALID_CSV, "The CSV file")
        raise file_error(1, "the file is empty: its first line must name the columns")
    header_line, header_cells = header
    columns = _header_columns(header_line, header_cells, problems)
    if problems.total:
        raise problems.error(error_codes.WEIGHTS_INVALID_CSV, "The CSV header")

    width = len(header_cells)
    id_at, weight_at = columns["instance_id"], columns["weight"]
    codes_at = [(name, columns[name]) for name in OPTIONAL_COLUMNS if name in columns]
    rows: list[WeightRow] = []
    first_line: dict[str, int] = {}
    count = 0
    for line, cells in records:
        count += 1
        if count > max_rows:
            raise file_error(line, f"more than {max_rows:,} rows: split the weights")
        if len(cells) != width:
            hint = " (a value holding the separator must be quoted)" if len(cells) > width else ""
            problems.add(
                f"line {line}",
                error_codes.WEIGHTS_INVALID_ROW,
                f"{len(cells)} value(s), but the header names {width} column(s){hint}",
            )
            continue
        ok = True
        raw_id = cells[id_at].strip()
        instance_id = ""
        try:
            instance_id = normalize_instance_id(raw_id)
        except Unprocessable:
            ok = False
            reason = "empty: every row needs one" if not raw_id else f"{raw_id!r} is not a UUID"
            problems.add(f"line {line}.instance_id", error_codes.WEIGHTS_INVALID_ROW, reason)
        if instance_id:
            earlier = first_line.get(instance_id)
            if earlier is None:
                first_line[instance_id] = line
            else:
                ok = False
                problems.add(
                    f"line {line}.instance_id",
                    error_codes.WEIGHTS_DUPLICATE_INSTANCE,
                    f"{instance_id} is already on line {earlier}",
                )
        weight, why = _weight(cells[weight_at].strip())
        if weight is None:
            ok = False
            problems.add(f"line {line}.weight", error_codes.WEIGHTS_INVALID_ROW, why)
        codes: dict[str, str] = {}
        for name, index in codes_at:
            value = cells[index].strip()
            why = _code(value, name)
            if why:
                ok = False
                problems.add(f"line {line}.{name}", error_codes.WEIGHTS_INVALID_ROW, why)
            codes[name] = value
        if ok and weight is not None:
            rows.append(
                WeightRow(line, instance_id, weight, codes.get("stratum"), codes.get("psu"))
            )
    if problems.total:
        raise problems.error(error_codes.WEIGHTS_INVALID_CSV, "The CSV file")
    if count == 0:
        raise file_error(header_line, "the file has a header but no rows")
    return rows
