"""Aggregates: design-based estimates with standard errors, published under disclosure control."""

# How a request becomes a table
# -----------------------------
# 1. Plan (`_Planner`): the request is checked against the questionnaire's latest published
#    version -- its definition says what each name means, its analysis layout where the
#    answers sit (every slot of every earlier version included). Every problem is collected
#    and reported at once with what is allowed instead.
# 2. One SQL statement (`_statement`) reduces the responses in scope to one row per
#    (domain cell, stratum, PSU) with n, sum(w), sum(w*y), ...: the heavy work runs in the
#    database, reading typed array slots, and Python never holds a row per household.
#    Rows left out of the cells by a tag filter (country=KG) or without a value for the
#    variable still form PSUs: domains are estimated on the full design.
# 3. `statistics.estimation.estimate_arrays` computes estimates, SEs and intervals from those
#    rows (Taylor linearisation); margins are the same rows with cell ids remapped.
# 4. `statistics.disclosure.protect` suppresses small cells and, when margins are
#    published, enough others that no suppressed value can be recovered by subtraction.
#
# Scope and design
# ----------------
# In scope: the questionnaire's responses whose review state is allowed (default: all but
# rejected), of the versions asked for, collected in the period asked for, and in the
# countries of the requesting account. Tag filters (country, admin1, hazard_type,
# displacement_status) restrict the *domain*, not the design.
# Weight: the weight set named in `weights` (its latest version unless one is asked for),
# else the design weight bound in the definition, else 1. A response without a weight is
# left out and counted in `excluded_without_weight`. Stratum: the weight set's when it gives
# one, else the response's, else a single stratum. PSU: likewise; without any, each
# household is its own PSU (persons stay clustered in their household).

from __future__ import annotations

import datetime
import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from survey_service.analysis.layout import HOUSEHOLD, AnalysisLayout, unit_of
from survey_service.codes import AGE_GROUPS
from survey_service.config import Settings
from survey_service.db import fetch_aggregate
from survey_service.errors import Forbidden, NotFound, Unprocessable
from survey_service.exports.tables import VALUE_COLUMNS, Table
from survey_service.expressions.sql import Column, Compiled, VariableError, compile_expression
from survey_service.models import (
    Principal,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    ResponseUnit,
    ReviewState,
    WeightSet,
    WeightSetEntry,
)
from survey_service.questionnaire.definition import Definition, Question
from survey_service.services import versions
from survey_service.statistics.disclosure import (
    CONF_FREE,
    TOTAL,
    Cell,
    Protected,
    obs_status,
    protect,
)
from survey_service.statistics.estimation import (
    SINGLE_PSU_RULES,
    STATISTICS,
    ArraySums,
    Design,
    Estimate,
    EstimationError,
    estimate_arrays,
)

__all__ = [
    "TAGS",
    "AggregateRequest",
    "run_aggregate",
]

#: The tags, always available as dimensions and filters.
TAGS: Final = ("country", "admin1", "hazard_type", "displacement_status")
#: The code of a cell whose dimension has no value (question skipped or not answered).
NOT_APPLICABLE: Final = "_Z"
_MAX_CV: Final = 0.30
_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    TOTAL: {"en": "Total", "ru": "Всего"},
    NOT_APPLICABLE: {"en": "Not applicable or not stated", "ru": "Не применимо или не указано"},
}
_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_EXCLUDED_STATES: Final = frozenset({ReviewState.REJECTED.value})
_NUMERIC_TYPES: Final = frozenset({"integer", "decimal", "calculate"})
_DIMENSION_TYPES: Final = frozenset({"select_one", "calculate"})
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_XPATH_NUMBER: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


