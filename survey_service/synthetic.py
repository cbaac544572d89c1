"""Synthetic households for the reference questionnaire: valid, reproducible and fast."""

from __future__ import annotations

import math
import random
import uuid
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache, lru_cache
from typing import Any, Final, TypeAlias

__all__ = [
    "COUNTRIES",
    "FIELDWORK_END",
    "FIELDWORK_START",
    "INVALID_KINDS",
    "household",
    "households",
    "invalid_household",
    "submission",
]

# Everything below is about the reference questionnaire
# (questionnaires/climate-migration-household.json): question names, choice names and the
# constraints the generated answers must meet. The numbers are rough, plausible orders of
# magnitude for Central Asia, not statistics to quote.

COUNTRIES: Final = ("KZ", "KG", "TJ", "TM", "UZ")
"""The survey countries; by default each is drawn with probability 1/5 (equal allocation)."""

FIELDWORK_START: Final = date(2025, 4, 1)
FIELDWORK_END: Final = date(2025, 10, 31)
"""Interview dates when `when` is not given: one fieldwork round, in the past."""

_FIELDWORK_DAYS: Final = (FIELDWORK_END - FIELDWORK_START).days
_FIRST_YEAR: Final = 2014  # worst_year >= 2014, move_date >= 2014-01-01
_LAST_YEAR: Final = 2026  # worst_year <= 2026
_EARLIEST_INTERVIEW: Final = date(2014, 1, 2)

# ------------------------------------------------------------------------- small helpers


_Pick: TypeAlias = Callable[[Callable[[], float]], Any]
"""A categorical distribution: called with a generator's `random` method, returns an item."""


def _weighted(pairs: Sequence[tuple[Any, float]]) -> _Pick:
    """A sampler drawing items in proportion to their weights (one draw, one bisection)."""
    total = float(sum(w for _, w in pairs))
    if total <= 0:
        raise ValueError("weights must have a positive sum")
    items = tuple(item for item, w in pairs if w > 0)
    acc, cumulative = 0.0, []
    for _, w in pairs:
        if w > 0:
            acc += w / total
            cumulative.append(acc)
    cumulative[-1] = 2.0  # random() < 1: never past the last item, whatever the rounding

    def pick(random: Callable[[], float]) -> Any:
        return items[bisect_right(cumulative, random())]

    return pick


def _w(mapping: Mapping[Any, float]) -> _Pick:
    return _weighted(list(mapping.items()))


def _multi(
    rng: random.Random, probabilities: Sequence[tuple[str, float]], fallback: str
) -> list[str]:
    """Independent inclusion of each choice (in list order); `fallback` when none is drawn."""
    chosen = [name for name, p in probabilities if rng.random() < p]
    return chosen or [fallback]


# ------------------------------------------------------------------------- geography

_TZ5: Final = timezone(timedelta(hours=5))
_TZ6: Final = timezone(timedelta(hours=6))
_KZ_SINGLE_ZONE: Final = date(2024, 3, 1)  # Kazakhstan moved to UTC+5 everywhere
_KZ_WEST: Final = frozenset({"KZ-15", "KZ-23", "KZ-27", "KZ-43", "KZ-47"})

_BBOX: Final[Mapping[str, tuple[float, float, float, float]]] = {
    # lat_min, lat_max, lon_min, lon_max: rough national bounding boxes
    "KZ": (40.57, 55.44, 46.49, 87.32),
    "KG": (39.17, 43.27, 69.26, 80.28),
    "TJ": (36.67, 41.04, 67.34, 75.15),
    "TM": (35.14, 42.80, 52.44, 66.71),
    "UZ": (37.18, 45.59, 55.99, 73.13),
}


@dataclass(frozen=True, slots=True)
class _Region:
    code: str
    population: float  # millions, approximate
    urban: float  # urban share of the population
    lat: float
    lon: float
    alt: float  # metres, typical of where people live
    spread: float  # degrees: how far settlements lie from (lat, lon)
    remote: float  # share of rural clusters classed "remote"


def _regions(
    rows: Sequence[tuple[str, float, float, float, float, float, float, float]],
) -> tuple[_Region, ...]:
    return tuple(_Region(*row) for row in rows)


_REGIONS: Final[Mapping[str, tuple[_Region, ...]]] = {
    "KZ": _regions(
        [
            ("KZ-10", 0.60, 0.50, 49.2, 80.0, 400, 1.2, 0.20),
            ("KZ-11", 0.79, 0.50, 52.2, 70.0, 350, 1.2, 0.15),
            ("KZ-15", 0.92, 0.65, 49.0, 58.0, 250, 1.5, 0.20),
            ("KZ-19", 1.50, 0.20, 43.7, 77.3, 700, 0.8, 0.10),
            ("KZ-23", 0.70, 0.50, 47.1, 52.0, -20, 0.8, 0.15),
            ("KZ-27", 0.69, 0.50, 50.5, 51.3, 50, 1.0, 0.15),
            ("KZ-31", 1.20, 0.40, 43.3, 71.8, 600, 0.8, 0.10),
            ("KZ-33", 0.70, 0.40, 45.0, 78.8, 700, 0.9, 0.15),
            ("KZ-35", 1.13, 0.80, 49.5, 73.5, 550, 1.2, 0.15),
            ("KZ-39", 0.83, 0.55, 52.0, 63.5, 200, 1.2, 0.15),
            ("KZ-43", 0.84, 0.45, 45.2, 64.0, 130, 1.2, 0.20),
            ("KZ-47", 0.80, 0.40, 43.8, 52.5, 50, 0.8, 0.20),
            ("KZ-55", 0.75, 0.70, 52.3, 76.5, 130, 1.0, 0.15),
            ("KZ-59", 0.53, 0.45, 54.0, 69.5, 140, 0.7, 0.15),
            ("KZ-61", 2.10, 0.20, 42.6, 68.5, 400, 0.8, 0.10),
            ("KZ-62", 0.22, 0.80, 47.8, 67.7, 350, 1.0, 0.40),
            ("KZ-63", 0.73, 0.65, 49.8, 83.0, 500, 1.0, 0.20),
            ("KZ-71", 1.40, 1.00, 51.17, 71.45, 350, 0.07, 0.0),
            ("KZ-75", 2.20, 1.00, 43.24, 76.90, 800, 0.06, 0.0),
            ("KZ-79", 1.20, 1.00, 42.32, 69.60, 500, 0.06, 0.0),
        ]
    ),
    "KG": _regions(
        [
            ("KG-B", 0.55, 0.20, 39.95, 70.8, 1100, 0.35, 0.25),
            ("KG-C", 1.00, 0.20, 42.75, 74.5, 800, 0.40, 0.05),
            ("KG-GB", 1.15, 1.00, 42.87, 74.59, 780, 0.04, 0.0),
            ("KG-GO", 0.36, 1.00, 40.53, 72.80, 1000, 0.03, 0.0),
            ("KG-J", 1.30, 0.20, 41.20, 72.60, 900, 0.45, 0.20),
            ("KG-N", 0.30, 0.15, 41.40, 75.50, 2050, 0.50, 0.45),
            ("KG-O", 1.40, 0.05, 40.30, 73.00, 1300, 0.40, 0.20),
            ("KG-T", 0.27, 0.15, 42.40, 72.30, 1300, 0.30, 0.15),
            ("KG-Y", 0.50, 0.30, 42.40, 77.50, 1700, 0.45, 0.25),
        ]
    ),
    "TJ": _regions(
        [
            ("TJ-DU", 1.20, 1.00, 38.56, 68.78, 800, 0.04, 0.0),
            ("TJ-GB", 0.23, 0.13, 37.90, 72.00, 2500, 0.50, 0.60),
            ("TJ-KT", 3.50, 0.18, 37.80, 68.90, 500, 0.35, 0.10),
            ("TJ-RA", 2.40, 0.15, 38.80, 69.80, 1200, 0.45, 0.30),
            ("TJ-SU", 2.90, 0.25, 40.10, 69.40, 500, 0.40, 0.15),
        ]
    ),
    "TM": _regions(
        [
            ("TM-A", 1.00, 0.30, 38.30, 59.00, 250, 0.7, 0.15),
            ("TM-B", 0.55, 0.80, 39.50, 54.50, 50, 0.8, 0.30),
            ("TM-D", 1.40, 0.30, 41.70, 59.70, 85, 0.4, 0.10),
            ("TM-L", 1.40, 0.40, 39.00, 63.50, 200, 0.7, 0.15),
            ("TM-M", 1.60, 0.25, 37.40, 61.90, 230, 0.5, 0.10),
            ("TM-S", 1.00, 1.00, 37.95, 58.38, 220, 0.05, 0.0),
        ]
    ),
    "UZ": _regions(
        [
            ("UZ-AN", 3.30, 0.50, 40.75, 72.35, 500, 0.15, 0.05),
            ("UZ-BU", 2.00, 0.37, 39.90, 64.20, 230, 0.40, 0.10),
            ("UZ-FA", 4.00, 0.55, 40.40, 71.60, 600, 0.20, 0.05),
            ("UZ-JI", 1.50, 0.48, 40.10, 67.80, 400, 0.35, 0.15),
            ("UZ-NG", 3.00, 0.65, 41.00, 71.40, 450, 0.20, 0.05),
            ("UZ-NW", 1.05, 0.50, 40.60, 65.00, 350, 0.50, 0.25),
            ("UZ-QA", 3.50, 0.44, 38.80, 66.00, 400, 0.40, 0.10),
            ("UZ-QR", 2.00, 0.50, 42.50, 59.80, 80, 0.40, 0.25),
            ("UZ-SA", 4.20, 0.37, 39.65, 66.96, 700, 0.35, 0.05),
            ("UZ-SI", 0.90, 0.42, 40.50, 68.70, 280, 0.20, 0.05),
            ("UZ-SU", 2.90, 0.36, 37.90, 67.60, 450, 0.35, 0.10),
            ("UZ-TK", 3.00, 1.00, 41.30, 69.24, 450, 0.05, 0.0),
            ("UZ-TO", 3.00, 0.50, 41.00, 69.50, 500, 0.35, 0.10),
            ("UZ-XO", 2.00, 0.33, 41.40, 60.80, 100, 0.20, 0.05),
        ]
    ),
}

