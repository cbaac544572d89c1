"""Marshmallow schemas of the API's requests and responses (they generate the OpenAPI document)."""
