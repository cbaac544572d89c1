"""Where each answer sits in the typed arrays that aggregates read, and how answers get there."""

# How it works
# ------------
# Aggregating a million households must not parse a JSON document per household. So each
# stored response also carries its answers as two flat arrays, `num` (numbers) and `cat`
# (codes), one element ("slot") per household-level question; each roster (repeat) has a
# row in `response_units` with one such pair of arrays per instance. A SQL aggregate then
# reads `num[3]`, a typed value at a fixed place, from a narrow row.
#
# The *layout* names the slots. It belongs to a questionnaire, not a version: publishing
# version n extends the layout of version n - 1 with the slots its new questions need and
# never moves or reuses one, so a slot means the same question in every version and one
# SQL expression reads it from the responses of all versions. Each version stores the
# layout it was published with (immutable, like the version).
#
# What goes where, by question type:
#   integer, decimal          num
#   date                      num: days since 1970-01-01 (as XForms compute with dates)
#   datetime                  num: days since 1970-01-01T00:00Z, with the time as a fraction
#   select_one                cat: the choice name
#   select_multiple           cat: the choice names joined by spaces (as XForms store them)
#   calculate                 both: cat as XPath string(), num when the value is a number
#   text, geopoint, note      nowhere: free text and places are not aggregated
# Questions marked `pii` go nowhere either: aggregates never read identifying answers.
# A missing, skipped or empty answer is a NULL element. Where a question's type changes
# between versions it gets the slot of its new kind; the old slot stays with the old data.

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from survey_service.expressions import to_number, to_string
from survey_service.questionnaire.definition import Definition, Question

__all__ = [
    "EMPTY_LAYOUT",
    "HOUSEHOLD",
    "AnalysisLayout",
    "Projection",
    "Projector",
    "UnitSlots",
    "slot_kinds",
]

#: The unit name of the household (the responses' own arrays).
HOUSEHOLD: Final = "household"

_NUM_TYPES: Final = frozenset({"integer", "decimal", "date", "datetime"})
_CAT_TYPES: Final = frozenset({"select_one", "select_multiple"})
_EPOCH: Final = datetime.date(1970, 1, 1)
_EPOCH_ORDINAL: Final = _EPOCH.toordinal()
_EPOCH_UTC: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_SECONDS_PER_DAY: Final = 86400.0


def slot_kinds(question: Question) -> tuple[str, ...]:
    """The array kinds ("num", "cat") a question's answers go to; empty for none."""
    if question.pii:
        return ()
    kind = question.type
    if kind in _NUM_TYPES:
        return ("num",)
    if kind in _CAT_TYPES:
        return ("cat",)
    if kind == "calculate":
        return ("num", "cat")
    return ()


def unit_of(question: Question) -> str:
    """The unit a question's answers belong to: its innermost repeat, or the household."""
    repeat = question.repeat
    return HOUSEHOLD if repeat is None else repeat.name


@dataclass(frozen=True)
class UnitSlots:
    """The slots of one unit: question names in slot order (0-based), per kind."""

    num: tuple[str, ...] = ()
    cat: tuple[str, ...] = ()

    def slot(self, kind: str, name: str) -> int | None:
        """The 0-based slot of a question in the `kind` array, or None."""
        names = self.num if kind == "num" else self.cat
        try:
            return names.index(name)
        except ValueError:
            return None

    def extended(self, kind: str, name: str) -> UnitSlots:
        if kind == "num":
            return UnitSlots(self.num if name in self.num else (*self.num, name), self.cat)
        return UnitSlots(self.num, self.cat if name in self.cat else (*self.cat, name))


