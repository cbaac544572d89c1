"""JSON output through orjson: response bodies, stored documents and content hashes."""

# Parsing stays with the standard library: orjson turns integers beyond 64 bits into floats,
# which would silently change an answer, while json.loads keeps them exact.

from __future__ import annotations

import hashlib
from typing import Any

import orjson

__all__ = ["content_digest", "dumps", "dumps_document", "dumps_text"]

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON with sorted keys."""
    return orjson.dumps(obj, option=_SORTED)


def dumps_text(obj: Any) -> str:
    """`dumps` as text, for database drivers that want a str."""
    return orjson.dumps(obj, option=_SORTED).decode("utf-8")


def dumps_document(obj: Any) -> str:
    """JSON text for a PostgreSQL jsonb value, keys as they come: jsonb orders them itself,
    and not sorting saves half the time of writing a household."""
    return orjson.dumps(obj).decode("utf-8")


def content_digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of `obj` (sorted keys, compact, UTF-8)."""
    return hashlib.sha256(orjson.dumps(obj, option=_SORTED)).hexdigest()