_CITIES: Final = frozenset(
    {"KZ-71", "KZ-75", "KZ-79", "KG-GB", "KG-GO", "TJ-DU", "TM-S", "UZ-TK"}
)  # cities with region status: entirely urban, settlement type "city"

_URBAN_SHARE: Final[Mapping[str, float]] = {
    c: sum(r.population * r.urban for r in rs) / sum(r.population for r in rs)
    for c, rs in _REGIONS.items()
}
_REGION_BY_POPULATION: Final[Mapping[str, _Pick]] = {
    c: _weighted([(r.code, r.population) for r in rs]) for c, rs in _REGIONS.items()
}

# ------------------------------------------------------------------------- hazards

_HAZARDS: Final = (  # the order of the choice list
    "MH0603",  # flash flood
    "MH0604",  # riverine flood
    "MH0610",  # snowmelt flood
    "MH0607",  # glacial lake outburst flood
    "MH0600",  # other flood
    "GH0303",  # mudflow (sel)
    "GH0300",  # landslide
    "MH0801",  # snow avalanche
    "MH0401",  # drought
    "MH0501",  # heatwave
    "MH0502",  # cold wave
    "MH0503",  # dzud
    "GH0101",  # earthquake
    "MH0201",  # dust or sand storm
    "EN0206",  # desertification
    "EN0301",  # land degradation
    "EN0303",  # soil salinisation
)
_LAST_HAZARD: Final = len(_HAZARDS) - 1
_SUDDEN: Final = frozenset(
    {"MH0603", "MH0604", "MH0610", "MH0607", "MH0600", "GH0303", "GH0300", "MH0801", "GH0101"}
)  # damage dwellings, displace people
_FLOODS: Final = frozenset({"MH0603", "MH0604", "MH0610", "MH0607", "MH0600", "GH0303"})
_LAND: Final = frozenset({"MH0401", "EN0206", "EN0301", "EN0303"})  # slow-onset, land and water
_WATER: Final = frozenset({"MH0401", "EN0206", "EN0303"})
_LAND_LOSING: Final = _FLOODS | {"GH0300", "EN0206", "EN0301", "EN0303"}  # land made unusable


def _hazard_class(h: str) -> int:
    """0 sudden-onset, 1 slow-onset land and water, 2 dzud, 3 heat/cold/dust."""
    if h in _SUDDEN:
        return 0
    if h in _LAND:
        return 1
    if h == "MH0503":
        return 2
    return 3


_BASE_RATES: Final[Mapping[str, Mapping[str, float]]] = {
    # probability that a household was affected in the last ten years, per hazard
    "KZ": {
        "MH0603": 0.01, "MH0604": 0.05, "MH0610": 0.05, "MH0607": 0.001, "MH0600": 0.01,
        "GH0303": 0.01, "GH0300": 0.003, "MH0801": 0.002, "MH0401": 0.08, "MH0501": 0.06,
        "MH0502": 0.05, "MH0503": 0.03, "GH0101": 0.01, "MH0201": 0.03, "EN0206": 0.015,
        "EN0301": 0.03, "EN0303": 0.02,
    },
    "KG": {
        "MH0603": 0.07, "MH0604": 0.03, "MH0610": 0.04, "MH0607": 0.005, "MH0600": 0.01,
        "GH0303": 0.10, "GH0300": 0.05, "MH0801": 0.02, "MH0401": 0.06, "MH0501": 0.03,
        "MH0502": 0.05, "MH0503": 0.03, "GH0101": 0.07, "MH0201": 0.005, "EN0206": 0.005,
        "EN0301": 0.04, "EN0303": 0.01,
    },
    "TJ": {
        "MH0603": 0.09, "MH0604": 0.05, "MH0610": 0.04, "MH0607": 0.005, "MH0600": 0.01,
        "GH0303": 0.13, "GH0300": 0.06, "MH0801": 0.03, "MH0401": 0.07, "MH0501": 0.08,
        "MH0502": 0.04, "MH0503": 0.005, "GH0101": 0.07, "MH0201": 0.03, "EN0206": 0.01,
        "EN0301": 0.05, "EN0303": 0.02,
    },
    "TM": {
        "MH0603": 0.02, "MH0604": 0.02, "MH0610": 0.005, "MH0607": 0.0, "MH0600": 0.01,
        "GH0303": 0.01, "GH0300": 0.002, "MH0801": 0.0, "MH0401": 0.13, "MH0501": 0.18,
        "MH0502": 0.03, "MH0503": 0.003, "GH0101": 0.02, "MH0201": 0.12, "EN0206": 0.06,
        "EN0301": 0.04, "EN0303": 0.08,
    },
    "UZ": {
        "MH0603": 0.03, "MH0604": 0.02, "MH0610": 0.01, "MH0607": 0.001, "MH0600": 0.01,
        "GH0303": 0.03, "GH0300": 0.01, "MH0801": 0.003, "MH0401": 0.10, "MH0501": 0.11,
        "MH0502": 0.05, "MH0503": 0.003, "GH0101": 0.03, "MH0201": 0.05, "EN0206": 0.02,
        "EN0301": 0.04, "EN0303": 0.06,
    },
}  # fmt: skip

