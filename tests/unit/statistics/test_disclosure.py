"""Disclosure control: no suppressed cell can be recovered from the published table."""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Iterable, Mapping

import numpy as np
import pytest
from scipy.optimize import linprog

from survey_service.statistics.disclosure import TOTAL, Cell, Protected, protect

Key = tuple[str, ...]

# -- building tables ---------------------------------------------------------------------------


def codes_for(sizes: Iterable[int]) -> list[list[str]]:
    return [[f"d{dim}c{i}" for i in range(size)] for dim, size in enumerate(sizes)]


def with_margins(codes: list[list[str]], interior: Mapping[Key, float]) -> dict[Key, float]:
    """Every cell of the table with all margins, margins being sums of interior cells."""
    table: dict[Key, float] = dict.fromkeys(itertools.product(*[c + [TOTAL] for c in codes]), 0)
    masks = list(itertools.product((False, True), repeat=len(codes)))
    for key, value in interior.items():
        for mask in masks:
            table[tuple(TOTAL if m else k for k, m in zip(key, mask, strict=True))] += value
    return table


def random_table(
    rng: random.Random, sizes: list[int], p_small: float, p_zero: float = 0.1
) -> tuple[list[list[str]], dict[Key, int], dict[Key, float]]:
    """Counts n (some 0, some small) and positive weighted totals, with all margins."""
    codes = codes_for(sizes)
    n_interior: dict[Key, int] = {}
    value_interior: dict[Key, float] = {}
    for key in itertools.product(*codes):
        r = rng.random()
        if r < p_zero:
            n = 0
        elif r < p_zero + p_small:
            n = rng.randint(1, 9)
        else:
            n = rng.randint(10, 60)
        n_interior[key] = n
        value_interior[key] = n * rng.uniform(0.5, 3.0)
    counts = {k: int(v) for k, v in with_margins(codes, n_interior).items()}
    return codes, counts, with_margins(codes, value_interior)


def cells_of(counts: Mapping[Key, int], values: Mapping[Key, float] | None = None) -> list[Cell]:
    return [Cell(k, n, values[k] if values else float(n), None) for k, n in counts.items()]


def suppressed(result: Mapping[Key, Protected]) -> set[Key]:
    return {k for k, p in result.items() if p.suppressed}


def secondary(result: Mapping[Key, Protected]) -> set[Key]:
    return {k for k, p in result.items() if p.conf_status == "D"}


# -- the attacker's linear system ----------------------------------------------------------------


def grid(codes: list[list[str]]) -> list[Key]:
    return list(itertools.product(*[c + [TOTAL] for c in codes]))


def constraint_matrix(codes: list[list[str]], keys: list[Key]) -> np.ndarray:
    """One row per line: the margin minus the sum of the cells it covers along one dimension."""
    levels = [c + [TOTAL] for c in codes]
    index = {k: i for i, k in enumerate(keys)}
    rows = []
    for dim in range(len(codes)):
        others = [levels[i] for i in range(len(codes)) if i != dim]
        for rest in itertools.product(*others):
            row = np.zeros(len(keys))
            for level in levels[dim]:
                key = rest[:dim] + (level,) + rest[dim:]
                row[index[key]] = -1.0 if level == TOTAL else 1.0
            rows.append(row)
    return np.array(rows)


def determined_cells(codes: list[list[str]], unknown: set[Key]) -> set[Key]:
    """Unknown cells whose value is fixed by the known cells and the additivity of every line.

    x_c is determined iff the unit vector e_c lies in the row space of the constraint matrix
    restricted to the unknowns (equivalently: every null-space vector is zero at c). With an
    orthonormal row-space basis V from the SVD, that is |V e_c| = 1."""
    keys = grid(codes)
    columns = [i for i, k in enumerate(keys) if k in unknown]
    if not columns:
        return set()
    restricted = constraint_matrix(codes, keys)[:, columns]
    _, singular, vt = np.linalg.svd(restricted, full_matrices=False)
    tolerance = singular.max(initial=0.0) * max(restricted.shape) * np.finfo(float).eps
    basis = vt[: int((singular > tolerance).sum())]
    in_row_space = (basis**2).sum(axis=0)
    return {keys[col] for pos, col in enumerate(columns) if in_row_space[pos] > 1 - 1e-8}


