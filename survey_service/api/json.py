"""Flask's JSON provider with orjson writing the bodies: the same output, faster."""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

# sorted keys as Flask's default; dates and dataclasses go to Flask's own conversion
_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


class JSONProvider(DefaultJSONProvider):
    """Bodies are UTF-8 JSON (Cyrillic labels stay readable); parsing stays json.loads."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode("utf-8")
        except orjson.JSONEncodeError:
            # orjson refuses integers beyond 64 bits (a decimal answer, a calculation, meta):
            # the standard library writes them exactly, in the same compact form
            kwargs.setdefault("ensure_ascii", False)
            kwargs.setdefault("sort_keys", True)
            kwargs.setdefault("separators", (",", ":"))
            return super().dumps(obj, **kwargs)
