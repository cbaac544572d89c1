"""Design-based estimation from PSU sums, against svy on unit-level data and SRS formulas."""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.special import stdtrit

from survey_service.statistics.estimation import (
    STATISTICS,
    ArraySums,
    Design,
    Estimate,
    EstimationError,
    PsuSums,
    estimate,
    estimate_arrays,
)
from tests.helpers import Unit, svy_reference

REL = 1e-9

#: Sampled PSUs per stratum; PSU codes P1, P2, ... are reused in every stratum.
STRATA = {"S1": 6, "S2": 3, "S3": 4, "S4": 2, "S5": 5}
#: Two more strata with a single PSU each, for the single-PSU rules.
SINGLETONS = {"S6": 1, "S7": 1}
REGIONS = ("north", "south", "east")
STATUSES = ("IDP", "host")


def make_units(strata: dict[str, int], seed: int = 20240506) -> list[Unit]:
    """Unit-level data: unequal PSU sizes and weights, clustered regions, missing values.

    Regions are clustered within PSUs (most units of a PSU share its region), so most
    cells have PSUs without members. The first unit of every PSU answers everything,
    so no PSU vanishes from svy's design when missing values are dropped.
    """
    rng = random.Random(seed)
    units: list[Unit] = []
    for h, n_psus in strata.items():
        for p in range(n_psus):
            home = rng.choice(REGIONS)
            for j in range(rng.randint(1, 12)):
                region = home if rng.random() < 0.8 else rng.choice(REGIONS)
                units.append(
                    {
                        "id": len(units),
                        "h": h,
                        "psu": f"P{p + 1}",
                        "w": rng.uniform(0.5, 40.0),
                        "region": region,
                        "status": rng.choice(STATUSES),
                        "y": None if j and rng.random() < 0.15 else round(rng.gauss(50, 20), 3),
                        "x": None if j and rng.random() < 0.1 else rng.uniform(1.0, 6.0),
                        "b": None if j and rng.random() < 0.1 else float(rng.random() < 0.35),
                        "N": 3 * n_psus + 2,
                    }
                )
    return units


def cell_of(u: Unit) -> tuple[str, ...]:
    return (u["region"], u["status"])


