"""Build hook: compiles the intake hot path (validation, analysis projection) with mypyc."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

from setuptools import setup

# The list lives in the package (survey_service/build.py), read here without importing the
# package, whose dependencies the build environment lacks. SURVEY_PURE_PYTHON=1 installs
# them as plain Python (no C compiler needed); they behave the same, only slower.
BUILD = runpy.run_path("survey_service/build.py")
COMPILED: list[str] = list(BUILD["COMPILED"])

# The project's [tool.mypy] would check the whole package against its dependencies, which
# the isolated build environment lacks: the compilation reads no configuration, follows
# imports only for their types, and keeps its cache apart from the developers' mypy.
MYPY_OPTIONS = [
    "--config-file=",
    "--follow-imports=silent",
    "--ignore-missing-imports",
    "--cache-dir=build/mypyc-cache",
]


def remove_binaries(keep: list[str]) -> None:
    """Delete the binaries an earlier build left next to the package's modules, except those
    of `keep`: Python would import them before the sources (a module moved or renamed since,
    or one no longer compiled, would otherwise run its old code)."""
    kept = {Path(source) for source in keep}
    for binary in Path("survey_service").rglob("*.so"):
        if BUILD["source_of"](binary) not in kept:
            binary.unlink()
    if not keep:
        for binary in Path().glob("survey_service__mypyc.*.so"):
            binary.unlink()


def compiled_modules() -> list[object]:
    if os.environ.get("SURVEY_PURE_PYTHON", "") not in ("", "0"):
        remove_binaries(keep=[])
        return []
    remove_binaries(keep=COMPILED)
    from mypyc.build import mypycify

    # one shared library, survey_service__mypyc, holds the compiled code of all of them
    return list(mypycify([*MYPY_OPTIONS, *COMPILED], opt_level="3", group_name="survey_service"))


setup(ext_modules=compiled_modules())
