"""The error codes: each defined once in the catalogue, named after itself, and used."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from survey_service import error_codes

PACKAGE = Path(error_codes.__file__).resolve().parent
CATALOGUE = {
    name: value
    for name, value in vars(error_codes).items()
    if name.isupper() and isinstance(value, str)
}
CODE = re.compile(r"[a-z]+\.[a-z_]+")


def package_sources() -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "error_codes.py"
    }


def test_every_code_is_named_after_itself_and_unique() -> None:
    assert len(CATALOGUE) > 100
    for name, code in CATALOGUE.items():
        assert CODE.fullmatch(code), code
        assert name == code.replace(".", "_").upper()
    assert len(set(CATALOGUE.values())) == len(CATALOGUE)


def test_no_code_is_written_out_elsewhere_in_the_package() -> None:
    codes = set(CATALOGUE.values())
    written = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.value!r}"
        for path, source in package_sources().items()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and node.value in codes
    ]
    assert written == []


def test_every_code_of_the_catalogue_is_used() -> None:
    sources = "\n".join(package_sources().values())
    unused = [name for name in CATALOGUE if f"error_codes.{name}" not in sources]
    assert unused == []
