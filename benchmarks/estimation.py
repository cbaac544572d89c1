"""Design-based estimation from ~100,000 PSU rows, against a plain numpy bincount of the sums."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from survey_service.statistics.estimation import (
    ArraySums,
    Design,
    PsuSums,
    estimate,
    estimate_arrays,
)

STRATA = 10
PSUS = 5_000  # 500 per stratum
CELLS_PER_PSU = 20  # rows per PSU: 100,000 in all
REGIONS, STATUSES, AGES = 10, 3, 10  # 300 cells
ROUNDS = 7  # the machine is shared: every figure is the best (and median) of seven rounds


def synthetic(seed: int = 20240506) -> dict[str, Any]:
    """What the SQL GROUP BY (cell, stratum, psu) returns, as `estimate_arrays`' inputs.

    Each PSU lies mostly in one region, so most cells miss most PSUs (domains with
    empty PSUs, as in real data), and the rows come in no particular order.
    """
    rng = np.random.default_rng(seed)
    home = rng.integers(0, REGIONS, PSUS)
    region = np.where(
        rng.random((PSUS, CELLS_PER_PSU)) < 0.8, home[:, None], rng.integers(0, REGIONS, 1)
    )
    other = rng.integers(0, STATUSES * AGES, (PSUS, CELLS_PER_PSU))
    cell = (region * STATUSES * AGES + other).ravel()
    psu = np.repeat(np.arange(PSUS), CELLS_PER_PSU)
    order = rng.permutation(cell.size)
    cell, psu = cell[order].astype(np.int64), psu[order].astype(np.int64)
    n = rng.integers(1, 8, cell.size)
    sw = n * rng.uniform(20.0, 400.0, cell.size)
    y, x = rng.normal(50.0, 20.0, cell.size), rng.uniform(1.0, 6.0, cell.size)
    cells = [
        (f"R{r:02d}", ("IDP", "host", "returnee")[s], f"A{a}")
        for r in range(REGIONS)
        for s in range(STATUSES)
        for a in range(AGES)
    ]
    strata = [f"S{h}" for h in range(STRATA)]
    return {
        "cells": cells,
        "cell": cell,
        "psu": psu,
        "psu_strata": (np.arange(PSUS) % STRATA).astype(np.int64),
        "strata": strata,
        "sums": ArraySums(
            n=n.astype(np.int64),
            sw=sw,
            swy=sw * y,
            swx=sw * x,
            swyy=sw * y * y,
            swxx=sw * x * x,
            swxy=sw * x * y,
        ),
        "design": Design(
            psus_per_stratum=dict.fromkeys(strata, PSUS // STRATA),
            population_psus=dict.fromkeys(strata, 4 * PSUS // STRATA),
        ),
    }


def timed(function: Callable[[], Any]) -> tuple[float, float]:
    """Best and median seconds of `function` over ROUNDS rounds (after one warm-up)."""
    function()
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    data = synthetic()
    cells, cell, sums = data["cells"], data["cell"], data["sums"]
    columns = (sums.n, sums.sw, sums.swy, sums.swx, sums.swyy, sums.swxx, sums.swxy)
    rows, present = cell.size, np.unique(cell).size
    print(f"{rows:,} rows, {PSUS:,} PSUs in {STRATA} strata, {present} cells")

    def floor() -> None:
        for column in columns:
            np.bincount(cell, weights=column, minlength=len(cells))

    base, base_median = timed(floor)
    print(f"{'':34} {'best ms':>9} {'median ms':>10} {'x floor':>8}")
    print(f"{'floor: bincount of the 7 sums':34} {base * 1e3:9.2f} {base_median * 1e3:10.2f}")

    def report(name: str, function: Callable[[], Any]) -> None:
        best, median = timed(function)
        print(f"{name:34} {best * 1e3:9.2f} {median * 1e3:10.2f} {best / base:7.1f}x")

    def arrays(stat: str, **changes: Any) -> Callable[[], Any]:
        return lambda: estimate_arrays(stat, **(data | changes))

    for stat in ("total", "mean", "ratio"):
        report(f"estimate_arrays {stat}", arrays(stat))
    # A margin: every (region, status, age) cell into its (region, "_T", "_T") cell.
    margin_cells = [(f"R{r:02d}", "_T", "_T") for r in range(REGIONS)]
    report(
        "estimate_arrays mean, region margin",
        arrays("mean", cells=margin_cells, cell=cell // (STATUSES * AGES)),
    )

    # The row API on the same data, its PsuSums objects built beforehand (not timed).
    psu_names = [str(p) for p in range(PSUS)]
    strata, psu_strata, psu = data["strata"], data["psu_strata"].tolist(), data["psu"].tolist()
    per_row = zip(*(column.tolist() for column in columns), strict=True)
    objects = [
        PsuSums(cells[c], strata[psu_strata[p]], psu_names[p], *values)
        for c, p, values in zip(cell.tolist(), psu, per_row, strict=True)
    ]
    report("estimate mean (PsuSums rows)", lambda: estimate("mean", objects, data["design"]))
