"""XForms (ODK/OpenRosa) for data-collection clients, built by pyxform from a questionnaire."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from typing import Any, Final

from pyxform.errors import PyXFormError  # type: ignore[import-untyped]  # pyxform has no hints
from pyxform.xls2xform import convert  # type: ignore[import-untyped]

from survey_service import error_codes
from survey_service.errors import FieldError
from survey_service.jsonutil import dumps_document
from survey_service.questionnaire.xlsform.writer import pyxform_workbook

__all__ = [
    "XFORM_MEDIA_TYPE",
    "XFormError",
    "xform_from_definition",
    "xform_hash",
    "xform_problems",
]

XFORM_MEDIA_TYPE: Final = "text/xml; charset=utf-8"

_ROW_IN_MESSAGE: Final = re.compile(r"\[row : (\d+)\]")

logger = logging.getLogger(__name__)


class XFormError(ValueError):
    """pyxform refused to build the XForm; `path` is the JSON path of the question at fault."""

    def __init__(self, message: str, path: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def xform_from_definition(definition: Mapping[str, Any], *, version: int) -> str:
    """The XForm XML of a checked definition, as clients download it.

    The form's `id` is the questionnaire id, `version` is str(version), the main instance's
    root element is named after the id, and `meta/instanceID` is there (pyxform adds it).
    pyxform's warnings are logged; raises XFormError when pyxform refuses the form.
    """
    workbook = pyxform_workbook(definition, version=version)
    warnings: list[str] = []
    try:
        result = convert(
            xlsform=workbook.data,
            warnings=warnings,
            form_name=str(definition["id"]),
            pretty_print=False,
        )
    except PyXFormError as exc:
        message = str(exc)
        match = _ROW_IN_MESSAGE.search(message)
        path = workbook.path_of_row(int(match.group(1))) if match else None
        message = _ROW_IN_MESSAGE.sub("", message).strip()
        raise XFormError(f"pyxform cannot build the XForm: {message}", path) from exc
    for warning in warnings:
        logger.info("pyxform warning for %s v%d: %s", definition["id"], version, warning)
    return str(result.xform)


def xform_problems(definition: Mapping[str, Any]) -> list[FieldError]:
    """Why pyxform cannot build the XForm of a checked definition (nothing when it can).

    pyxform has rules of its own (a question's `parameters`, for one) that the definition
    checks do not repeat, and clients download the XForm: a spreadsheet or a draft that
    does not build is refused. The path is the question pyxform names, or "" for the form.
    A build takes a tenth of a second or more, and an uploaded spreadsheet is checked by the
    reader and again as the definition it stores: the verdicts are remembered by content.
    """
    return list(_build_verdict(dumps_document(definition)))


@functools.lru_cache(maxsize=32)
def _build_verdict(document: str) -> tuple[FieldError, ...]:
    """The verdict of one definition, keyed by its JSON text (keys in their own order, which
    the XForm follows)."""
    try:
        xform_from_definition(json.loads(document), version=1)
    except XFormError as exc:
        return (FieldError(exc.path or "", error_codes.XLSFORM_REJECTED, exc.message),)
    return ()


def xform_hash(xml: str) -> str:
    """The OpenRosa formList hash of an XForm: `md5:` and the MD5 of its UTF-8 bytes."""
    digest = hashlib.md5(xml.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"md5:{digest}"
