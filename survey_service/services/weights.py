"""Weight sets: parsing uploaded weight CSVs and storing them as named, versioned sets."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from survey_service.errors import NotFound, Problems, Unprocessable
from survey_service.models import Principal, WeightSet
from survey_service.queries import questionnaires as questionnaire_queries
from survey_service.queries import weights as queries
from survey_service.services.questionnaires import get_questionnaire
from survey_service.services.responses import normalize_instance_id

INVALID_CSV = "weights.invalid_csv"
MISSING_COLUMN = "weights.missing_column"
UNKNOWN_COLUMN = "weights.unknown_column"
DUPLICATE_COLUMN = "weights.duplicate_column"
INVALID_ROW = "weights.invalid_row"
DUPLICATE_INSTANCE = "weights.duplicate_instance"
UNKNOWN_INSTANCE = "weights.unknown_instance"
INVALID_NAME = "weights.invalid_name"

MAX_ROWS = 2_000_000
MAX_PROBLEMS = 100  # listed in a 422; the body says how many there are in all
MAX_CODE_LENGTH = 100  # stratum and psu, as the columns hold them
MAX_MISSING_LISTED = 100
CHUNK = 10_000  # rows per INSERT batch and instance ids per lookup

REQUIRED_COLUMNS = ("instance_id", "weight")
OPTIONAL_COLUMNS = ("stratum", "psu")
_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,63}")
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


@dataclass(frozen=True)
class WeightSetSummary:
    """What an upload stored, and which responses of the questionnaire it leaves unweighted."""

    questionnaire_id: str
    name: str
    version: int
    entries: int
    missing: int
    missing_instance_ids: list[str]
    created_at: datetime


@dataclass(frozen=True)
class WeightSetHistory:
    """A named weight set: the fields of its latest version, and every version oldest first."""

    questionnaire_id: str
    name: str
    version: int
    entries: int
    missing: int
    created_at: datetime
    created_by: int | None
    versions: list[WeightSet]


def _file_error(line: int, message: str) -> Unprocessable:
    problems = Problems(MAX_PROBLEMS)
    problems.add(f"line {line}", INVALID_CSV, message)
    return problems.error(INVALID_CSV, "The CSV file")


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
            INVALID_CSV,
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
            problems.add(f"line {line}", UNKNOWN_COLUMN, f"column {index + 1} has no name")
        elif name not in _COLUMNS:
            problems.add(
                f"line {line}",
                UNKNOWN_COLUMN,
                f"unknown column {cell.strip()!r}: the columns are {', '.join(_COLUMNS)}",
            )
        elif name in columns:
            problems.add(f"line {line}", DUPLICATE_COLUMN, f"the column {name!r} appears twice")
        else:
            columns[name] = index
    for name in REQUIRED_COLUMNS:
        if name not in columns:
            problems.add(f"line {line}", MISSING_COLUMN, f"the column {name!r} is required")
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
        raise _file_error(
            line, f"the file is not UTF-8 text (byte {exc.start + 1}); save it as CSV UTF-8"
        ) from exc
    problems = Problems(MAX_PROBLEMS)
    records = _records(text, _sniff_delimiter(text), problems)
    header = next(records, None)
    if header is None:
        if problems.total:  # the first line is broken
            raise problems.error(INVALID_CSV, "The CSV file")
        raise _file_error(1, "the file is empty: its first line must name the columns")
    header_line, header_cells = header
    columns = _header_columns(header_line, header_cells, problems)
    if problems.total:
        raise problems.error(INVALID_CSV, "The CSV header")

    width = len(header_cells)
    id_at, weight_at = columns["instance_id"], columns["weight"]
    codes_at = [(name, columns[name]) for name in OPTIONAL_COLUMNS if name in columns]
    rows: list[WeightRow] = []
    first_line: dict[str, int] = {}
    count = 0
    for line, cells in records:
        count += 1
        if count > max_rows:
            raise _file_error(line, f"more than {max_rows:,} rows: split the weights")
        if len(cells) != width:
            hint = " (a value holding the separator must be quoted)" if len(cells) > width else ""
            problems.add(
                f"line {line}",
                INVALID_ROW,
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
            problems.add(f"line {line}.instance_id", INVALID_ROW, reason)
        if instance_id:
            earlier = first_line.get(instance_id)
            if earlier is None:
                first_line[instance_id] = line
            else:
                ok = False
                problems.add(
                    f"line {line}.instance_id",
                    DUPLICATE_INSTANCE,
                    f"{instance_id} is already on line {earlier}",
                )
        weight, why = _weight(cells[weight_at].strip())
        if weight is None:
            ok = False
            problems.add(f"line {line}.weight", INVALID_ROW, why)
        codes: dict[str, str] = {}
        for name, index in codes_at:
            value = cells[index].strip()
            why = _code(value, name)
            if why:
                ok = False
                problems.add(f"line {line}.{name}", INVALID_ROW, why)
            codes[name] = value
        if ok and weight is not None:
            rows.append(
                WeightRow(line, instance_id, weight, codes.get("stratum"), codes.get("psu"))
            )
    if problems.total:
        raise problems.error(INVALID_CSV, "The CSV file")
    if count == 0:
        raise _file_error(header_line, "the file has a header but no rows")
    return rows


@dataclass(frozen=True, slots=True)
class _Found:
    id: int
    rejected: bool


def _find_responses(
    session: Session, qid: str, instance_ids: Sequence[str], user: Principal
) -> dict[str, _Found]:
    """The responses of `qid` among `instance_ids` that the user may see, by instance id."""
    found: dict[str, _Found] = {}
    for start in range(0, len(instance_ids), CHUNK):
        chunk = instance_ids[start : start + CHUNK]
        for instance_id, response_id, rejected in queries.responses_among(
            session, qid, chunk, user
        ):
            found[instance_id] = _Found(response_id, rejected)
    return found


def _first_unweighted(
    session: Session, qid: str, weighted: set[int], user: Principal, limit: int
) -> list[str]:
    """Instance ids of the first `limit` responses of `qid` (not rejected, visible to the
    user) outside `weighted`, in arrival order.

    Walked in pages against a set in memory rather than as an anti-join with the new entries:
    those are not analysed yet, and PostgreSQL then picks a nested loop over every pair.
    """
    listed: list[str] = []
    after = 0
    while len(listed) < limit:
        page = queries.unrejected_after(session, qid, user, after, CHUNK)
        if not page:
            break
        listed.extend(
            instance_id for response_id, instance_id in page if response_id not in weighted
        )
        after = page[-1][0]
    return listed[:limit]


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise Unprocessable(
            INVALID_NAME,
            "A weight set's name is 1 to 64 lowercase letters, digits, '_' or '-', "
            "starting with a letter.",
            errors=[
                {
                    "path": "name",
                    "code": INVALID_NAME,
                    "message": f"{name!r} does not match ^[a-z][a-z0-9_-]{{0,63}}$",
                }
            ],
        )


def put_weight_set(
    session: Session, qid: str, name: str, rows: Sequence[WeightRow], user: Principal
) -> WeightSetSummary:
    """Store `rows` as the next version of the weight set `name` of questionnaire `qid`.

    Every instance id must be a response of `qid` the user may see, or nothing is stored
    (422 `weights.unknown_instance` listing the lines). `missing` counts the responses of
    the questionnaire, not rejected, that the set gives no weight; the instance ids listed
    with it are those the user may see.
    """
    _check_name(name)
    # uploads of one questionnaire queue for the next version number; submissions go on
    if not questionnaire_queries.lock_for_key_share(session, qid):
        raise NotFound("questionnaire.not_found", f"No questionnaire {qid!r}.")
    if not rows:
        raise _file_error(1, "the weight set has no rows")

    problems = Problems(MAX_PROBLEMS)
    first_line: dict[str, int] = {}
    for row in rows:
        earlier = first_line.get(row.instance_id)
        if earlier is None:
            first_line[row.instance_id] = row.line
        else:
            problems.add(
                f"line {row.line}.instance_id",
                DUPLICATE_INSTANCE,
                f"{row.instance_id} is already on line {earlier}",
            )
    if problems.total:
        raise problems.error(DUPLICATE_INSTANCE, "The weight set")
    found = _find_responses(session, qid, list(first_line), user)
    for row in rows:
        if row.instance_id not in found:
            problems.add(
                f"line {row.line}.instance_id",
                UNKNOWN_INSTANCE,
                f"{row.instance_id} is not a response of {qid!r} that you may see",
            )
    if problems.total:
        raise problems.error(UNKNOWN_INSTANCE, "The weight set")

    latest = queries.latest_version(session, qid, name)
    weight_set = WeightSet(
        questionnaire_id=qid,
        name=name,
        version=(latest or 0) + 1,
        entries=len(rows),
        missing=0,
        created_by=user.id,
    )
    session.add(weight_set)
    session.flush()
    entries = (
        (weight_set.id, found[row.instance_id].id, row.weight, row.stratum, row.psu) for row in rows
    )
    queries.insert_entries(session, entries, chunk=CHUNK)

    # every entry is a response of the questionnaire: the unweighted ones are the rest
    weighted_counted = sum(1 for response in found.values() if not response.rejected)
    weight_set.missing = max(queries.count_unrejected(session, qid) - weighted_counted, 0)
    weighted = {response.id for response in found.values()}
    missing_ids = _first_unweighted(session, qid, weighted, user, MAX_MISSING_LISTED)
    session.flush()
    return WeightSetSummary(
        questionnaire_id=qid,
        name=name,
        version=weight_set.version,
        entries=weight_set.entries,
        missing=weight_set.missing,
        missing_instance_ids=list(missing_ids),
        created_at=weight_set.created_at,
    )


def list_weight_sets(session: Session, qid: str) -> list[WeightSetHistory]:
    """Every named weight set of a questionnaire, by name, each with all its versions."""
    get_questionnaire(session, qid)
    found = queries.weight_sets_of(session, qid)
    by_name: dict[str, list[WeightSet]] = {}
    for weight_set in found:
        by_name.setdefault(weight_set.name, []).append(weight_set)
    histories = []
    for name, versions in by_name.items():
        latest = versions[-1]
        histories.append(
            WeightSetHistory(
                questionnaire_id=qid,
                name=name,
                version=latest.version,
                entries=latest.entries,
                missing=latest.missing,
                created_at=latest.created_at,
                created_by=latest.created_by,
                versions=versions,
            )
        )
    return histories


def get_weight_set(session: Session, qid: str, name: str, version: int | None = None) -> WeightSet:
    """One version of a weight set (the latest when `version` is None); 404 otherwise."""
    found = queries.weight_set(session, qid, name, version)
    if found is None:
        get_questionnaire(session, qid)
        which = f"version {version} of " if version is not None else ""
        raise NotFound(
            "weights.not_found", f"Questionnaire {qid!r} has no {which}weight set {name!r}."
        )
    return found
