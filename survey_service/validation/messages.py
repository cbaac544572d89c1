"""Generic messages of the response validator, in English and Russian (English is the fallback)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["FALLBACK_LANGUAGE", "MESSAGES", "languages_of", "message"]

FALLBACK_LANGUAGE: Final = "en"

MESSAGES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        # --- structure
        "unknown_field": {
            "en": "Unknown field {name}: the questionnaire has no such question here.",
            "ru": "Неизвестное поле {name}: в анкете здесь нет такого вопроса.",
        },
        "invalid_type": {
            "en": "Invalid value: expected {expected}.",
            "ru": "Недопустимое значение: ожидается {expected}.",
        },
        "note_answered": {
            "en": "A note is never answered.",
            "ru": "Примечание не требует ответа.",
        },
        "duplicate_choice": {
            "en": "Invalid value: {value} is selected more than once.",
            "ru": "Недопустимое значение: вариант {value} выбран более одного раза.",
        },
        "invalid_choice": {
            "en": "{values} is not a choice of this question.",
            "ru": "{values} — недопустимый вариант ответа на этот вопрос.",
        },
        "filtered_choice": {
            "en": "{values} is not available given the earlier answers.",
            "ru": "Вариант {values} недоступен с учётом предыдущих ответов.",
        },
        "invalid_geopoint": {
            "en": (
                "Coordinates out of range: latitude must be between -90 and 90, "
                "longitude between -180 and 180, accuracy at least 0."
            ),
            "ru": (
                "Координаты вне допустимого диапазона: широта от -90 до 90, "
                "долгота от -180 до 180, точность не меньше 0."
            ),
        },
        # --- logic
        "not_relevant": {
            "en": "This does not apply given the earlier answers and must not be answered.",
            "ru": "Это не относится к данному случаю с учётом предыдущих ответов "
            "и не должно заполняться.",
        },
        "required": {
            "en": "This question requires an answer.",
            "ru": "Ответ на этот вопрос обязателен.",
        },
        "constraint_failed": {
            "en": "The value does not satisfy the constraint: {expression}",
            "ru": "Значение не удовлетворяет условию: {expression}",
        },
        "repeat_count_mismatch": {
            "en": "Expected {expected} entries, got {actual}.",
            "ru": "Ожидалось записей: {expected}, получено: {actual}.",
        },
        "calculation_mismatch": {
            "en": "The submitted value {client} differs from the computed value {server}; "
            "the computed value is stored.",
            "ru": "Переданное значение {client} отличается от вычисленного {server}; "
            "сохранено вычисленное значение.",
        },
        "other_choice": {"en": "Other", "ru": "Другое"},
        # --- what invalid_type expected
        "expected_object": {"en": "an object", "ru": "объект"},
        "expected_array": {"en": "an array of objects", "ru": "массив объектов"},
        "expected_integer": {"en": "a whole number", "ru": "целое число"},
        "expected_integer_in_range": {
            "en": "a whole number from -9223372036854775808 to 9223372036854775807",
            "ru": "целое число от -9223372036854775808 до 9223372036854775807",
        },
        "expected_decimal": {"en": "a finite number", "ru": "конечное число"},
        "expected_text": {"en": "a string", "ru": "строка"},
        "expected_select_one": {
            "en": "a choice name (a string)",
            "ru": "имя варианта ответа (строка)",
        },
        "expected_select_multiple": {
            "en": "an array of distinct choice names (strings)",
            "ru": "массив различных имён вариантов ответа (строк)",
        },
        "expected_date": {"en": "a date YYYY-MM-DD", "ru": "дата в формате ГГГГ-ММ-ДД"},
        "expected_datetime": {
            "en": "an ISO 8601 date-time with a UTC offset or Z, such as 2024-05-06T14:30:00+05:00",
            "ru": "дата и время ISO 8601 со смещением от UTC или Z, "
            "например 2024-05-06T14:30:00+05:00",
        },
        "expected_shallow": {
            "en": "a value nested at most {depth} levels deep",
            "ru": "значение с вложенностью не более {depth} уровней",
        },
        "expected_geopoint": {
            "en": 'an object {"lat": number, "lon": number, "alt": number, "accuracy": number} '
            "(alt and accuracy optional)",
            "ru": 'объект {"lat": число, "lon": число, "alt": число, "accuracy": число} '
            "(alt и accuracy необязательны)",
        },
        # --- the question types of real-world XLSForms
        "expected_time": {
            "en": "a time HH:MM:SS[.fff][+hh:mm], such as 14:30:00 or 14:30:00.000+05:00",
            "ru": "время ЧЧ:ММ:СС[.fff][+чч:мм], например 14:30:00 или 14:30:00.000+05:00",
        },
        "expected_acknowledge": {
            "en": 'the text "OK"',
            "ru": 'текст "OK"',
        },
        "expected_range": {
            "en": "a number",
            "ru": "число",
        },
        "out_of_range": {
            "en": "{value} is not a value of the range from {start} to {end} by {step}.",
            "ru": "{value} не входит в диапазон от {start} до {end} с шагом {step}.",
        },
        "expected_rank": {
            "en": "an array of choice names, or their names separated by spaces",
            "ru": "массив имён вариантов или их имена через пробел",
        },
        "incomplete_rank": {
            "en": "A ranking puts every choice in order; missing: {values}.",
            "ru": "В ранжировании должны быть все варианты; не хватает: {values}.",
        },
        "expected_geometry": {
            "en": 'an array of points {"lat": number, "lon": number, "alt": number, '
            '"accuracy": number}, or the text "lat lon alt accuracy;lat lon alt accuracy;..."',
            "ru": 'массив точек {"lat": число, "lon": число, "alt": число, '
            '"accuracy": число} или текст "lat lon alt accuracy;lat lon alt accuracy;..."',
        },
        "too_few_points": {
            "en": "A {kind} needs at least {minimum} points, not {count}.",
            "ru": "Для {kind} нужно не менее {minimum} точек, а не {count}.",
        },
        "shape_not_closed": {
            "en": "A shape ends at its first point.",
            "ru": "Контур должен заканчиваться в первой точке.",
        },
        "invalid_file_name": {
            "en": "{value} is not a file name (no folders, at most 255 characters).",
            "ru": "{value} — не имя файла (без папок, не более 255 символов).",
        },
        "never_answered": {
            "en": "This is data attached to the form, never answered.",
            "ru": "Это данные, приложенные к форме; на них не отвечают.",
        },
    }
)


def languages_of(language: str | None) -> tuple[str, ...]:
    """The language and its primary subtag (`uz-Cyrl` → `uz-Cyrl`, `uz`), most specific first."""
    if not language:
        return ()
    base = language.split("-", 1)[0].split("_", 1)[0]
    return (language, base) if base != language else (language,)


def message(key: str, language: str | None = None, **params: object) -> str:
    """The message `key` in `language` (or its primary subtag, else English), formatted."""
    texts = MESSAGES[key]
    text = None
    for candidate in languages_of(language):
        text = texts.get(candidate) or texts.get(candidate.lower())
        if text is not None:
            break
    if text is None:
        text = texts[FALLBACK_LANGUAGE]
    return text.format(**params) if params else text
