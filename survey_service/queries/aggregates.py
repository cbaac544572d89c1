"""The SQL of aggregates: the tables they read and the one statement of grouped sums."""

# Every dialect branch of aggregates is here: how a slot of the analysis arrays is read
# (`AggregateTables`), and how the grouped sums come back (`collect_sums`). The column
# expressions of a request (its variable, dimensions and domain) are planned elsewhere and
# handed in; this module only places them in the statement.

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from survey_service.analysis.layout import HOUSEHOLD
from survey_service.db import fetch_aggregate
from survey_service.errors import StatementTooComplex
from survey_service.models import (
    Response,
    ResponseUnit,
    WeightSet,
    WeightSetEntry,
)


class AggregateTables:
    """The tables of an aggregate query, and how SQL reads a slot of the analysis arrays.

    A roster row holds its instances as 2-D arrays. On PostgreSQL each slot the query reads
    is sliced out as a column (`num[:][3:3]`) and the slices are unnested side by side, one
    row per instance (`array_fill` supplies the count when no slot is read): one pass per
    array, where subscripting `num[i][3]` would walk the array again for every instance.
    SQLite reads `json_extract(num, '$[i][2]')` for i from a counting CTE.
    """

    def __init__(self, dialect: str, unit: str) -> None:
        self.dialect = dialect
        self.unit = unit
        self.r = Response.__table__.alias("r")
        self.u = ResponseUnit.__table__.alias("u") if unit != HOUSEHOLD else None
        self._slices: dict[tuple[str, int], str] = {}  # (kind, slot) -> column of `instance`
        self._sequence: Any = None
        if self.u is not None and dialect != "postgresql":
            sequence = sa.select(sa.literal(0).label("i")).cte("instance", recursive=True)
            self._sequence = sequence.union_all(
                sa.select((sequence.c.i + 1).label("i")).where(sequence.c.i < 9999)
            )

    @classmethod
    def of(cls, session: Session, unit: str) -> AggregateTables:
        """The tables for the session's database, reading rows of `unit`."""
        return cls(session.get_bind().dialect.name, unit)

    def tag(self, name: str) -> ColumnElement[Any]:
        """The column of a tag of the household (country, admin1, ...)."""
        return self.r.c[name]

    def slot(self, owner: str, kind: str, slot: int | None) -> ColumnElement[Any] | None:
        """SQL reading a slot of the `kind` array of the household or of a roster instance."""
        if slot is None:
            return None
        if owner == HOUSEHOLD:
            array = self.r.c.num if kind == "num" else self.r.c.cat
            if self.dialect == "postgresql":
                element: ColumnElement[Any] = array[slot + 1]
                return element
            return sa.func.json_extract(array, f"$[{slot}]")
        assert self.u is not None  # noqa: S101 - only roster units read instances
        array = self.u.c.num if kind == "num" else self.u.c.cat
        if self.dialect == "postgresql":
            name = self._slices.setdefault((kind, slot), f"{kind}_{slot}")
            return sa.literal_column(f"instance.{name}", sa.Float if kind == "num" else sa.Text)
        index = sa.cast(self._sequence.c.i, sa.String)
        return sa.func.json_extract(array, sa.literal("$[") + index + sa.literal(f"][{slot}]"))

    def source(self) -> Any:
        if self.u is None:
            return self.r
        u = self.u
        joined = self.r.join(u, sa.and_(u.c.response_id == self.r.c.id, u.c.unit == self.unit))
        if self.dialect != "postgresql":
            return joined.join(self._sequence, self._sequence.c.i < u.c.instances)
        slices: list[ColumnElement[Any]] = [
            sa.literal_column(f"u.{kind}[:][{slot + 1}:{slot + 1}]") for kind, slot in self._slices
        ]
        count = sa.func.array_fill(1, postgresql.array([u.c.instances]))
        instance = (
            sa.func.unnest(count, *slices)
            .table_valued("one", *self._slices.values())
            .render_derived(name="instance")
        )
        # a function in FROM may read the tables before it (PostgreSQL's implicit LATERAL)
        return joined.join(instance, sa.true())


@dataclass(frozen=True)
class Scope:
    """The responses an aggregate reads, and where their weights come from."""

    qid: str
    review_states: tuple[str, ...]
    versions: tuple[int, ...] | None
    collected_from: datetime.datetime | None
    collected_to: datetime.datetime | None
    countries: tuple[str, ...]
    weight_set: WeightSet | None
    weighted: bool  # the definition binds a design weight


@dataclass(frozen=True)
class Measures:
    """The planned column expressions: the variable (and a ratio's denominator), the cell
    of each dimension, and the domain a tag filter leaves (None: every row)."""

    y: ColumnElement[Any]
    x: ColumnElement[Any] | None
    dimensions: Sequence[ColumnElement[Any]]
    domain: ColumnElement[Any] | None


