"""Code lists: SDMX age groups, one table for SQL and Python alike."""

from __future__ import annotations

import pytest

from survey_service.codes import AGE_GROUPS, age_group


@pytest.mark.parametrize(
    ("age", "five_year", "broad"),
    [(0, "Y0T4", "Y0T14"), (4, "Y0T4", "Y0T14"), (5, "Y5T9", "Y0T14"), (14, "Y10T14", "Y0T14"),
     (15, "Y15T19", "Y15T64"), (64, "Y60T64", "Y15T64"), (65, "Y65T69", "Y_GE65"),
     (84, "Y80T84", "Y_GE65"), (85, "Y_GE85", "Y_GE65"), (120, "Y_GE85", "Y_GE65")],
)  # fmt: skip
def test_bands_at_their_edges(age: int, five_year: str, broad: str) -> None:
    assert age_group("five_year", age) == five_year
    assert age_group("broad", age) == broad


def test_every_grouping_covers_every_age_once() -> None:
    for grouping, groups in AGE_GROUPS.items():
        assert groups[0][1] == 0 and groups[-1][2] is None, grouping
        for (_, _, high), (_, low, _) in zip(groups, groups[1:], strict=False):
            assert high is not None and low == high + 1, grouping
    assert age_group("youth", 24) == "Y15T24" and age_group("children", 18) == "Y_GE18"
