"""The validator's messages exist in every language of the region, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from survey_service.validation.messages import (
    FALLBACK_LANGUAGE,
    MESSAGES,
    REVIEWED,
    languages_of,
    message,
)

REGION = {"en", "ru", "kk", "ky", "uz", "tg", "tk"}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_is_in_every_language_with_the_same_placeholders(key: str) -> None:
    texts = MESSAGES[key]
    assert set(texts) == REGION
    expected = placeholders(texts[FALLBACK_LANGUAGE])
    for language, text in texts.items():
        assert text.strip() == text and text, (key, language)
        assert placeholders(text) == expected, (key, language)


def test_only_reviewed_languages_are_marked_reviewed() -> None:
    assert {"en", "ru"} == REVIEWED  # the five others await a native speaker
    assert REVIEWED <= REGION


def test_a_regional_tag_finds_its_language() -> None:
    assert languages_of("kk-KZ") == ("kk-KZ", "kk")
    assert message("required", "kk-KZ") == "Бұл сұраққа жауап беру міндетті."
    assert message("required", "uz-Latn-UZ") == "Bu savolga javob berish majburiy."
    assert message("repeat_count_mismatch", "tg", expected=3, actual=2) == (
        "Шумораи сабтҳои интизоршуда: 3, гирифташуда: 2."
    )


def test_a_language_without_messages_falls_back_to_english() -> None:
    assert message("required", "de") == "This question requires an answer."
    assert message("required", None) == "This question requires an answer."