def determined_by_rank(codes: list[list[str]], unknown: set[Key]) -> set[Key]:
    """The same criterion, one rank test per cell: removing a determined cell's column lowers
    the rank by one (e_c in the row space)."""
    keys = grid(codes)
    columns = [i for i, k in enumerate(keys) if k in unknown]
    restricted = constraint_matrix(codes, keys)[:, columns]
    rank = np.linalg.matrix_rank(restricted)
    found = set()
    for pos, col in enumerate(columns):
        without = np.delete(restricted, pos, axis=1)
        rank_without = np.linalg.matrix_rank(without) if without.shape[1] else 0
        if rank_without == rank - 1:
            found.add(keys[col])
    return found


def lines_of(codes: list[list[str]]) -> list[list[Key]]:
    levels = [c + [TOTAL] for c in codes]
    lines = []
    for dim in range(len(codes)):
        others = [levels[i] for i in range(len(codes)) if i != dim]
        for rest in itertools.product(*others):
            lines.append([rest[:dim] + (level,) + rest[dim:] for level in levels[dim]])
    return lines


def assert_safe(
    codes: list[list[str]], counts: Mapping[Key, int], threshold: int = 10
) -> dict[Key, Protected]:
    """Protect a full table and check every property the module promises."""
    result = protect(cells_of(counts), threshold=threshold, additive=True)
    assert set(result) == set(counts)
    hidden = suppressed(result)
    for key, p in result.items():
        n = counts[key]
        assert (p.conf_status == "A") == (0 < n < threshold), key
        assert p.suppressed == (p.conf_status in ("A", "D")), key
        assert (p.obs_status == "Q") == p.suppressed, key
        if n == 0:
            assert not p.suppressed, key
    assert not determined_cells(codes, hidden)
    for line in lines_of(codes):
        assert sum(k in hidden for k in line) != 1, line
    return result


# -- random tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_random_tables_leave_no_suppressed_cell_determined(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):  # 8 x 50 = 400 tables
        sizes = [rng.randint(2, 6) for _ in range(rng.randint(1, 3))]
        codes, counts, _ = random_table(rng, sizes, rng.choice([0.05, 0.2, 0.4, 0.7]))
        assert_safe(codes, counts, threshold=rng.choice([5, 10, 10]))


def test_random_four_dimensional_tables() -> None:
    rng = random.Random(404)
    for _ in range(25):
        sizes = [rng.randint(2, 4) for _ in range(4)]
        codes, counts, _ = random_table(rng, sizes, rng.choice([0.05, 0.2, 0.5]))
        assert_safe(codes, counts)


def test_rank_criterion_agrees_with_row_space_criterion() -> None:
    rng = random.Random(7)
    determined = undetermined = 0
    for _ in range(40):
        sizes = [rng.randint(2, 4) for _ in range(rng.randint(2, 3))]
        codes, _, _ = random_table(rng, sizes, 0.3)
        unknown = {k for k in grid(codes) if rng.random() < rng.random()}
        found = determined_cells(codes, unknown)
        assert found == determined_by_rank(codes, unknown)
        determined += len(found)
        undetermined += len(unknown - found)
    assert determined > 50
    assert undetermined > 50


def test_primary_suppression_alone_would_be_recoverable() -> None:
    """The checker is not vacuous: a lone hidden cell is recovered by subtraction."""
    codes, counts = table_2d({"a": {"x": 3, "y": 20}, "b": {"x": 25, "y": 30}})
    assert determined_cells(codes, {("a", "x")}) == {("a", "x")}
    assert determined_cells(codes, {("a", "x"), ("a", "y")}) == {("a", "x"), ("a", "y")}
    assert determined_cells(codes, {("a", "x"), ("a", "y"), ("b", "x")}) == {
        ("a", "x"),
        ("a", "y"),
        ("b", "x"),
    }


def test_linear_programming_bounds_are_not_tight() -> None:
    """With non-negativity, each hidden weighted total still ranges over an interval."""
    rng = random.Random(99)
    checked = 0
    for _ in range(30):
        sizes = [rng.randint(2, 4) for _ in range(rng.randint(1, 3))]
        codes, counts, values = random_table(rng, sizes, 0.3)
        result = protect(cells_of(counts, values), additive=True)
        hidden = suppressed(result)
        if not hidden:
            continue
        keys = grid(codes)
        matrix = constraint_matrix(codes, keys)
        unknown = [i for i, k in enumerate(keys) if k in hidden]
        known = [i for i, k in enumerate(keys) if k not in hidden]
        a_eq = matrix[:, unknown]
        b_eq = -matrix[:, known] @ np.array([values[keys[i]] for i in known])
        for pos, col in enumerate(unknown):
            objective = np.zeros(len(unknown))
            objective[pos] = 1.0
            low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
            high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
            assert low.status == 0
            assert high.status in (0, 3)  # 3: unbounded above, even better
            if high.status == 0:
                assert -high.fun - low.fun > 1e-6, keys[col]
            assert low.fun <= values[keys[col]] + 1e-6
            checked += 1
    assert checked > 100


