"""Marshmallow schemas of the API's requests and responses (they generate the OpenAPI document)."""

import datetime
from typing import Any

from marshmallow import ValidationError, fields, validate

#: the largest id, version or revision: they are integer columns, which PostgreSQL keeps in
#: 32 bits (a larger number is "integer out of range" there, and SQLite's driver refuses
#: numbers beyond 64 bits with an OverflowError)
INT32_MAX = 2**31 - 1
# versions and counts sent by clients
POSITIVE = validate.Range(min=1, max=INT32_MAX)


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 date-time with an offset, loaded in UTC: a moment that UTC cannot hold
    (`0001-01-01T00:00+01:00`) is refused here rather than failing in the database driver."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        moment: datetime.datetime = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(datetime.UTC)
        except OverflowError as exc:
            raise ValidationError("a date-time between years 1 and 9999 in UTC") from exc
