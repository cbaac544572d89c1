"""The bounds a workbook is held to before pyxform reads it: archive entries, uncompressed
sizes, compression ratio, rows, columns and cells, measured by streaming (never trusted from
the archive's headers), so that a small upload cannot inflate into gigabytes and minutes.

An .xlsx is a zip of XML parts; openpyxl inflates and parses them whole (`sharedStrings.xml`
fully in memory), so a 0.5 MB file can hold 200 MB of strings or 1 GiB of whitespace. Before
any of that, `check_workbook`:

1. counts the archive's entries (at most `entries`);
2. compares each entry's declared size with `entry_size`, their sum with `total_size`, and
   each entry's declared ratio (uncompressed / compressed) with `ratio` (entries over
   `ratio_from` bytes only: small XML parts compress well and are harmless);
3. inflates every entry in chunks, counting the bytes really produced against the same bounds
   (zipfile stops at the declared size and checks the CRC, so a header that lies is refused
   as unreadable), and feeds the XML parts to expat: a DTD or an entity declaration is
   refused (billion laughs, external entities), and in worksheets the highest row and
   column and the number of cells are held to `rows`, `columns` (per sheet) and `cells` (the
   workbook).

A legacy .xls is not compressed (its size is bounded by the request's), but can still hold
65,536 rows in each of many sheets: xlrd reads each sheet in turn and its rows, columns and
cells are held to the same bounds.

The limits are far above any questionnaire (the reference household survey has 85 survey
rows, 244 choices, 32 columns and about 2,200 cells in 44 KB; a choices sheet of 15,000
villages fits) and low enough that checking a workbook at a limit takes well under a second
and a few MB (the parts are streamed, never held whole).
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from xml.parsers import expat

import xlrd  # type: ignore[import-untyped]  # no type hints
from openpyxl.utils import column_index_from_string

from survey_service import error_codes

__all__ = ["LIMITS", "UnsafeWorkbook", "WorkbookLimits", "WorkbookTooLarge", "check_workbook"]

_MIB: Final = 1024 * 1024
_CHUNK: Final = 64 * 1024
_MAIN_NS: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW: Final = f"{_MAIN_NS} row"
_CELL: Final = f"{_MAIN_NS} c"
_XML_PART: Final = re.compile(r"\.(xml|rels)$", re.IGNORECASE)
_COLUMN: Final = re.compile(r"\$?([A-Za-z]{1,3})")


@dataclass(frozen=True)
class WorkbookLimits:
    """What a workbook may hold; the defaults (`LIMITS`) are documented in the module."""

    entries: int = 200  # files in the .xlsx archive
    entry_size: int = 16 * _MIB  # uncompressed bytes of one file in it
    total_size: int = 32 * _MIB  # uncompressed bytes of all of them
    ratio: int = 100  # uncompressed / compressed bytes of one file ...
    ratio_from: int = 1 * _MIB  # ... once it is larger than this
    rows: int = 20_000  # highest row number of a sheet
    columns: int = 1_000  # highest column number of a sheet
    cells: int = 100_000  # cells written in all sheets together


LIMITS: Final = WorkbookLimits()


class WorkbookTooLarge(ValueError):
    """A workbook over one of the limits: `code` says which, `limit` names the field of
    WorkbookLimits, `maximum` is its value."""

    def __init__(self, code: str, limit: str, maximum: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.limit = limit
        self.maximum = maximum
        self.message = message


class UnsafeWorkbook(ValueError):
    """A workbook refused without reading it: unreadable, or XML with a DTD (`path` is the
    archive part at fault, "" for the whole file)."""

    def __init__(self, path: str, code: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.code = code
        self.message = message


def check_workbook(content: bytes, suffix: str, limits: WorkbookLimits = LIMITS) -> None:
    """Raise WorkbookTooLarge or UnsafeWorkbook unless the workbook keeps within `limits`;
    `suffix` is ".xlsx" or ".xls" (anything else is left to the reader to refuse)."""
    if suffix == ".xlsx":
        _check_xlsx(content, limits)
    elif suffix == ".xls":
        _check_xls(content, limits)


def _too_large(limit: str, limits: WorkbookLimits, what: str) -> WorkbookTooLarge:
    code = {
        "entries": error_codes.XLSFORM_TOO_MANY_ENTRIES,
        "entry_size": error_codes.XLSFORM_TOO_LARGE,
        "total_size": error_codes.XLSFORM_TOO_LARGE,
        "ratio": error_codes.XLSFORM_COMPRESSION_RATIO,
        "rows": error_codes.XLSFORM_TOO_MANY_ROWS,
        "columns": error_codes.XLSFORM_TOO_MANY_COLUMNS,
        "cells": error_codes.XLSFORM_TOO_MANY_CELLS,
    }[limit]
    maximum: int = getattr(limits, limit)
    return WorkbookTooLarge(code, limit, maximum, what)


def _unreadable(suffix: str, exc: BaseException) -> UnsafeWorkbook:
    return UnsafeWorkbook(
        "", error_codes.XLSFORM_UNREADABLE, f"cannot be read as an {suffix} workbook: {exc}"
    )


def _check_xlsx(content: bytes, limits: WorkbookLimits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise _unreadable(".xlsx", exc) from exc
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > limits.entries:
            raise _too_large(
                "entries",
                limits,
                f"the archive holds {len(entries):,} files, more than the "
                f"{limits.entries:,} a workbook may have",
            )
        for info in entries:
            _check_size(info.filename, info.file_size, info.compress_size, limits)
        declared = sum(info.file_size for info in entries)
        if declared > limits.total_size:
            raise _too_large("total_size", limits, _total_message(declared, limits))
        cells = _Cells(limits)
        inflated = 0
        for info in entries:
            inflated += _inflate(archive, info, inflated, cells, limits)


def _check_size(name: str, size: int, compressed: int, limits: WorkbookLimits) -> None:
    if size > limits.entry_size:
        raise _too_large(
            "entry_size",
            limits,
            f"{name} inflates to more than {limits.entry_size:,} bytes, the most one part "
            "of a workbook may have",
        )
    if size > limits.ratio_from and size > limits.ratio * max(compressed, 1):
        raise _too_large(
            "ratio",
            limits,
            f"{name} inflates more than {limits.ratio} times ({compressed:,} bytes to "
            f"{size:,} or more): a workbook's data does not compress that well",
        )


def _total_message(size: int, limits: WorkbookLimits) -> str:
    return (
        f"the workbook inflates to {size:,} bytes or more, over the {limits.total_size:,} "
        "a workbook may have"
    )


def _inflate(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    before: int,
    cells: _Cells,
    limits: WorkbookLimits,
) -> int:
    """The bytes one entry really inflates to, checked as they come (and its XML scanned)."""
    scan = _XML_PART.search(info.filename) is not None
    parser = cells.parser(info.filename) if scan else None
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                _check_size(info.filename, size, info.compress_size, limits)
                if before + size > limits.total_size:
                    raise _too_large("total_size", limits, _total_message(before + size, limits))
                if parser is not None:
                    parser.Parse(chunk, False)
            if parser is not None:
                parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise UnsafeWorkbook(
            info.filename,
            error_codes.XLSFORM_UNREADABLE,
            f"{info.filename} is not well-formed XML: {exc}",
        ) from exc
    # RuntimeError: an encrypted entry; NotImplementedError: a compression zipfile lacks
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as exc:
        raise _unreadable(".xlsx", exc) from exc
    return size


class _Cells:
    """Counts rows, columns and cells of the worksheets as expat reads them; refuses DTDs."""

    def __init__(self, limits: WorkbookLimits) -> None:
        self.limits = limits
        self.cells = 0
        self.part = ""
        self.row = 0
        self.column = 0

    def parser(self, part: str) -> Any:
        parser = expat.ParserCreate(namespace_separator=" ")
        # as defusedxml does: no workbook part has a DTD, and entities are how XML explodes
        # (billion laughs) or reads files (external entities)
        parser.StartDoctypeDeclHandler = self.forbid
        parser.EntityDeclHandler = self.forbid
        parser.UnparsedEntityDeclHandler = self.forbid
        parser.StartElementHandler = self.start
        parser.buffer_text = True
        self.part, self.row, self.column = part, 0, 0
        return parser

    def forbid(self, *_: object) -> None:
        raise UnsafeWorkbook(
            self.part,
            error_codes.XLSFORM_FORBIDDEN_XML,
            f"{self.part} declares a DTD or entities, which no workbook needs: refused",
        )

    def start(self, name: str, attributes: Mapping[str, str]) -> None:
        # called for every element of every part: kept to a few dictionary lookups
        if name == _CELL:
            self.cells += 1
            column = _column_number(attributes.get("r", "").rstrip("0123456789$"))
            self.column = column if column else self.column + 1
        elif name == _ROW:
            number = attributes.get("r", "")
            self.row = int(number) if number.isdigit() else self.row + 1
            self.column = 0
        else:
            return
        limits = self.limits
        if self.row > limits.rows or self.column > limits.columns or self.cells > limits.cells:
            _check_counts(limits, self.part, self.row, self.column, self.cells)


@functools.cache  # at most 18,278 keys: every one to three letters
def _column_number(letters: str) -> int:
    """The column of a cell reference's letters ("AB" -> 28), 0 when they are not one."""
    match = _COLUMN.fullmatch(letters)
    return int(column_index_from_string(match.group(1).upper())) if match else 0


