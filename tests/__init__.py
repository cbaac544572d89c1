"""The test suite; first settles which build of the compiled modules it tests.

setup.py compiles the validator and the projection with mypyc, next to their Python sources,
and the suite tests those binaries, as the service runs them. A binary older than its source
would test stale code: the run stops and asks for a rebuild. With SURVEY_TEST_PURE_PYTHON=1
the Python sources are imported instead, as a SURVEY_PURE_PYTHON=1 install runs them.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

_PACKAGE = Path(__file__).resolve().parent.parent / "survey_service"


def _compiled() -> dict[str, Path]:
    """Modules of the package built by mypyc in this checkout, with their Python sources."""
    found = {}
    for binary in sorted(_PACKAGE.rglob("*.so")):
        source = binary.with_name(binary.name.split(".", 1)[0] + ".py")
        if source.is_file():
            found[".".join(source.relative_to(_PACKAGE.parent).with_suffix("").parts)] = source
    return found


def _refuse_stale(compiled: dict[str, Path]) -> None:
    """Stop the run when a binary is older than its source: it would test stale code."""
    for source in compiled.values():
        for binary in source.parent.glob(source.stem + ".*.so"):
            if binary.stat().st_mtime < source.stat().st_mtime:
                sys.exit(
                    f"{binary.name} is older than {source.name}: rebuild it with `make test` "
                    "(or `.venv/bin/pip install -e .`) before testing"
                )


class _Sources(importlib.abc.MetaPathFinder):
    """Imports the compiled modules from their Python sources."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = COMPILED.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(fullname, source)


COMPILED = _compiled()
PURE_PYTHON = os.environ.get("SURVEY_TEST_PURE_PYTHON", "") not in ("", "0")
if PURE_PYTHON:
    sys.meta_path.insert(0, _Sources())
else:
    _refuse_stale(COMPILED)
BUILD = (
    "pure Python" if PURE_PYTHON or not COMPILED else f"compiled by mypyc: {', '.join(COMPILED)}"
)
