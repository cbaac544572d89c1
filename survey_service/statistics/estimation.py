"""Design-based estimates (Taylor linearisation) for domain cells from PSU-level sums."""

# How it works
# ------------
# SQL reduces the unit-level data to one row per (domain cell, stratum, PSU) with
# n, sum(w), sum(w*y), sum(w*x), sum(w*y*y), sum(w*x*x), sum(w*x*y) over the
# cell's members that have a value (`PsuSums`). Every estimator below is a
# smooth function of such sums, so its linearised variable u and the PSU totals
# of u, z_hi, are exact functions of the rows:
#
#   total       Y = sum w*y            z_hi = swy_hi
#   mean        R = sum w*y / sum w    z_hi = (swy_hi - R*sw_hi) / sum w
#   proportion  as mean, y a 0/1 indicator
#   ratio       R = sum w*y / sum w*x  z_hi = (swy_hi - R*swx_hi) / sum w*x
#
# Variance (with-replacement approximation, optional FPC), per DOMAIN.md:
#
#   v = sum_h (1 - f_h) * n_h/(n_h - 1) * sum_i (z_hi - zbar_h)^2
#
# where n_h is the number of PSUs of stratum h in the WHOLE design
# (`Design.psus_per_stratum`): PSUs of the design without members of the cell
# contribute z_hi = 0, i.e. domains are estimated on the full design (R
# `survey` and svy do the same). f_h = n_h / N_h with N_h from
# `Design.population_psus`, or 0 when that is None. The interval is
# estimate +/- t(df, (1 + confidence)/2) * se with the design degrees of
# freedom df = sum_h n_h - H over the whole design (R's `degf`), not the
# domain's.
#
# Strata with a single PSU (n_h = 1) have no within-stratum variance; the rule
# is `Design.single_psu`:
#   "fail"      raise `EstimationError` naming the stratum (R "fail"), for every
#               statistic that needs a variance (not for "count");
#   "skip"      the stratum contributes 0 to the variance (R "remove", svy "skip");
#   "centered"  the stratum contributes (1 - f_h) * (z_h1 - zbar)^2, zbar being the
#               grand mean of the PSU totals (R "adjust", svy "center"). Exactly as
#               R (whose domains drop non-member rows) and svy compute it for a
#               cell: zbar = sum of all z_hi / sum of n_h over the strata that hold
#               members of the cell, and a singleton stratum holding no member
#               contributes 0. For means, proportions and ratios the z_hi sum to 0,
#               so zbar = 0; only totals depend on this convention.
#
# SRS fallback: unweighted, unclustered data comes in as one stratum, one PSU per
# unit and w = 1. Then for a mean z_i = (y_i - ybar)/n and
# v = n/(n-1) * sum (y_i - ybar)^2 / n^2 = s^2/n: exactly the textbook SRS
# variance of a mean with s^2 on n - 1 degrees of freedom, times (1 - n/N) with an
# FPC; for a total v = n * s^2 (= N^2 s^2/n with N = n); df = n - 1.
#
# Design effect: svy's (and R `survey`'s) definition, design variance over the
# variance of the same estimator under simple random sampling of the cell's n
# units, the population variance estimated with the weights:
#   s2 = n/(n-1) * sum w*(y - R*x)^2 / sum w     (x = 1 for mean and total),
#   v_srs = s2/n * (sum w / sum w*x)^2            (mean, proportion, ratio),
#   v_srs = (sum w)^2 * s2/n                      (total),
# all sums over the cell. Without FPC the reference is SRS with replacement
# (svy deff="wr"); with FPC it is SRS without replacement (svy deff="wor",
# Kish), v_srs * (1 - n / sum w). sum w*(y - R*x)^2 is expanded from swyy, swxy
# and swxx, so a variable whose mean is huge relative to its spread loses
# digits there (not in the estimate or its se).

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from scipy.special import stdtrit  # type: ignore[import-untyped]

__all__ = [
    "STATISTICS",
    "Design",
    "Estimate",
    "EstimationError",
    "PsuSums",
    "estimate",
]

#: The statistics `estimate` understands.
STATISTICS: Final = ("count", "total", "mean", "proportion", "ratio")

SinglePsuRule = Literal["fail", "skip", "centered"]
_SINGLE_PSU_RULES: Final = ("fail", "skip", "centered")


class EstimationError(ValueError):
    """An estimate that cannot be computed: bad statistic, inconsistent design or input."""


