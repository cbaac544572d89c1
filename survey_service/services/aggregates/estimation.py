"""The grouped sums as arrays (cells, strata and PSUs interned to ids), and the estimates of
every cell and margin from them through `statistics.estimation`."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from survey_service import error_codes
from survey_service.errors import FieldError, Unprocessable
from survey_service.queries.aggregates import Collected
from survey_service.statistics.disclosure import TOTAL
from survey_service.statistics.estimation import (
    ArraySums,
    Design,
    Estimate,
    EstimationError,
    estimate_arrays,
)

#: The code of a cell whose dimension has no value (question skipped or not answered).
NOT_APPLICABLE: Final = "_Z"


@dataclass
class Rows:
    """The statement's rows as arrays, with cells, strata and PSUs interned to ids."""

    cells: list[tuple[str, ...]]
    cell: npt.NDArray[np.int64]
    in_domain: npt.NDArray[np.bool_]
    psu: npt.NDArray[np.int64]
    psu_strata: npt.NDArray[np.int64]
    strata: list[str]
    sums: ArraySums
    excluded_without_weight: int
    first: datetime.datetime | None
    last: datetime.datetime | None


def as_arrays(collected: Collected, dimensions: int, stat: str, *, ratio: bool) -> Rows:
    """Cells, strata and PSUs interned to ids; the sums as numpy arrays."""
    columns = collected.columns
    # intern the raw keys first: converting the few distinct ones is cheaper than every row's
    raw_keys = (
        zip(*(columns[f"d{i}"] for i in range(dimensions)), strict=True)
        if dimensions
        else itertools.repeat((), len(columns["psu"]))
    )
    raw_cells: dict[tuple[Any, ...], int] = {}
    cells = [raw_cells.setdefault(k, len(raw_cells)) for k in raw_keys]
    cell_keys = [tuple(NOT_APPLICABLE if v is None else str(v) for v in k) for k in raw_cells]
    psu_ids: dict[tuple[str, str], int] = {}
    pairs = zip(columns["stratum"], columns["psu"], strict=True)
    psus = [psu_ids.setdefault(pair, len(psu_ids)) for pair in pairs]
    strata_ids: dict[str, int] = {}
    psu_strata = [strata_ids.setdefault(stratum, len(strata_ids)) for stratum, _ in psu_ids]
    names = ["n", "sw"] + ([] if stat == "count" else ["swy", "swyy"])
    names += ["swx", "swxx", "swxy"] if ratio else []
    sums = {name: np.nan_to_num(np.array(columns[name], dtype=np.float64)) for name in names}
    zeros = np.zeros(len(psus), dtype=np.float64)
    in_domain = columns.get("in_domain")
    return Rows(
        cells=cell_keys,
        cell=np.array(cells, dtype=np.int64),
        in_domain=(
            np.array(in_domain, dtype=np.bool_)
            if in_domain is not None
            else np.ones(len(psus), dtype=np.bool_)
        ),
        psu=np.array(psus, dtype=np.int64),
        psu_strata=np.array(psu_strata, dtype=np.int64),
        strata=list(strata_ids),
        sums=ArraySums(
            n=sums["n"].astype(np.int64),
            sw=sums["sw"],
            swy=sums.get("swy", zeros),
            swx=sums.get("swx", zeros),
            swyy=sums.get("swyy", zeros),
            swxx=sums.get("swxx", zeros),
            swxy=sums.get("swxy", zeros),
        ),
        excluded_without_weight=collected.excluded_without_weight,
        first=collected.first,
        last=collected.last,
    )


# the cell of the rows a tag filter leaves out: never a real key (codes hold no NUL)
_OUTSIDE: Final = ("\x00",)


def _estimates(
    stat: str,
    data: Rows,
    design: Design,
    confidence: float,
    margins: bool,
) -> list[Estimate]:
    """Estimates of every cell in the domain and, with margins, of every margin cell.

    Rows outside the domain keep their PSUs in the design through a cell of their own, whose
    estimates are dropped: they contribute z = 0 to every published cell.
    """
    if not data.cells:
        return []
    outside = len(data.cells)
    cell = np.where(data.in_domain, data.cell, outside)
    results = _run(stat, [*data.cells, _OUTSIDE], cell, data, design, confidence)
    width = len(data.cells[0])
    if margins:
        for level in range(1, width + 1):
            for totals in itertools.combinations(range(width), level):
                keys: dict[tuple[str, ...], int] = {}
                remap = np.empty(outside + 1, dtype=np.int64)
                for index, key in enumerate(data.cells):
                    margin = tuple(TOTAL if i in totals else code for i, code in enumerate(key))
                    remap[index] = keys.setdefault(margin, len(keys))
                remap[outside] = len(keys)
                results += _run(stat, [*keys, _OUTSIDE], remap[cell], data, design, confidence)
    return [e for e in results if e.cell != _OUTSIDE]


def _run(
    stat: str,
    cells: list[tuple[str, ...]],
    cell: npt.NDArray[np.int64],
    data: Rows,
    design: Design,
    confidence: float,
) -> list[Estimate]:
    return estimate_arrays(
        stat,
        cells,
        cell,
        data.psu,
        data.psu_strata,
        data.strata,
        data.sums,
        design,
        confidence=confidence,
    )


def design_of(data: Rows, single_psu: str, population_psus: Mapping[str, int] | None) -> Design:
    """The sampling design the rows describe: PSUs per stratum, and the rules asked for."""
    psus_per_stratum = {
        name: int(count)
        for name, count in zip(
            data.strata, np.bincount(data.psu_strata, minlength=len(data.strata)), strict=True
        )
    }
    return Design(
        psus_per_stratum=psus_per_stratum,
        population_psus=dict(population_psus) if population_psus else None,
        single_psu=single_psu,  # type: ignore[arg-type]
    )


def estimate_cells(
    stat: str, data: Rows, design: Design, confidence: float, margins: bool
) -> list[Estimate]:
    """Estimates of every cell and margin; a design they cannot be made on is a 422."""
    try:
        return _estimates(stat, data, design, confidence, margins)
    except EstimationError as exc:
        raise Unprocessable(
            error_codes.AGGREGATE_NOT_ESTIMABLE,
            str(exc),
            errors=[FieldError("", error_codes.AGGREGATE_NOT_ESTIMABLE, str(exc)).as_dict()],
        ) from exc
