"""User names: NFKC forms, scripts and UTS #39 skeletons."""

from __future__ import annotations

import pytest

from survey_service.user_names import mixes_scripts, normal_form, scripts, skeleton


def test_normal_form_is_nfkc() -> None:
    assert normal_form("ａｄｍｉｎ") == "admin"
    assert normal_form("cafe\u0301") == "café"  # e + combining acute: one character
    assert normal_form("Айгуль") == "Айгуль"


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("admin1", {"LATIN"}),
        ("\u0430dmin1", {"LATIN", "CYRILLIC"}),
        ("Айгуль_2024@kg", {"CYRILLIC", "LATIN"}),
        ("Айгуль_2024", {"CYRILLIC"}),
        ("1.2-3", set()),
        ("cafe\u0301", {"LATIN"}),  # a combining mark goes with any script
    ],
)
def test_scripts_and_mixing(name: str, found: set[str]) -> None:
    assert scripts(name) == found
    assert mixes_scripts(name) == (len(found) > 1)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("admin", "ａｄｍｉｎ"),
        ("admin", "\u0430dmin"),
        ("paypal", "\u0440\u0430\u0443\u0440\u0430l"),  # Cyrillic р а у р а
        ("Aigul", "aigul"),
        ("bob1", "bobl"),
        ("bob1", "bobI"),
        ("mary", "rnary"),
        ("strasse", "STRASSE"),
    ],
)
def test_look_alikes_share_a_skeleton(one: str, other: str) -> None:
    assert skeleton(one) == skeleton(other)


@pytest.mark.parametrize(("one", "other"), [("admin", "admins"), ("bob1", "bob2"), ("ana", "anna")])
def test_different_names_have_different_skeletons(one: str, other: str) -> None:
    assert skeleton(one) != skeleton(other)
