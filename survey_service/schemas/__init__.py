"""Marshmallow schemas of the API's requests and responses (they generate the OpenAPI document)."""

from marshmallow import validate

# versions and counts sent by clients: beyond 64 bits they would match nothing, and the
# database drivers refuse them (SQLite's with an OverflowError)
POSITIVE = validate.Range(min=1, max=2**63 - 1)
