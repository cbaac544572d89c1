"""Questionnaire definitions: the format, its JSON Schema and the checker (pure)."""
