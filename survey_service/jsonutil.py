"""JSON output through orjson: response bodies, stored documents and content hashes."""

# orjson neither reads nor writes integers beyond 64 bits exactly: request bodies that may
# hold one are read with json.loads (api/body.py), and documents holding one are written by
# the standard library (`_encode`).

from __future__ import annotations

import datetime
import enum
import hashlib
import json
import uuid
from typing import Any

import orjson

__all__ = ["content_digest", "dumps", "dumps_document", "dumps_text"]

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _encode(obj: Any, option: int) -> bytes:
    try:
        return orjson.dumps(obj, option=option)
    except orjson.JSONEncodeError:
        # orjson refuses integers beyond 64 bits (a decimal answer, a calculation, meta):
        # the standard library writes them exactly, in the same compact form
        text = json.dumps(
            obj,
            sort_keys=bool(option & orjson.OPT_SORT_KEYS),
            separators=(",", ":"),
            ensure_ascii=False,
            default=_plain,
        )
        return text.encode("utf-8")


def _plain(value: Any) -> Any:
    """What orjson writes for the types the standard library does not know."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON with sorted keys."""
    return _encode(obj, _SORTED)


def dumps_text(obj: Any) -> str:
    """`dumps` as text, for database drivers that want a str."""
    return _encode(obj, _SORTED).decode("utf-8")


def dumps_document(obj: Any) -> str:
    """JSON text for a PostgreSQL jsonb value, keys as they come: jsonb orders them itself,
    and not sorting saves half the time of writing a household."""
    return _encode(obj, orjson.OPT_NON_STR_KEYS).decode("utf-8")


def content_digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of `obj` (sorted keys, compact, UTF-8)."""
    return hashlib.sha256(_encode(obj, _SORTED)).hexdigest()