_ARAL: Final = {  # the drying Aral Sea: drought, salt and dust, land turning to desert
    "MH0401": 4.0, "EN0303": 6.0, "MH0201": 7.0, "EN0206": 8.0, "EN0301": 5.0,
    "MH0501": 2.0, "MH0502": 1.5,
}  # fmt: skip
_KZ_SPRING_FLOODS: Final = {"MH0604": 4.0, "MH0610": 3.0}  # e.g. the 2024 floods
_TIEN_SHAN: Final = {"GH0303": 6.0, "GH0101": 4.0, "MH0603": 3.0, "MH0801": 3.0, "MH0607": 5.0}
_FERGANA: Final = {"GH0303": 2.0, "GH0300": 2.5, "GH0101": 1.5, "MH0603": 1.5}
_CITY: Final = {h: 0.4 for h in _HAZARDS if h not in {"GH0101", "MH0501"}}
_REGION_FACTORS: Final[Mapping[str, Mapping[str, float]]] = {
    "KZ-43": {**_ARAL, "EN0303": 12.0, "MH0201": 8.0},
    "KZ-23": _KZ_SPRING_FLOODS,
    "KZ-27": _KZ_SPRING_FLOODS,
    "KZ-15": {**_KZ_SPRING_FLOODS, "MH0503": 2.0},
    "KZ-39": _KZ_SPRING_FLOODS,
    "KZ-11": _KZ_SPRING_FLOODS,
    "KZ-59": _KZ_SPRING_FLOODS,
    "KZ-47": {"MH0401": 2.0, "MH0201": 3.0, "EN0206": 3.0, "MH0503": 3.0},
    "KZ-19": _TIEN_SHAN,
    "KZ-33": _TIEN_SHAN,
    "KZ-75": {**_CITY, "GH0303": 2.0, "GH0101": 4.0},
    "KZ-61": {"MH0401": 2.0, "MH0501": 2.0, "EN0303": 2.0, "MH0603": 2.0},
    "KZ-31": {"MH0401": 2.0, "MH0501": 2.0, "EN0303": 2.0, "MH0603": 2.0},
    "KZ-79": {**_CITY, "MH0501": 2.0},
    "KZ-10": {"MH0610": 2.0, "MH0502": 1.5, "MH0503": 1.5},
    "KZ-63": {"MH0610": 2.0, "MH0502": 1.5, "MH0503": 1.5, "GH0303": 2.0},
    "KZ-62": {"MH0503": 2.0, "MH0401": 1.5},
    "KZ-35": {"MH0503": 1.5, "MH0401": 1.5},
    "KZ-71": _CITY,
    "KG-B": {"GH0300": 2.5, "GH0303": 1.5, "MH0401": 2.0},
    "KG-J": {"GH0300": 2.5, "GH0303": 1.5},
    "KG-O": {"GH0300": 2.5, "GH0303": 1.5},
    "KG-N": {"MH0503": 3.0, "MH0502": 2.0, "MH0801": 2.5, "MH0607": 2.0, "MH0501": 0.2},
    "KG-Y": {"MH0503": 2.5, "MH0502": 1.5, "MH0801": 2.0, "MH0607": 4.0},
    "KG-T": {"MH0503": 2.5, "MH0502": 1.5, "MH0801": 2.0},
    "KG-C": {"MH0610": 1.5},
    "KG-GB": {**_CITY, "GH0101": 1.2},
    "KG-GO": _CITY,
    "TJ-GB": {
        "MH0607": 8.0, "MH0801": 4.0, "GH0300": 2.0, "GH0303": 1.5, "MH0502": 2.0,
        "MH0503": 4.0, "MH0501": 0.1, "MH0401": 0.3, "MH0201": 0.1,
    },
    "TJ-KT": {"MH0401": 2.0, "MH0501": 2.0, "MH0201": 2.5, "MH0604": 1.5, "EN0303": 2.0},
    "TJ-RA": {"GH0303": 1.5, "GH0300": 1.5, "MH0801": 1.5},
    "TJ-SU": {"MH0401": 1.3, "GH0303": 1.2, "EN0303": 1.5},
    "TJ-DU": _CITY,
    "TM-D": {"EN0303": 3.0, "MH0401": 2.0, "MH0201": 1.5, "EN0206": 1.5},
    "TM-A": {"GH0101": 3.0, "GH0303": 3.0, "MH0603": 2.0},
    "TM-S": {**_CITY, "GH0101": 3.0},
    "TM-L": {"MH0604": 3.0, "EN0303": 1.5},
    "TM-B": {"MH0201": 1.5, "EN0206": 2.0, "MH0401": 1.3},
    "TM-M": {"MH0201": 1.3, "EN0303": 1.3},
    "UZ-QR": _ARAL,
    "UZ-XO": {"MH0401": 2.5, "EN0303": 4.0, "MH0201": 2.5, "EN0206": 3.0},
    "UZ-BU": {"MH0401": 1.5, "EN0303": 2.0, "MH0201": 1.5, "EN0206": 2.0},
    "UZ-NW": {"MH0401": 1.5, "EN0303": 2.0, "MH0201": 1.5, "EN0206": 2.0},
    "UZ-SI": {"MH0600": 8.0, "EN0303": 2.0, "MH0604": 2.0},  # the 2020 Sardoba dam break
    "UZ-FA": _FERGANA,
    "UZ-AN": _FERGANA,
    "UZ-NG": _FERGANA,
    "UZ-TO": {"GH0303": 2.0, "MH0603": 2.0, "MH0801": 3.0},
    "UZ-SU": {"MH0501": 1.8, "MH0401": 1.5, "MH0603": 2.0, "GH0303": 1.5},
    "UZ-QA": {"MH0501": 1.8, "MH0401": 1.5, "MH0603": 1.5},
    "UZ-TK": {**_CITY, "MH0201": 1.0},
}  # fmt: skip

_URBAN_FACTORS: Final = {
    **{h: 0.25 for h in ("MH0401", "EN0206", "EN0301", "EN0303", "MH0503")},
    **{h: 0.6 for h in _SUDDEN - {"GH0101"}},
    "MH0501": 1.2,
}
_REMOTE_FACTORS: Final = {"MH0801": 1.5, "GH0303": 1.5, "GH0300": 1.5, "MH0503": 1.5}
_EXPOSURE: Final = ((0.3, 0.35), (1.0, 0.45), (2.2, 0.20))  # household exposure: factor, share
_EXPOSURE_PICK: Final = _weighted([(i, share) for i, (_, share) in enumerate(_EXPOSURE)])

_IMPACT: Final = {  # which of several hazards a household names as the worst
    "GH0101": 4.0, "GH0303": 4.0, "MH0607": 5.0, "MH0603": 3.0, "MH0604": 3.0, "MH0610": 2.5,
    "MH0600": 2.5, "GH0300": 3.0, "MH0801": 2.5, "MH0503": 3.5, "MH0401": 2.5, "EN0303": 2.0,
    "EN0206": 1.5, "EN0301": 1.5, "MH0501": 1.0, "MH0502": 1.0, "MH0201": 0.8,
}  # fmt: skip
_SEVERITY: Final = ("minor", "moderate", "severe", "extreme")
_SEVERITY_BY_CLASS: Final = (
    _weighted(list(zip(range(4), (0.25, 0.40, 0.25, 0.10), strict=True))),
    _weighted(list(zip(range(4), (0.25, 0.45, 0.22, 0.08), strict=True))),
    _weighted(list(zip(range(4), (0.15, 0.35, 0.35, 0.15), strict=True))),
    _weighted(list(zip(range(4), (0.45, 0.40, 0.12, 0.03), strict=True))),
)
_NOTABLE_YEARS: Final[Mapping[tuple[str, str], Mapping[int, float]]] = {
    **{(c, "MH0401"): {2021: 4.0, 2023: 2.0, 2025: 2.0} for c in COUNTRIES},
    **{(c, "MH0501"): {2021: 1.5, 2023: 2.0, 2025: 2.0} for c in COUNTRIES},
    **{(c, "MH0502"): {2023: 5.0} for c in COUNTRIES},  # the January 2023 cold wave
    **{(c, "MH0201"): {2021: 3.0} for c in COUNTRIES},  # the November 2021 dust storm
    ("KZ", "MH0604"): {2024: 15.0},
    ("KZ", "MH0610"): {2024: 15.0},
    ("KZ", "MH0600"): {2024: 8.0},
    ("KZ", "MH0503"): {2024: 6.0},
    ("KG", "MH0503"): {2024: 3.0},
    ("UZ", "MH0600"): {2020: 10.0},
    ("KG", "GH0303"): {2024: 3.0},
    ("TJ", "GH0303"): {2024: 3.0},
    ("TJ", "GH0101"): {2023: 2.0},
    ("TJ", "MH0801"): {2023: 3.0},
}


@lru_cache(maxsize=1024)
def _years(country: str, hazard: str, interview_year: int) -> _Pick:
    """The year of the worst event: the last ten years, recent ones remembered better."""
    first = max(_FIRST_YEAR, interview_year - 10)
    last = min(_LAST_YEAR, interview_year)
    notable = _NOTABLE_YEARS.get((country, hazard), {})
    return _weighted(
        [(y, 0.85 ** (interview_year - y) * notable.get(y, 1.0)) for y in range(first, last + 1)]
    )


_DAMAGE: Final = (  # by hazard class (sudden-onset or not), then severity
    tuple(
        _weighted(list(zip(("none", "minor", "major", "destroyed"), p, strict=True)))
        for p in ((0.55, 0.40, 0.05, 0.0), (0.25, 0.55, 0.18, 0.02),
                  (0.08, 0.40, 0.40, 0.12), (0.03, 0.17, 0.45, 0.35))
    ),
    tuple(
        _weighted(list(zip(("none", "minor", "major", "destroyed"), p, strict=True)))
        for p in ((0.90, 0.10, 0.0, 0.0), (0.75, 0.23, 0.02, 0.0),
                  (0.60, 0.33, 0.06, 0.01), (0.45, 0.40, 0.12, 0.03))
    ),
)  # fmt: skip
_CROPS: Final = (  # by whether the hazard hits harvests, then severity
    tuple(
        _weighted(list(zip(("none", "less_half", "half_or_more", "all"), p, strict=True)))
        for p in ((0.35, 0.55, 0.08, 0.02), (0.12, 0.55, 0.28, 0.05),
                  (0.05, 0.30, 0.50, 0.15), (0.02, 0.15, 0.45, 0.38))
    ),
    tuple(
        _weighted(list(zip(("none", "less_half", "half_or_more", "all"), p, strict=True)))
        for p in ((0.75, 0.22, 0.03, 0.0), (0.55, 0.35, 0.08, 0.02),
                  (0.40, 0.40, 0.15, 0.05), (0.30, 0.40, 0.20, 0.10))
    ),
)  # fmt: skip
_CROP_HAZARDS: Final = _FLOODS | _LAND | {"MH0501", "MH0201"}
_MOVE_PROBABILITY: Final = (  # moved because of a hazard: by hazard class, then severity
    (0.01, 0.04, 0.18, 0.45),
    (0.005, 0.015, 0.05, 0.12),
    (0.005, 0.02, 0.06, 0.15),
    (0.002, 0.005, 0.02, 0.05),
)

