"""Which modules of the package run compiled by mypyc (setup.py), and which binaries are stale.

`COMPILED` is the one list of them: setup.py compiles it, and `python survey_service/build.py`
prints it for the Makefile with the package modules whose types it relies on (a change to
any of those rebuilds). This module imports nothing of the package, so that both can run it
before the package's dependencies are installed.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PACKAGE = Path(__file__).resolve().parent

# Pure Python modules (no Flask, no SQLAlchemy) that every household goes through; compiled
# they validate and project about 1.7 times as fast. Paths are relative to the project root.
COMPILED = (
    "survey_service/expressions/values.py",
    "survey_service/expressions/regex.py",
    "survey_service/expressions/functions.py",
    "survey_service/expressions/syntax.py",
    "survey_service/expressions/evaluator.py",
    "survey_service/validation/answers.py",
    "survey_service/validation/plan.py",
    "survey_service/validation/results.py",
    "survey_service/validation/scope.py",
    "survey_service/validation/validator.py",
    "survey_service/analysis/layout.py",
)
# an install writes a module's source and its binary within moments of each other; a source
# edited after its build is newer by far more
_SLACK_SECONDS = 2.0


@dataclass(frozen=True)
class CompiledModule:
    """A module built next to its Python source (`validation/validator.py` and
    `validation/validator.cpython-311-x86_64-linux-gnu.so`, say)."""

    name: str
    source: Path
    binary: Path

    @property
    def stale(self) -> bool:
        """Whether the source changed after the build: Python would import the old binary."""
        return self.source.stat().st_mtime > self.binary.stat().st_mtime + _SLACK_SECONDS


def is_compiled(module: ModuleType) -> bool:
    """Whether an imported module runs compiled (its file is a binary, not Python source)."""
    return not str(module.__file__).endswith(".py")


def source_of(binary: Path) -> Path:
    """The Python source a binary was built from (`plan.cpython-311-….so` → `plan.py`)."""
    return binary.with_name(binary.name.split(".", 1)[0] + ".py")


def compiled_modules(package: Path = PACKAGE) -> list[CompiledModule]:
    """The modules of `package` that have a binary next to their source, by name."""
    found = []
    for binary in sorted(package.rglob("*.so")):
        source = source_of(binary)
        if source.is_file():
            name = ".".join(source.relative_to(package.parent).with_suffix("").parts)
            found.append(CompiledModule(name, source, binary))
    return found


_REBUILD = "rebuild with `make run`, `make test` or `pip install -e .`"


def stale_warnings(package: Path = PACKAGE) -> list[str]:
    """A line for each binary older than its source, or left with no source (the module was
    moved or removed since the build), saying how to rebuild."""
    stale = [
        f"{module.source.relative_to(package.parent)} changed after it was compiled, so "
        f"the old build runs: {_REBUILD}"
        for module in compiled_modules(package)
        if module.stale
    ]
    orphans = [
        f"{binary.relative_to(package.parent)} was built from a module that is gone: {_REBUILD}"
        for binary in sorted(package.rglob("*.so"))
        if not source_of(binary).is_file()
    ]
    return stale + orphans


def _imported_modules(source: Path, package: Path) -> set[Path]:
    """The package's own modules that `source` imports at its top level."""
    found = set()
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        parts = node.module.split(".")
        if parts[0] != package.name:
            continue
        base = package.parent.joinpath(*parts)
        for alias in node.names:
            submodule = base / f"{alias.name}.py"
            if submodule.is_file():  # `from package import module`
                found.add(submodule)
            elif base.with_suffix(".py").is_file():
                found.add(base.with_suffix(".py"))
            elif (base / "__init__.py").is_file():
                found.add(base / "__init__.py")
    return found


def build_inputs(package: Path = PACKAGE) -> list[Path]:
    """The compiled modules and every package module they import, directly or not: the
    sources a rebuild depends on."""
    root = package.parent
    pending = [root / name for name in COMPILED]
    seen: set[Path] = set()
    while pending:
        source = pending.pop()
        if source not in seen:
            seen.add(source)
            pending.extend(_imported_modules(source, package))
    return sorted(seen)


if __name__ == "__main__":
    sys.stdout.write(" ".join(str(p.relative_to(PACKAGE.parent)) for p in build_inputs()) + "\n")