def sums_statement(
    measures: Measures, scope: Scope, tables: AggregateTables, stat: str
) -> sa.Select[Any]:
    """One row per (cell, domain flag, weight flag, stratum, PSU) with the sums estimates need."""
    r = tables.r
    entry = None
    if scope.weight_set is not None:
        entry = WeightSetEntry.__table__.alias("w")
        weight: ColumnElement[Any] = entry.c.weight
        stratum: ColumnElement[Any] = sa.func.coalesce(entry.c.stratum, r.c.stratum, "")
        psu: ColumnElement[Any] = sa.func.coalesce(entry.c.psu, r.c.psu)
    else:
        weight = r.c.weight if scope.weighted else sa.literal(1.0, sa.Float)
        stratum = sa.func.coalesce(r.c.stratum, "")
        psu = r.c.psu
    # without a PSU, each household is its own
    psu = sa.func.coalesce(psu, sa.literal("#") + sa.cast(r.c.id, sa.String))
    y, x = measures.y, measures.x
    present = y.is_not(None)
    columns: list[Any] = [sql.label(f"d{i}") for i, sql in enumerate(measures.dimensions)]
    if measures.domain is not None:
        columns.append(measures.domain.label("in_domain"))
    if scope.weight_set is not None or scope.weighted:  # a weight may be missing
        columns.append(weight.is_(None).label("no_weight"))
    columns += [stratum.label("stratum"), psu.label("psu")]
    keys = len(columns)
    columns += [sa.func.count().label("units"), sa.func.count(y).label("n")]
    columns.append(sa.func.sum(sa.case((present, weight))).label("sw"))
    if stat != "count":
        columns += [
            sa.func.sum(weight * y).label("swy"),
            sa.func.sum(weight * y * y).label("swyy"),
        ]
    if x is not None:
        columns += [
            sa.func.sum(weight * x).label("swx"),
            sa.func.sum(weight * x * x).label("swxx"),
            sa.func.sum(weight * x * y).label("swxy"),
        ]
    moment = sa.func.coalesce(r.c.collected_at, r.c.received_at)
    columns += [sa.func.min(moment).label("first"), sa.func.max(moment).label("last")]
    source = tables.source()
    if entry is not None and scope.weight_set is not None:
        set_id = scope.weight_set.id
        source = source.outerjoin(
            entry, sa.and_(entry.c.response_id == r.c.id, entry.c.weight_set_id == set_id)
        )
    conditions: list[ColumnElement[bool]] = [
        r.c.questionnaire_id == scope.qid,
        r.c.review_state.in_(scope.review_states),
    ]
    if scope.versions:
        conditions.append(r.c.version.in_(scope.versions))
    if scope.collected_from is not None:
        conditions.append(r.c.collected_at >= scope.collected_from)
    if scope.collected_to is not None:
        conditions.append(r.c.collected_at < scope.collected_to)
    if scope.countries:
        conditions.append(r.c.country.in_(scope.countries))
    group: list[ColumnElement[Any]] = [sa.literal_column(str(i + 1)) for i in range(keys)]
    return sa.select(*columns).select_from(source).where(*conditions).group_by(*group)


@dataclass
class Collected:
    """The groups of `sums_statement` whose units have a weight, column by column."""

    columns: dict[str, list[Any]]
    excluded_without_weight: int
    first: datetime.datetime | None
    last: datetime.datetime | None


# how the databases say a statement is too large or nested too deeply for them
_SQLITE_TOO_COMPLEX = ("too large", "parser stack overflow")  # "Expression tree is too large"
_PG_STATEMENT_TOO_COMPLEX = "54001"  # e.g. "stack depth limit exceeded"


@contextmanager
def _refused_as_too_complex() -> Iterator[None]:
    """Raises StatementTooComplex for a statement the database (or SQLAlchemy compiling it)
    refuses for its size or depth, rather than an outage's 503 or a 500."""
    try:
        yield
    except RecursionError as exc:
        raise StatementTooComplex("the statement nests too deeply to compile") from exc
    except sa.exc.DBAPIError as exc:
        refused = getattr(exc.orig, "sqlstate", None) == _PG_STATEMENT_TOO_COMPLEX or (
            isinstance(exc, sa.exc.OperationalError)
            and any(text in str(exc.orig) for text in _SQLITE_TOO_COMPLEX)
        )
        if refused:
            raise StatementTooComplex(str(exc.orig)) from exc
        raise


def collect_sums(session: Session, statement: sa.Select[Any]) -> Collected:
    """Run `sums_statement`. On PostgreSQL the groups come back as one array per column, built
    by the database and read in binary: for 100,000+ groups that costs a fraction of
    converting them row by row. Groups without a weight are left out there and counted.
    Raises StatementTooComplex when the database refuses the statement as too large."""
    with _refused_as_too_complex():
        return _collect_sums(session, statement)


def _collect_sums(session: Session, statement: sa.Select[Any]) -> Collected:
    names = [c.name for c in statement.selected_columns if c.name not in ("first", "last")]
    flagged = "no_weight" in names
    wanted = [n for n in names if n not in ("no_weight", "units")]
    if session.get_bind().dialect.name != "postgresql":
        rows = [r._mapping for r in session.execute(statement)]
        weighted = [r for r in rows if not (flagged and r["no_weight"])]
        return Collected(
            {name: [r[name] for r in weighted] for name in wanted},
            sum(r["units"] for r in rows if flagged and r["no_weight"]),
            min((r["first"] for r in rows if r["first"] is not None), default=None),
            max((r["last"] for r in rows if r["last"] is not None), default=None),
        )
    grouped = statement.subquery("grouped")
    keep = sa.not_(grouped.c.no_weight) if flagged else None

    def gathered(name: str) -> ColumnElement[Any]:
        array = sa.func.array_agg(grouped.c[name])
        return array.filter(keep) if keep is not None else array

    excluded = (
        sa.func.coalesce(sa.func.sum(grouped.c.units).filter(grouped.c.no_weight), 0)
        if flagged
        else sa.literal(0)
    )
    outer = sa.select(
        *(gathered(name) for name in wanted),
        excluded,
        sa.func.min(grouped.c.first),
        sa.func.max(grouped.c.last),
    )
    row = fetch_aggregate(session, outer)
    assert row is not None  # noqa: S101 - an aggregate without GROUP BY has one row
    arrays = dict(zip(wanted, (list(a or ()) for a in row[: len(wanted)]), strict=True))
    return Collected(arrays, int(row[-3]), row[-2], row[-1])