# ------------------------------------------------------------------------- money

_CURRENCY_UNIT: Final = {"KZ": 500.0, "KG": 87.0, "TJ": 10.5, "TM": 3.5, "UZ": 12600.0}  # per USD
_ROUNDING: Final = {"KZ": 1000.0, "KG": 100.0, "TJ": 10.0, "TM": 10.0, "UZ": 10000.0}
_INCOME_USD: Final = {"KZ": 9000.0, "KG": 4000.0, "TJ": 3200.0, "TM": 5000.0, "UZ": 4500.0}
_REMITTANCE_USD: Final = {"KZ": 1500.0, "KG": 2600.0, "TJ": 2800.0, "TM": 1500.0, "UZ": 2200.0}


def _money(country: str, usd: float) -> float:
    step = _ROUNDING[country]
    return float(round(usd * _CURRENCY_UNIT[country] / step) * step)


# ------------------------------------------------------------------------- people

_HH_SIZE: Final[Mapping[str, _Pick]] = {
    c: _weighted(list(zip(range(1, 11), p, strict=True)))
    for c, p in {
        "KZ": (0.17, 0.18, 0.18, 0.19, 0.14, 0.07, 0.04, 0.02, 0.007, 0.003),  # mean ~3.5
        "KG": (0.10, 0.14, 0.16, 0.19, 0.17, 0.11, 0.07, 0.035, 0.015, 0.01),  # ~4.1
        "TJ": (0.03, 0.06, 0.08, 0.11, 0.14, 0.15, 0.14, 0.12, 0.09, 0.08),  # ~6.0
        "TM": (0.05, 0.08, 0.11, 0.15, 0.18, 0.16, 0.12, 0.08, 0.04, 0.03),  # ~5.1
        "UZ": (0.05, 0.08, 0.12, 0.17, 0.19, 0.16, 0.11, 0.07, 0.03, 0.02),  # ~4.9
    }.items()
}

_NAMES: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]]] = {
    # male given names, female given names, family names (masculine form)
    "KZ": (
        ("Nurlan", "Yerlan", "Daniyar", "Askar", "Bauyrzhan", "Aidos", "Serik", "Arman",
         "Timur", "Alikhan", "Yerzhan", "Marat", "Sanzhar", "Dauren"),
        ("Aigerim", "Dana", "Gulnara", "Aizhan", "Saule", "Madina", "Zhanar", "Aruzhan",
         "Dinara", "Kamila", "Ainur", "Gaukhar", "Assel", "Zhuldyz"),
        ("Nurlanov", "Zhaksylykov", "Abenov", "Seitkali", "Bekov", "Ospanov", "Akhmetov",
         "Tulegenov", "Iskakov", "Kassymov", "Ivanov", "Smagulov"),
    ),
    "KG": (
        ("Azamat", "Bakyt", "Nurbek", "Ulan", "Aibek", "Emil", "Kubanychbek", "Talant",
         "Almaz", "Erlan", "Chyngyz", "Bolot", "Adilet", "Maksat"),
        ("Aida", "Cholpon", "Aigul", "Gulzat", "Meerim", "Asel", "Jyldyz", "Elmira",
         "Nazira", "Aizada", "Bermet", "Kanykei", "Begimai", "Nurjan"),
        ("Asanov", "Bakirov", "Usenov", "Toktogulov", "Abdyldaev", "Mamytov", "Sydykov",
         "Isakov", "Zhumabaev", "Osmonov", "Tashiev", "Kadyrov"),
    ),
    "TJ": (
        ("Firuz", "Rustam", "Jamshed", "Farhod", "Bakhtiyor", "Dilshod", "Umed", "Suhrob",
         "Parviz", "Behruz", "Saidali", "Nodir", "Shahrom", "Davron"),
        ("Zarina", "Nilufar", "Mehrona", "Madina", "Gulnora", "Shahnoza", "Farzona",
         "Dilnoza", "Manizha", "Tahmina", "Sitora", "Parvina", "Firuza", "Mavzuna"),
        ("Rahimov", "Karimov", "Nazarov", "Saidov", "Sharipov", "Mirzoev", "Rajabov",
         "Davlatzoda", "Rahmonzoda", "Qodirzoda", "Sattorov", "Safarov"),
    ),
    "TM": (
        ("Batyr", "Atamurat", "Myrat", "Begench", "Maksat", "Resul", "Annamyrat", "Kerim",
         "Arslan", "Merdan", "Serdar", "Dovlet", "Rustem", "Yusup"),
        ("Ogulgerek", "Maral", "Jeren", "Aysoltan", "Gozel", "Ene", "Bahar", "Leyla",
         "Selbi", "Ayna", "Ogulshat", "Nabat", "Gulshat", "Mahri"),
        ("Annayev", "Orazov", "Hojayev", "Gurbanov", "Amanov", "Berdiyev", "Charyyev",
         "Atayev", "Durdyyev", "Muradov", "Rejepov", "Nurmuhammedov"),
    ),
    "UZ": (
        ("Akmal", "Bekzod", "Jasur", "Sardor", "Otabek", "Shohruh", "Ulugbek", "Sherzod",
         "Javlon", "Rustam", "Doniyor", "Islom", "Azizbek", "Bobur"),
        ("Dilnoza", "Malika", "Gulnoza", "Nodira", "Feruza", "Shahlo", "Zulfiya", "Mohira",
         "Sevara", "Kamola", "Nigora", "Mukhlisa", "Madina", "Gulchehra"),
        ("Karimov", "Tursunov", "Yusupov", "Rakhimov", "Abdullaev", "Ismoilov", "Nazarov",
         "Saidov", "Ergashev", "Khodjaev", "Jumaniyazov", "Utepov"),
    ),
}  # fmt: skip


def _feminine(surname: str) -> str:
    return surname + "a" if surname.endswith(("ov", "ev", "yev", "in")) else surname


_GIVEN_NAMES: Final = 14
_FULL_NAMES: Final[Mapping[str, tuple[tuple[tuple[str, ...], ...], ...]]] = {
    # [male or female][family name] -> the full names, "Given Family"
    c: tuple(
        tuple(
            tuple(f"{g} {_feminine(f) if female else f}" for g in (fs if female else ms))
            for f in families
        )
        for female in (False, True)
    )
    for c, (ms, fs, families) in _NAMES.items()
}


_P_FEMALE_HEAD: Final = {"KZ": 0.30, "KG": 0.25, "TJ": 0.22, "TM": 0.18, "UZ": 0.18}
_P_PARENT: Final = {"KZ": 0.12, "KG": 0.18, "TJ": 0.22, "TM": 0.22, "UZ": 0.22}
_MIGRATION: Final = {  # P(a member aged 18-55 works abroad): men, women
    "KZ": (0.015, 0.005),
    "KG": (0.20, 0.08),
    "TJ": (0.30, 0.04),
    "TM": (0.05, 0.015),
    "UZ": (0.15, 0.03),
}
_DESTINATIONS: Final[Mapping[str, _Pick]] = {
    "KZ": _w({"RU": 0.45, "DE": 0.18, "KR": 0.10, "US": 0.05, "CN": 0.05, "TR": 0.05,
              "GB": 0.04, "PL": 0.03, "AE": 0.02, "other": 0.03}),
    "KG": _w({"RU": 0.74, "KZ": 0.10, "TR": 0.05, "KR": 0.05, "AE": 0.01, "US": 0.01,
              "DE": 0.01, "other": 0.03}),
    "TJ": _w({"RU": 0.86, "KZ": 0.04, "TR": 0.03, "KR": 0.02, "AE": 0.02, "BY": 0.01,
              "other": 0.02}),
    "TM": _w({"TR": 0.60, "RU": 0.25, "BY": 0.05, "AE": 0.05, "CN": 0.01, "other": 0.04}),
    "UZ": _w({"RU": 0.64, "KZ": 0.12, "KR": 0.08, "TR": 0.06, "AE": 0.02, "PL": 0.02,
              "GB": 0.02, "DE": 0.01, "US": 0.01, "other": 0.02}),
}  # fmt: skip
_OTHER_COUNTRIES: Final = ("Czechia", "Japan", "Lithuania", "Israel", "Canada", "Italy")

