"""Disclosure control for published tables: primary and secondary cell suppression, SDMX flags.

Rules
-----
Table
    A table is a set of cells keyed by one code per dimension (any number of dimensions,
    typically 1 to 4). The code ``"_T"`` marks a margin: the total over that dimension. A
    margin *level* is the set of dimensions a key totals over (``(KZ, _T, _T)`` is at level
    {1, 2}); the interior is the level with no ``"_T"``. A dimension that is ``"_T"`` in
    every key (a grand total alone, say ``(_T,)`` for a table without dimensions) has no
    cells of its own in the table, so it adds no relation: it is left out before anything
    else. A lone cell therefore relates to nothing, and when small it is suppressed on its
    own, without complement; a table whose every cell is small is published all suppressed.

Primary suppression
    A cell with ``0 < n < threshold`` (default 10, the ONS rule) is suppressed:
    CONF_STATUS ``A``, OBS_STATUS ``Q``. Margins are cells like any other: a margin with a
    small n is primary too.

Cells with n = 0
    A cell with no contributing unit discloses nobody, so it is **published** (a structural
    zero: ``0`` for totals and counts, empty for means; CONF_STATUS ``F``; OBS_STATUS ``Q``
    when its value is None). Its value is public knowledge (zero), so it is never chosen as a
    complementary suppression: hiding it would protect nothing. A key missing from the input
    is treated the same way (a known zero) when other cells of its level are present; when
    no cell of a margin level is present at all, that level is "not published" and its cells
    are unknowns to an attacker (so partial sets of margins are handled correctly). The same
    holds for the interior: without any interior cell, every combination of codes that no
    published zero margin rules out is an unknown interior cell.

Reliability
    A published cell whose ``cv`` exceeds ``max_cv`` (default 0.30) gets OBS_STATUS ``U``
    (low reliability), ``cv = inf`` included; ``cv`` None or NaN means "not computed" and is
    not flagged. A suppressed cell is always ``Q``; a published cell without a value is
    ``Q`` (missing) with CONF_STATUS ``F``; otherwise ``A``.

Lines
    A *line* is the set of cells whose keys agree on every dimension but one, ``j``, running
    over all codes of ``j`` plus ``"_T"``: e.g. for fixed (country, hazard) all displacement
    statuses and their total; for fixed (country = _T, hazard) likewise (a margin line);
    for 1-D tables the whole table is one line. Every additive relation of the table
    (margin = sum of the cells it covers, margins of margins and the grand total included)
    follows from "the ``_T`` cell of each line is the sum of the others".

Secondary (complementary) suppression
    Applied whenever the input contains a margin. Correctness criterion: given the
    published cells and the additivity of every line, the value of no suppressed cell is
    uniquely determined (no exact recovery by any linear combination of published values,
    across any number of dimensions and margin levels).

    1. Line heuristic, iterated to a fixed point over all dimensions and margin levels:
       whenever a line holds exactly one unknown cell (suppressed, or of an unpublished
       level) and that cell is suppressed, suppress one more published cell of that line,
       chosen by (fewest ``"_T"`` in its key -- an interior cell over a margin, a margin
       over a margin of margins --, fewest lines it would newly leave with a single
       suppression minus the singleton lines it mends, smallest n, key).
    2. Exact verification (always run; a few ms for ~1,400 cells): linear algebra over
       the prime field GF(2**61 - 1) on the unknown cells. Lines with a single unknown are
       peeled, the rest is eliminated, and a random vector of the null space (the ways
       the hidden values can move while every published value and every line sum stays
       fixed) is drawn; a suppressed cell is safe iff that vector moves it. A drawn
       vector that misses a movable cell only costs an extra suppression (chance about
       1e-18); a wrong "safe" verdict needs 2**61 - 1 to divide a particular integer
       minor of a 0/1 matrix, which is astronomically unlikely.
    3. Repair: each cell found determined gets the cheapest *hypercube* (2**d cells, two
       levels per dimension, ``"_T"`` allowed) that contains it and whose other corners
       are unknown or can be suppressed, cost ordered as in step 1. Moving the corners by
       +1/-1 alternately keeps every line sum, so every corner is provably not determined,
       and adding suppressions never makes a safe cell unsafe; step 2 is then re-run.

    The result is safe against exact recovery; it is not guaranteed minimal (optimal cell
    suppression is NP-hard), but step 1 prefers interior cells, and step 3 runs only for
    what step 1 missed. It does not give protection *intervals* (an attacker may bound a
    hidden value by non-negativity) and does not coordinate across separately published
    tables: protect linked tables together as one table with margins.

Additivity
    ``additive=True`` (totals, counts) is the case where margins are exact sums of cells.
    For means, proportions and ratios (``additive=False``) a margin is not the sum of its
    cells, but the counts and weighted totals behind them leak in the same way, and the
    same table is usually published with several statistics. So the pattern depends only
    on the keys, n and ``threshold`` -- never on values, CVs or ``additive`` -- and is the
    same for every statistic of a table: publish them all with it.

Publishing
    For a suppressed cell publish no value and nothing it can be derived from: no n, SE,
    CV or confidence interval (value = SE / CV). Pass every cell the publication will show,
    margins included, in one call; the n of published cells may be shown.

Errors
    ``ValueError`` for keys of different lengths, duplicate keys, negative n, a negative
    threshold or max_cv, and for a table that cannot be protected at all, which only
    happens when n is inconsistent (a margin with a smaller n than a cell it covers).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import product

__all__ = [
    "CONF_FREE",
    "CONF_PRIMARY",
    "CONF_SECONDARY",
    "OBS_LOW_RELIABILITY",
    "OBS_NORMAL",
    "OBS_SUPPRESSED",
    "TOTAL",
    "Cell",
    "Protected",
    "obs_status",
    "protect",
]

#: The code of a margin: the total over a dimension.
TOTAL = "_T"

#: SDMX CONF_STATUS codes.
CONF_FREE = "F"
CONF_PRIMARY = "A"
CONF_SECONDARY = "D"

#: SDMX OBS_STATUS codes.
OBS_NORMAL = "A"
OBS_LOW_RELIABILITY = "U"
OBS_SUPPRESSED = "Q"

_PRIME = (1 << 61) - 1
_SEED = 20240601

Key = tuple[str, ...]
_LineId = tuple[int, Key]
_Cost = tuple[int, int, int]


@dataclass
class Cell:
    """One cell of a table: key (one code per dimension, "_T" for a margin), n, estimate, CV."""

    key: tuple[str, ...]
    n: int
    value: float | None
    cv: float | None


@dataclass(frozen=True)
class Protected:
    """Whether a cell may be published, with its SDMX CONF_STATUS and OBS_STATUS."""

    key: tuple[str, ...]
    suppressed: bool
    conf_status: str
    obs_status: str


def protect(
    cells: Sequence[Cell],
    *,
    threshold: int = 10,
    max_cv: float = 0.30,
    additive: bool,
) -> dict[tuple[str, ...], Protected]:
    """Primary and secondary suppression plus reliability flags for every cell of a table.

    ``additive`` is informational: the same cells are suppressed either way (see the module
    docstring). Returns one ``Protected`` per input key.
    """
    del additive  # the pattern must not depend on it; see "Additivity" above
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    if not max_cv >= 0:
        raise ValueError(f"max_cv must be >= 0, got {max_cv}")
    counts: dict[Key, int] = {}
    dims: int | None = None
    for cell in cells:
        key = tuple(cell.key)
        if dims is None:
            dims = len(key)
            if dims == 0:
                raise ValueError("a cell key needs at least one dimension")
        elif len(key) != dims:
            raise ValueError(f"key {key!r} has {len(key)} codes, expected {dims}")
        if key in counts:
            raise ValueError(f"duplicate key {key!r}")
        if cell.n < 0:
            raise ValueError(f"negative n for key {key!r}")
        counts[key] = cell.n
    if dims is None:
        return {}

    primary = {key for key, n in counts.items() if 0 < n < threshold}
    secondary: set[Key] = set()
    # a dimension totalled in every key has no cells here: it relates nothing (see "Table")
    kept = [dim for dim in range(dims) if any(key[dim] != TOTAL for key in counts)]
    if kept and any(TOTAL in key for key in counts):

        def project(key: Key) -> Key:
            return tuple(key[dim] for dim in kept)

        projected = {project(key): n for key, n in counts.items()}
        hidden = _Table(projected, len(kept), {project(key) for key in primary}).secondary()
        secondary = {key for key in counts if project(key) in hidden}

    result: dict[Key, Protected] = {}
    for cell in cells:
        key = tuple(cell.key)
        if key in primary or key in secondary:
            conf = CONF_PRIMARY if key in primary else CONF_SECONDARY
            result[key] = Protected(key, True, conf, OBS_SUPPRESSED)
        else:
            result[key] = Protected(key, False, CONF_FREE, obs_status(cell, max_cv))
    return result


def obs_status(cell: Cell, max_cv: float) -> str:
    """OBS_STATUS of a published cell: Q without a value, U when its CV exceeds max_cv, else A."""
    if cell.value is None:
        return OBS_SUPPRESSED
    if cell.cv is not None and not math.isnan(cell.cv) and cell.cv > max_cv:
        return OBS_LOW_RELIABILITY
    return OBS_NORMAL


def _line(key: Key, dim: int) -> _LineId:
    return dim, key[:dim] + key[dim + 1 :]


def _depth(key: Key) -> int:
    return key.count(TOTAL)


class _Table:
    """Secondary suppression state for one table (see the module docstring)."""

    def __init__(self, counts: dict[Key, int], dims: int, primary: set[Key]) -> None:
        self.counts = counts
        self.dims = dims
        self.suppressed = set(primary)
        self.primary = primary
        codes: list[set[str]] = [set() for _ in range(dims)]
        for key in counts:
            for dim, code in enumerate(key):
                if code != TOTAL:
                    codes[dim].add(code)
        self.levels = [sorted(c) + [TOTAL] for c in codes]
        self.unpublished = self._unpublished_cells()
        # every unknown (suppressed or unpublished) cell per line, and the present cells per line
        self.unknown_in: dict[_LineId, list[Key]] = {}
        self.present_in: dict[_LineId, list[Key]] = {}
        for key in counts:
            for dim in range(dims):
                self.present_in.setdefault(_line(key, dim), []).append(key)
        for key in sorted(self.suppressed | self.unpublished):
            self._register_unknown(key)

    # -- state -------------------------------------------------------------------------------

    def _unpublished_cells(self) -> set[Key]:
        """Cells of levels absent from the input: interior cells that no zero margin rules
        out when the interior is absent, and margin cells covering a cell with n > 0."""
        published = {tuple(code == TOTAL for code in key) for key in self.counts}
        cells: set[Key] = set()
        if (False,) * self.dims not in published:
            zero = {key for key, n in self.counts.items() if n == 0}
            totals = list(product((False, True), repeat=self.dims))
            for combination in product(*(levels[:-1] for levels in self.levels)):
                covers = (
                    tuple(
                        TOTAL if total else code
                        for code, total in zip(combination, mask, strict=True)
                    )
                    for mask in totals
                )
                if not any(cover in zero for cover in covers):
                    cells.add(combination)
        published.add((False,) * self.dims)
        masks = [m for m in product((False, True), repeat=self.dims) if m not in published]
        if not masks:
            return cells
        sources = [key for key, n in self.counts.items() if n > 0] + sorted(cells)
        for key in sources:
            for mask in masks:
                pairs = list(zip(key, mask, strict=True))
                if any(code == TOTAL and not total for code, total in pairs):
                    continue  # the margin level does not cover this cell
                cells.add(tuple(TOTAL if total else code for code, total in pairs))
        return cells

    def _register_unknown(self, key: Key) -> None:
        for dim in range(self.dims):
            self.unknown_in.setdefault(_line(key, dim), []).append(key)

    def _is_unknown(self, key: Key) -> bool:
        return key in self.suppressed or key in self.unpublished

    def _can_suppress(self, key: Key) -> bool:
        n = self.counts.get(key)
        return n is not None and n > 0 and key not in self.suppressed

    def _suppress(self, key: Key, queue: deque[_LineId] | None = None) -> None:
        self.suppressed.add(key)
        self._register_unknown(key)
        if queue is not None:
            for dim in range(self.dims):
                line = _line(key, dim)
                if len(self.unknown_in[line]) == 1:
                    queue.append(line)

    # -- step 1: line heuristic ---------------------------------------------------------------

    def _lone_suppressed(self, line: _LineId) -> Key | None:
        unknown = self.unknown_in.get(line, ())
        if len(unknown) == 1 and unknown[0] in self.suppressed:
            return unknown[0]
        return None

    def _line_cost(self, key: Key, line: _LineId) -> tuple[int, int, int, Key]:
        cascade = 0
        for dim in range(self.dims):
            other = _line(key, dim)
            if other == line:
                continue
            unknown = len(self.unknown_in.get(other, ()))
            if unknown == 0:
                cascade += 1
            elif unknown == 1 and self._lone_suppressed(other) is not None:
                cascade -= 1
        return _depth(key), cascade, self.counts[key], key

    def _line_fixed_point(self) -> None:
        queue: deque[_LineId] = deque(
            sorted(line for line, unknown in self.unknown_in.items() if len(unknown) == 1)
        )
        while queue:
            line = queue.popleft()
            if self._lone_suppressed(line) is None:
                continue
            candidates = [k for k in self.present_in.get(line, ()) if self._can_suppress(k)]
            if not candidates:
                continue  # only with inconsistent n; left to the verification and repair
            self._suppress(min(candidates, key=lambda k: self._line_cost(k, line)), queue)

    # -- step 2: exact verification ------------------------------------------------------------

    def _determined(self) -> list[Key]:
        """Suppressed cells whose value follows from the published cells and line sums."""
        unknowns = sorted(self.suppressed | self.unpublished)
        index = {key: i for i, key in enumerate(unknowns)}
        rows = [[index[k] for k in members] for members in self.unknown_in.values()]
        # not for security: a fixed seed keeps the verdict (and so the pattern) deterministic
        movable = _movable(rows, len(unknowns), random.Random(_SEED))  # noqa: S311
        return [key for key in unknowns if key in self.suppressed and not movable[index[key]]]

    # -- step 3: repair by hypercubes ----------------------------------------------------------

    def _corner_cost(self, key: Key) -> _Cost | None:
        if self._is_unknown(key):
            return 0, 0, 0
        if self._can_suppress(key):
            return _depth(key), 1, self.counts[key]
        return None

    def _cheapest_box(self, key: Key) -> list[Key] | None:
        best: list[_Cost | None] = [None]
        best_corners: list[list[Key]] = []

        def search(dim: int, corners: list[Key], cost: _Cost) -> None:
            if best[0] is not None and cost >= best[0]:
                return
            if dim == self.dims:
                best[0] = cost
                best_corners[:] = [corners]
                return
            options = []
            for level in self.levels[dim]:
                if level == key[dim]:
                    continue
                new = [c[:dim] + (level,) + c[dim + 1 :] for c in corners]
                total = cost
                for corner in new:
                    corner_cost = self._corner_cost(corner)
                    if corner_cost is None:
                        break
                    total = (
                        total[0] + corner_cost[0],
                        total[1] + corner_cost[1],
                        total[2] + corner_cost[2],
                    )
                else:
                    options.append((total, new))
            for total, new in sorted(options):
                search(dim + 1, corners + new, total)

        search(0, [key], (0, 0, 0))
        return best_corners[0] if best_corners else None

    def _fallback(self, determined: Iterable[Key]) -> bool:
        """One more suppression next to a determined cell when no hypercube exists."""
        lines = [_line(key, dim) for key in determined for dim in range(self.dims)]
        candidates = [k for line in lines for k in self.present_in.get(line, ())]
        candidates = [k for k in candidates if self._can_suppress(k)]
        if not candidates:
            candidates = [k for k in self.counts if self._can_suppress(k)]
        if not candidates:
            return False
        self._suppress(min(candidates, key=lambda k: (_depth(k), self.counts[k], k)))
        return True

    # -- driver --------------------------------------------------------------------------------

    def secondary(self) -> set[Key]:
        self._line_fixed_point()
        while determined := self._determined():
            repaired = False
            for key in determined:
                box = self._cheapest_box(key)
                if box is None:
                    continue
                for corner in box:
                    if not self._is_unknown(corner):
                        self._suppress(corner)
                repaired = True
            if not repaired and not self._fallback(determined):
                raise ValueError(
                    "cannot protect the table: suppressed cells "
                    f"{determined[:5]!r} stay recoverable; is n consistent across margins?"
                )
        return self.suppressed - self.primary


def _movable(rows: list[list[int]], size: int, rng: random.Random) -> list[bool]:
    """For unknowns 0..size-1 with constraints "sum of the unknowns of each row = const": which
    unknowns are not determined, i.e. have a nonzero entry in a random null-space vector."""
    live = [True] * size
    rows_of: list[list[int]] = [[] for _ in range(size)]
    for r, units in enumerate(rows):
        for u in units:
            rows_of[u].append(r)
    remaining = [len(units) for units in rows]
    stack = [r for r, count in enumerate(remaining) if count == 1]
    while stack:  # a row with a single unknown determines it: peel it off
        r = stack.pop()
        if remaining[r] != 1:
            continue
        u = next(u for u in rows[r] if live[u])
        live[u] = False
        for other in rows_of[u]:
            remaining[other] -= 1
            if remaining[other] == 1:
                stack.append(other)

    # Incremental echelon form: pivot row i holds its pivot and no earlier pivot column, so
    # reducing a new row by pivots in insertion order (a heap) never revisits one.
    pivots: dict[int, dict[int, int]] = {}
    position: dict[int, int] = {}
    order: list[int] = []
    reduced = [[u for u in row if live[u]] for row in rows]
    for row_units in sorted((r for r in reduced if len(r) > 1), key=len):
        row = dict.fromkeys(row_units, 1)
        heap = [(position[c], c) for c in row if c in pivots]
        heapq.heapify(heap)
        while heap:
            _, col = heapq.heappop(heap)
            factor = row.pop(col, 0)
            if not factor:
                continue
            for c, v in pivots[col].items():
                if c == col:
                    continue
                old = row.get(c, 0)
                value = (old - factor * v) % _PRIME
                if value:
                    row[c] = value
                    if not old and c in pivots:
                        heapq.heappush(heap, (position[c], c))
                else:
                    row.pop(c, None)
        if not row:
            continue
        col = min(row, key=lambda c: (len(rows_of[c]), c))
        inverse = pow(row[col], _PRIME - 2, _PRIME)
        pivots[col] = {c: v * inverse % _PRIME for c, v in row.items()}
        position[col] = len(order)
        order.append(col)

    # free unknowns at random, pivots by back substitution (latest pivot first)
    solution = {u: rng.randrange(1, _PRIME) for u in range(size) if live[u] and u not in pivots}
    for col in reversed(order):
        total = sum(v * solution[c] for c, v in pivots[col].items() if c != col)
        solution[col] = -total % _PRIME
    return [bool(solution.get(u, 0)) for u in range(size)]
