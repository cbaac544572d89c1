"""Compiled modules: found next to their sources, stale when the source changed after."""

from __future__ import annotations

import os
from pathlib import Path

import tests
from survey_service.build import compiled_modules, is_compiled, stale_warnings

SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


def package(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    (root / "validation").mkdir(parents=True)
    for name in ("validation/responses", "validation/messages", "layout"):
        (root / f"{name}.py").write_text('"""A module."""\n')
    (root / f"validation/responses{SUFFIX}").write_bytes(b"")
    (root / f"layout{SUFFIX}").write_bytes(b"")
    (tmp_path / f"pkg__mypyc{SUFFIX}").write_bytes(b"")  # the shared library: no source
    return root


def test_modules_with_a_binary_next_to_their_source(tmp_path: Path) -> None:
    root = package(tmp_path)
    found = compiled_modules(root)
    assert [m.name for m in found] == ["pkg.layout", "pkg.validation.responses"]
    assert found[1].source == root / "validation" / "responses.py"
    assert found[1].binary == root / "validation" / f"responses{SUFFIX}"
    assert not any(m.stale for m in found)
    assert stale_warnings(root) == []


def test_a_source_edited_after_the_build_is_stale(tmp_path: Path) -> None:
    root = package(tmp_path)
    source = root / "validation" / "responses.py"
    built = (root / "validation" / f"responses{SUFFIX}").stat().st_mtime
    os.utime(source, (built + 1, built + 1))  # as an install writes them: not stale
    assert stale_warnings(root) == []
    os.utime(source, (built + 60, built + 60))  # edited a minute later
    assert [m.name for m in compiled_modules(root) if m.stale] == ["pkg.validation.responses"]
    (warning,) = stale_warnings(root)
    assert warning.startswith("pkg/validation/responses.py changed after it was compiled")
    assert "pip install -e ." in warning


def test_an_imported_module_is_compiled_when_its_file_is_a_binary() -> None:
    from survey_service import build, jsonutil
    from survey_service.validation import validator

    assert not is_compiled(jsonutil)  # never compiled
    assert not is_compiled(build)
    # as the suite found the binaries next to the sources, unless told to import the sources
    expected = "survey_service.validation.validator" in tests.COMPILED and not tests.PURE_PYTHON
    assert is_compiled(validator) == expected


def test_the_compiled_list_and_what_a_rebuild_depends_on() -> None:
    from survey_service.build import COMPILED, PACKAGE, build_inputs

    root = PACKAGE.parent
    inputs = build_inputs()
    assert all((root / name).is_file() for name in COMPILED)
    assert {root / name for name in COMPILED} <= set(inputs)
    # the validator relies on the definition's types: editing it rebuilds
    assert PACKAGE / "questionnaire" / "definition.py" in inputs
    # nothing is there for being imported inside a function, or by the package's __init__
    assert PACKAGE / "__init__.py" not in inputs
    assert not any(p.parent.name in ("api", "services", "models") for p in inputs)


def test_a_binary_whose_module_is_gone_is_reported(tmp_path: Path) -> None:
    root = package(tmp_path)
    (root / "validation" / f"expressions{SUFFIX}").write_bytes(b"")  # moved elsewhere since
    (warning,) = stale_warnings(root)
    assert warning.startswith("pkg/validation/expressions")
    assert "a module that is gone" in warning