_EDU_ADULT: Final = _w(
    {"none": 0.01, "primary": 0.03, "lower_secondary": 0.09, "upper_secondary": 0.40,
     "vocational": 0.22, "higher": 0.25}
)  # fmt: skip
_EDU_ADULT_URBAN: Final = _w(
    {"none": 0.005, "primary": 0.015, "lower_secondary": 0.06, "upper_secondary": 0.32,
     "vocational": 0.22, "higher": 0.38}
)  # fmt: skip
_EDU_YOUNG: Final = _w({"lower_secondary": 0.08, "upper_secondary": 0.67, "vocational": 0.25})
_EDU_OLD: Final = _w(
    {"none": 0.03, "primary": 0.10, "lower_secondary": 0.20, "upper_secondary": 0.30,
     "vocational": 0.22, "higher": 0.15}
)  # fmt: skip

_ACT_TEEN: Final = _w(
    {"student": 0.85, "employee": 0.03, "farming": 0.03, "unemployed": 0.05, "homemaker": 0.04}
)
_ACT_YOUNG: Final = _w(
    {"student": 0.45, "employee": 0.22, "self_employed": 0.08, "farming": 0.05,
     "unemployed": 0.12, "homemaker": 0.06, "other": 0.02}
)  # fmt: skip
_ACT_ADULT: Final = {  # (female, rural)
    (False, False): _w({"employee": 0.55, "self_employed": 0.22, "farming": 0.02,
                        "unemployed": 0.11, "unable": 0.02, "other": 0.03, "homemaker": 0.05}),
    (False, True): _w({"employee": 0.30, "self_employed": 0.18, "farming": 0.30,
                       "unemployed": 0.14, "unable": 0.02, "other": 0.03, "homemaker": 0.03}),
    (True, False): _w({"employee": 0.42, "self_employed": 0.12, "farming": 0.01,
                       "unemployed": 0.09, "unable": 0.02, "other": 0.02, "homemaker": 0.32}),
    (True, True): _w({"employee": 0.22, "self_employed": 0.07, "farming": 0.15,
                      "unemployed": 0.09, "unable": 0.02, "other": 0.02, "homemaker": 0.43}),
}  # fmt: skip
_ACT_OLD: Final = _w(
    {"retired": 0.78, "farming": 0.06, "self_employed": 0.04, "homemaker": 0.06, "unable": 0.06}
)
_ACT_MIGRANT: Final = _w({"employee": 0.75, "self_employed": 0.25})

# ------------------------------------------------------------------------- intentions, help

_PLAN_DESTINATION: Final = _w(
    {"same_region": 0.35, "other_region": 0.33, "abroad": 0.12, "not_decided": 0.20}
)
_PLAN_DESTINATION_MIGRANTS: Final = _w(
    {"same_region": 0.30, "other_region": 0.28, "abroad": 0.22, "not_decided": 0.20}
)
_BARRIERS: Final = (
    ("no_money", 0.70), ("no_housing", 0.40), ("no_work", 0.30), ("documents", 0.05),
    ("cannot_sell", 0.25), ("care", 0.10), ("health", 0.08), ("not_permitted", 0.03),
    ("other", 0.03),
)  # fmt: skip
_FREQUENCY: Final = _w({"monthly": 0.45, "every_few_months": 0.30, "few_times": 0.18, "once": 0.07})
_FREQUENCY_RELATIVES: Final = _w(
    {"monthly": 0.10, "every_few_months": 0.25, "few_times": 0.40, "once": 0.25}
)
_SOURCES: Final = (
    ("government", 0.50), ("local_authority", 0.40), ("international", 0.12),
    ("red_crescent", 0.18), ("ngo", 0.10), ("community", 0.20), ("relatives", 0.30),
    ("religious", 0.05), ("business", 0.03), ("other", 0.02),
)  # fmt: skip
_LANGUAGE: Final = _w({"ru": 0.6, "en": 0.4})
_HOURS: Final = _w(
    {8: 0.04, 9: 0.10, 10: 0.13, 11: 0.13, 12: 0.09, 13: 0.08, 14: 0.10, 15: 0.10, 16: 0.09,
     17: 0.07, 18: 0.05, 19: 0.02}
)  # fmt: skip

# ------------------------------------------------------------------------- sampling frame


@dataclass(frozen=True, slots=True)
class _Psu:
    """A cluster of the sampling frame: where it is and what threatens it."""

    code: str
    region: _Region
    settlement: str
    lat: float
    lon: float
    alt: float
    # per exposure level: the probability of each hazard (in _HAZARDS order), and of any
    # hazard from there on (so that one draw settles whether a household was affected)
    rates: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]


def _clip(x: float, low: float, high: float) -> float:
    return low if x < low else high if x > high else x


@cache
def _stratum_regions(country: str, urban: bool) -> tuple[tuple[_Region, ...], tuple[float, ...]]:
    """The regions with people in the stratum, and the cumulated shares of its population."""
    regions = _REGIONS[country]
    sizes = [r.population * (r.urban if urban else 1.0 - r.urban) for r in regions]
    total = sum(sizes)
    kept, bounds, acc = [], [], 0.0
    for region, size in zip(regions, sizes, strict=True):
        if size > 0:
            acc += size / total
            kept.append(region)
            bounds.append(acc)
    bounds[-1] = 2.0
    return tuple(kept), tuple(bounds)


@cache
def _hazard_rates(
    country: str, region: _Region, settlement: str
) -> tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]:
    base = _BASE_RATES[country]
    regional = _REGION_FACTORS.get(region.code, {})
    urban = settlement in ("city", "town")
    rates = []
    for h in _HAZARDS:
        p = base[h] * regional.get(h, 1.0)
        if urban:
            p *= _URBAN_FACTORS.get(h, 1.0)
        elif settlement == "remote":
            p *= _REMOTE_FACTORS.get(h, 1.0)
        rates.append(p)
    out = []
    for factor, _ in _EXPOSURE:
        scaled = [min(0.95, p * factor) for p in rates]
        tails, none = [0.0] * len(scaled), 1.0
        for i in range(len(scaled) - 1, -1, -1):
            none *= 1.0 - scaled[i]
            tails[i] = 1.0 - none
        out.append((tuple(scaled), tuple(tails)))
    return tuple(out)


_PSUS: dict[tuple[str, bool, int, int], _Psu] = {}


def _psu(country: str, urban: bool, count: int, index: int) -> _Psu:
    """Cluster `index` (0-based) of the `count` clusters of a stratum, the same at every call.

    Clusters are allocated to regions in proportion to the stratum's population (a systematic
    allocation over the cumulated region sizes); each cluster's own details come from a
    generator seeded with its code, so they do not depend on the order of the calls.
    """
    key = (country, urban, count, index)
    found = _PSUS.get(key)
    if found is not None:
        return found
    regions, bounds = _stratum_regions(country, urban)
    region = regions[bisect_right(bounds, (index + 0.5) / count)]
    code = f"{country}-{'U' if urban else 'R'}-{index + 1:04d}"
    # A generator per cluster, seeded with its code: reproducible frame details, not secrets.
    frame = random.Random(zlib.crc32(f"{code}/{count}".encode()))  # noqa: S311
    if region.code in _CITIES:
        settlement = "city"
    elif urban:
        settlement = "city" if frame.random() < 0.5 else "town"
    else:
        settlement = "remote" if frame.random() < region.remote else "village"
    lat_min, lat_max, lon_min, lon_max = _BBOX[country]
    lat = _clip(region.lat + frame.gauss(0.0, region.spread / 2), lat_min + 0.05, lat_max - 0.05)
    lon = _clip(region.lon + frame.gauss(0.0, region.spread / 2), lon_min + 0.05, lon_max - 0.05)
    relief = 0.03 if region.code in _CITIES else 0.25
    alt = max(-28.0, region.alt * math.exp(frame.gauss(0.0, relief))) if region.alt > 0 else -20.0
    if settlement == "remote":
        alt *= 1.3
    psu = _Psu(code, region, settlement, lat, lon, alt, _hazard_rates(country, region, settlement))
    if len(_PSUS) < 1_000_000:
        _PSUS[key] = psu
    return psu


def _offset(country: str, region: str, day: date) -> timezone:
    if country == "KG" or (country == "KZ" and day < _KZ_SINGLE_ZONE and region not in _KZ_WEST):
        return _TZ6
    return _TZ5


