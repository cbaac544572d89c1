"""Synthetic households: reproducible, well-shaped, and valid for the reference questionnaire."""

from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from survey_service import synthetic

NOW = datetime(2025, 12, 1, tzinfo=UTC)  # after the default fieldwork: today() for move_date
BBOX = {  # lat_min, lat_max, lon_min, lon_max
    "KZ": (40.5, 55.5, 46.4, 87.4),
    "KG": (39.1, 43.3, 69.2, 80.3),
    "TJ": (36.6, 41.1, 67.3, 75.2),
    "TM": (35.1, 42.8, 52.4, 66.8),
    "UZ": (37.1, 45.6, 55.9, 73.2),
}


@pytest.fixture(scope="module")
def sample() -> list[dict[str, Any]]:
    return list(synthetic.households(2024, 2000))


def _select_questions(questions: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for q in questions:
        if "choices" in q:
            yield q["name"], q["choices"]
        yield from _select_questions(q.get("questions", []))


def _answers(node: Any) -> Iterator[tuple[str, Any]]:
    """(question name, answer) of every answer in an answers object, repeats included."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict) and key != "gps":
                yield from _answers(value)
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for item in value:
                    yield from _answers(item)
            else:
                yield key, value


def test_same_seed_same_households() -> None:
    assert list(synthetic.households(7, 200)) == list(synthetic.households(7, 200))
    assert list(synthetic.households(7, 20)) != list(synthetic.households(8, 20))
    first = [synthetic.submission(random.Random(3)) for _ in range(2)]
    assert first[0] == first[1]


def test_shape(sample: list[dict[str, Any]]) -> None:
    countries: Counter[str] = Counter()
    sizes: Counter[int] = Counter()
    for h in sample:
        ident = h["identification"]
        country = ident["country"]
        countries[country] += 1
        assert ident["region"].startswith(country + "-")
        assert re.fullmatch(r"[A-Z]{2}-[UR]-[0-9]{4}", ident["cluster"])
        assert (ident["cluster"][3] == "U") == (ident["settlement_type"] in ("city", "town"))
        assert h["current_status"]["displacement_status"]
        exposure = h["hazard_exposure"]
        if exposure["hazards_experienced"] == ["none"]:
            assert "worst_hazard" not in exposure and "impacts" not in h
        else:
            assert exposure["worst_hazard"] in exposure["hazards_experienced"]

        roster = h["household"]
        size = roster["hh_size"]
        sizes[size] += 1
        members = roster["members"]
        assert 1 <= size <= 10 and len(members) == size
        assert [m["member_relationship"] == "head" for m in members] == [True] + [False] * (
            size - 1
        )
        respondent = members[roster["respondent_line"] - 1]
        assert respondent["member_age"] >= 15 and respondent["member_elsewhere"] == "no"
        head_age = members[0]["member_age"]
        for m in members:
            assert 0 <= m["member_age"] <= 120
            assert ("member_education" in m) == (m["member_age"] >= 6)
            assert ("member_activity" in m) == (m["member_age"] >= 15)
            if m["member_relationship"] == "parent":
                assert m["member_age"] >= head_age + 15
            if m["member_relationship"] == "spouse":
                assert m["member_sex"] != members[0]["member_sex"]
        workers = sum(
            m.get("member_where") == "abroad" and m["member_away_reason"] == "work" for m in members
        )
        assert h["migration_remittances"]["members_abroad"] == workers

        lat_min, lat_max, lon_min, lon_max = BBOX[country]
        gps = h["closing"]["gps"]
        assert lat_min <= gps["lat"] <= lat_max and lon_min <= gps["lon"] <= lon_max
        start = datetime.fromisoformat(h["interview_start"])
        end = datetime.fromisoformat(h["closing"]["interview_end"])
        assert start.utcoffset() is not None
        assert timedelta(minutes=10) <= end - start <= timedelta(hours=3)
        assert synthetic.FIELDWORK_START <= start.date() <= synthetic.FIELDWORK_END
    assert set(countries) == set(synthetic.COUNTRIES)
    assert min(countries.values()) > 300  # equal allocation by default
    assert set(sizes) == set(range(1, 11))


def test_choices_come_from_the_questionnaire(
    sample: list[dict[str, Any]], reference_definition: dict[str, Any]
) -> None:
    lists = {
        name: {c["name"] for c in reference_definition["choice_lists"][choices]}
        for name, choices in _select_questions(reference_definition["questions"])
    }
    seen = set()
    for h in sample:
        for name, value in _answers(h):
            if name in lists:
                values = value if isinstance(value, list) else [value]
                assert set(values) <= lists[name], (name, value)
                seen.add(name)
    assert len(seen) >= len(lists) - 2  # nearly every select question gets answered


def test_hazards_follow_geography() -> None:
    by_country: dict[str, Counter[str]] = {c: Counter() for c in synthetic.COUNTRIES}
    for h in synthetic.households(5, 3000):
        by_country[h["identification"]["country"]].update(
            h["hazard_exposure"]["hazards_experienced"]
        )
    mountain = by_country["KG"]["GH0303"] + by_country["TJ"]["GH0303"]
    lowland = by_country["TM"]["GH0303"] + by_country["UZ"]["GH0303"]
    assert mountain > 2 * lowland  # mudflows are a mountain hazard
    assert by_country["KZ"]["MH0503"] + by_country["KG"]["MH0503"] > by_country["TM"]["MH0503"]
    # salinisation around the Aral Sea (Karakalpakstan) against the rest of Uzbekistan
    households: Counter[bool] = Counter()
    salty: Counter[bool] = Counter()
    for h in synthetic.households(9, 3000, country="UZ"):
        aral = h["identification"]["region"] == "UZ-QR"
        households[aral] += 1
        salty[aral] += "EN0303" in h["hazard_exposure"]["hazards_experienced"]
    assert households[True] > 50
    assert salty[True] / households[True] > 2 * salty[False] / households[False]


def test_keywords() -> None:
    rng = random.Random(1)
    assert {
        synthetic.household(rng, country="TJ")["identification"]["country"] for _ in range(50)
    } == {"TJ"}
    clusters = {
        h["identification"]["cluster"] for h in synthetic.households(1, 500, stratum_psus=3)
    }
    assert len(clusters) <= 2 * 5 * 3
    when = datetime(2024, 2, 10, 9, 30)
    h = synthetic.household(rng, country="KG", when=when)
    assert h["interview_start"] == "2024-02-10T09:30:00+06:00"
    aware = datetime(2025, 5, 1, 4, 0, tzinfo=UTC)
    h = synthetic.household(rng, country="UZ", when=aware)
    assert h["interview_start"] == "2025-05-01T09:00:00+05:00"
    with pytest.raises(ValueError, match="unknown country"):
        synthetic.household(rng, country="AF")
    with pytest.raises(ValueError):
        synthetic.household(rng, when=datetime(2013, 12, 31))
    with pytest.raises(ValueError, match="unknown kind"):
        synthetic.invalid_household(rng, "nonsense")


def test_submission() -> None:
    s = synthetic.submission(random.Random(11), country="KZ")
    assert uuid.UUID(s["instance_id"]).version == 4
    assert s["language"] in ("en", "ru")
    assert s["answers"]["identification"]["country"] == "KZ"
    assert s["meta"]["started_at"] == s["answers"]["interview_start"]
    assert s["meta"]["ended_at"] == s["answers"]["closing"]["interview_end"]
    assert s["meta"]["device_id"].startswith("kz-tab-")


# --------------------------------------------------------------------- against the validator


@pytest.fixture(scope="module")
def validator(reference_definition: dict[str, Any]) -> Any:
    """The server's validator; the tests using it are skipped until it exists."""
    validation = pytest.importorskip("survey_service.validation")
    from survey_service.questionnaire.definition import load_definition

    return validation.ResponseValidator(load_definition(reference_definition))


def test_every_household_is_valid(validator: Any, sample: list[dict[str, Any]]) -> None:
    invalid = []
    for h in sample:
        result = validator.validate(h, language="en", now=NOW)
        if not result.ok:
            invalid.append([(e.path, e.code) for e in result.errors])
    assert invalid == []


def test_households_at_other_times_are_valid(validator: Any) -> None:
    kyiv = timezone(timedelta(hours=2))
    for when in (datetime(2014, 3, 1, 10), datetime(2024, 2, 1, 23, 50, tzinfo=kyiv)):
        now = when.replace(tzinfo=when.tzinfo or UTC) + timedelta(days=1)
        for h in synthetic.households(3, 100, when=when):
            result = validator.validate(h, now=now)
            assert result.ok, [(e.path, e.code) for e in result.errors]


@pytest.mark.parametrize("kind", synthetic.INVALID_KINDS)
def test_invalid_households_fail_where_expected(validator: Any, kind: str) -> None:
    rng = random.Random(kind)
    for _ in range(20):
        answers, path = synthetic.invalid_household(rng, kind)
        result = validator.validate(answers, now=NOW)
        assert {e.path for e in result.errors} == {path}, kind


def test_dates_stay_before_the_interview(sample: list[dict[str, Any]]) -> None:
    for h in sample:
        day = date.fromisoformat(h["interview_start"][:10])
        exposure = h["hazard_exposure"]
        if "worst_year" in exposure:
            assert day.year - 10 <= exposure["worst_year"] <= day.year
        details = h.get("displacement_history", {}).get("move_details")
        if details:
            assert date(2014, 1, 1) <= date.fromisoformat(details["move_date"]) < day