@dataclass(frozen=True, slots=True)
class PsuSums:
    """Sums over the members of one domain cell in one PSU that have a value."""

    cell: tuple[str, ...]
    stratum: str
    psu: str
    n: int
    sw: float
    swy: float
    swx: float
    swyy: float
    swxx: float
    swxy: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Design:
    """The sample design, over all responses in scope (not one cell)."""

    #: Sampled PSUs of each stratum, PSUs without members of a cell included.
    psus_per_stratum: Mapping[str, int]
    #: Population PSUs N_h of each stratum for the FPC 1 - n_h/N_h; None: with replacement.
    population_psus: Mapping[str, int] | None = None
    #: Rule for strata with one PSU: "fail", "skip" or "centered" (see the module notes).
    single_psu: SinglePsuRule = "fail"
    #: Units and total weight in scope: informational, `estimate` does not use them
    #: (design effects use the cell's own n and sum of weights, as svy and R do).
    total_units: int = 0
    total_weight: float = 0.0


@dataclass(frozen=True, slots=True)
class Estimate:
    """One cell's estimate; None where a quantity is undefined."""

    cell: tuple[str, ...]
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    cv: float | None
    deff: float | None
    df: int
    n: int
    sum_weights: float


def estimate(
    stat: str,
    rows: Iterable[PsuSums],
    design: Design,
    *,
    confidence: float = 0.95,
) -> list[Estimate]:
    """Estimate `stat` for every cell present in `rows`, sorted by cell.

    Rows sharing (cell, stratum, psu) are added together. Raises `EstimationError`
    for an unknown statistic, a confidence outside (0, 1), a row whose stratum is
    not in the design, more PSUs in a stratum than the design has, an invalid
    FPC, or (rule "fail") a single-PSU stratum.
    """
    if stat not in STATISTICS:
        raise EstimationError(
            f"unknown statistic {stat!r}; expected one of {', '.join(STATISTICS)}"
        )
    if not 0.0 < confidence < 1.0:
        raise EstimationError(f"confidence must be between 0 and 1, got {confidence!r}")
    n_h = _check_design(design, needs_variance=stat != "count")
    fpc = _fpc_factors(design, n_h)
    df = sum(n_h.values()) - len(n_h)
    t_crit = float(stdtrit(df, 0.5 + confidence / 2.0)) if df > 0 else None
    singles = [h for h, n in n_h.items() if n == 1]

    cells: dict[tuple[str, ...], list[PsuSums]] = {}
    for r in rows:
        cell_rows = cells.get(r.cell)
        if cell_rows is None:
            cells[r.cell] = [r]
        else:
            cell_rows.append(r)

    ctx = _Context(stat, design, n_h, fpc, df, t_crit, singles)
    return [_estimate_cell(cell, cells[cell], ctx) for cell in sorted(cells)]


@dataclass(frozen=True, slots=True)
class _Context:
    stat: str
    design: Design
    n_h: dict[str, int]
    fpc: dict[str, float]
    df: int
    t_crit: float | None
    singles: list[str]


def _check_design(design: Design, *, needs_variance: bool) -> dict[str, int]:
    """Strata with at least one PSU and their PSU counts; raise on a bad design."""
    if design.single_psu not in _SINGLE_PSU_RULES:
        raise EstimationError(
            f"unknown single-PSU rule {design.single_psu!r}; "
            f"expected one of {', '.join(_SINGLE_PSU_RULES)}"
        )
    n_h: dict[str, int] = {}
    for h, n in design.psus_per_stratum.items():
        if n < 0:
            raise EstimationError(f"stratum {h!r} has a negative number of PSUs ({n})")
        if n > 0:
            n_h[h] = n
    if needs_variance and design.single_psu == "fail":
        singles = sorted(h for h, n in n_h.items() if n == 1)
        if singles:
            names = ", ".join(repr(h) for h in singles)
            what = f"stratum {names} has" if len(singles) == 1 else f"strata {names} each have"
            raise EstimationError(
                f"{what} a single PSU, so no variance can be estimated there "
                "(single-PSU rule 'fail'; use 'skip' or 'centered', or collapse strata)"
            )
    return n_h


def _fpc_factors(design: Design, n_h: Mapping[str, int]) -> dict[str, float]:
    """The factor 1 - f_h of each stratum (1 without FPC)."""
    if design.population_psus is None:
        return dict.fromkeys(n_h, 1.0)
    factors: dict[str, float] = {}
    for h, n in n_h.items():
        big_n = design.population_psus.get(h)
        if big_n is None:
            raise EstimationError(f"stratum {h!r} has no population PSU count for the FPC")
        if big_n < n:
            raise EstimationError(
                f"stratum {h!r} has {n} sampled PSUs but a population of only {big_n}"
            )
        factors[h] = 1.0 - n / big_n
    return factors