def psu_sums(units: Iterable[Unit], y: str, x: str | None = None) -> list[PsuSums]:
    """What the SQL GROUP BY (cell, stratum, psu) returns, for every cell and for ()."""
    acc: dict[tuple[tuple[str, ...], str, str], list[float]] = {}
    for u in units:
        yv = u[y]
        xv = 1.0 if x is None else u[x]
        if yv is None or xv is None:
            continue
        w = u["w"]
        for cell in (cell_of(u), ()):
            a = acc.setdefault((cell, u["h"], u["psu"]), [0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
            a[0] += 1
            a[1] += w
            a[2] += w * yv
            a[3] += w * xv
            a[4] += w * yv * yv
            a[5] += w * xv * xv
            a[6] += w * xv * yv
    return [PsuSums(c, h, p, int(a[0]), *a[1:]) for (c, h, p), a in acc.items()]


def design_of(
    units: list[Unit], *, fpc: bool = False, single_psu: str = "fail", **kw: Any
) -> Design:
    psus: dict[str, set[str]] = {}
    pop: dict[str, int] = {}
    for u in units:
        psus.setdefault(u["h"], set()).add(u["psu"])
        pop[u["h"]] = u["N"]
    return Design(
        psus_per_stratum={h: len(p) for h, p in psus.items()},
        population_psus=pop if fpc else None,
        single_psu=single_psu,
        total_units=len(units),
        total_weight=sum(u["w"] for u in units),
        **kw,
    )


# --- the svy oracle ----------------------------------------------------------------------------
#
# svy settings that match DOMAIN.md:
# * Domains: `by=[...]` (or no `by` for the whole population) with `drop_nulls=True`. svy keeps
#   the full design and gives out-of-domain and missing rows zero weight, so PSUs without
#   members contribute z = 0 and n_h counts every PSU of the design, as here. PSU codes reused
#   across strata are nested within strata by svy itself.
# * Degrees of freedom: svy's per-row `df` is domain-aware (PSUs minus strata holding members of
#   the domain). DOMAIN.md's df is the whole design's, which svy reports as `Estimate.design_df`
#   (R's degf) and uses for contrasts, so the interval is taken from a one-term contrast
#   `estimate.contrast({key: 1})`: same estimate and se, t quantile on design_df.
# * Single PSU: svy `singleton="skip"` (R "remove") and `singleton="center"` (R "adjust") with
#   the default `domains="standard"`; a singleton stratum without members of the domain
#   contributes 0 in svy, and here too.
# * FPC: `pop_size=` a column holding N_h (constant within a stratum).
# * Design effect: `deff="wr"` without FPC, `deff="wor"` with it (see the module notes).
# * Proportions: svy's `prop` gives the estimate, se and deff (level 1 of the 0/1 variable);
#   its intervals are logit-based, so the Wald interval comes from `mean` of the same variable.


def ours(units: list[Unit], stat: str, *, fpc: bool, single_psu: str) -> dict[Any, Estimate]:
    if stat == "ratio":
        rows = psu_sums(units, "y", "x")
    else:
        rows = psu_sums(units, "b" if stat == "proportion" else "y")
    result = estimate(stat, rows, design_of(units, fpc=fpc, single_psu=single_psu))
    return {e.cell: e for e in result}


@pytest.mark.parametrize("stat", ["total", "mean", "proportion", "ratio"])
@pytest.mark.parametrize("fpc", [False, True], ids=["wr", "fpc"])
@pytest.mark.parametrize(
    ("strata", "single_psu"),
    [
        (STRATA, "fail"),
        (STRATA | SINGLETONS, "skip"),
        (STRATA | SINGLETONS, "centered"),
    ],
    ids=["multi-psu", "skip", "centered"],
)
def test_matches_svy(stat: str, fpc: bool, strata: dict[str, int], single_psu: str) -> None:
    units = make_units(strata)
    got = ours(units, stat, fpc=fpc, single_psu=single_psu)
    want = svy_reference(units, stat, fpc=fpc, single_psu=single_psu)

    # Cells with at least one member answering are exactly those svy reports, plus ().
    assert set(got) == set(want)
    assert len(got) > 4
    for cell, ref in want.items():
        e = got[cell]
        for field in ("estimate", "se", "ci_low", "ci_high", "deff"):
            assert getattr(e, field) == pytest.approx(ref[field], rel=REL), (cell, field)
        assert e.df == ref["df"] == sum(strata.values()) - len(strata)
        assert e.n == ref["n"]
        assert e.cv == pytest.approx(ref["se"] / abs(ref["estimate"]), rel=REL)


@pytest.mark.parametrize("fpc", [False, True], ids=["wr", "fpc"])
def test_centered_grand_mean_counts_the_strata_holding_the_cell(fpc: bool) -> None:
    """A total's singleton centring: zbar = sum z / sum of n_h over strata holding the cell.

    "north" lives in the singleton S6 but not in S4, "south" in S7 but not in S6: the
    three candidate denominators (all PSUs, PSUs of the strata holding the cell, all
    PSUs less the singletons without the cell) all differ, and svy uses the second.
    """
    units = make_units(STRATA | SINGLETONS)
    for u in units:
        if u["h"] == "S6":
            u["region"] = "north"
        elif u["h"] == "S4":
            u["region"] = "east"
        elif u["h"] == "S7":
            u["region"] = "south"
    got = ours(units, "total", fpc=fpc, single_psu="centered")
    want = svy_reference(units, "total", fpc=fpc, single_psu="centered")
    assert set(got) == set(want)
    for cell, ref in want.items():
        assert got[cell].se == pytest.approx(ref["se"], rel=REL), cell
        assert got[cell].ci_high == pytest.approx(ref["ci_high"], rel=REL), cell


def test_test_data_has_what_the_oracle_needs() -> None:
    """Cells with empty PSUs, units with missing values, PSU codes shared by strata."""
    units = make_units(STRATA | SINGLETONS)
    rows = psu_sums(units, "y")
    n_psus = sum(STRATA.values()) + len(SINGLETONS)
    for cell in {r.cell for r in rows} - {()}:
        assert len([r for r in rows if r.cell == cell]) < n_psus
    assert any(u["y"] is None for u in units) and any(u["x"] is None for u in units)
    assert len({u["psu"] for u in units}) < n_psus
    assert len({round(u["w"], 6) for u in units}) == len(units)


def test_domain_singletons_differ_between_rules() -> None:
    """The single-PSU rules matter: centered > skip for a cell present in a singleton stratum."""
    units = make_units(STRATA | SINGLETONS)
    skip = ours(units, "total", fpc=False, single_psu="skip")
    centered = ours(units, "total", fpc=False, single_psu="centered")
    bigger = [c for c in skip if centered[c].se > skip[c].se]
    assert () in bigger


# --- SRS fallback: one stratum, one PSU per unit, weight 1 ---------------------------------------


def srs_rows(values: list[float], cell: tuple[str, ...] = ()) -> list[PsuSums]:
    return [PsuSums(cell, "", str(i), 1, 1.0, v, 1.0, v * v, 1.0, v) for i, v in enumerate(values)]


def srs_design(n: int, population: int | None = None) -> Design:
    return Design(
        psus_per_stratum={"": n},
        population_psus=None if population is None else {"": population},
        total_units=n,
        total_weight=float(n),
    )


SRS_VALUES = [3.0, 7.5, 1.25, 9.0, 4.0, 4.0, 12.5, 0.5, 6.0, 8.25, 2.0]


def test_srs_mean_is_textbook() -> None:
    """With-replacement Taylor on SRS data is exactly s/sqrt(n) (s on n - 1 df)."""
    n = len(SRS_VALUES)
    [e] = estimate("mean", srs_rows(SRS_VALUES), srs_design(n))
    s = statistics.stdev(SRS_VALUES)
    t = float(stdtrit(n - 1, 0.975))
    assert e.estimate == pytest.approx(statistics.fmean(SRS_VALUES), rel=1e-12)
    assert e.se == pytest.approx(s / math.sqrt(n), rel=1e-12)
    assert e.ci_low == pytest.approx(e.estimate - t * s / math.sqrt(n), rel=1e-12)
    assert e.ci_high == pytest.approx(e.estimate + t * s / math.sqrt(n), rel=1e-12)
    assert e.df == n - 1
    assert e.n == n and e.sum_weights == n
    assert e.deff == pytest.approx(1.0, rel=1e-12)
    assert e.cv == pytest.approx(e.se / e.estimate, rel=1e-12)


def test_srs_mean_with_fpc_is_textbook() -> None:
    n, big_n = len(SRS_VALUES), 40
    [e] = estimate("mean", srs_rows(SRS_VALUES), srs_design(n, big_n))
    s = statistics.stdev(SRS_VALUES)
    assert e.se == pytest.approx(s / math.sqrt(n) * math.sqrt(1 - n / big_n), rel=1e-12)
    # Kish's deff against SRS without replacement, N estimated by the sum of weights (= n
    # here), is undefined for a census-like sum of weights: reported as None.
    assert e.deff is None


def test_srs_total_is_textbook() -> None:
    n = len(SRS_VALUES)
    [e] = estimate("total", srs_rows(SRS_VALUES), srs_design(n))
    s = statistics.stdev(SRS_VALUES)
    assert e.estimate == pytest.approx(sum(SRS_VALUES), rel=1e-12)
    assert e.se == pytest.approx(math.sqrt(n) * s, rel=1e-12)  # N^2 s^2 / n with N = n
    assert e.deff == pytest.approx(1.0, rel=1e-12)


def test_srs_proportion_is_textbook() -> None:
    values = [1.0] * 7 + [0.0] * 13
    n = len(values)
    [e] = estimate("proportion", srs_rows(values), srs_design(n))
    p = 7 / 20
    assert e.estimate == pytest.approx(p, rel=1e-12)
    assert e.se == pytest.approx(math.sqrt(p * (1 - p) / (n - 1)), rel=1e-12)


def test_srs_ratio_is_textbook() -> None:
    ys = [2.0, 5.0, 3.5, 8.0, 1.0, 6.5]
    xs = [1.0, 2.5, 2.0, 3.0, 0.5, 2.5]
    n = len(ys)
    rows = [
        PsuSums((), "", str(i), 1, 1.0, y, x, y * y, x * x, x * y)
        for i, (y, x) in enumerate(zip(ys, xs, strict=True))
    ]
    [e] = estimate("ratio", rows, srs_design(n))
    r = sum(ys) / sum(xs)
    s2 = sum((y - r * x) ** 2 for y, x in zip(ys, xs, strict=True)) / (n - 1)
    assert e.estimate == pytest.approx(r, rel=1e-12)
    assert e.se == pytest.approx(math.sqrt(s2 / n) / statistics.fmean(xs), rel=1e-12)


def test_srs_domain_counts_every_unit() -> None:
    """A domain of an SRS keeps the whole sample's n_h: non-members are zeros."""
    values = SRS_VALUES
    members = [0, 2, 3, 7]
    rows = [r for r in srs_rows(values, ("d",)) if int(r.psu) in members]
    n = len(values)
    [e] = estimate("total", rows, srs_design(n))
    z = [values[i] if i in members else 0.0 for i in range(n)]
    assert e.estimate == pytest.approx(sum(z), rel=1e-12)
    assert e.se == pytest.approx(math.sqrt(n) * statistics.stdev(z), rel=1e-12)
    assert e.df == n - 1 and e.n == len(members)


# --- behaviour and errors ------------------------------------------------------------------------


def test_count_has_no_variance() -> None:
    units = make_units(STRATA | SINGLETONS)
    rows = psu_sums(units, "y")
    result = estimate("count", rows, design_of(units))  # "fail" needs no variance here
    by_cell = {e.cell: e for e in result}
    assert by_cell[()].estimate == sum(1 for u in units if u["y"] is not None)
    assert all(e.se is None and e.ci_low is None and e.deff is None for e in result)
    assert all(e.estimate == e.n for e in result)


def test_cells_sorted_and_duplicate_rows_added() -> None:
    units = make_units(STRATA)
    rows = psu_sums(units, "y")
    design = design_of(units)
    base = estimate("mean", rows, design)
    assert [e.cell for e in base] == sorted(e.cell for e in base)

    split: list[PsuSums] = []
    for r in reversed(rows):
        half = PsuSums(r.cell, r.stratum, r.psu, 0, r.sw / 2, r.swy / 2, r.swx / 2, 0.0, 0.0, 0.0)
        rest = PsuSums(
            r.cell, r.stratum, r.psu, r.n, r.sw - half.sw, r.swy - half.swy,
            r.swx - half.swx, r.swyy, r.swxx, r.swxy,
        )  # fmt: skip
        split += [half, rest]
    again = estimate("mean", iter(split), design)
    for a, b in zip(base, again, strict=True):
        assert a.cell == b.cell and a.n == b.n
        assert b.estimate == pytest.approx(a.estimate, rel=1e-12)
        assert b.se == pytest.approx(a.se, rel=1e-9)


def test_unknown_statistic() -> None:
    with pytest.raises(EstimationError, match="unknown statistic 'median'"):
        estimate("median", [], srs_design(3))
    assert STATISTICS == ("count", "total", "mean", "proportion", "ratio")


def test_single_psu_fail_names_the_stratum() -> None:
    units = make_units(STRATA | {"S6": 1})
    with pytest.raises(EstimationError, match="stratum 'S6' has a single PSU") as info:
        estimate("mean", psu_sums(units, "y"), design_of(units, single_psu="fail"))
    assert isinstance(info.value, ValueError)


def test_single_psu_fail_names_every_stratum() -> None:
    units = make_units(STRATA | SINGLETONS)
    with pytest.raises(EstimationError, match="strata 'S6', 'S7' each have a single PSU"):
        estimate("total", psu_sums(units, "y"), design_of(units))


@pytest.mark.parametrize("arrays", [False, True], ids=["rows", "arrays"])
@pytest.mark.parametrize(
    ("design", "message"),
    [
        (Design(psus_per_stratum={"A": 2}), "stratum 'B' is not in the design"),
        (Design(psus_per_stratum={"A": 2, "B": 1}, single_psu="skip"), "2 PSUs in the rows"),
        (Design(psus_per_stratum={"A": 2, "B": 2}, population_psus={"A": 5}), "no population"),
        (
            Design(psus_per_stratum={"A": 2, "B": 2}, population_psus={"A": 5, "B": 1}),
            "population of only 1",
        ),
        (Design(psus_per_stratum={"A": 2, "B": 2}, single_psu="drop"), "single-PSU rule"),
        (Design(psus_per_stratum={"A": 2, "B": 1}), "stratum 'B' has a single PSU"),
    ],
)
def test_inconsistent_design(design: Design, message: str, arrays: bool) -> None:
    """`estimate` and `estimate_arrays` refuse the same designs with the same messages."""
    rows = [
        PsuSums(("c",), h, p, 1, 1.0, 2.0, 1.0, 4.0, 1.0, 2.0) for h in "AB" for p in ("1", "2")
    ]
    with pytest.raises(EstimationError, match=message):
        if arrays:
            estimate_arrays("total", *to_arrays(rows), design)
        else:
            estimate("total", rows, design)


def test_bad_confidence() -> None:
    with pytest.raises(EstimationError, match="confidence"):
        estimate("mean", srs_rows([1.0, 2.0]), srs_design(2), confidence=95)


def test_confidence_level() -> None:
    rows, design = srs_rows(SRS_VALUES), srs_design(len(SRS_VALUES))
    [e90] = estimate("mean", rows, design, confidence=0.90)
    [e99] = estimate("mean", rows, design, confidence=0.99)
    t90 = float(stdtrit(len(SRS_VALUES) - 1, 0.95))
    assert e90.ci_high == pytest.approx(e90.estimate + t90 * e90.se, rel=1e-12)
    assert e99.ci_high > e90.ci_high


def test_zero_weight_cell() -> None:
    rows = [
        PsuSums(("zero",), "A", "1", 2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        PsuSums(("zero",), "A", "2", 1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        PsuSums(("some",), "A", "1", 1, 2.0, 6.0, 2.0, 18.0, 2.0, 6.0),
    ]
    design = Design(psus_per_stratum={"A": 3})
    for stat in ("mean", "proportion", "ratio"):
        zero = estimate(stat, rows, design)[1]
        assert zero.cell == ("zero",) and zero.n == 3 and zero.sum_weights == 0.0
        assert zero.estimate is None and zero.se is None and zero.ci_low is None
        assert zero.cv is None and zero.deff is None and zero.df == 2
    total = estimate("total", rows, design)[1]
    assert total.estimate == 0.0 and total.se == 0.0
    assert total.ci_low == total.ci_high == 0.0
    assert total.cv is None and total.deff is None
    assert estimate("count", rows, design)[1].estimate == 3.0


def test_no_degrees_of_freedom_means_no_interval() -> None:
    rows = [PsuSums((), "A", "1", 3, 3.0, 6.0, 3.0, 14.0, 3.0, 6.0)]
    [e] = estimate("mean", rows, Design(psus_per_stratum={"A": 1}, single_psu="centered"))
    assert e.df == 0 and e.estimate == 2.0 and e.se == 0.0
    assert e.ci_low is None and e.ci_high is None


def test_empty_rows() -> None:
    assert estimate("mean", [], srs_design(5)) == []


def test_hundred_thousand_rows() -> None:
    """75 cells x 4,000 PSUs in 40 strata, one row per cell and PSU present (~100k rows).

    How fast this is, is measured by `python -m benchmarks estimation`, not here.
    """
    rng = random.Random(3)
    strata = {f"S{h}": 100 for h in range(40)}
    rows: list[PsuSums] = []
    for c in range(75):
        for h in strata:
            for p in range(100):
                if rng.random() < 1 / 3:
                    sw = rng.uniform(1, 50)
                    rows.append(
                        PsuSums((f"c{c}",), h, f"P{p}", 3, sw, sw * 2, sw, sw * 5, sw, sw * 2)
                    )
    assert len(rows) > 95_000
    result = estimate("mean", rows, Design(psus_per_stratum=strata, single_psu="skip"))
    assert len(result) == 75
    assert all(e.estimate == pytest.approx(2.0) for e in result)


# --- the array API -------------------------------------------------------------------------------

Arrays = tuple[
    list[tuple[str, ...]],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    list[str],
    ArraySums,
]


def to_arrays(rows: list[PsuSums], shuffle: random.Random | None = None) -> Arrays:
    """`estimate_arrays`' inputs for `rows`: ids by first appearance, or shuffled ids."""
    cell_ids: dict[tuple[str, ...], int] = {}
    stratum_ids: dict[str, int] = {}
    psu_ids: dict[tuple[str, str], int] = {}
    for r in rows:
        cell_ids.setdefault(r.cell, len(cell_ids))
        psu_ids.setdefault((r.stratum, r.psu), len(psu_ids))
        stratum_ids.setdefault(r.stratum, len(stratum_ids))

    def renumber(ids: dict[Any, int]) -> dict[Any, int]:
        if shuffle is None:
            return ids
        new = list(range(len(ids)))
        shuffle.shuffle(new)
        return {key: new[i] for key, i in ids.items()}

    cell_ids, stratum_ids, psu_ids = renumber(cell_ids), renumber(stratum_ids), renumber(psu_ids)
    psu_strata = [0] * len(psu_ids)
    for (h, _), p in psu_ids.items():
        psu_strata[p] = stratum_ids[h]

    def column(name: str) -> npt.NDArray[np.float64]:
        return np.array([getattr(r, name) for r in rows], dtype=np.float64)

    return (
        sorted(cell_ids, key=cell_ids.__getitem__),
        np.array([cell_ids[r.cell] for r in rows], dtype=np.int64),
        np.array([psu_ids[r.stratum, r.psu] for r in rows], dtype=np.int64),
        np.array(psu_strata, dtype=np.int64),
        sorted(stratum_ids, key=stratum_ids.__getitem__),
        ArraySums(
            n=np.array([r.n for r in rows], dtype=np.int64),
            sw=column("sw"),
            swy=column("swy"),
            swx=column("swx"),
            swyy=column("swyy"),
            swxx=column("swxx"),
            swxy=column("swxy"),
        ),
    )


def split_rows(rows: list[PsuSums], rng: random.Random) -> list[PsuSums]:
    """`rows` with some (cell, stratum, psu) in two or three parts, in shuffled order."""
    out: list[PsuSums] = []
    for r in rows:
        parts = rng.choice((1, 1, 2, 3))
        shares = [rng.uniform(0.2, 1.0) for _ in range(parts)]
        shares = [s / sum(shares) for s in shares]
        ns = [r.n // parts] * (parts - 1) + [r.n - (r.n // parts) * (parts - 1)]
        for n, s in zip(ns, shares, strict=True):
            scaled = (v * s for v in (r.sw, r.swy, r.swx, r.swyy, r.swxx, r.swxy))
            out.append(PsuSums(r.cell, r.stratum, r.psu, n, *scaled))
    rng.shuffle(out)
    return out


def assert_same(got: list[Estimate], want: list[Estimate], rel: float | None = None) -> None:
    assert [e.cell for e in got] == [e.cell for e in want]
    for g, w in zip(got, want, strict=True):
        if rel is None:
            assert g == w
            continue
        assert (g.cell, g.df, g.n) == (w.cell, w.df, w.n)
        assert g.sum_weights == pytest.approx(w.sum_weights, rel=rel)
        for field in ("estimate", "se", "ci_low", "ci_high", "cv", "deff"):
            value = getattr(w, field)
            expected = None if value is None else pytest.approx(value, rel=rel)
            assert getattr(g, field) == expected, (g.cell, field)


@pytest.mark.parametrize("stat", STATISTICS)
@pytest.mark.parametrize(
    ("strata", "single_psu", "fpc"),
    [
        (STRATA, "fail", False),
        (STRATA | SINGLETONS, "skip", True),
        (STRATA | SINGLETONS, "centered", False),
    ],
    ids=["multi-psu", "skip-fpc", "centered"],
)
def test_arrays_give_what_rows_give(
    stat: str, strata: dict[str, int], single_psu: str, fpc: bool
) -> None:
    """Same data, same estimates: repeated (cell, psu) rows, cells in only some strata."""
    units = make_units(strata)
    rows = split_rows(psu_sums(units, "y", "x" if stat == "ratio" else None), random.Random(7))
    design = design_of(units, fpc=fpc, single_psu=single_psu)
    by_rows = estimate(stat, rows, design, confidence=0.9)
    assert len(rows) > len({(r.cell, r.stratum, r.psu) for r in rows})
    cells_in_strata = {(r.cell, r.stratum) for r in rows}
    assert any((c, h) not in cells_in_strata for c in {r.cell for r in rows} for h in strata)

    # Ids as `estimate` interns them: the very same computation.
    assert_same(estimate_arrays(stat, *to_arrays(rows), design, confidence=0.9), by_rows)
    # Other ids: the same up to the order of additions.
    shuffled = to_arrays(rows, random.Random(11))
    assert_same(estimate_arrays(stat, *shuffled, design, confidence=0.9), by_rows, rel=1e-12)


@pytest.mark.parametrize("stat", STATISTICS)
def test_margin_by_remapped_cell_ids(stat: str) -> None:
    """A margin is the base rows with their cell ids remapped; rows meeting in a PSU add up."""
    units = make_units(STRATA | SINGLETONS)
    rows = psu_sums(units, "b" if stat == "proportion" else "y")
    base = [r for r in rows if r.cell]
    design = design_of(units, single_psu="centered")
    cells, cell, psu, psu_strata, strata, sums = to_arrays(base)

    def margin_of(key: tuple[str, ...]) -> tuple[str, ...]:
        return (key[0], "_T") if key[0] != "south" else ("_T",)

    margin_cells = sorted({margin_of(c) for c in cells})
    remap = np.array([margin_cells.index(margin_of(c)) for c in cells], dtype=np.int64)
    got = estimate_arrays(stat, margin_cells, remap[cell], psu, psu_strata, strata, sums, design)

    summed: dict[tuple[tuple[str, ...], str, str], list[float]] = {}
    for r in base:
        acc = summed.setdefault((margin_of(r.cell), r.stratum, r.psu), [0] * 7)
        for k, value in enumerate((r.n, r.sw, r.swy, r.swx, r.swyy, r.swxx, r.swxy)):
            acc[k] += value
    by_hand = [PsuSums(c, h, p, int(a[0]), *a[1:]) for (c, h, p), a in summed.items()]
    assert len(by_hand) < len(base)
    want = estimate(stat, by_hand, design)
    assert [e.cell for e in got] == [("_T",), ("east", "_T"), ("north", "_T")]
    assert_same(got, want, rel=1e-12)

    # All cells into one: the whole population, which the SQL also gives as the cell ().
    whole = estimate_arrays(
        stat, [("_T",)], np.zeros_like(cell), psu, psu_strata, strata, sums, design
    )
    [population] = [e for e in estimate(stat, rows, design) if e.cell == ()]
    assert_same(whole, [dataclasses.replace(population, cell=("_T",))], rel=1e-12)


def test_arrays_empty() -> None:
    cells, cell, psu, psu_strata, strata, sums = to_arrays([])
    assert estimate_arrays("mean", cells, cell, psu, psu_strata, strata, sums, srs_design(3)) == []


def test_arrays_first_error_is_the_first_cell_by_key() -> None:
    """As a pass over the cells in order would: the first cell by key, its strata in row order."""
    design = Design(psus_per_stratum={"A": 2, "B": 1}, single_psu="skip")
    rows = [
        PsuSums(("z",), "C", "1", 1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        PsuSums(("y",), "A", "1", 1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        PsuSums(("y",), "B", "1", 1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        PsuSums(("y",), "B", "2", 1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        PsuSums(("y",), "D", "1", 1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    ]
    message = "stratum 'B' has 2 PSUs in the rows but 1 in the design"
    with pytest.raises(EstimationError, match=message):
        estimate("total", rows, design)
    with pytest.raises(EstimationError, match=message):
        estimate_arrays("total", *to_arrays(rows, random.Random(1)), design)
    with pytest.raises(EstimationError, match="stratum 'D' is not in the design"):
        estimate("total", [rows[4], *rows[1:4]], design)


def test_arrays_bad_statistic_and_confidence() -> None:
    arrays = to_arrays(srs_rows([1.0, 2.0, 4.0]))
    with pytest.raises(EstimationError, match="unknown statistic 'median'"):
        estimate_arrays("median", *arrays, srs_design(3))
    with pytest.raises(EstimationError, match="confidence"):
        estimate_arrays("mean", *arrays, srs_design(3), confidence=1.0)


def test_arrays_malformed() -> None:
    cells, cell, psu, psu_strata, strata, sums = to_arrays(srs_rows([1.0, 2.0, 4.0], ("c",)))
    design = srs_design(3)
    short = ArraySums(
        n=sums.n[:2], sw=sums.sw[:2], swy=sums.swy[:2], swx=sums.swx[:2],
        swyy=sums.swyy[:2], swxx=sums.swxx[:2], swxy=sums.swxy[:2],
    )  # fmt: skip
    cases: list[tuple[tuple[Any, ...], str]] = [
        ((cells, cell, psu, psu_strata, strata, short), "equal length"),
        ((cells, cell[:2], psu, psu_strata, strata, sums), "equal length"),
        ((cells, cell + 1, psu, psu_strata, strata, sums), "cell holds ids outside 0..0"),
        ((cells, cell, psu - 1, psu_strata, strata, sums), "psu holds ids outside"),
        ((cells, cell, psu, psu_strata + 1, strata, sums), "psu_strata holds ids outside"),
        ((cells * 2, cell, psu, psu_strata, strata, sums), "same key twice"),
    ]
    for arguments, message in cases:
        with pytest.raises(EstimationError, match=message):
            estimate_arrays("mean", *arguments, design)
