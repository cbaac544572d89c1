"""A request planned against the questionnaire: its names and expressions as SQL column
expressions (the variable, the dimensions and the domain), every problem collected."""

# The expression compiler builds SQLAlchemy column expressions; the tables they read and the
# statement that places them are the query module's (`queries.aggregates`).

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from survey_service import error_codes
from survey_service.analysis.layout import HOUSEHOLD, AnalysisLayout, unit_of
from survey_service.codes import AGE_GROUPS, SINGLE_PSU_RULES, TAGS
from survey_service.expressions.sql import Column, Compiled, VariableError, compile_expression
from survey_service.queries.aggregates import AggregateTables, Measures
from survey_service.questionnaire.definition import Definition, Question
from survey_service.services.aggregates.request import AggregateRequest, RequestProblems
from survey_service.statistics.estimation import STATISTICS

_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_NUMERIC_TYPES: Final = frozenset({"integer", "decimal", "calculate"})
_DIMENSION_TYPES: Final = frozenset({"select_one", "calculate"})
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_XPATH_NUMBER: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


@dataclass(frozen=True)
class Dimension:
    """A dimension of the table: its name, the SQL of its code, and its codes' labels."""

    name: str
    sql: ColumnElement[Any]
    labels: Mapping[str, Mapping[str, str]]


@dataclass
class Plan:
    """A checked request: what it reads, as SQL, and what the published table is labelled."""

    definition: Definition
    version: int
    unit: str
    y: ColumnElement[Any]
    x: ColumnElement[Any] | None
    dimensions: list[Dimension]
    domain: ColumnElement[Any] | None
    variable_label: Mapping[str, str]

    @property
    def measures(self) -> Measures:
        """The column expressions the statement of sums places."""
        return Measures(self.y, self.x, [d.sql for d in self.dimensions], self.domain)


