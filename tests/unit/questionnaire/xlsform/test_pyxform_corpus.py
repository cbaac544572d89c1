"""pyxform's own example workbooks through the reader: a definition or a refusal at a cell."""

from __future__ import annotations

import os
import subprocess
import warnings
from functools import cache
from pathlib import Path, PurePath

import pytest
from pyxform.xls2xform import convert  # type: ignore[import-untyped]

from survey_service.questionnaire.xlsform.reader import (
    WorkbookTooLarge,
    XLSFormError,
    definition_from_xlsform,
)

REPO = Path(os.environ.get("PYXFORM_REPO", "/work/.mirror/XLSForm+pyxform/repo"))
FOLDERS = ("tests/example_xls", "tests/bug_example_xls")
SUFFIXES = (".xls", ".xlsx", ".xlsm")

# The codes a refusal of a real workbook may carry: features the service cannot honour
# (docs/questionnaire-format.md, "What an XLSForm import refuses"), or a broken workbook.
REFUSAL_CODES = frozenset(
    {
        "xlsform.unsupported_type",
        "xlsform.unsupported_sheet",
        "xlsform.unsupported_function",
        "xlsform.encrypted",
        "xlsform.invalid_value",
        "xlsform.structure",
        "xlsform.missing_type",
        "xlsform.missing_column",
        "xlsform.rejected",
        "xlsform.unreadable",
        "xlsform.too_many_rows",
        "xlsform.too_many_columns",
        "xlsform.too_many_cells",
        "xlsform.duplicate_name",
        "definition.unknown_reference",
        "definition.expression_syntax",
        "definition.duplicate_name",
        "definition.calculation_cycle",
    }
)


def _git(*args: str) -> bytes:
    return subprocess.run(  # noqa: S603  # fixed git arguments on a local copy
        ["git", "-C", str(REPO), *args],  # noqa: S607
        check=True,
        capture_output=True,
    ).stdout


@cache
def _workbooks() -> tuple[str, ...]:
    if not REPO.exists():
        return ()
    found = []
    for folder in FOLDERS:
        names = _git("ls-tree", "--name-only", f"HEAD:{folder}").decode().split()
        found += [f"{folder}/{n}" for n in names if PurePath(n).suffix.lower() in SUFFIXES]
    return tuple(sorted(found))


def _content(path: str) -> bytes:
    return _git("show", f"HEAD:{path}")


def _pyxform_converts(content: bytes, suffix: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            convert(xlsform=content, file_type=suffix, warnings=[])
        except Exception:  # noqa: BLE001  # any refusal by pyxform counts as not converted
            return False
    return True


def _import(content: bytes, name: str) -> tuple[bool, list[dict[str, str]]]:
    try:
        with warnings.catch_warnings():  # openpyxl on Excel extensions it drops
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            definition_from_xlsform(content, PurePath(name).name)
    except XLSFormError as exc:
        return False, exc.problems
    except WorkbookTooLarge as exc:  # a documented refusal (413): over the workbook limits
        return False, [{"path": "workbook", "code": exc.code, "message": exc.message}]
    return True, []


pytestmark = pytest.mark.skipif(not _workbooks(), reason=f"no pyxform repository at {REPO}")


# Workbooks pyxform converts that the reader still refuses for a reason outside the list:
# the work left (docs/questionnaire-format.md).
KNOWN_GAPS = {
    "tests/example_xls/repeat_date_test.xls": "a repeat without a name",
}


@pytest.mark.parametrize("path", _workbooks() or ["none"])
def test_a_workbook_imports_or_is_refused_at_a_cell_for_a_listed_reason(path: str) -> None:
    content = _content(path)
    imported, problems = _import(content, path)
    if imported:
        return
    assert problems
    if not _pyxform_converts(content, PurePath(path).suffix.lower()):
        return  # pyxform refuses it too: any refusal will do
    if path in KNOWN_GAPS:
        pytest.xfail(KNOWN_GAPS[path])
    for problem in problems:
        assert problem["path"], problem
    # a refusal gives at least one listed reason; others may follow from it (a question
    # refused leaves a group empty, an unreadable expression a reference unresolved)
    assert REFUSAL_CODES & {p["code"] for p in problems}, problems


def test_the_corpus_figures(capsys: pytest.CaptureFixture[str]) -> None:
    imported = converted = 0
    for path in _workbooks():
        content = _content(path)
        converted += _pyxform_converts(content, PurePath(path).suffix.lower())
        imported += _import(content, path)[0]
    with capsys.disabled():
        print(f"\npyxform corpus: {imported} imported, {converted} converted by pyxform")
    assert imported > 0
