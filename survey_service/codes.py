"""The service's vocabulary: the tags and design roles of a household, and the code lists
that tags and aggregates key on (countries, regions, hazards, displacement, age)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import pycountry

#: What every stored household is tagged by (indexed columns, filters, aggregate dimensions).
TAGS = ("country", "admin1", "hazard_type", "displacement_status")
#: The design variables a questionnaire may name (weights, strata, primary sampling units).
DESIGN_ROLES = ("weight", "stratum", "psu")
#: What the variance takes from a stratum with a single PSU (statistics/estimation.py).
SINGLE_PSU_RULES = ("fail", "skip", "centered")


@dataclass(frozen=True)
class Hazard:
    """A hazard type keyed on its UNDRR-ISC Hazard Information Profile (2025) code."""

    code: str
    label: str
    emdat: str | None = None
    glide: str | None = None


HAZARDS: tuple[Hazard, ...] = (
    Hazard("MH0600", "Flood", "nat-hyd-flo-flo", "FL"),
    Hazard("MH0603", "Flash flood", "nat-hyd-flo-fla", "FF"),
    Hazard("MH0604", "Riverine flood", "nat-hyd-flo-riv", "FL"),
    Hazard("MH0610", "Snowmelt flood", None, "FL"),
    Hazard("MH0607", "Glacial lake outburst flood", "nat-cli-glo-glo", None),
    Hazard("GH0303", "Mudflow / debris flow", "nat-hyd-mmw-mud", "MS"),
    Hazard("GH0300", "Landslide", "nat-hyd-mmw-lan", "LS"),
    Hazard("MH0801", "Avalanche", "nat-geo-mmd-ava", "AV"),
    Hazard("MH0401", "Drought", "nat-cli-dro-dro", "DR"),
    Hazard("MH0501", "Heatwave", "nat-met-ext-hea", "HT"),
    Hazard("MH0502", "Cold wave", "nat-met-ext-col", "CW"),
    Hazard("MH0503", "Dzud (harsh winter, livestock loss)", None, None),
    Hazard("GH0101", "Earthquake", "nat-geo-ear-gro", "EQ"),
    Hazard("MH0201", "Dust / sand storm", "nat-met-sto-san", None),
    Hazard("EN0206", "Desertification", None, None),
    Hazard("EN0301", "Land degradation", None, None),
    Hazard("EN0303", "Salinisation", None, None),
)
HAZARD_CODES = frozenset(h.code for h in HAZARDS)
# The HIP code shape (cluster letters and four digits), for profiles beyond the list above.
_HIP_CODE = re.compile(r"^(MH|GH|EN|BI|CH|ET|SO|TL)\d{4}$")

#: Displacement and mobility status (IRIS/IRRS, IOM DTM, Foresight's "trapped").
DISPLACEMENT_STATUSES = (
    "IDP",
    "IDP_RETURNED",
    "FORMER_IDP",
    "RETURNEE_ABROAD",
    "REFUGEE_ASYLUM",
    "MIGRANT",
    "PLANNED_RELOCATION",
    "HOST",
    "TRAPPED",
    "NON_DISPLACED",
)

TOTAL = "_T"


def is_country_code(code: str) -> bool:
    """Whether `code` is an ISO 3166-1 alpha-2 country code."""
    return len(code) == 2 and code.isupper() and pycountry.countries.get(alpha_2=code) is not None


@cache
def _subdivision_codes() -> frozenset[str]:
    return frozenset(s.code for s in pycountry.subdivisions)


def is_region_code(code: str) -> bool:
    """Whether `code` is an ISO 3166-2 subdivision code (KG-C, UZ-QR, KZ-10)."""
    return code in _subdivision_codes()


def is_hazard_code(code: str) -> bool:
    """Whether `code` has the shape of a UNDRR-ISC Hazard Information Profile code."""
    return code in HAZARD_CODES or bool(_HIP_CODE.match(code))


def is_displacement_status(code: str) -> bool:
    """Whether `code` is one of DISPLACEMENT_STATUSES."""
    return code in DISPLACEMENT_STATUSES


#: SDMX age groups of each grouping: (code, lowest age, highest age or None), in order.
AGE_GROUPS: dict[str, tuple[tuple[str, int, int | None], ...]] = {
    "five_year": (
        *((f"Y{low}T{low + 4}", low, low + 4) for low in range(0, 85, 5)),
        ("Y_GE85", 85, None),
    ),
    "broad": (("Y0T14", 0, 14), ("Y15T64", 15, 64), ("Y_GE65", 65, None)),
    "children": (("Y0T17", 0, 17), ("Y_GE18", 18, None)),
    "youth": (("Y0T14", 0, 14), ("Y15T24", 15, 24), ("Y_GE25", 25, None)),
}


def age_group(grouping: str, age: int) -> str:
    """The SDMX code of an age in completed years in a grouping of AGE_GROUPS."""
    for code, _, high in AGE_GROUPS[grouping]:
        if high is None or age <= high:
            return code
    raise AssertionError("unreachable: every grouping ends open")
