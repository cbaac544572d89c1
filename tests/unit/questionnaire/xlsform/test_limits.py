"""A workbook is measured against its limits by streaming, before anything parses it."""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest
import xlwt  # type: ignore[import-untyped]  # no type hints

from survey_service.questionnaire.xlsform.limits import (
    LIMITS,
    UnsafeWorkbook,
    WorkbookLimits,
    WorkbookTooLarge,
    check_workbook,
)
from survey_service.questionnaire.xlsform.writer import xlsform_from_definition
from tests.helpers import (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    MIB,
    REFERENCE,
    lying_sizes,
    many_entries_xlsx,
    rows_bomb,
    shared_strings_bomb,
    small_xlsform,
    whitespace_sheet_bomb,
    xlsx_with_doctype,
)


def refusal(content: bytes, suffix: str = ".xlsx", **limits: int) -> WorkbookTooLarge:
    with pytest.raises(WorkbookTooLarge) as caught:
        check_workbook(content, suffix, WorkbookLimits(**limits))
    return caught.value


def test_the_reference_questionnaire_keeps_well_within_the_limits() -> None:
    content = xlsform_from_definition(json.loads(REFERENCE.read_text(encoding="utf-8")))
    check_workbook(content, ".xlsx")
    tight = WorkbookLimits(entries=20, entry_size=MIB, total_size=MIB, rows=300, cells=5_000)
    check_workbook(content, ".xlsx", tight)


@pytest.mark.parametrize(
    ("content", "limits", "limit", "code"),
    [
        (lambda: many_entries_xlsx(11), {"entries": 20}, "entries", "xlsform.too_many_entries"),
        (lambda: shared_strings_bomb(2 * MIB), {}, "ratio", "xlsform.compression_ratio"),
        (
            lambda: shared_strings_bomb(2 * MIB),
            {"entry_size": MIB},
            "entry_size",
            "xlsform.too_large",
        ),
        (lambda: rows_bomb(2_000), {"total_size": 50_000}, "total_size", "xlsform.too_large"),
        (lambda: rows_bomb(101), {"rows": 100}, "rows", "xlsform.too_many_rows"),
        (lambda: rows_bomb(1, columns=11), {"columns": 10}, "columns", "xlsform.too_many_cells"),
        (lambda: rows_bomb(50, columns=5), {"cells": 200}, "cells", "xlsform.too_many_cells"),
    ],
    ids=["entries", "ratio", "entry size", "total size", "rows", "columns", "cells"],
)
def test_each_limit_is_named_by_its_refusal(
    content: object, limits: dict[str, int], limit: str, code: str
) -> None:
    assert callable(content)
    error = refusal(content(), **limits)
    assert error.limit == limit
    assert error.maximum == getattr(WorkbookLimits(**limits), limit)
    if limit != "columns":
        assert error.code == code
    else:
        assert error.code == "xlsform.too_many_columns"


def test_a_size_the_header_hides_is_found_by_inflating() -> None:
    honest = whitespace_sheet_bomb(4 * MIB)
    liar = lying_sizes(honest, "xl/worksheets/sheet1.xml", 1_000)
    assert refusal(honest, ratio=10_000, entry_size=2 * MIB).limit == "entry_size"
    # zipfile inflates no more than the header declares, then finds the CRC wrong
    with pytest.raises(UnsafeWorkbook) as caught:
        check_workbook(liar, ".xlsx", WorkbookLimits(ratio=10_000, entry_size=2 * MIB))
    assert caught.value.code == "xlsform.unreadable"


@pytest.mark.parametrize("doctype", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_xml_with_a_dtd_is_refused(doctype: str) -> None:
    with pytest.raises(UnsafeWorkbook) as caught:
        check_workbook(xlsx_with_doctype(doctype), ".xlsx")
    assert caught.value.code == "xlsform.forbidden_xml"
    assert caught.value.path == "xl/worksheets/sheet1.xml"


def test_inflating_a_part_holds_a_few_mb_at_most() -> None:
    content = shared_strings_bomb(12 * MIB)  # within these limits: inflated and scanned whole
    limits = WorkbookLimits(ratio=10_000)
    tracemalloc.start()
    try:
        check_workbook(content, ".xlsx", limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MIB


def test_a_legacy_xls_is_held_to_the_rows_columns_and_cells() -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("survey")
    for row in range(30):
        for column in range(4):
            sheet.write(row, column, f"r{row}c{column}")
    out = io.BytesIO()
    book.save(out)
    content = out.getvalue()
    check_workbook(content, ".xls")
    assert refusal(content, ".xls", rows=20).limit == "rows"
    assert refusal(content, ".xls", columns=3).limit == "columns"
    assert refusal(content, ".xls", cells=100).limit == "cells"


def test_an_unreadable_archive_is_refused_as_such() -> None:
    with pytest.raises(UnsafeWorkbook) as caught:
        check_workbook(small_xlsform()[:-30], ".xlsx")
    assert caught.value.code == "xlsform.unreadable"
    assert LIMITS.rows == 20_000
