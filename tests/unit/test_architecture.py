"""The code map's import rules (pyproject.toml, `make lint`) hold, and catch a break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(  # noqa: S603  # our own tool on our own tree
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package's sources and contracts, to break."""
    shutil.copytree(
        ROOT / "survey_service",
        tmp_path / "survey_service",
        ignore=shutil.ignore_patterns("*.so", "__pycache__", "*.json"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def test_the_contracts_hold_and_name_each_break(tree: Path) -> None:
    assert lint_imports(tree).returncode == 0
    append(tree / "survey_service" / "expressions" / "values.py", "import flask")
    append(tree / "survey_service" / "validation" / "plan.py", "import sqlalchemy.orm")
    append(tree / "survey_service" / "queries" / "accounts.py", "import survey_service.services")
    broken = lint_imports(tree)
    assert broken.returncode != 0
    assert "survey_service.expressions.values -> flask" in broken.stdout
    assert "survey_service.validation.plan -> sqlalchemy" in broken.stdout
    assert "survey_service.queries.accounts -> survey_service.services" in broken.stdout
