"""Design-based estimates (Taylor linearisation) for domain cells from PSU-level sums."""

# How it works
# ------------
# SQL reduces the unit-level data to one row per (domain cell, stratum, PSU) with
# n, sum(w), sum(w*y), sum(w*x), sum(w*y*y), sum(w*x*x), sum(w*x*y) over the
# cell's members that have a value. `estimate` takes these rows as `PsuSums`
# objects; `estimate_arrays` takes them as numpy columns (`ArraySums`) with
# integer ids for cells and PSUs, and is the one implementation: `estimate`
# only interns its keys into ids. Every estimator below is a smooth function
# of such sums, so its linearised variable u and the PSU totals of u, z_hi, are
# exact functions of the rows:
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
# Computation: vectorised over rows, a Python loop only over cells.
#   1. Rows sharing (cell, PSU) are added up (np.unique on one int64 key of
#      (cell, stratum, PSU), then np.bincount), so a margin is just a remapping
#      of cell ids. Cell sums come from the rows in their order (np.bincount).
#   2. z of every (cell, PSU) present, from the cell's estimate.
#   3. Per (cell, stratum) present: the PSUs present, zbar_h = sum z / n_h, then
#      in a second pass sum (z - zbar_h)^2 over the PSUs present plus
#      (n_h - present) * zbar_h^2 for the absent ones (z = 0). Two passes rather
#      than sum z^2 - n_h zbar_h^2, which loses digits when the z are large
#      relative to their spread.
#   4. v of each cell: the sum of its strata's terms.
# The row checks (a stratum not in the design, more PSUs in a cell's rows of a
# stratum than the design has) apply to the cells whose variance is computed:
# not for "count", nor for a cell whose mean or ratio has a zero denominator.
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy.special import stdtrit  # type: ignore[import-untyped]

from survey_service.codes import SINGLE_PSU_RULES

__all__ = [
    "STATISTICS",
    "ArraySums",
    "Design",
    "Estimate",
    "EstimationError",
    "PsuSums",
    "estimate",
    "estimate_arrays",
]

#: The statistics `estimate` understands.
STATISTICS: Final = ("count", "total", "mean", "proportion", "ratio")

SinglePsuRule = Literal["fail", "skip", "centered"]

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]


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


# eq=False: the generated __eq__ would compare arrays elementwise and fail.
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ArraySums:
    """The sums of `PsuSums` as columns: entry k belongs to input row k of `estimate_arrays`."""

    n: _Ints
    sw: _Floats
    swy: _Floats
    swx: _Floats
    swyy: _Floats
    swxx: _Floats
    swxy: _Floats


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
    rows = list(rows)
    cell_ids: dict[tuple[str, ...], int] = {}
    cell = [cell_ids.setdefault(key, len(cell_ids)) for key in map(attrgetter("cell"), rows)]
    psu_ids: dict[tuple[str, str], int] = {}
    psu = [psu_ids.setdefault(key, len(psu_ids)) for key in map(attrgetter("stratum", "psu"), rows)]
    stratum_ids: dict[str, int] = {}
    psu_strata = [stratum_ids.setdefault(h, len(stratum_ids)) for h, _ in psu_ids]

    def column(name: str) -> _Floats:
        return np.fromiter(map(attrgetter(name), rows), dtype=np.float64, count=len(rows))

    sums = ArraySums(
        n=np.fromiter(map(attrgetter("n"), rows), dtype=np.int64, count=len(rows)),
        sw=column("sw"),
        swy=column("swy"),
        swx=column("swx"),
        swyy=column("swyy"),
        swxx=column("swxx"),
        swxy=column("swxy"),
    )
    return estimate_arrays(
        stat,
        list(cell_ids),
        np.array(cell, dtype=np.int64),
        np.array(psu, dtype=np.int64),
        np.array(psu_strata, dtype=np.int64),
        list(stratum_ids),
        sums,
        design,
        confidence=confidence,
    )


