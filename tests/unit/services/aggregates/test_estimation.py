"""The grouped sums become arrays with cells, strata and PSUs interned, and a design."""

from __future__ import annotations

from typing import Any

from survey_service.queries.aggregates import Collected
from survey_service.services.aggregates.estimation import NOT_APPLICABLE, as_arrays, design_of


def collected(**columns: list[Any]) -> Collected:
    return Collected(columns, excluded_without_weight=2, first=None, last=None)


def test_cells_strata_and_psus_are_interned_in_order_of_appearance() -> None:
    data = as_arrays(
        collected(
            d0=["KG", None, "KG"],
            stratum=["s1", "s2", "s1"],
            psu=["p1", "p2", "p1"],
            n=[3, 1, 2],
            sw=[3.0, 1.5, None],
            swy=[6.0, 1.5, 4.0],
            swyy=[12.0, 2.25, 8.0],
        ),
        1,
        "mean",
        ratio=False,
    )
    assert data.cells == [("KG",), (NOT_APPLICABLE,)]
    assert data.cell.tolist() == [0, 1, 0]
    assert data.psu.tolist() == [0, 1, 0]
    assert data.strata == ["s1", "s2"]
    assert data.psu_strata.tolist() == [0, 1]
    assert data.in_domain.tolist() == [True, True, True]
    assert data.sums.sw.tolist() == [3.0, 1.5, 0.0]  # a missing sum is nothing
    assert data.sums.swx.tolist() == [0.0, 0.0, 0.0]
    assert data.excluded_without_weight == 2


def test_a_table_without_dimensions_has_one_cell() -> None:
    data = as_arrays(
        collected(stratum=["", ""], psu=["a", "b"], n=[1, 1], sw=[1.0, 1.0], in_domain=[1, 0]),
        0,
        "count",
        ratio=False,
    )
    assert data.cells == [()]
    assert data.in_domain.tolist() == [True, False]


def test_the_design_counts_psus_per_stratum() -> None:
    data = as_arrays(
        collected(stratum=["a", "a", "b"], psu=["1", "2", "3"], n=[1, 1, 1], sw=[1.0] * 3),
        0,
        "count",
        ratio=False,
    )
    design = design_of(data, "skip", {"a": 10})
    assert design.psus_per_stratum == {"a": 2, "b": 1}
    assert design.population_psus == {"a": 10}
    assert design.single_psu == "skip"
    assert design_of(data, "fail", None).population_psus is None
