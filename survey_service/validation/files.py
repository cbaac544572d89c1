"""Media answers: the files a response names, refused when missing or not plausible.

A media answer (image, audio, video, file, background-audio, and the `audit` log) is the name
of a file sent with the response. `media_answers` finds every such name with its JSON path
(`household.members[2].photo`, 0-based) and question type; `file_problems` refuses each one
whose file did not arrive (`response.missing_file`) or is empty, larger than `max_bytes`, or
does not start as a file of the question's kind does (`response.invalid_file`). The caller
reads the files; this module only judges them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from survey_service import error_codes
from survey_service.errors import FieldError
from survey_service.questionnaire.definition import MEDIA_TYPES, Definition, Question

#: The question types whose answer names a file sent with the response.
FILE_TYPES = MEDIA_TYPES | {"audit"}


_KINDS = {
    "image": "a picture",
    "audio": "a sound",
    "background-audio": "a sound",
    "video": "a video",
}


@dataclass(frozen=True)
class MediaAnswer:
    """One answer naming a file: where it is, the question's type, and the name."""

    path: str
    type: str
    filename: str


def media_answers(definition: Definition, answers: Any) -> list[MediaAnswer]:
    """Every non-empty media answer of a response, in document order."""
    if not isinstance(answers, Mapping):
        return []
    return list(_walk(definition.questions, answers, ""))


def _walk(
    questions: Sequence[Question], obj: Mapping[str, Any], prefix: str
) -> Iterator[MediaAnswer]:
    for question in questions:
        value = obj.get(question.name)
        path = f"{prefix}.{question.name}" if prefix else question.name
        if question.type in FILE_TYPES:
            if isinstance(value, str) and value:
                yield MediaAnswer(path, question.type, value)
        elif question.type == "group" and isinstance(value, Mapping):
            yield from _walk(question.questions, value, path)
        elif question.type == "repeat" and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield from _walk(question.questions, item, f"{path}[{index}]")


def file_problems(
    media: Sequence[MediaAnswer],
    files: Mapping[str, bytes],
    plausible: Callable[[str, bytes], bool],
    *,
    max_bytes: int | None = None,
) -> list[FieldError]:
    """The refusals of the media answers whose file is not in `files` (by name) or is not
    one a question of its type takes (`plausible(type, data)`)."""
    problems = []
    for answer in media:
        data = files.get(answer.filename)
        if data is None:
            problems.append(
                FieldError(
                    answer.path,
                    error_codes.RESPONSE_MISSING_FILE,
                    f"the file {answer.filename!r} did not arrive with the response",
                )
            )
        elif max_bytes is not None and len(data) > max_bytes:
            problems.append(
                FieldError(
                    answer.path,
                    error_codes.RESPONSE_INVALID_FILE,
                    f"the file {answer.filename!r} is larger than {max_bytes} bytes",
                )
            )
        elif not plausible(answer.type, data):
            kind = _KINDS.get(answer.type, "a file")
            problems.append(
                FieldError(
                    answer.path,
                    error_codes.RESPONSE_INVALID_FILE,
                    f"the file {answer.filename!r} is empty or not {kind} "
                    "(its content does not start as one does)",
                )
            )
    return problems