def test_partial_margins_and_omitted_empty_cells() -> None:
    """Absent margin levels are unknown to an attacker; absent interior cells are zeros."""
    rng = random.Random(2024)
    for _ in range(120):
        dims = rng.randint(2, 3)
        sizes = [rng.randint(2, 5) for _ in range(dims)]
        codes, counts, _ = random_table(rng, sizes, rng.choice([0.1, 0.3, 0.6]), p_zero=0.2)
        masks = [m for m in itertools.product((False, True), repeat=dims) if any(m)]
        kept = {m for m in masks if rng.random() < 0.5} or {masks[-1]}
        published = {
            k: n
            for k, n in counts.items()
            if tuple(c == TOTAL for c in k) in kept
            or (TOTAL not in k and (n or rng.random() < 0.5))
        }
        result = protect(cells_of(published), additive=True)
        unpublished_levels = {
            k for k in counts if TOTAL in k and tuple(c == TOTAL for c in k) not in kept
        }
        hidden = suppressed(result)
        assert not determined_cells(codes, hidden | unpublished_levels) & hidden


def test_random_tables_with_any_levels_published_leave_nothing_determined() -> None:
    """Whatever levels a table publishes -- no interior, a dimension only ever totalled, a
    grand total alone, every cell small -- it is protected, and no suppressed cell follows
    from the published cells and the line sums; levels left out are unknown to an attacker."""
    rng = random.Random(1212)
    shapes = {"lone": 0, "no interior": 0, "all small": 0}
    for _ in range(200):
        dims = rng.randint(1, 3)
        sizes = [rng.randint(1, 4) for _ in range(dims)]
        p_small = rng.choice([0.1, 0.4, 0.8, 1.0])
        codes, counts, _ = random_table(rng, sizes, p_small, p_zero=rng.choice([0.0, 0.15]))
        masks = list(itertools.product((False, True), repeat=dims))
        kept = {m for m in masks if rng.random() < 0.5} or {rng.choice(masks)}
        if rng.random() < 0.2:
            kept = {(True,) * dims}  # the grand total alone
        published = {k: n for k, n in counts.items() if tuple(c == TOTAL for c in k) in kept}
        result = protect(cells_of(published), additive=True)
        hidden = suppressed(result)
        for key, p in result.items():
            n = published[key]
            assert (p.conf_status == "A") == (0 < n < 10), key
            assert p.suppressed == (p.obs_status == "Q"), key
            assert not (n == 0 and p.suppressed), key
        if all(0 < n < 10 for n in published.values()):
            assert hidden == set(published)
            shapes["all small"] += 1
        unknown = hidden | {k for k in counts if k not in published}
        assert not determined_cells(codes, unknown) & hidden, (published, hidden)
        shapes["lone"] += len(published) == 1
        shapes["no interior"] += (False,) * dims not in kept
    assert min(shapes.values()) >= 10, shapes


@pytest.mark.parametrize("n", [1, 9])
def test_a_lone_small_cell_is_suppressed_on_its_own(n: int) -> None:
    """A grand total alone (a table without dimensions) relates to no other cell."""
    for key in [(TOTAL,), (TOTAL, TOTAL, TOTAL)]:
        result = protect([Cell(key, n, 4.0, 0.5)], additive=True)
        assert result == {key: Protected(key, True, "A", "Q")}
    assert not suppressed(protect([Cell((TOTAL,), 10, 4.0, 0.1)], additive=True))


def test_a_dimension_only_ever_totalled_adds_no_relation() -> None:
    cells = [Cell(("a", TOTAL), 3, 1.0, None), Cell(("b", TOTAL), 30, 1.0, None)]
    cells.append(Cell((TOTAL, TOTAL), 33, 2.0, None))
    result = protect(cells, additive=True)
    assert suppressed(result) == {("a", TOTAL), ("b", TOTAL)}  # as the 1-D table a, b, _T
    assert secondary(result) == {("b", TOTAL)}


