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
from types import ModuleType

from survey_service.build import compiled_modules, stale_warnings

COMPILED = {module.name: module.source for module in compiled_modules()}
PURE_PYTHON = os.environ.get("SURVEY_TEST_PURE_PYTHON", "") not in ("", "0")


class _Sources(importlib.abc.MetaPathFinder):
    """Imports the compiled modules from their Python sources."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        source = COMPILED.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(fullname, source)


if PURE_PYTHON:
    sys.meta_path.insert(0, _Sources())
elif stale := stale_warnings():
    sys.exit("\n".join(stale))
BUILD = (
    "pure Python" if PURE_PYTHON or not COMPILED else f"compiled by mypyc: {', '.join(COMPILED)}"
)
