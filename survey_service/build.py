"""Which modules of the package run compiled by mypyc (setup.py), and which binaries are stale."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PACKAGE = Path(__file__).resolve().parent
# an install writes a module's source and its binary within moments of each other; a source
# edited after its build is newer by far more
_SLACK_SECONDS = 2.0


@dataclass(frozen=True)
class CompiledModule:
    """A module built next to its Python source (`validation/responses.py` and
    `validation/responses.cpython-311-x86_64-linux-gnu.so`, say)."""

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


def compiled_modules(package: Path = PACKAGE) -> list[CompiledModule]:
    """The modules of `package` that have a binary next to their source, by name."""
    found = []
    for binary in sorted(package.rglob("*.so")):
        source = binary.with_name(binary.name.split(".", 1)[0] + ".py")
        if source.is_file():
            name = ".".join(source.relative_to(package.parent).with_suffix("").parts)
            found.append(CompiledModule(name, source, binary))
    return found


def stale_warnings(package: Path = PACKAGE) -> list[str]:
    """A line for each binary older than its source, saying how to rebuild it."""
    return [
        f"{module.source.relative_to(package.parent)} changed after it was compiled, so "
        f"the old build runs: rebuild it with `make run`, `make test` or `pip install -e .`"
        for module in compiled_modules(package)
        if module.stale
    ]
