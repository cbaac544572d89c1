"""Design-based estimation from PSU sums, against svy on unit-level data and SRS formulas."""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Iterable
from typing import Any

import polars as pl
import pytest
import svy
from scipy.special import stdtrit

from survey_service.statistics.estimation import (
    STATISTICS,
    Design,
    Estimate,
    EstimationError,
    PsuSums,
    estimate,
)

REL = 1e-9

#: Sampled PSUs per stratum; PSU codes P1, P2, ... are reused in every stratum.
STRATA = {"S1": 6, "S2": 3, "S3": 4, "S4": 2, "S5": 5}
#: Two more strata with a single PSU each, for the single-PSU rules.
SINGLETONS = {"S6": 1, "S7": 1}
REGIONS = ("north", "south", "east")
STATUSES = ("IDP", "host")

Unit = dict[str, Any]


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

SVY_SINGLETON = {"fail": None, "skip": "skip", "centered": "center"}


def svy_reference(
    units: list[Unit], stat: str, *, fpc: bool, single_psu: str
) -> dict[tuple[str, ...], dict[str, float]]:
    frame = pl.DataFrame(
        units,
        schema={
            "id": pl.Int64,
            "h": pl.Utf8,
            "psu": pl.Utf8,
            "w": pl.Float64,
            "region": pl.Utf8,
            "status": pl.Utf8,
            "y": pl.Float64,
            "x": pl.Float64,
            "b": pl.Float64,
            "N": pl.Int64,
        },
    )
    sample = svy.Sample(
        frame,
        svy.Design(
            stratum="h",
            psu="psu",
            wgt="w",
            pop_size="N" if fpc else None,
            singleton=SVY_SINGLETON[single_psu],
        ),
    )
    est = sample.estimation
    deff = "wor" if fpc else "wr"
    out: dict[tuple[str, ...], dict[str, float]] = {}
    for by in (["region", "status"], None):
        kw: dict[str, Any] = {"by": by, "deff": deff, "drop_nulls": True}
        if stat == "total":
            main = wald = est.total("y", **kw)
        elif stat == "mean":
            main = wald = est.mean("y", **kw)
        elif stat == "ratio":
            main = wald = est.ratio("y", "x", **kw)
        else:
            main, wald = est.prop("b", **kw), est.mean("b", **kw)
        rows = main.to_polars().rows(named=True)
        if stat == "proportion":  # keep level 1 of the 0/1 variable
            rows = [r for r in rows if r["b"] == 1.0]
        for key, row in zip(wald.keys(), rows, strict=True):
            cell = tuple(key) if by else ()
            ci = wald.contrast({key: 1.0}).to_polars().row(0, named=True)
            out[cell] = {
                "estimate": row["est"],
                "se": row["se"],
                "deff": row["deff"],
                "ci_low": ci["lci"],
                "ci_high": ci["uci"],
                "df": main.design_df,
                "n": row["n"],
            }
    return out


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
    ],
)
def test_inconsistent_design(design: Design, message: str) -> None:
    rows = [
        PsuSums(("c",), h, p, 1, 1.0, 2.0, 1.0, 4.0, 1.0, 2.0) for h in "AB" for p in ("1", "2")
    ]
    with pytest.raises(EstimationError, match=message):
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


def test_hundred_thousand_rows_are_fast() -> None:
    """75 cells x 4,000 PSUs in 40 strata, one row per cell and PSU present (~100k rows)."""
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
    design = Design(psus_per_stratum=strata, single_psu="skip")
    start = time.perf_counter()
    result = estimate("mean", rows, design)
    elapsed = time.perf_counter() - start
    assert len(result) == 75
    assert elapsed < 3.0  # about 0.2 s on a 2-core machine; the bound only catches regressions