@dataclass(frozen=True)
class AnalysisLayout:
    """The slots of the household and of every roster (repeat) of a questionnaire."""

    household: UnitSlots = UnitSlots()
    units: Mapping[str, UnitSlots] = field(default_factory=dict)

    def unit(self, name: str) -> UnitSlots | None:
        """The slots of a unit (HOUSEHOLD or a repeat's name)."""
        return self.household if name == HOUSEHOLD else self.units.get(name)

    def extended(self, definition: Definition) -> AnalysisLayout:
        """This layout with slots added for every question of `definition` lacking one."""
        household = self.household
        units = dict(self.units)
        for question in definition.walk():
            if question.type == "repeat":
                units.setdefault(question.name, UnitSlots())
            unit = unit_of(question)
            for kind in slot_kinds(question):
                if unit == HOUSEHOLD:
                    household = household.extended(kind, question.name)
                else:
                    units[unit] = units[unit].extended(kind, question.name)
        return AnalysisLayout(household, units)

    def to_json(self) -> dict[str, Any]:
        def slots(unit: UnitSlots) -> dict[str, list[str]]:
            return {"num": list(unit.num), "cat": list(unit.cat)}

        return {
            "household": slots(self.household),
            "units": {name: slots(unit) for name, unit in self.units.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> AnalysisLayout:
        if not data:
            return EMPTY_LAYOUT

        def slots(raw: Mapping[str, Any]) -> UnitSlots:
            return UnitSlots(tuple(raw.get("num", ())), tuple(raw.get("cat", ())))

        return cls(
            slots(data.get("household", {})),
            {str(name): slots(raw) for name, raw in data.get("units", {}).items()},
        )


EMPTY_LAYOUT: Final = AnalysisLayout()


# --------------------------------------------------------------------------- projection

_Convert = Callable[[Any], Any]


def _number(value: Any) -> float | None:
    t = type(value)
    if t is int or t is float:
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _date_days(value: Any) -> float | None:
    if type(value) is str:
        try:
            return float(datetime.date.fromisoformat(value).toordinal() - _EPOCH_ORDINAL)
        except ValueError:
            return None
    return None


def _datetime_days(value: Any) -> float | None:
    if type(value) is str:
        try:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        return (moment - _EPOCH_UTC).total_seconds() / _SECONDS_PER_DAY
    return None


def _codes(value: Any) -> str | None:
    if type(value) is list and value:
        return " ".join(str(v) for v in value)
    return None


def _calculated_number(value: Any) -> float | None:
    t = type(value)
    if t is bool:
        return 1.0 if value else 0.0
    if t is str:
        number = to_number(value) if value else math.nan
        return number if math.isfinite(number) else None
    return _number(value)


def _calculated_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    return to_string(value) if type(value) in (int, float) else None


# None: stored as it is (the validator has checked its type: a choice name)
_CONVERTERS: Final[Mapping[tuple[str, str], _Convert | None]] = {
    ("integer", "num"): _number,
    ("decimal", "num"): _number,
    ("date", "num"): _date_days,
    ("datetime", "num"): _datetime_days,
    ("select_one", "cat"): None,
    ("select_multiple", "cat"): _codes,
    ("calculate", "num"): _calculated_number,
    ("calculate", "cat"): _calculated_text,
}


@dataclass(frozen=True)
class _Getter:
    kind: str
    slot: int
    path: tuple[str, ...]  # keys from the unit's object (a household or a repeat instance)
    convert: _Convert | None


# the getters of one unit grouped by the group holding their questions, so each group's
# object is looked up once: (keys to the group, ((question, is_num, slot, convert), ...))
_Plan = tuple[tuple[tuple[str, ...], tuple[tuple[str, bool, int, _Convert | None], ...]], ...]


def _plan(getters: Sequence[_Getter]) -> _Plan:
    groups: dict[tuple[str, ...], list[tuple[str, bool, int, _Convert | None]]] = {}
    for g in getters:
        groups.setdefault(g.path[:-1], []).append((g.path[-1], g.kind == "num", g.slot, g.convert))
    return tuple((path, tuple(fields)) for path, fields in groups.items())


@dataclass(frozen=True)
class _UnitPlan:
    name: str
    steps: tuple[tuple[str, ...], ...]  # paths to the instance arrays, outermost first
    plan: _Plan
    sizes: tuple[int, int]  # (num slots, cat slots) of the layout


@dataclass
class Projection:
    """One response's analysis arrays: the household's, and per roster one row per instance."""

    num: list[float | None]
    cat: list[str | None]
    units: dict[str, tuple[list[list[float | None]], list[list[str | None]]]]

    def unit_rows(self) -> Iterator[dict[str, Any]]:
        """The `response_units` rows (without response_id): an array is None when the unit
        has no instance or no slot of its kind (PostgreSQL has no arrays of empty rows)."""
        for unit, (num, cat) in self.units.items():
            yield {
                "unit": unit,
                "instances": len(num),
                "num": num if num and num[0] else None,
                "cat": cat if cat and cat[0] else None,
            }


def _relative_path(question: Question, top: Question | None) -> tuple[str, ...]:
    """The keys from `top`'s object (an instance of repeat `top`, or the root) to a question."""
    names: list[str] = []
    node: Question | None = question
    while node is not None and node is not top:
        names.append(node.name)
        node = node.parent
    return tuple(reversed(names))


class Projector:
    """Builds the analysis arrays of a response from its stored answers, for one version.

    The answers are as the validator stores them (JSON types, calculations recomputed), so
    a projection can be rebuilt from stored data at any time.
    """

    def __init__(self, layout: AnalysisLayout, definition: Definition) -> None:
        self.layout = layout
        plans: dict[str, tuple[list[_Getter], Question | None]] = {HOUSEHOLD: ([], None)}
        for question in definition.walk():
            if question.type == "repeat":
                plans[question.name] = ([], question)
            unit = unit_of(question)
            slots = layout.unit(unit)
            for kind in slot_kinds(question):
                slot = slots.slot(kind, question.name) if slots is not None else None
                if slot is None:
                    raise ValueError(f"the layout has no {kind} slot for {question.name!r}")
                getters, top = plans[unit]
                convert = _CONVERTERS[(question.type, kind)]
                getters.append(_Getter(kind, slot, _relative_path(question, top), convert))
        self._household = _plan(plans.pop(HOUSEHOLD)[0])
        self._units: list[_UnitPlan] = []
        for name, (getters, repeat) in plans.items():
            slots = layout.unit(name) or UnitSlots()
            steps: list[tuple[str, ...]] = []
            node = repeat
            while node is not None:  # the repeat and the repeats around it
                outer = node.repeat
                steps.append(_relative_path(node, outer))
                node = outer
            self._units.append(
                _UnitPlan(
                    name, tuple(reversed(steps)), _plan(getters), (len(slots.num), len(slots.cat))
                )
            )

    def project(self, answers: Mapping[str, Any]) -> Projection:
        """The arrays of one response (every array as long as the layout's slots)."""
        num, cat = self._fill(answers, self._household, self.layout.household)
        units: dict[str, tuple[list[list[float | None]], list[list[str | None]]]] = {}
        for plan in self._units:
            rows_num: list[list[float | None]] = []
            rows_cat: list[list[str | None]] = []
            for instance in _instances(answers, plan.steps):
                row_num: list[float | None] = [None] * plan.sizes[0]
                row_cat: list[str | None] = [None] * plan.sizes[1]
                _put(instance, plan.plan, row_num, row_cat)
                rows_num.append(row_num)
                rows_cat.append(row_cat)
            units[plan.name] = (rows_num, rows_cat)
        return Projection(num, cat, units)

    @staticmethod
    def _fill(
        answers: Mapping[str, Any], plan: _Plan, slots: UnitSlots
    ) -> tuple[list[float | None], list[str | None]]:
        num: list[float | None] = [None] * len(slots.num)
        cat: list[str | None] = [None] * len(slots.cat)
        _put(answers, plan, num, cat)
        return num, cat


def _put(
    obj: Mapping[str, Any], plan: _Plan, num: list[float | None], cat: list[str | None]
) -> None:
    for path, fields in plan:
        group: Any = obj
        for key in path:
            group = group.get(key) if type(group) is dict else None
        if type(group) is not dict:
            continue
        for name, is_num, slot, convert in fields:
            value = group.get(name)
            if value is None:
                continue
            if convert is not None:
                value = convert(value)
            if is_num:
                num[slot] = value
            else:
                cat[slot] = value


def _instances(obj: Any, steps: Sequence[tuple[str, ...]]) -> Iterator[dict[str, Any]]:
    """The instances of a (possibly nested) repeat, outer instances in turn."""
    if not steps:
        if type(obj) is dict:
            yield obj
        return
    value = obj
    for key in steps[0]:
        value = value.get(key) if type(value) is dict else None
    if type(value) is list:
        for item in value:
            yield from _instances(item, steps[1:])