_OFFSET_TEXT: Final = {_TZ5: "+05:00", _TZ6: "+06:00"}
_FIELDWORK: Final = tuple(
    (d, d.isoformat())
    for d in (FIELDWORK_START + timedelta(days=i) for i in range(_FIELDWORK_DAYS + 1))
)
_TWO_DIGITS: Final = tuple(f"{i:02d}" for i in range(60))


def _clock(second: int) -> str:
    """`HH:MM:SS` of a second of the day."""
    minute, second = divmod(second, 60)
    hour, minute = divmod(minute, 60)
    return f"{_TWO_DIGITS[hour]}:{_TWO_DIGITS[minute]}:{_TWO_DIGITS[second]}"


# ------------------------------------------------------------------------- the household


def household(
    rng: random.Random,
    *,
    country: str | None = None,
    stratum_psus: int = 400,
    when: datetime | None = None,
) -> dict[str, Any]:
    """One valid answers object for the reference questionnaire (calculates left out).

    `country` fixes the country (KZ, KG, TJ, TM, UZ; by default one of them at random),
    `stratum_psus` is the number of clusters per stratum (country x urban/rural), and
    `when` the start of the interview (a naive value is local time; by default a day of the
    2025 fieldwork). Every random draw comes from `rng`, so equal generators give equal
    households.
    """
    if country is None:
        country = COUNTRIES[int(rng.random() * 5)]
    elif country not in _REGIONS:
        raise ValueError(f"unknown country {country!r}: one of {', '.join(COUNTRIES)}")
    if stratum_psus < 1:
        raise ValueError("stratum_psus must be at least 1")
    r = rng.random

    # --- sampling: stratum, cluster, household
    urban = r() < _URBAN_SHARE[country]
    psu = _psu(country, urban, stratum_psus, int(r() * stratum_psus))
    region = psu.region.code
    settlement = psu.settlement
    rural = not urban
    remote = settlement == "remote"

    # --- interview time (formatted by hand on the default path: isoformat is slow)
    start: datetime | None = None
    if when is None:
        day, day_text = _FIELDWORK[int(r() * len(_FIELDWORK))]
        offset = _offset(country, region, day)
        start_second = _HOURS(r) * 3600 + int(r() * 3600)
        start_text = f"{day_text}T{_clock(start_second)}{_OFFSET_TEXT[offset]}"
    else:
        local = when if when.tzinfo is None else when.astimezone(_TZ5)
        offset = _offset(country, region, local.date())
        start = when.replace(tzinfo=offset) if when.tzinfo is None else when.astimezone(offset)
        start = start.replace(microsecond=0)
        day = start.date()
        start_second = 0
        start_text = start.isoformat()
        if day < _EARLIEST_INTERVIEW or day.year > _LAST_YEAR + 10:
            raise ValueError(f"an interview on {day} cannot meet the questionnaire's date ranges")
    year = day.year

    # --- hazards in the last ten years
    rates, tails = psu.rates[_EXPOSURE_PICK(r)]
    experienced: list[str] = []
    if r() < tails[0]:  # at least one hazard: the first one, then each of the later ones
        i = 0
        while i < _LAST_HAZARD and r() * tails[i] >= rates[i]:
            i += 1
        experienced.append(_HAZARDS[i])
        for j in range(i + 1, _LAST_HAZARD + 1):
            if r() < rates[j]:
                experienced.append(_HAZARDS[j])
    affected = bool(experienced)
    worst = ""
    severity = -1
    klass = 3
    if affected:
        worst = experienced[-1]
        if len(experienced) > 1:
            x = r() * sum(_IMPACT[h] for h in experienced)
            for h in experienced:
                x -= _IMPACT[h]
                if x < 0:
                    worst = h
                    break
        klass = _hazard_class(worst)
        severity = _SEVERITY_BY_CLASS[klass](r)
        if klass == 1 and len(experienced) >= 3:  # compounding slow-onset stress (Aral)
            severity = min(3, severity + (r() < 0.4))
    worst_year: int = _years(country, worst, year)(r) if affected else 0

    # --- impacts
    impacts: dict[str, Any] | None = None
    damage = "none"
    if affected:
        damage = _DAMAGE[0 if klass == 0 else 1][severity](r)
        has_land = r() < (0.25 if urban else 0.85)
        has_livestock = r() < (0.12 if urban else 0.88 if remote else 0.70)
        impacts = {"housing_damage": damage, "has_land": "yes" if has_land else "no"}
        if has_land:
            # hectares: a kitchen garden or a small plot, now and then a real farm
            spread = (r() + r() + r() - 1.5) * 2.4  # about normal, sd 1.2
            holding = math.exp(spread) * (0.05 if urban else 0.3)
            if worst in _LAND_LOSING and r() < 0.6:
                share = r() * (0.15 + 0.2 * severity)
            elif r() < 0.15:
                share = r() * 0.1
            else:
                share = 0.0
            impacts["land_lost_ha"] = round(holding * share, 2)
            if r() < (0.4 if urban else 0.07):
                impacts["crops_lost"] = "no_crops"
            else:
                impacts["crops_lost"] = _CROPS[0 if worst in _CROP_HAZARDS else 1][severity](r)
        impacts["has_livestock"] = "yes" if has_livestock else "no"
        if has_livestock:
            herd = math.exp((r() + r() + r() - 1.5) * 1.8) * (25.0 if remote else 6.0)
            if worst == "MH0503":
                share = 0.1 + r() * (0.15 + 0.15 * severity)
            elif worst in ("MH0401", "MH0502", "EN0206") or worst in _FLOODS:
                share = r() * 0.08 * (severity + 1) if r() < 0.5 else 0.0
            else:
                share = r() * 0.05 if r() < 0.15 else 0.0
            impacts["livestock_lost"] = min(10_000, int(herd * share + 0.5))
        if r() < (0.4, 0.2, 0.1, 0.05)[severity]:
            income_lost = 0.0
        else:
            low, high = ((0.0, 0.05), (0.02, 0.15), (0.08, 0.35), (0.2, 0.7))[severity]
            usd = _INCOME_USD[country] * (0.7 if rural else 1.0) * (low + r() * (high - low))
            income_lost = _money(country, usd)
        impacts["income_lost"] = income_lost

    # --- displacement by a hazard
    history: dict[str, Any] | None = None
    moved = returned = abroad = False
    elapsed_months = 0
    if affected:
        moved = r() < _MOVE_PROBABILITY[klass][severity]
        last_day = day - timedelta(days=1)
        if moved and last_day.year < _FIRST_YEAR:
            moved = False
        history = {"moved_due_hazard": "yes" if moved else "no"}
        if moved:
            move_year = min(worst_year, last_day.year)
            month = 1 + int(r() * 12)
            move_day = 15 if r() < 0.4 else 1 + int(r() * 28)
            move_date = date(move_year, month, move_day)
            if move_date > last_day:
                move_date = last_day - timedelta(days=int(r() * 60))
            if move_date.year < _FIRST_YEAR:
                move_date = date(_FIRST_YEAR, 1, 1)
            elapsed_months = int((day - move_date).days / 30.4375)
            abroad = r() < (0.02 if country == "KZ" else 0.05)
            details: dict[str, Any] = {"move_date": move_date.isoformat()}
            if abroad:
                returned = r() < 0.85
                details["move_from_region"] = region
                details["move_abroad"] = "yes"
                details["move_to_country"] = _DESTINATIONS[country](r)
            else:
                returned = r() < (0.6 if klass == 0 else 0.25)
                other = _REGION_BY_POPULATION[country](r)
                elsewhere = r() < (0.25 if returned else 0.3)
                if returned:  # back home: they left this region
                    details["move_from_region"] = region
                    details["move_abroad"] = "no"
                    details["move_to_region"] = other if elsewhere else region
                else:  # still away: they live here now
                    details["move_from_region"] = other if elsewhere else region
                    details["move_abroad"] = "no"
                    details["move_to_region"] = region
            if returned:
                months = (0, 1, 2, 3, 5, 8, 12, 18, 30)[int(r() * 9)]
                details["move_months"] = min(elapsed_months, months)
            else:
                details["move_months"] = elapsed_months
            details["returned"] = "yes" if returned else "no"
            history["move_details"] = details

    # --- members
    size: int = _HH_SIZE[country](r)
    if urban and size > 1 and r() < 0.25:
        size -= 1
    members, respondent, migrants, away = _roster(rng, country, size, rural)
    members_abroad = migrants

    # --- intentions
    land_hazards = any(h in _LAND for h in experienced)
    displaced_now = moved and not returned and not abroad
    p_plan = 0.03 + (0.01, 0.03, 0.07, 0.12)[severity] * affected + 0.1 * displaced_now
    p_plan += 0.04 * land_hazards
    x = r()
    plan = "yes" if x < p_plan else "dont_know" if x < p_plan + 0.06 else "no"
    intentions: dict[str, Any] = {"plan_move": plan}
    want_cannot = False
    if plan == "yes":
        pick = _PLAN_DESTINATION_MIGRANTS if migrants else _PLAN_DESTINATION
        intentions["plan_move_destination"] = pick(r)
    else:
        p_want = 0.03 + (0.02, 0.05, 0.12, 0.2)[severity] * affected + 0.05 * land_hazards
        want_cannot = r() < p_want
        intentions["want_cannot_move"] = "yes" if want_cannot else "no"
    if plan == "yes" or want_cannot:
        physical = affected and klass == 0
        water = any(h in _WATER for h in experienced)
        reasons = [
            ("hazard_risk", 0.6 if physical else 0.25 if affected else 0.05),
            ("water_shortage", 0.55 if water else 0.05),
            ("land_degradation", 0.45 if land_hazards else 0.03),
            ("livelihood_loss", 0.35 if affected else 0.10),
            ("better_work", 0.30 if affected else 0.45),
            ("services", 0.15),
            ("family", 0.15),
            ("housing", 0.40 if damage in ("major", "destroyed") else 0.15),
            ("other", 0.03),
        ]
        intentions["move_reasons"] = _multi(
            rng, reasons, "hazard_risk" if affected else "better_work"
        )
        if want_cannot:
            intentions["move_barriers"] = _multi(rng, _BARRIERS, "no_money")

    # --- current displacement status (meets the status constraint by construction)
    p_conflict = 0.12 if region in ("KG-B", "TJ-SU") else 0.03 if region == "TJ-GB" else 0.012
    forced_other = r() < p_conflict
    x = r()
    if moved and abroad:
        status = "RETURNEE_ABROAD" if x < 0.8 else "FORMER_IDP"
    elif moved and returned:
        status = "IDP_RETURNED" if x < 0.6 else "FORMER_IDP"
    elif moved:
        settled = 0.45 if elapsed_months > 24 else 0.2
        status = (
            "IDP"
            if x < 0.8 - settled
            else "FORMER_IDP"
            if x < 0.8
            else "PLANNED_RELOCATION"
            if x < 0.95
            else "MIGRANT"
        )
    elif forced_other:
        status = "IDP" if x < 0.3 else "IDP_RETURNED" if x < 0.65 else "FORMER_IDP"
        if country in ("TJ", "KG") and r() < 0.05:
            status = "REFUGEE_ASYLUM"
    elif want_cannot and x < 0.6:
        status = "TRAPPED"
    else:
        y = r()
        host = 0.04 if affected else 0.01
        status = (
            "HOST"
            if y < host
            else "MIGRANT"
            if y < host + 0.02
            else "RETURNEE_ABROAD"
            if y < host + 0.035
            else "NON_DISPLACED"
        )

    # --- remittances
    received = r() < (0.88 if migrants else 0.45 if away else 0.07)
    remittances: dict[str, Any] = {
        "members_abroad": members_abroad,
        "remittances_received": "yes" if received else "no",
    }
    if received:
        per_year = _REMITTANCE_USD[country] * math.exp((r() + r() + r() - 1.5) * 1.2)
        usd = per_year * migrants if migrants else per_year * 0.25
        remittances["remittance_amount"] = max(_ROUNDING[country], _money(country, usd))
        frequency = _FREQUENCY if migrants else _FREQUENCY_RELATIVES
        remittances["remittance_frequency"] = frequency(r)
        rebuilding = 0.5 if damage in ("major", "destroyed") else 0.15 if affected else 0.0
        uses = [
            ("food", 0.80), ("utilities", 0.40), ("education", 0.20), ("health", 0.25),
            ("debt", 0.20), ("housing", 0.25), ("rebuilding", rebuilding),
            ("relocating", 0.25 if moved or plan == "yes" else 0.02), ("protection", 0.02),
            ("irrigation", 0.05 if land_hazards else 0.02), ("livestock", 0.10 if rural else 0.01),
            ("farm_inputs", 0.08 if rural else 0.01), ("insurance", 0.01), ("business", 0.05),
            ("ceremonies", 0.20), ("savings", 0.10), ("other", 0.02),
        ]  # fmt: skip
        remittances["remittance_uses"] = _multi(rng, uses, "food")

    # --- assistance
    p_help = (0.1, 0.25, 0.5, 0.7)[severity] + 0.2 * moved if affected else 0.03
    assistance: dict[str, Any]
    if r() < p_help:
        if affected:
            homeless = damage in ("major", "destroyed") or moved
            kinds = [
                ("cash", 0.40), ("food", 0.40), ("shelter", 0.45 if homeless else 0.03),
                ("housing", 0.25 if damage == "destroyed" else 0.02),
                ("land_plot", 0.15 if moved and country in ("KG", "TJ") else 0.01),
                ("farm_inputs", 0.25 if klass == 1 else 0.03),
                ("water", 0.35 if worst in _WATER else 0.05), ("health", 0.10),
                ("protection", 0.03), ("early_warning", 0.10),
            ]  # fmt: skip
            received_help = _multi(rng, kinds, "food")
        else:
            received_help = ["early_warning"]
        assistance = {
            "assistance_received": received_help,
            "assistance_sources": _multi(rng, _SOURCES, "government"),
        }
    else:
        assistance = {"assistance_received": ["none"]}

    # --- interview end and location
    minutes = 24 + 3 * size + 6 * affected + 5 * moved + 3 * received  # about 40 on average
    duration = max(900, int((minutes + (r() + r() + r() - 1.5) * 12.0) * 60.0))
    end_second = start_second + duration
    if start is None and end_second < 86_400:
        end_text = f"{day_text}T{_clock(end_second)}{_OFFSET_TEXT[offset]}"
    else:
        if start is None:
            start = datetime(day.year, day.month, day.day, tzinfo=offset)
        end_text = (start + timedelta(seconds=end_second)).isoformat()
    jitter = 0.014 if settlement == "city" else 0.028  # about 1 or 2 km around the centre
    lat_min, lat_max, lon_min, lon_max = _BBOX[country]
    lat = _clip(psu.lat + (r() + r() - 1.0) * jitter, lat_min, lat_max)
    lon = _clip(psu.lon + (r() + r() - 1.0) * jitter, lon_min, lon_max)
    gps = {
        "lat": int(lat * 1e6 + 0.5) / 1e6,
        "lon": int(lon * 1e6 + 0.5) / 1e6,
        "alt": int((psu.alt + (r() + r() - 1.0) * 15.0) * 10.0) / 10,
        "accuracy": (25 + int(r() * 76)) / 10,
    }

    answers: dict[str, Any] = {
        "interview_start": start_text,
        "consent": "yes",
        "identification": {
            "country": country,
            "region": region,
            "settlement_type": settlement,
            "cluster": psu.code,
            "household_number": 1 + int(r() * 240),
        },
        "household": {"hh_size": size, "members": members, "respondent_line": respondent},
        "hazard_exposure": (
            {
                "hazards_experienced": experienced,
                "worst_hazard": worst,
                "worst_year": worst_year,
                "worst_severity": _SEVERITY[severity],
            }
            if affected
            else {"hazards_experienced": ["none"]}
        ),
    }
    if impacts is not None:
        answers["impacts"] = impacts
    if history is not None:
        answers["displacement_history"] = history
    answers["intentions"] = intentions
    answers["current_status"] = {
        "forced_move_other": "yes" if forced_other else "no",
        "displacement_status": status,
    }
    answers["migration_remittances"] = remittances
    answers["assistance"] = assistance
    answers["closing"] = {"gps": gps, "interview_end": end_text}
    return answers