def _estimate_cell(cell: tuple[str, ...], rows: list[PsuSums], ctx: _Context) -> Estimate:
    n = 0
    sw = swy = swx = swyy = swxx = swxy = 0.0
    for r in rows:
        n += r.n
        sw += r.sw
        swy += r.swy
        swx += r.swx
        swyy += r.swyy
        swxx += r.swxx
        swxy += r.swxy

    def undefined(value: float | None) -> Estimate:
        return Estimate(cell, value, None, None, None, None, None, ctx.df, n, sw)

    stat = ctx.stat
    if stat == "count":
        return undefined(float(n))
    if stat == "total":
        est = swy
        z_psu = {(r.stratum, r.psu): r.swy for r in rows}
    else:
        # A mean's denominator is sum w (x = 1), whatever the caller put in swx.
        ratio = stat == "ratio"
        denom = swx if ratio else sw
        if denom == 0.0:
            return undefined(None)
        est = swy / denom
        if ratio:
            z_psu = {(r.stratum, r.psu): (r.swy - est * r.swx) / denom for r in rows}
        else:
            z_psu = {(r.stratum, r.psu): (r.swy - est * r.sw) / denom for r in rows}
    if len(z_psu) < len(rows):  # repeated (stratum, psu): add the parts up
        z_psu = _merge_psus(rows, stat, est, swx if stat == "ratio" else sw)

    var = _variance(z_psu, ctx)
    se = math.sqrt(var)
    if ctx.t_crit is None:
        ci_low = ci_high = None
    else:
        ci_low, ci_high = est - ctx.t_crit * se, est + ctx.t_crit * se
    cv = se / abs(est) if est != 0.0 else None

    if stat == "total":
        resid = swyy - swy * swy / sw if sw != 0.0 else 0.0
        denom = 1.0
    elif stat == "ratio":
        resid = swyy - 2.0 * est * swxy + est * est * swxx
    else:
        resid = swyy - 2.0 * est * swy + est * est * sw
    deff = _deff(var, stat, n, sw, denom, resid, fpc=ctx.design.population_psus is not None)
    return Estimate(cell, est, se, ci_low, ci_high, cv, deff, ctx.df, n, sw)


def _merge_psus(
    rows: list[PsuSums], stat: str, est: float, denom: float
) -> dict[tuple[str, str], float]:
    """PSU totals z when some (stratum, psu) comes in several rows (z is linear in the sums)."""
    z_psu: dict[tuple[str, str], float] = {}
    for r in rows:
        if stat == "total":
            z = r.swy
        else:
            z = (r.swy - est * (r.swx if stat == "ratio" else r.sw)) / denom
        key = (r.stratum, r.psu)
        z_psu[key] = z_psu.get(key, 0.0) + z
    return z_psu


def _variance(z_psu: dict[tuple[str, str], float], ctx: _Context) -> float:
    """Taylor variance from the cell's PSU totals z; PSUs of the design not in z_psu are 0."""
    n_h = ctx.n_h
    z_sum: dict[str, float] = {}
    z_count: dict[str, int] = {}
    for (h, _psu), z in z_psu.items():
        z_sum[h] = z_sum.get(h, 0.0) + z
        z_count[h] = z_count.get(h, 0) + 1

    for h, count in z_count.items():
        if h not in n_h:
            raise EstimationError(f"stratum {h!r} is not in the design (or has no PSUs)")
        if count > n_h[h]:
            raise EstimationError(
                f"stratum {h!r} has {count} PSUs in the rows but {n_h[h]} in the design"
            )

    # Two passes (mean, then squared deviations) keep the sums of squares accurate.
    z_mean = {h: s / n_h[h] for h, s in z_sum.items()}
    squares = dict.fromkeys(z_sum, 0.0)
    for (h, _psu), z in z_psu.items():
        d = z - z_mean[h]
        squares[h] += d * d

    var = 0.0
    fpc = ctx.fpc
    for h, ss in squares.items():
        n = n_h[h]
        if n > 1:
            absent = n - z_count[h]
            var += fpc[h] * n / (n - 1) * (ss + absent * z_mean[h] * z_mean[h])
    if ctx.design.single_psu == "centered" and ctx.singles:
        # As R and svy: the mean over the PSUs of the strata holding members of the cell.
        grand_mean = sum(z_sum.values()) / sum(n_h[h] for h in z_sum)
        for h in ctx.singles:
            if h in z_sum:
                d = z_sum[h] - grand_mean
                var += fpc[h] * d * d
    return var


def _deff(
    var: float, stat: str, n: int, sw: float, denom: float, resid: float, *, fpc: bool
) -> float | None:
    """Design effect against SRS of the cell's n units (see the module notes)."""
    if n < 2 or sw <= 0.0 or resid <= 0.0:
        return None
    s2 = n / (n - 1) * resid / sw
    v_srs = sw * sw * s2 / n if stat == "total" else s2 / n * (sw / denom) ** 2
    if fpc:
        v_srs *= 1.0 - n / sw
    return var / v_srs if v_srs > 0.0 else None
