"""JSON output through orjson: response bodies, stored documents and content hashes."""

# orjson neither reads nor writes integers beyond 64 bits exactly: request bodies that may
# hold one are read with json.loads (api/body.py), and documents holding one are written by
# the standard library (`encode`).

from __future__ import annotations

import datetime
import enum
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import orjson

__all__ = [
    "MAX_CLIENT_DEPTH",
    "content_digest",
    "dumps",
    "dumps_document",
    "dumps_text",
    "encode",
    "nested_deeper",
]

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
# how deep a client's free-form values (meta, the values of calculations) may nest arrays
# and objects: they are stored, hashed and quoted back, and orjson writes 255 levels at most
MAX_CLIENT_DEPTH = 32


def nested_deeper(value: Any, depth: int) -> bool:
    """Whether a parsed JSON value has arrays or objects nested more than `depth` deep (read
    a level at a time, not recursively: Python's stack is not the limit)."""
    level = [value]
    for _ in range(depth):
        inside: list[Any] = []
        for item in level:
            if type(item) is list:
                inside += item
            elif type(item) is dict:
                inside += item.values()
        if not inside:
            return False
        level = inside
    return any(type(item) is list or type(item) is dict for item in level)


def encode(obj: Any, option: int, default: Callable[[Any], Any] | None = None) -> bytes:
    """`orjson.dumps(obj, default=default, option=option)`, also for documents holding
    integers beyond 64 bits (`default` also serves the fallback; by default, orjson's own
    forms of dates, UUIDs and enums)."""
    try:
        return orjson.dumps(obj, default=default, option=option)
    except orjson.JSONEncodeError:
        # orjson refuses integers beyond 64 bits (a decimal answer, a calculation, meta):
        # the standard library writes them exactly, in the same compact form
        text = json.dumps(
            obj,
            sort_keys=bool(option & orjson.OPT_SORT_KEYS),
            separators=(",", ":"),
            ensure_ascii=False,
            default=default or _plain,
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
    return encode(obj, _SORTED)


def dumps_text(obj: Any) -> str:
    """`dumps` as text, for database drivers that want a str."""
    return encode(obj, _SORTED).decode("utf-8")


def dumps_document(obj: Any) -> str:
    """JSON text for a PostgreSQL jsonb value, keys as they come: jsonb orders them itself,
    and not sorting saves half the time of writing a household."""
    return encode(obj, orjson.OPT_NON_STR_KEYS).decode("utf-8")


def content_digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of `obj` (sorted keys, compact, UTF-8)."""
    return hashlib.sha256(encode(obj, _SORTED)).hexdigest()