def _roster(
    rng: random.Random, country: str, size: int, rural: bool
) -> tuple[list[dict[str, Any]], int, int, int]:
    """Members (head first), the respondent's line, members working abroad, members away."""
    r = rng.random
    names = _FULL_NAMES[country]
    family = int(r() * len(names[0]))
    # (female, age, relationship): the head, a spouse, then the others
    head_female = r() < (0.45 if size == 1 else _P_FEMALE_HEAD[country])
    # people living alone are mostly older; other heads mostly 35-65
    head_age = 20 + int(68 * max(r(), r())) if size == 1 else 22 + int(29 * (r() + r()))
    people: list[tuple[bool, int, str]] = [(head_female, head_age, "head")]
    mother_age = head_age if head_female else head_age - 3
    if size > 1 and r() < (0.25 if head_female else 0.88):
        gap = int((r() + r()) * 6.0)  # 0-11 years, mostly 3-8
        spouse_age = min(99, head_age + gap) if head_female else max(18, head_age - gap)
        people.append((not head_female, spouse_age, "spouse"))
        if not head_female:
            mother_age = spouse_age
    children: list[tuple[bool, int, str]] = []
    others: list[tuple[bool, int, str]] = []  # listed after the head's children
    room = size - len(people)
    if room >= 1 and head_age <= 50 and r() < _P_PARENT[country]:
        parent_age = head_age + 20 + int(r() * 16)
        if parent_age <= 98:
            others.append((r() < 0.75, parent_age, "parent"))
            room -= 1
    if room >= 3 and head_age >= 48 and mother_age >= 40 and r() < 0.65:
        # a married son lives with his parents: his wife and their children
        son = max(18, mother_age - 20 - int(r() * 12))
        wife = max(18, son - int(r() * 6))
        children.append((False, son, "child"))
        others.append((True, wife, "child_in_law"))
        room -= 2
        grandchildren = min(room, 1 + int(r() * 4))
        for _ in range(grandchildren):
            others.append((r() < 0.49, int(r() * min(18, wife - 17)), "grandchild"))
        room -= grandchildren
    low = mother_age - 42 if mother_age > 42 else 0
    span = mother_age - 17 - low + 1
    for _ in range(room):
        x = r()
        if x < 0.03:
            others.append((x < 0.015, max(0, head_age - 8 + int(r() * 17)), "sibling"))
        elif x < 0.06:
            others.append((x < 0.045, int(r() * 70), "other_relative"))
        elif x < 0.07 or span <= 0:
            others.append((x < 0.065, 16 + int(r() * 50), "not_related"))
        else:
            age = low + int(r() * span)
            if age > 30 and r() < 0.6:  # grown-up children have mostly left
                age = low + int(r() * span)
            children.append((r() < 0.49, age, "child"))
    if len(children) > 1:
        children.sort(key=_by_age, reverse=True)
    people += children
    people += others

    # the respondent: an adult at home (the head or the spouse most of the time)
    x = r()
    if size > 1 and people[1][2] == "spouse" and x < 0.4:
        respondent = 2
    elif x < 0.9 or size == 1:
        respondent = 1
    else:
        adults = [i for i, p in enumerate(people, start=1) if p[1] >= 18]
        respondent = adults[int(r() * len(adults))]

    p_men, p_women = _MIGRATION[country]
    if rural:
        p_men, p_women = p_men * 1.3, p_women * 1.3
    destinations = _DESTINATIONS[country]
    adult_activity = _ACT_ADULT[(False, rural)], _ACT_ADULT[(True, rural)]
    adult_education = _EDU_ADULT if rural else _EDU_ADULT_URBAN
    members: list[dict[str, Any]] = []
    used: tuple[set[int], set[int]] = (set(), set())  # given names taken, men and women
    migrants = away = 0
    for line, (female, age, relationship) in enumerate(people, start=1):
        if relationship == "other_relative" or relationship == "not_related":
            full_names = names[female][int(r() * len(names[0]))]
        else:
            full_names = names[female][family]
        given = int(r() * _GIVEN_NAMES)
        if given in used[female]:  # one more try for a name nobody in the household has
            given = int(r() * _GIVEN_NAMES)
        used[female].add(given)
        member: dict[str, Any] = {
            "member_name": full_names[given],
            "member_sex": "F" if female else "M",
            "member_age": age,
            "member_relationship": relationship,
        }
        if age >= 6:
            if age <= 10:
                member["member_education"] = "primary" if age == 10 and r() < 0.3 else "none"
            elif age <= 15:
                member["member_education"] = "primary"
            elif age <= 17:
                member["member_education"] = "lower_secondary" if r() < 0.9 else "primary"
            elif age <= 20:
                member["member_education"] = _EDU_YOUNG(r)
            elif age < 65:
                member["member_education"] = adult_education(r)
            else:
                member["member_education"] = _EDU_OLD(r)
        # away from the household: labour migrants, students, conscripts
        where = reason = ""
        if 17 <= age <= 60 and size > 1 and line != respondent:
            x = r()
            if age >= 18 and age <= 55 and x < (p_women if female else p_men):
                where, reason = "abroad", ("work" if r() < 0.95 else "family")
            elif age <= 24 and x > 0.9:
                where, reason = ("abroad" if x > 0.985 else "in_country"), "study"
            elif 18 <= age <= 20 and not female and x > 0.85:
                where, reason = "in_country", "military"
            elif 18 <= age <= 50 and x > 0.965:
                where, reason = "in_country", ("work" if r() < 0.8 else "family")
        if age >= 15:
            if reason == "work":
                member["member_activity"] = _ACT_MIGRANT(r)
            elif reason == "study":
                member["member_activity"] = "student"
            elif age <= 17:
                member["member_activity"] = _ACT_TEEN(r)
            elif age <= 22:
                member["member_activity"] = _ACT_YOUNG(r)
            elif age >= (58 if female else 63):
                member["member_activity"] = _ACT_OLD(r)
            else:
                member["member_activity"] = adult_activity[female](r)
        if where:
            away += 1
            member["member_elsewhere"] = "yes"
            member["member_where"] = where
            if where == "abroad":
                if reason == "study":
                    destination = "KR" if r() < 0.3 else "RU" if r() < 0.6 else "TR"
                else:
                    destination = destinations(r)
                member["member_destination"] = destination
                if destination == "other":
                    member["member_destination_specify"] = _OTHER_COUNTRIES[
                        int(r() * len(_OTHER_COUNTRIES))
                    ]
                if reason == "work":
                    migrants += 1
            member["member_away_reason"] = reason
        else:
            member["member_elsewhere"] = "no"
        members.append(member)
    return members, respondent, migrants, away


