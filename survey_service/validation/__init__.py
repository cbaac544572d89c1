"""Validating submitted responses against a checked questionnaire definition (pure).

The package's face is `ResponseValidator` (built once per questionnaire version, then
`validate(answers, language=, now=)` per response) and the `ValidatedResponse` it returns.
Inside, by phase: `plan` builds what validation will do from the definition, `validator`
runs it over the answers in `scope`s, `answers` checks the type of each answer, `results`
holds the outcome and its error codes, and `messages` words them in English and Russian.
"""

from survey_service.validation.results import ValidatedResponse
from survey_service.validation.validator import ResponseValidator

__all__ = ["ResponseValidator", "ValidatedResponse"]