def test_a_table_whose_every_cell_is_small_is_all_suppressed() -> None:
    codes, counts = table_2d({"a": {"x": 1, "y": 2}, "b": {"x": 3, "y": 0}})
    result = assert_safe(codes, counts)
    assert suppressed(result) == {k for k, n in counts.items() if n}
    assert secondary(result) == set()


def test_margins_without_their_interior_are_protected_as_unknown_interior() -> None:
    counts = {("a", TOTAL): 3, ("b", TOTAL): 30, (TOTAL, "x"): 3, (TOTAL, "y"): 30}
    counts[(TOTAL, TOTAL)] = 33
    result = protect(cells_of(counts), additive=True)
    assert suppressed(result) == {("a", TOTAL), ("b", TOTAL), (TOTAL, "x"), (TOTAL, "y")}
    assert not result[(TOTAL, TOTAL)].suppressed


# -- hand-written cases ------------------------------------------------------------------------


def table_2d(rows: dict[str, dict[str, int]]) -> tuple[list[list[str]], dict[Key, int]]:
    codes = [list(rows), list(next(iter(rows.values())))]
    interior: dict[Key, float] = {(r, c): n for r, cols in rows.items() for c, n in cols.items()}
    return codes, {k: int(v) for k, v in with_margins(codes, interior).items()}


def test_single_small_cell_in_2x2_needs_three_interior_complements() -> None:
    codes, counts = table_2d({"a": {"x": 3, "y": 20}, "b": {"x": 25, "y": 30}})
    result = assert_safe(codes, counts)
    assert suppressed(result) == {("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")}
    assert secondary(result) == {("a", "y"), ("b", "x"), ("b", "y")}
    assert result[("a", "x")] == Protected(("a", "x"), True, "A", "Q")
    assert result[("a", "y")] == Protected(("a", "y"), True, "D", "Q")
    assert all(not result[k].suppressed for k in counts if TOTAL in k)


def test_zero_cell_is_never_the_complement() -> None:
    codes, counts = table_2d({"a": {"x": 3, "y": 0, "z": 15}, "b": {"x": 12, "y": 20, "z": 14}})
    result = assert_safe(codes, counts)
    assert result[("a", "y")] == Protected(("a", "y"), False, "F", "A")
    assert ("a", "z") in secondary(result)


def test_row_whose_only_contributor_is_small_hides_its_total() -> None:
    codes, counts = table_2d({"a": {"x": 4, "y": 0, "z": 0}, "b": {"x": 30, "y": 20, "z": 14}})
    result = assert_safe(codes, counts)
    assert result[("a", TOTAL)].conf_status == "A"  # n = 4: primary itself
    assert not result[("a", "y")].suppressed


def test_one_dimensional_table() -> None:
    codes = codes_for([4])
    counts = {
        k: int(v)
        for k, v in with_margins(
            codes, {("d0c0",): 2, ("d0c1",): 40, ("d0c2",): 15, ("d0c3",): 30}
        ).items()
    }
    result = assert_safe(codes, counts)
    assert secondary(result) == {("d0c2",)}  # smallest other interior cell, not the total


def test_three_dimensional_single_small_cell_gets_a_cube_of_interior_cells() -> None:
    codes = codes_for([3, 3, 3])
    interior = {k: 20 + i for i, k in enumerate(itertools.product(*codes))}
    interior[("d0c1", "d1c1", "d2c1")] = 2
    counts = {k: int(v) for k, v in with_margins(codes, interior).items()}
    result = assert_safe(codes, counts)
    extra = secondary(result)
    assert len(extra) == 7
    assert all(TOTAL not in k for k in extra)


def test_three_dimensional_table_with_margins_of_margins() -> None:
    codes = codes_for([2, 3, 2])
    interior = {k: 30 for k in itertools.product(*codes)}
    interior[("d0c0", "d1c0", "d2c0")] = 1
    interior[("d0c0", "d1c0", "d2c1")] = 1  # (d0c0, d1c0, _T) has n = 2: a primary margin
    counts = {k: int(v) for k, v in with_margins(codes, interior).items()}
    result = assert_safe(codes, counts)
    assert result[("d0c0", "d1c0", TOTAL)].conf_status == "A"
    assert not result[(TOTAL, TOTAL, TOTAL)].suppressed