def _check_counts(limits: WorkbookLimits, sheet: str, row: int, column: int, cells: int) -> None:
    """Refuse a sheet reaching row `row` or column `column`, or a workbook of `cells` cells."""
    if row > limits.rows:
        raise _too_large(
            "rows", limits, f"{sheet} reaches row {row:,}: a sheet may have {limits.rows:,} rows"
        )
    if column > limits.columns:
        raise _too_large(
            "columns",
            limits,
            f"{sheet} reaches column {column:,}: a sheet may have {limits.columns:,} columns",
        )
    if cells > limits.cells:
        raise _too_large(
            "cells",
            limits,
            f"the workbook has {cells:,} cells or more: a workbook may have {limits.cells:,} cells",
        )


def _check_xls(content: bytes, limits: WorkbookLimits) -> None:
    try:
        book = xlrd.open_workbook(file_contents=content, on_demand=True)
    except Exception as exc:  # noqa: BLE001  # xlrd raises anything on a corrupt file
        raise _unreadable(".xls", exc) from exc
    try:
        cells = 0
        for index in range(book.nsheets):
            try:
                sheet = book.sheet_by_index(index)
            except Exception as exc:  # noqa: BLE001  # as above
                raise _unreadable(".xls", exc) from exc
            cells += sheet.nrows * sheet.ncols
            _check_counts(limits, f"the sheet {sheet.name!r}", sheet.nrows, sheet.ncols, cells)
            book.unload_sheet(index)
    finally:
        book.release_resources()
