"""Build hook: compiles the intake hot path (validation, analysis projection) with mypyc."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

from setuptools import setup

# The list lives in the package (survey_service/build.py), read here without importing the
# package, whose dependencies the build environment lacks. SURVEY_PURE_PYTHON=1 installs
# them as plain Python (no C compiler needed); they behave the same, only slower.
COMPILED: list[str] = list(runpy.run_path("survey_service/build.py")["COMPILED"])

# The project's [tool.mypy] would check the whole package against its dependencies, which
# the isolated build environment lacks: the compilation reads no configuration, follows
# imports only for their types, and keeps its cache apart from the developers' mypy.
MYPY_OPTIONS = [
    "--config-file=",
    "--follow-imports=silent",
    "--ignore-missing-imports",
    "--cache-dir=build/mypyc-cache",
]


def compiled_modules() -> list[object]:
    if os.environ.get("SURVEY_PURE_PYTHON", "") not in ("", "0"):
        # binaries an earlier build left next to the sources would still be imported
        for source in map(Path, COMPILED):
            for binary in source.parent.glob(f"{source.stem}.*.so"):
                binary.unlink()
        for binary in Path().glob("survey_service__mypyc.*.so"):
            binary.unlink()
        return []
    from mypyc.build import mypycify

    # one shared library, survey_service__mypyc, holds the compiled code of all of them
    return list(mypycify([*MYPY_OPTIONS, *COMPILED], opt_level="3", group_name="survey_service"))


setup(ext_modules=compiled_modules())