def estimate_arrays(
    stat: str,
    cells: Sequence[tuple[str, ...]],
    cell: _Ints,
    psu: _Ints,
    psu_strata: _Ints,
    strata: Sequence[str],
    sums: ArraySums,
    design: Design,
    *,
    confidence: float = 0.95,
) -> list[Estimate]:
    """Estimate `stat` for every cell id present in `cell`, sorted by cell key.

    Row k has cell id `cell[k]` (its key is `cells[cell[k]]`), PSU id `psu[k]` and
    the sums `sums.<field>[k]`. PSU ids are global (one id per (stratum, PSU)); the
    stratum of PSU id p is `strata[psu_strata[p]]`, a key of the design. Rows sharing
    (cell, psu) are added together, so a margin is these arrays with the cell ids
    remapped. Raises `EstimationError` as `estimate` does, and for malformed arrays.
    """
    t_crit, df, n_h, fpc = _prepare(stat, design, confidence)
    ids = _Ids(
        cells,
        np.asarray(cell, dtype=np.int64),
        np.asarray(psu, dtype=np.int64),
        np.asarray(psu_strata, dtype=np.int64),
        strata,
    )
    columns = _check_arrays(ids, sums)
    if ids.cell.size == 0:
        return []

    # Cell sums added in row order, as the running sums of a loop over the rows would be
    # (n as float64 too: exact below 2**53).
    n_cells = len(cells)
    rows_in = np.bincount(ids.cell, minlength=n_cells)
    n, sw, swy, swx, swyy, swxx, swxy = (_sum_by(ids.cell, col, n_cells) for col in columns)
    if stat == "count":
        var = np.zeros(n_cells)
    else:
        if stat == "total":
            est, denom, x_col = swy, np.ones(n_cells), None
        else:
            # A mean's denominator is sum w (x = 1), whatever the caller put in swx.
            denom, x_col = (swx, columns[3]) if stat == "ratio" else (sw, columns[1])
            est = np.divide(swy, denom, out=np.zeros(n_cells), where=denom != 0.0)
        var = _variance(
            ids,
            columns[2],
            x_col,
            est,
            denom,
            needs=(rows_in > 0) & (denom != 0.0),
            n_h=n_h,
            fpc=fpc,
            centered=design.single_psu == "centered",
        )

    with_fpc = design.population_psus is not None
    values = np.column_stack((n, sw, swy, swx, swyy, swxx, swxy, var)).tolist()
    present = np.flatnonzero(rows_in).tolist()
    return [
        _finish_cell(stat, cells[c], *values[c], df=df, t_crit=t_crit, fpc=with_fpc)
        for c in sorted(present, key=cells.__getitem__)
    ]


@dataclass(frozen=True, slots=True, eq=False)
class _Ids:
    """The id spaces of `estimate_arrays` and the ids of its rows."""

    cells: Sequence[tuple[str, ...]]
    cell: _Ints
    psu: _Ints
    psu_strata: _Ints
    strata: Sequence[str]


def _prepare(
    stat: str, design: Design, confidence: float
) -> tuple[float | None, int, dict[str, int], dict[str, float]]:
    """Check the statistic, confidence and design: t quantile, df, n_h and 1 - f_h."""
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
    return t_crit, df, n_h, fpc


def _check_design(design: Design, *, needs_variance: bool) -> dict[str, int]:
    """Strata with at least one PSU and their PSU counts; raise on a bad design."""
    if design.single_psu not in SINGLE_PSU_RULES:
        raise EstimationError(
            f"unknown single-PSU rule {design.single_psu!r}; "
            f"expected one of {', '.join(SINGLE_PSU_RULES)}"
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


def _check_arrays(ids: _Ids, sums: ArraySums) -> tuple[_Floats, ...]:
    """The sum columns as float64, n too; raise on malformed arrays."""
    columns = tuple(
        np.asarray(col, dtype=np.float64)
        for col in (sums.n, sums.sw, sums.swy, sums.swx, sums.swyy, sums.swxx, sums.swxy)
    )
    size, psu_strata = ids.cell.size, ids.psu_strata
    if any(a.ndim != 1 or a.size != size for a in (ids.psu, *columns)) or psu_strata.ndim != 1:
        raise EstimationError("cell, psu and the sums must be one-dimensional, of equal length")
    for name, values, bound in (
        ("cell", ids.cell, len(ids.cells)),
        ("psu", ids.psu, psu_strata.size),
        ("psu_strata", psu_strata, len(ids.strata)),
    ):
        if values.size and (int(values.min()) < 0 or int(values.max()) >= bound):
            raise EstimationError(f"{name} holds ids outside 0..{bound - 1}")
    if len(set(ids.cells)) < len(ids.cells):
        raise EstimationError("cells holds the same key twice")
    if len(ids.cells) * len(ids.strata) * psu_strata.size >= 2**63:
        raise EstimationError("too many cells, strata and PSUs for int64 keys")
    return columns


def _sum_by(index: _Ints, weights: _Floats, size: int) -> _Floats:
    """Sum of `weights` for each value of `index` in 0..size-1, added in index order."""
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64, copy=False)


