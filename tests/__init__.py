"""The test suite; first settles which build of the compiled modules it tests.

setup.py compiles the modules of `survey_service.build.COMPILED` with mypyc, next to their
Python sources, and the suite tests those binaries, as the service runs them. When a source
was edited after its build, the suite imports the Python sources of them all instead (the
binaries share one library, so they are replaced together) and says so in its header: a
developer's edit is tested at once, with no rebuild step. `make test` sets
SURVEY_TEST_REQUIRE_COMPILED=1, which refuses stale or missing binaries rather than fall back,
so that CI tests the compiled build. SURVEY_TEST_PURE_PYTHON=1 imports the sources on purpose.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from survey_service.build import compiled_modules, stale_warnings


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


COMPILED = {module.name: module.source for module in compiled_modules()}
STALE = stale_warnings()
if _flag("SURVEY_TEST_REQUIRE_COMPILED") and not _flag("SURVEY_TEST_PURE_PYTHON"):
    if not COMPILED:
        sys.exit("SURVEY_TEST_REQUIRE_COMPILED=1, but no compiled module was found")
    if STALE:
        sys.exit("\n".join(STALE))
PURE_PYTHON = _flag("SURVEY_TEST_PURE_PYTHON") or bool(STALE)


class _Sources(importlib.abc.MetaPathFinder):
    """Imports the compiled modules from their Python sources."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = COMPILED.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(fullname, source)


if PURE_PYTHON:
    sys.meta_path.insert(0, _Sources())
if not COMPILED or PURE_PYTHON:
    BUILD = "pure Python"
    if STALE and not _flag("SURVEY_TEST_PURE_PYTHON"):
        BUILD += " (the compiled build is older than its sources; `make` rebuilds it)"
else:
    BUILD = f"compiled by mypyc: {', '.join(COMPILED)}"