class Planner:
    """Turns a request into SQL expressions, checking every name against the definition."""

    def __init__(
        self,
        request: AggregateRequest,
        definition: Definition,
        layout: AnalysisLayout,
        tables: AggregateTables,
        now: datetime.datetime,
    ) -> None:
        self.request = request
        self.definition = definition
        self.layout = layout
        self.t = tables
        self.problems = RequestProblems()
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
            raise VariableError(
                error_codes.AGGREGATE_UNKNOWN_QUESTION, f"no question named {name!r}"
            )
        if question.pii:
            raise VariableError(
                error_codes.AGGREGATE_UNKNOWN_QUESTION,
                f"{name!r} is marked pii: identifying answers are never aggregated",
            )
        if not self._readable(question):
            raise VariableError(
                error_codes.AGGREGATE_UNKNOWN_QUESTION,
                f"{name!r} belongs to the roster {unit_of(question)!r}: aggregate with "
                f"unit={unit_of(question)} to read it",
            )
        owner = unit_of(question)
        slots = self.layout.unit(owner)
        if slots is None:
            raise VariableError(
                error_codes.AGGREGATE_UNKNOWN_QUESTION, f"{name!r} has no stored values"
            )
        num, cat = (self.t.slot(owner, kind, slots.slot(kind, name)) for kind in ("num", "cat"))
        kind = {"integer": "number", "decimal": "number"}.get(question.type, question.type)
        if kind not in ("number", "date", "datetime", "select_one", "select_multiple", "calculate"):
            raise VariableError(
                error_codes.AGGREGATE_UNKNOWN_QUESTION,
                f"{name!r} is a {question.type} question: it cannot be aggregated",
            )
        numeric_codes = question.type == "select_one" and all(
            _XPATH_NUMBER.fullmatch(name) for name in self.definition.choice_names(question)
        )
        return Column("date" if kind == "datetime" else kind, num, cat, numeric_codes)  # type: ignore[arg-type]

    # -- the plan

    def plan(self, version: int) -> Plan:
        request = self.request
        problems = self.problems
        if request.stat not in STATISTICS:
            problems.add(
                "stat",
                error_codes.AGGREGATE_UNKNOWN_STAT,
                f"one of {', '.join(STATISTICS)}, not {request.stat!r}",
            )
        if request.unit != HOUSEHOLD and request.unit not in self.layout.units:
            problems.allowed["unit"] = [HOUSEHOLD, *self.layout.units]
            problems.add(
                "unit",
                error_codes.AGGREGATE_UNKNOWN_UNIT,
                f"{request.unit!r} is not a roster of this questionnaire; choose "
                + ", ".join([HOUSEHOLD, *self.layout.units]),
            )
            problems.raise_if_any()
        y, x, label = self._variables()
        dimensions = [self._dimension(name, index) for index, name in enumerate(request.by)]
        if len(set(request.by)) < len(request.by):
            problems.add(
                "by", error_codes.AGGREGATE_DUPLICATE_DIMENSION, "a dimension is given twice"
            )
        domain = self._domain()
        if not 0.0 < request.confidence < 1.0:
            problems.add(
                "confidence", error_codes.AGGREGATE_INVALID, "between 0 and 1, such as 0.95"
            )
        if request.single_psu is not None and request.single_psu not in SINGLE_PSU_RULES:
            problems.add(
                "single_psu", error_codes.AGGREGATE_INVALID, f"one of {', '.join(SINGLE_PSU_RULES)}"
            )
        problems.raise_if_any()
        assert y is not None  # noqa: S101 - problems were raised otherwise
        return Plan(
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
                error_codes.AGGREGATE_UNKNOWN_QUESTION,
                f"no question named {text!r}; numbers and calculates: "
                + ", ".join(self._numeric_names()),
            )
            return None
        try:
            return compile_expression(
                text, self.resolve, dialect=self.t.dialect, today=self.today, now=self.now
            )
        except VariableError as exc:
            self.problems.add(path, exc.code, exc.message)
            if exc.code == error_codes.AGGREGATE_UNKNOWN_QUESTION:
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
            self.problems.add(
                "variable", error_codes.AGGREGATE_MISSING_VARIABLE, f"{stat} needs a variable"
            )
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
                    "denominator",
                    error_codes.AGGREGATE_MISSING_VARIABLE,
                    "a ratio needs a denominator",
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
            self.problems.add(
                "denominator", error_codes.AGGREGATE_INVALID, "only a ratio has a denominator"
            )
        if request.value is not None and stat != "proportion":
            self.problems.add(
                "value", error_codes.AGGREGATE_INVALID, "only a proportion takes a value"
            )
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
                error_codes.AGGREGATE_NOT_NUMERIC,
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
                error_codes.AGGREGATE_INVALID,
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
                error_codes.AGGREGATE_UNKNOWN_CHOICE,
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

    def _dimension(self, name: str, index: int) -> Dimension | None:
        path = f"by[{index}]"
        if name in TAGS:
            bound = self.definition.tags.get(name)
            return Dimension(name, self.t.tag(name), self._choice_labels(bound))
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
            return Dimension(name, column.cat, self._choice_labels(name))
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
            error_codes.AGGREGATE_UNKNOWN_DIMENSION,
            f"{name!r} is not a dimension here{why}; choose from: " + ", ".join(allowed),
        )
        return None

    def _person_dimension(self, name: str, path: str) -> Dimension | None:
        bound = self.definition.persons["sex" if name == "sex" else "age"]
        column = self.resolve(bound)
        if name == "sex":
            assert column.cat is not None  # noqa: S101 - a select_one
            return Dimension("sex", column.cat, self._choice_labels(bound))
        groups = AGE_GROUPS.get(self.request.age_groups)
        if groups is None:
            self.problems.add(
                "age_groups", error_codes.AGGREGATE_INVALID, f"one of {', '.join(AGE_GROUPS)}"
            )
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
        return Dimension("age_group", sql, labels)

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
                self.problems.add(
                    tag, error_codes.AGGREGATE_UNKNOWN_FILTER, f"filters are {', '.join(TAGS)}"
                )
            elif values:
                conditions.append(self.t.tag(tag).in_(values))
        return sa.and_(*conditions) if conditions else None
