"""Instance ids: the UUID a client chooses for each response, in its canonical form (pure)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from survey_service import error_codes
from survey_service.errors import FieldError, Unprocessable

#: what `normalize_instance_id` takes, as clients send it (the OpenAPI path parameter's pattern)
INSTANCE_ID_PATTERN = "^(uuid:)?[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$"
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalize_instance_id(raw: Any) -> str:
    """A client's instance id as a canonical UUID string ('uuid:' prefix, as OpenRosa has, ok)."""
    if isinstance(raw, str):
        if _CANONICAL_UUID.fullmatch(raw):  # as clients usually send it: already canonical
            return raw
        text = raw.strip().removeprefix("uuid:")
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
    raise Unprocessable(
        error_codes.RESPONSE_INVALID_INSTANCE_ID,
        "instance_id must be a UUID chosen by the client (optionally prefixed 'uuid:').",
        errors=[
            FieldError(
                "instance_id", error_codes.RESPONSE_INVALID_INSTANCE_ID, f"{raw!r} is not a UUID"
            ).as_dict()
        ],
    )