def test_table_without_margins_gets_no_secondary_suppression() -> None:
    codes = codes_for([3, 3])
    counts = {k: 3 if k == ("d0c0", "d1c0") else 20 for k in itertools.product(*codes)}
    result = protect(cells_of(counts), additive=True)
    assert suppressed(result) == {("d0c0", "d1c0")}


def test_non_additive_statistics_get_the_same_pattern() -> None:
    rng = random.Random(5)
    codes, counts, values = random_table(rng, [4, 5, 3], 0.3)
    totals = protect(cells_of(counts, values), additive=True)
    means = protect(
        [Cell(k, n, (values[k] / n if n else None), 0.1) for k, n in counts.items()],
        additive=False,
    )
    assert suppressed(means) == suppressed(totals)
    assert {k: p.conf_status for k, p in means.items()} == {
        k: p.conf_status for k, p in totals.items()
    }


def test_pattern_does_not_depend_on_input_order() -> None:
    rng = random.Random(6)
    _, counts, _ = random_table(rng, [5, 6, 4], 0.3)
    cells = cells_of(counts)
    reference = protect(cells, additive=True)
    rng.shuffle(cells)
    assert protect(cells, additive=True) == reference


def test_reliability_and_missing_flags() -> None:
    cells = [
        Cell(("a",), 50, 10.0, 0.31),  # unreliable
        Cell(("b",), 50, 10.0, 0.30),  # at the limit: fine
        Cell(("c",), 50, 0.0, math.inf),  # zero estimate with a positive SE
        Cell(("d",), 50, 10.0, math.nan),  # CV not computable: not flagged
        Cell(("e",), 50, None, None),  # no estimate: missing
        Cell(("f",), 0, None, None),  # structural zero of a mean: empty, not confidential
        Cell(("g",), 0, 0.0, None),  # structural zero of a total
        Cell(("h",), 3, 1.0, 0.9),  # small and unreliable: suppressed
        Cell(("i",), 50, 10.0, None),
    ]
    result = protect(cells, additive=False)
    flags = {k[0]: (p.suppressed, p.conf_status, p.obs_status) for k, p in result.items()}
    assert flags == {
        "a": (False, "F", "U"),
        "b": (False, "F", "A"),
        "c": (False, "F", "U"),
        "d": (False, "F", "A"),
        "e": (False, "F", "Q"),
        "f": (False, "F", "Q"),
        "g": (False, "F", "A"),
        "h": (True, "A", "Q"),
        "i": (False, "F", "A"),
    }
    assert protect(cells, additive=False, max_cv=0.2)[("b",)].obs_status == "U"


def test_threshold_is_configurable() -> None:
    cells = [Cell((c,), n, float(n), None) for c, n in (("a", 4), ("b", 7), ("c", 20))]
    assert suppressed(protect(cells, threshold=5, additive=True)) == {("a",)}
    assert suppressed(protect(cells, threshold=10, additive=True)) == {("a",), ("b",)}
    assert suppressed(protect(cells, threshold=0, additive=True)) == set()


def test_empty_table() -> None:
    assert protect([], additive=True) == {}


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ([Cell(("a", "b"), 5, 1.0, None), Cell(("a",), 5, 1.0, None)], "expected 2"),
        ([Cell(("a",), 5, 1.0, None), Cell(("a",), 6, 1.0, None)], "duplicate"),
        ([Cell(("a",), -1, 1.0, None)], "negative"),
        ([Cell((), 5, 1.0, None)], "at least one"),
        # the total claims no contributor although a cell has three: nothing can hide it
        (
            [Cell(("a",), 3, 1.0, None), Cell(("b",), 0, 0.0, None), Cell((TOTAL,), 0, 0.0, None)],
            "cannot protect",
        ),
    ],
)
def test_invalid_input(cells: list[Cell], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        protect(cells, additive=True)


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="threshold"):
        protect([], threshold=-1, additive=True)
    with pytest.raises(ValueError, match="max_cv"):
        protect([], max_cv=math.nan, additive=True)


# -- performance -------------------------------------------------------------------------------


@pytest.mark.parametrize("p_small", [0.05, 0.2, 0.5, 0.9])
def test_5x17x10_table_with_all_margins_is_fast(p_small: float) -> None:
    rng = random.Random(17)
    codes, counts, _ = random_table(rng, [5, 17, 10], p_small, p_zero=0.05)
    cells = cells_of(counts)
    assert len(cells) == 6 * 18 * 11
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        result = protect(cells, additive=True)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.1
    assert not determined_cells(codes, suppressed(result))