def _variance(
    ids: _Ids,
    swy: _Floats,
    sx: _Floats | None,
    est: _Floats,
    denom: _Floats,
    *,
    needs: npt.NDArray[np.bool_],
    n_h: Mapping[str, int],
    fpc: Mapping[str, float],
    centered: bool,
) -> _Floats:
    """Taylor variance of each cell id (0 where `needs` is false); see the module notes.

    `swy` and `sx` are the row columns of sum w*y and of the denominator's sum (sum w
    for a mean, sum w*x for a ratio, None for a total, whose z is sum w*y).
    """
    n_cells, n_psus, n_strata = len(ids.cells), ids.psu_strata.size, len(ids.strata)
    # 1. One group per (cell, PSU), its rows added up, sorted by (cell, stratum, PSU): the
    #    pairs (cell, stratum) are then runs of groups, found without a second sort.
    pair_key = ids.cell * n_strata + ids.psu_strata[ids.psu]
    groups, group_of = np.unique(pair_key * n_psus + ids.psu, return_inverse=True)
    g_pair = groups // n_psus
    g_cell = g_pair // n_strata
    keep = needs[g_cell]
    g_pair, g_cell = g_pair[keep], g_cell[keep]
    if g_pair.size == 0:
        return np.zeros(n_cells)
    # 2. z of each group, from its sums (z is linear in them).
    z = _sum_by(group_of, swy, groups.size)[keep]
    if sx is not None:
        g_sx = _sum_by(group_of, sx, groups.size)[keep]
        z = (z - est[g_cell] * g_sx) / denom[g_cell]

    # 3. One pair per (cell, stratum) present: its PSUs present, z sum and sum of squares.
    starts = np.flatnonzero(np.concatenate(([True], g_pair[1:] != g_pair[:-1])))
    present = np.diff(np.append(starts, g_pair.size))
    pair_of = np.repeat(np.arange(starts.size), present)
    pairs = g_pair[starts]
    p_cell, p_stratum = pairs // n_strata, pairs % n_strata
    design_n = np.array([n_h.get(h, 0) for h in ids.strata], dtype=np.int64)
    p_n = design_n[p_stratum]
    bad = (p_n == 0) | (present > p_n)
    if bad.any():
        raise _row_error(ids, p_cell[bad], design_n)

    factor = np.array([fpc.get(h, 1.0) for h in ids.strata])[p_stratum]
    p_nf = p_n.astype(np.float64)
    z_sum = _sum_by(pair_of, z, pairs.size)
    z_mean = z_sum / p_nf
    dev = z - z_mean[pair_of]  # the second pass
    squares = _sum_by(pair_of, dev * dev, pairs.size)
    absent = p_n - present  # PSUs of the design without members: z = 0
    multi = p_n > 1
    term = np.zeros(pairs.size)
    term[multi] = (
        factor[multi]
        * p_nf[multi]
        / (p_nf[multi] - 1.0)
        * (squares[multi] + absent[multi] * z_mean[multi] * z_mean[multi])
    )
    single = p_n == 1
    if centered and single.any():
        # As R and svy: the mean over the PSUs of the strata holding members of the cell.
        s_cell = p_cell[single]
        grand_mean = (
            _sum_by(p_cell, z_sum, n_cells)[s_cell] / _sum_by(p_cell, p_nf, n_cells)[s_cell]
        )
        d = z_sum[single] - grand_mean
        term[single] = factor[single] * d * d
    # 4. Each cell's strata added up ("skip": singletons add 0).
    return _sum_by(p_cell, term, n_cells)


def _row_error(ids: _Ids, bad_cells: _Ints, design_n: _Ints) -> EstimationError:
    """The error a cell-by-cell pass meets first: first cell by key, its strata in row order."""
    first = min(set(bad_cells.tolist()), key=ids.cells.__getitem__)
    psus = ids.psu[ids.cell == first]
    psu_strata = ids.psu_strata[psus]
    _, first_row = np.unique(psu_strata, return_index=True)
    for h in psu_strata[np.sort(first_row)].tolist():
        name, n = ids.strata[h], int(design_n[h])
        if n == 0:
            return EstimationError(f"stratum {name!r} is not in the design (or has no PSUs)")
        count = np.unique(psus[psu_strata == h]).size
        if count > n:
            return EstimationError(
                f"stratum {name!r} has {count} PSUs in the rows but {n} in the design"
            )
    raise AssertionError(f"no inconsistent stratum in cell {ids.cells[first]!r}")


def _finish_cell(
    stat: str,
    key: tuple[str, ...],
    n_sum: float,
    sw: float,
    swy: float,
    swx: float,
    swyy: float,
    swxx: float,
    swxy: float,
    var: float,
    *,
    df: int,
    t_crit: float | None,
    fpc: bool,
) -> Estimate:
    """One cell's estimate from its sums and its variance."""
    n = round(n_sum)

    def undefined(value: float | None) -> Estimate:
        return Estimate(key, value, None, None, None, None, None, df, n, sw)

    if stat == "count":
        return undefined(float(n))
    if stat == "total":
        est = swy
    else:
        denom = swx if stat == "ratio" else sw
        if denom == 0.0:
            return undefined(None)
        est = swy / denom
    se = math.sqrt(var)
    if t_crit is None:
        ci_low = ci_high = None
    else:
        ci_low, ci_high = est - t_crit * se, est + t_crit * se
    cv = se / abs(est) if est != 0.0 else None

    if stat == "total":
        resid = swyy - swy * swy / sw if sw != 0.0 else 0.0
        denom = 1.0
    elif stat == "ratio":
        resid = swyy - 2.0 * est * swxy + est * est * swxx
    else:
        resid = swyy - 2.0 * est * swy + est * est * sw
    deff = _deff(var, stat, n, sw, denom, resid, fpc=fpc)
    return Estimate(key, est, se, ci_low, ci_high, cv, deff, df, n, sw)


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