def _by_age(person: tuple[bool, int, str]) -> int:
    return person[1]


def households(seed: int, n: int, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """A deterministic stream of `n` households from `seed` (keywords as for `household`)."""
    # Seeded on purpose: demo data must be reproducible, it protects nothing.
    rng = random.Random(seed)  # noqa: S311
    for _ in range(n):
        yield household(rng, **kwargs)


def submission(rng: random.Random, **kwargs: Any) -> dict[str, Any]:
    """A submission body: instance id, language, answers and device metadata."""
    answers = household(rng, **kwargs)
    instance_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    language = _LANGUAGE(rng.random)
    cluster = answers["identification"]["cluster"]
    team = zlib.crc32(cluster.encode("ascii")) % 48 + 1  # an enumerator covers a few clusters
    return {
        "instance_id": instance_id,
        "language": language,
        "answers": answers,
        "meta": {
            "device_id": f"{cluster[:2].lower()}-tab-{team:02d}",
            "started_at": answers["interview_start"],
            "ended_at": answers["closing"]["interview_end"],
        },
    }


# ------------------------------------------------------------------------- broken households

INVALID_KINDS: Final = (
    "constraint",
    "type",
    "choice",
    "required",
    "not_relevant",
    "unknown_field",
    "repeat_count",
)


def invalid_household(rng: random.Random, kind: str) -> tuple[dict[str, Any], str]:
    """A household broken in exactly one way, and the path of the answer that breaks it.

    Kinds: constraint (the head aged 150), type (text for the household number), choice
    (a sex that is not a choice), required (no GPS), not_relevant (an answer to a skipped
    question), unknown_field (a key the questionnaire lacks), repeat_count (one member more
    than `hh_size`). Paths look like `household.members[0].member_age`.
    """
    answers = household(rng)
    if kind == "constraint":
        answers["household"]["members"][0]["member_age"] = 150
        return answers, "household.members[0].member_age"
    if kind == "type":
        answers["identification"]["household_number"] = "twelve"
        return answers, "identification.household_number"
    if kind == "choice":
        answers["household"]["members"][0]["member_sex"] = "X"
        return answers, "household.members[0].member_sex"
    if kind == "required":
        del answers["closing"]["gps"]
        return answers, "closing.gps"
    if kind == "not_relevant":
        intentions = answers["intentions"]
        if intentions["plan_move"] == "yes":
            intentions["want_cannot_move"] = "no"
            return answers, "intentions.want_cannot_move"
        intentions["plan_move_destination"] = "same_region"
        return answers, "intentions.plan_move_destination"
    if kind == "unknown_field":
        answers["closing"]["enumerator_remark"] = "dog at the gate"
        return answers, "closing.enumerator_remark"
    if kind == "repeat_count":
        members = answers["household"]["members"]
        members.append(
            {
                "member_name": "Extra Person",
                "member_sex": "F",
                "member_age": 30,
                "member_relationship": "other_relative",
                "member_education": "upper_secondary",
                "member_activity": "employee",
                "member_elsewhere": "no",
            }
        )
        return answers, "household.members"
    raise ValueError(f"unknown kind {kind!r}: one of {', '.join(INVALID_KINDS)}")