@dataclass(frozen=True)
class AggregateRequest:
    """What a statistician asks for (see the API documentation of each field)."""

    stat: str
    variable: str | None = None
    value: str | None = None
    denominator: str | None = None
    unit: str = HOUSEHOLD
    by: tuple[str, ...] = ()
    age_groups: str = "five_year"
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    review_states: tuple[str, ...] | None = None
    versions: tuple[int, ...] | None = None
    collected_from: datetime.datetime | None = None
    collected_to: datetime.datetime | None = None
    weights: str | None = None
    weights_version: int | None = None
    confidence: float = 0.95
    single_psu: str | None = None
    population_psus: Mapping[str, int] | None = None
    margins: bool = False
    suppression: bool = True


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Dimension:
    name: str
    sql: ColumnElement[Any]
    labels: Mapping[str, Mapping[str, str]]


@dataclass
class _Plan:
    definition: Definition
    version: int
    unit: str
    y: ColumnElement[Any]
    x: ColumnElement[Any] | None
    dimensions: list[_Dimension]
    domain: ColumnElement[Any] | None
    variable_label: Mapping[str, str]


class _Problems:
    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []
        self.allowed: dict[str, list[str]] = {}

    def add(self, path: str, code: str, message: str) -> None:
        self.errors.append({"path": path, "code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.errors:
            raise Unprocessable(
                "aggregate.invalid",
                f"The aggregate request has {len(self.errors)} problem(s).",
                errors=self.errors,
                extra={"allowed": self.allowed} if self.allowed else None,
            )


class _Planner:
    """Turns a request into SQL expressions, checking every name against the definition."""

    def __init__(
        self,
        request: AggregateRequest,
        definition: Definition,
        layout: AnalysisLayout,
        dialect: str,
        tables: _Tables,
        now: datetime.datetime,
    ) -> None:
        self.request = request
        self.definition = definition
        self.layout = layout
        self.dialect = dialect
        self.t = tables
        self.problems = _Problems()
        self.today = float(math.floor((now - _EPOCH).total_seconds() / 86400.0))
        self.now = (now - _EPOCH).total_seconds() / 86400.0

    # -- names

    def _question(self, name: str) -> Question | None:
        return self.definition.by_name.get(name)

    def _readable(self, question: Question) -> bool:
        """Whether the unit's rows can read the question (the unit's own, or the household's)."""
        owner = unit_of(question)
        return owner in (HOUSEHOLD, self.request.unit)

    def resolve(self, name: str) -> Column:
        """How SQL reads a question, for the expression compiler."""
        question = self._question(name)
        if question is None:
            raise VariableError("aggregate.unknown_question", f"no question named {name!r}")
        if question.pii:
            raise VariableError(
                "aggregate.unknown_question",
                f"{name!r} is marked pii: identifying answers are never aggregated",
            )
        if not self._readable(question):
            raise VariableError(
                "aggregate.unknown_question",
                f"{name!r} belongs to the roster {unit_of(question)!r}: aggregate with "
                f"unit={unit_of(question)} to read it",
            )
        owner = unit_of(question)
        slots = self.layout.unit(owner)
        if slots is None:
            raise VariableError("aggregate.unknown_question", f"{name!r} has no stored values")
        num, cat = (self.t.slot(owner, kind, slots.slot(kind, name)) for kind in ("num", "cat"))
        kind = {"integer": "number", "decimal": "number"}.get(question.type, question.type)
        if kind not in ("number", "date", "datetime", "select_one", "select_multiple", "calculate"):
            raise VariableError(
                "aggregate.unknown_question",
                f"{name!r} is a {question.type} question: it cannot be aggregated",
            )
        numeric_codes = question.type == "select_one" and all(
            _XPATH_NUMBER.fullmatch(name) for name in self.definition.choice_names(question)
        )
        return Column("date" if kind == "datetime" else kind, num, cat, numeric_codes)  # type: ignore[arg-type]

    # -- the plan

    def plan(self, version: int) -> _Plan:
        request = self.request
        problems = self.problems
        if request.stat not in STATISTICS:
            problems.add(
                "stat",
                "aggregate.unknown_stat",
                f"one of {', '.join(STATISTICS)}, not {request.stat!r}",
            )
        if request.unit != HOUSEHOLD and request.unit not in self.layout.units:
            problems.allowed["unit"] = [HOUSEHOLD, *self.layout.units]
            problems.add(
                "unit",
                "aggregate.unknown_unit",
                f"{request.unit!r} is not a roster of this questionnaire; choose "
                + ", ".join([HOUSEHOLD, *self.layout.units]),
            )
            problems.raise_if_any()
        y, x, label = self._variables()
        dimensions = [self._dimension(name, index) for index, name in enumerate(request.by)]
        if len(set(request.by)) < len(request.by):
            problems.add("by", "aggregate.duplicate_dimension", "a dimension is given twice")
        domain = self._domain()
        if not 0.0 < request.confidence < 1.0:
            problems.add("confidence", "aggregate.invalid", "between 0 and 1, such as 0.95")
        if request.single_psu is not None and request.single_psu not in SINGLE_PSU_RULES:
            problems.add("single_psu", "aggregate.invalid", f"one of {', '.join(SINGLE_PSU_RULES)}")
        problems.raise_if_any()
        assert y is not None  # noqa: S101 - problems were raised otherwise
        return _Plan(
            self.definition,
            version,
            request.unit,
            y,
            x,
            [d for d in dimensions if d is not None],
            domain,
            label,
        )

    def _compile(self, source: str, path: str) -> Compiled | None:
        text = source.strip()
        question = self._question(text)
        if question is not None:  # a bare name: the question itself
            text = "${" + text + "}"
        elif _NAME.fullmatch(text):
            self.problems.allowed.setdefault(path, self._numeric_names())
            self.problems.add(
                path,
                "aggregate.unknown_question",
                f"no question named {text!r}; numbers and calculates: "
                + ", ".join(self._numeric_names()),
            )
            return None
        try:
            return compile_expression(
                text, self.resolve, dialect=self.dialect, today=self.today, now=self.now
            )
        except VariableError as exc:
            self.problems.add(path, exc.code, exc.message)
            if exc.code == "aggregate.unknown_question":
                self.problems.allowed.setdefault(path, self._numeric_names())
        return None

    def _numeric_names(self) -> list[str]:
        return [
            q.name
            for q in self.definition.walk()
            if q.type in _NUMERIC_TYPES and not q.pii and self._readable(q)
        ]

    def _variables(self) -> tuple[ColumnElement[Any] | None, ColumnElement[Any] | None, Any]:
        request = self.request
        stat = request.stat
        if stat == "count":
            return sa.literal(1.0, sa.Float), None, {"en": "units"}
        if not request.variable:
            self.problems.allowed["variable"] = self._numeric_names()
            self.problems.add("variable", "aggregate.missing_variable", f"{stat} needs a variable")
            return None, None, {}
        label = self._label_of(request.variable)
        if stat == "proportion" and request.value is not None:
            return self._indicator(request.variable, request.value), None, label
        compiled = self._compile(request.variable, "variable")
        y = self._numeric(compiled, "variable", stat)
        x = None
        if stat == "ratio":
            if not request.denominator:
                self.problems.add(
                    "denominator", "aggregate.missing_variable", "a ratio needs a denominator"
                )
            else:
                x = self._numeric(
                    self._compile(request.denominator, "denominator"), "denominator", stat
                )
            if y is not None and x is not None:
                # a unit counts when it has both: the other is NULL otherwise
                y, x = (
                    sa.case((x.is_(None), None), else_=y),
                    sa.case((y.is_(None), None), else_=x),
                )
        elif request.denominator is not None:
            self.problems.add("denominator", "aggregate.invalid", "only a ratio has a denominator")
        if request.value is not None and stat != "proportion":
            self.problems.add("value", "aggregate.invalid", "only a proportion takes a value")
        return y, x, label

    def _label_of(self, variable: str) -> Mapping[str, str]:
        question = self._question(variable.strip())
        if question is not None and question.label:
            return question.label
        return {"en": variable}

    def _numeric(
        self, compiled: Compiled | None, path: str, stat: str
    ) -> ColumnElement[Any] | None:
        if compiled is None:
            return None
        if compiled.type == "boolean":  # a condition: its 0/1 indicator
            return sa.case((compiled.sql, 1.0), else_=0.0)
        if compiled.type == "text":
            self.problems.add(
                path,
                "aggregate.not_numeric",
                f"a {stat} needs a number; this gives text: for a choice use "
                "stat=proportion with value=<choice>, or a condition such as ${q} = 'yes'",
            )
            return None
        return compiled.sql

    def _indicator(self, variable: str, value: str) -> ColumnElement[Any] | None:
        """1 where the select question's answer is (or includes) `value`, 0 where it is not,
        NULL where unanswered (outside the domain)."""
        question = self._question(variable.strip())
        if question is None or question.type not in ("select_one", "select_multiple"):
            self.problems.add(
                "variable",
                "aggregate.invalid",
                "with value=, the variable is a select_one or select_multiple question",
            )
            self.problems.allowed["variable"] = [
                q.name
                for q in self.definition.walk()
                if q.type in ("select_one", "select_multiple") and self._readable(q) and not q.pii
            ]
            return None
        choices = self.definition.choice_names(question)
        if value not in choices:
            self.problems.allowed["value"] = sorted(choices)
            self.problems.add(
                "value",
                "aggregate.unknown_choice",
                f"{value!r} is not a choice of {question.name!r}: " + ", ".join(sorted(choices)),
            )
            return None
        try:
            column = self.resolve(question.name)
        except VariableError as exc:
            self.problems.add("variable", exc.code, exc.message)
            return None
        code = column.cat
        assert code is not None  # noqa: S101 - select questions have a cat slot
        if question.type == "select_one":
            hit = code == value
        else:
            hit = (sa.literal(" ") + code + sa.literal(" ")).contains(f" {value} ", autoescape=True)
        return sa.case((code.is_(None), None), (hit, 1.0), else_=0.0)

    def _dimension_names(self) -> list[str]:
        names = list(TAGS)
        if self._persons_unit():
            names += ["sex", "age_group"]
        names += [
            q.name
            for q in self.definition.walk()
            if q.type in _DIMENSION_TYPES and not q.pii and self._readable(q) and q.name not in TAGS
        ]
        return names

    def _persons_unit(self) -> bool:
        sex = self.definition.persons.get("sex")
        question = self._question(sex) if sex else None
        return question is not None and unit_of(question) == self.request.unit

    def _dimension(self, name: str, index: int) -> _Dimension | None:
        path = f"by[{index}]"
        if name in TAGS:
            bound = self.definition.tags.get(name)
            return _Dimension(name, self.t.r.c[name], self._choice_labels(bound))
        if name in ("sex", "age_group") and self._persons_unit():
            return self._person_dimension(name, path)
        question = self._question(name)
        if question is not None and question.type in _DIMENSION_TYPES and self._readable(question):
            try:
                column = self.resolve(name)
            except VariableError as exc:
                self.problems.add(path, exc.code, exc.message)
                return None
            assert column.cat is not None  # noqa: S101 - select_one and calculate have one
            return _Dimension(name, column.cat, self._choice_labels(name))
        allowed = self._dimension_names()
        self.problems.allowed["by"] = allowed
        why = ""
        if name in ("sex", "age_group"):
            why = " (sex and age_group need unit= the roster bound in the definition's persons)"
        elif question is not None and not self._readable(question):
            why = f" (it belongs to the roster {unit_of(question)!r})"
        elif question is not None:
            why = f" (a {question.type} question: group by select_one or calculate questions)"
        self.problems.add(
            path,
            "aggregate.unknown_dimension",
            f"{name!r} is not a dimension here{why}; choose from: " + ", ".join(allowed),
        )
        return None

    def _person_dimension(self, name: str, path: str) -> _Dimension | None:
        bound = self.definition.persons["sex" if name == "sex" else "age"]
        column = self.resolve(bound)
        if name == "sex":
            assert column.cat is not None  # noqa: S101 - a select_one
            return _Dimension("sex", column.cat, self._choice_labels(bound))
        groups = AGE_GROUPS.get(self.request.age_groups)
        if groups is None:
            self.problems.add("age_groups", "aggregate.invalid", f"one of {', '.join(AGE_GROUPS)}")
            return None
        age = column.num
        assert age is not None  # noqa: S101 - an integer
        whens: list[tuple[ColumnElement[bool], str | None]] = [(age.is_(None), None)]
        whens += [(age <= high, code) for code, _, high in groups if high is not None]
        last = groups[-1]
        sql = sa.case(*whens, else_=sa.literal(last[0])) if last[2] is None else sa.case(*whens)
        labels = {
            code: {"en": f"{low}-{high}" if high is not None else f"{low}+"}
            for code, low, high in groups
        }
        return _Dimension("age_group", sql, labels)

    def _choice_labels(self, name: str | None) -> dict[str, Mapping[str, str]]:
        question = self._question(name) if name else None
        if question is None or question.choice_list is None:
            return {}
        return {
            choice.name: choice.label
            for choice in self.definition.choice_lists.get(question.choice_list, [])
        }

    def _domain(self) -> ColumnElement[Any] | None:
        conditions = []
        for tag, values in self.request.filters.items():
            if tag not in TAGS:
                self.problems.add(tag, "aggregate.unknown_filter", f"filters are {', '.join(TAGS)}")
            elif values:
                conditions.append(self.t.r.c[tag].in_(values))
        return sa.and_(*conditions) if conditions else None


# --------------------------------------------------------------------------- SQL


class _Tables:
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
class _Scope:
    qid: str
    review_states: tuple[str, ...]
    versions: tuple[int, ...] | None
    collected_from: datetime.datetime | None
    collected_to: datetime.datetime | None
    countries: tuple[str, ...]
    weight_set: WeightSet | None
    weighted: bool  # the definition binds a design weight


def _statement(plan: _Plan, scope: _Scope, tables: _Tables, stat: str) -> sa.Select[Any]:
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
    y, x = plan.y, plan.x
    present = y.is_not(None)
    columns: list[Any] = [d.sql.label(f"d{i}") for i, d in enumerate(plan.dimensions)]
    if plan.domain is not None:
        columns.append(plan.domain.label("in_domain"))
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
class _Collected:
    """The groups of `_statement` whose units have a weight, column by column."""

    columns: dict[str, list[Any]]
    excluded_without_weight: int
    first: datetime.datetime | None
    last: datetime.datetime | None


def _collect(session: Session, statement: sa.Select[Any]) -> _Collected:
    """Run `_statement`. On PostgreSQL the groups come back as one array per column, built
    by the database and read in binary: for 100,000+ groups that costs a fraction of
    converting them row by row. Groups without a weight are left out there and counted."""
    names = [c.name for c in statement.selected_columns if c.name not in ("first", "last")]
    flagged = "no_weight" in names
    wanted = [n for n in names if n not in ("no_weight", "units")]
    if session.get_bind().dialect.name != "postgresql":
        rows = [r._mapping for r in session.execute(statement)]
        weighted = [r for r in rows if not (flagged and r["no_weight"])]
        return _Collected(
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
    return _Collected(arrays, int(row[-3]), row[-2], row[-1])


# --------------------------------------------------------------------------- estimation


@dataclass
class _Rows:
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


def _arrays(collected: _Collected, dimensions: int, stat: str, *, ratio: bool) -> _Rows:
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
    return _Rows(
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
    data: _Rows,
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
    data: _Rows,
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


# --------------------------------------------------------------------------- the use case


def _latest_version(
    session: Session, qid: str, versions: Sequence[int] | None
) -> QuestionnaireVersion:
    query = sa.select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == qid)
    if versions:
        query = query.where(QuestionnaireVersion.version.in_(versions))
    found = session.scalar(query.order_by(QuestionnaireVersion.version.desc()).limit(1))
    if found is None:
        if session.get(Questionnaire, qid) is None:
            raise NotFound("questionnaire.not_found", f"No questionnaire {qid!r}.")
        raise Unprocessable(
            "aggregate.no_version",
            "The questionnaire has no published version"
            + (" among the versions asked for." if versions else "."),
            errors=[
                {"path": "version", "code": "aggregate.no_version", "message": "no such version"}
            ]
            if versions
            else None,
        )
    return found


def _weight_set(session: Session, qid: str, name: str, version: int | None) -> WeightSet:
    query = sa.select(WeightSet).where(WeightSet.questionnaire_id == qid, WeightSet.name == name)
    if version is not None:
        query = query.where(WeightSet.version == version)
    found = session.scalar(query.order_by(WeightSet.version.desc()).limit(1))
    if found is None:
        names = session.scalars(
            sa.select(WeightSet.name).where(WeightSet.questionnaire_id == qid).distinct()
        ).all()
        raise Unprocessable(
            "aggregate.invalid",
            "The aggregate request has 1 problem(s).",
            errors=[
                {
                    "path": "weights",
                    "code": "aggregate.unknown_weights",
                    "message": f"no weight set {name!r}"
                    + (f" version {version}" if version is not None else "")
                    + (
                        f"; the sets are {', '.join(sorted(names))}"
                        if names
                        else "; none is uploaded"
                    ),
                }
            ],
            extra={"allowed": {"weights": sorted(names)}},
        )
    return found


def run_aggregate(
    session: Session,
    qid: str,
    request: AggregateRequest,
    user: Principal,
    settings: Settings,
    *,
    now: datetime.datetime | None = None,
) -> Table:
    """Estimate the request's statistic for every cell, then apply disclosure control."""
    now = now or datetime.datetime.now(datetime.UTC)
    if not request.suppression and not settings.allow_unsuppressed:
        raise Forbidden(
            "aggregate.suppression_required",
            "Disclosure control cannot be switched off on this service.",
        )
    version = _latest_version(session, qid, request.versions)
    derived = versions.published(version)
    definition, layout = derived.definition, derived.layout
    dialect = session.get_bind().dialect.name
    tables = _Tables(dialect, request.unit)
    planner = _Planner(request, definition, layout, dialect, tables, now)
    plan = planner.plan(version.version)
    weight_set = (
        _weight_set(session, qid, request.weights, request.weights_version)
        if request.weights
        else None
    )
    states = request.review_states or tuple(
        s.value for s in ReviewState if s.value not in _EXCLUDED_STATES
    )
    scope = _Scope(
        qid,
        states,
        request.versions,
        request.collected_from,
        request.collected_to,
        user.countries,
        weight_set,
        "weight" in definition.design,
    )
    statement = _statement(plan, scope, tables, request.stat)
    collected = _collect(session, statement)
    data = _arrays(collected, len(plan.dimensions), request.stat, ratio=plan.x is not None)
    single_psu = request.single_psu or settings.single_psu_rule
    psus_per_stratum = {
        name: int(count)
        for name, count in zip(
            data.strata, np.bincount(data.psu_strata, minlength=len(data.strata)), strict=True
        )
    }
    design = Design(
        psus_per_stratum=psus_per_stratum,
        population_psus=dict(request.population_psus) if request.population_psus else None,
        single_psu=single_psu,  # type: ignore[arg-type]
    )
    try:
        estimates = _estimates(request.stat, data, design, request.confidence, request.margins)
    except EstimationError as exc:
        raise Unprocessable(
            "aggregate.not_estimable",
            str(exc),
            errors=[{"path": "", "code": "aggregate.not_estimable", "message": str(exc)}],
        ) from exc
    threshold = int(
        (definition.raw.get("settings") or {}).get("disclosure_threshold")
        or settings.disclosure_threshold
    )
    return _table(
        request,
        plan,
        estimates,
        data,
        design,
        threshold=threshold,
        weights=weight_set,
        now=now,
        qid=qid,
    )


def _table(
    request: AggregateRequest,
    plan: _Plan,
    estimates: list[Estimate],
    data: _Rows,
    design: Design,
    *,
    threshold: int,
    weights: WeightSet | None,
    now: datetime.datetime,
    qid: str,
) -> Table:
    names = [d.name for d in plan.dimensions]
    stat = request.stat
    # a table without dimensions is its grand total (protect wants a dimension)
    table = [Cell(e.cell or (TOTAL,), e.n, e.estimate, e.cv) for e in estimates]
    if request.suppression:
        flags = protect(
            table, threshold=threshold, max_cv=_MAX_CV, additive=stat in ("count", "total")
        )
    else:  # internal use: every cell free, reliability flagged all the same
        flags = {c.key: Protected(c.key, False, CONF_FREE, obs_status(c, _MAX_CV)) for c in table}
    cells: list[dict[str, Any]] = []
    for e, published in zip(estimates, table, strict=True):
        cell: dict[str, Any] = dict(zip(names, e.cell, strict=True))
        cell.update({name: getattr(e, name) for name in VALUE_COLUMNS})
        if stat == "count" and e.estimate is not None:
            cell["estimate"] = int(e.estimate)  # a count of units is a whole number
        flag = flags[published.key]
        cell["OBS_STATUS"], cell["CONF_STATUS"] = flag.obs_status, flag.conf_status
        if flag.suppressed:  # nothing a suppressed value could be derived from
            cell.update(dict.fromkeys(VALUE_COLUMNS))
        cells.append(cell)
    labels: dict[str, dict[str, dict[str, str]]] = {}
    for dimension in plan.dimensions:
        labels[dimension.name] = {code: dict(text) for code, text in dimension.labels.items()}
        for code, text in _LABELS.items():
            labels[dimension.name].setdefault(code, dict(text))
    variable = request.variable or "units"
    labels["_variable"] = {variable: dict(plan.variable_label)}
    strata = sum(1 for n in design.psus_per_stratum.values() if n > 0)
    metadata: dict[str, Any] = {
        "questionnaire": qid,
        "definition_version": plan.version,
        "versions": list(request.versions) if request.versions else "all",
        "stat": request.stat,
        "variable": variable,
        "value": request.value,
        "denominator": request.denominator,
        "unit": plan.unit,
        "filters": {k: list(v) for k, v in request.filters.items() if v},
        "review_states": list(request.review_states)
        if request.review_states
        else "all but rejected",
        "weights": (
            {"name": weights.name, "version": weights.version} if weights is not None else "design"
        ),
        "confidence": request.confidence,
        "single_psu": design.single_psu,
        "design": {
            "strata": strata,
            "psus": sum(design.psus_per_stratum.values()),
            "df": sum(design.psus_per_stratum.values()) - strata,
        },
        "excluded_without_weight": data.excluded_without_weight,
        "margins": request.margins,
        "disclosure_control": (
            {"threshold": threshold, "max_cv": _MAX_CV, "secondary": request.margins}
            if request.suppression
            else "off: internal use only, not for publication"
        ),
        "reference_period": (
            {"from": data.first.date().isoformat(), "to": data.last.date().isoformat()}
            if data.first is not None and data.last is not None
            else None
        ),
        "generated_at": now.isoformat(),
    }
    return Table(dimensions=names, cells=cells, metadata=metadata, labels=labels)


def parse_tag_filters(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The tag filters of a request (each a list of codes)."""
    return {tag: tuple(raw[tag]) for tag in TAGS if raw.get(tag)}
