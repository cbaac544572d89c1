"""One response being validated: its scopes (the top level, each repeat instance) and the
findings; a scope is the EvalContext its expressions run in.

A scope holds the typed answers of its level, the rejected ones, what its relevance keys
came to (worked out in the plan's order, or on demand when an expression needs one first),
and `env`, the value of each ${name} as seen from it, resolved through the plan on the first
look and a dict hit afterwards.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, Final

from survey_service.errors import FieldError
from survey_service.expressions import Value
from survey_service.questionnaire.definition import Choice
from survey_service.validation.answers import Invalid, json_default
from survey_service.validation.messages import message
from survey_service.validation.plan import ALWAYS, Kind, Node, Plan, pick

# where findings go in document order: (node order, instance index, ...)
SortKey = tuple[float, ...]
_MISSING: Final[Any] = object()


class Run:
    """What one validation shares across its scopes: language, clock, and the findings."""

    __slots__ = ("errors", "language", "languages", "now", "plan", "trusted", "warnings")

    def __init__(
        self,
        plan: Plan,
        language: str,
        languages: tuple[str, ...],
        now: datetime.datetime,
    ) -> None:
        self.plan = plan
        self.language = language
        self.languages = languages
        self.now = now
        self.errors: list[tuple[SortKey, FieldError]] = []
        self.warnings: list[tuple[SortKey, FieldError]] = []
        # paths of calculations whose client value was kept (validation.plan.trusted_value)
        self.trusted: list[tuple[SortKey, str]] = []


class _Env(dict[str, Value]):
    """${name} as seen from one scope: computed on the first look, then a plain dict hit."""

    __slots__ = ("scope",)
    scope: Scope

    def __missing__(self, name: str) -> Value:
        scope = self.scope
        value = scope.kind.resolvers[name](scope)
        self[name] = value
        return value


class Scope:
    """The top level or one repeat instance of a response; the EvalContext of expressions."""

    __slots__ = (
        "bad",
        "children",
        "choice",
        "client",
        "counts",
        "cur",
        "env",
        "filled",
        "index",
        "kind",
        "objs",
        "parent",
        "rel",
        "resolve",
        "run",
        "sets",
        "values",
    )

    def __init__(self, kind: Kind, parent: Scope | None, index: int, run: Run) -> None:
        self.kind = kind
        self.parent = parent
        self.index = index
        self.run = run
        self.values: dict[str, Value] = {}  # typed, non-empty, valid answers by name
        self.bad: dict[str, Invalid] | None = None  # rejected answers by name
        self.filled: set[Node] | None = None  # groups and repeats with something inside
        self.client: dict[str, Any] | None = None  # calculate values the client sent
        self.env = env = _Env()
        env.scope = self
        # EvalContext.resolve: a C-level dict lookup once a name has been seen
        self.resolve: Callable[[str], Value] = env.__getitem__
        self.rel: dict[object, bool] = {ALWAYS: True}  # relevance by Node.rel_key
        self.sets: dict[str, Value] | None = None  # node-sets gathered from below
        self.children: dict[str, list[Scope]] | None = None
        self.counts: dict[str, int] | None = None
        self.objs: dict[Node | None, dict[str, Any] | None] = {}  # output object per container
        self.cur: Value = None
        self.choice: Choice | None = None

    # -- EvalContext (resolve is the attribute above)

    def current(self) -> Value:
        return self.cur

    def position(self) -> int:
        return self.index + 1

    def choice_label(self, question: str, value: str) -> str:
        run = self.run
        node = run.plan.nodes.get(question)
        if node is None:
            return ""
        choice = node.choices.get(value)
        if choice is None:
            if value == "other" and node.question.raw.get("or_other"):
                return message("other_choice", run.language)
            return ""
        return pick(choice.label, run.languages) or value

    def choice_property(self, name: str) -> Value:
        choice = self.choice
        if choice is None:
            return None
        if name == "name":
            return choice.name
        if name == "label":
            return pick(choice.label, self.run.languages) or ""
        value = choice.properties.get(name)
        return value if value is None or isinstance(value, str) else str(value)

    def now(self) -> datetime.datetime:
        return self.run.now

    def pulldata(self, instance: str, column: str, key_column: str, key: str) -> Value:
        """The `column` of the first row of the table `instance` whose `key_column` is
        `key` ('' without one, as on the device); None when the server lacks the table
        (the calculation then keeps the client's value)."""
        rows = self.run.plan.tables.get(instance)
        if rows is None:
            return None
        for row in rows:
            if row.get(key_column) == key:
                return row.get(column, "")
        return ""

    # -- relevance, values

    def relevant(self, node: Node) -> bool:
        """Whether a node whose home is this scope is relevant (itself and its ancestors).

        Memoised under `node.rel_key`: the node itself, or for a node with its own relevant
        expression, the first node with the same expression under the same parent relevance.
        Hot callers look `self.rel.get(node.rel_key)` up first and only call this on a miss.
        """
        memo = self.rel
        key = node.rel_key
        result = memo.get(key)
        if result is not None:
            return result
        anchor = node.anchor
        if anchor is None:
            result = True
        elif anchor is node:
            memo[key] = True  # a guard should relevance refer to itself through calculations
            above = node.up_anchor
            if above is None:
                result = True
            else:
                scope = self
                ups = node.up_ups
                while ups:
                    scope = scope.parent  # type: ignore[assignment]
                    ups -= 1
                result = scope.rel.get(above.rel_key) or scope.relevant(above)
            if result:
                test = node.relevant
                assert test is not None  # noqa: S101 - an anchor has an expression
                if node.relevant_uses_current:
                    old = self.cur
                    self.cur = self.values.get(node.name)
                    result = test(self)
                    self.cur = old
                else:
                    result = test(self)
        else:
            scope = self
            ups = node.anchor_ups
            while ups:
                scope = scope.parent  # type: ignore[assignment]
                ups -= 1
            result = scope.relevant(anchor)
        memo[key] = result
        seeds = node.seeds
        if seeds is not None:
            self.seed(seeds, result)
        return result

    def seed(self, names: tuple[str, ...], relevant: bool) -> None:
        """Put plain answers whose relevance is now known into `env`."""
        if relevant:
            self.env.update(zip(names, map(self.values.get, names), strict=True))
        else:
            self.env.update(dict.fromkeys(names))

    def default(self, node: Node) -> tuple[Value, Any]:
        """A computed default: its typed value and JSON form (both None when unusable)."""
        fn = node.calculation
        assert fn is not None  # noqa: S101
        old = self.cur
        self.cur = None
        raw = fn(self)
        self.cur = old
        stored = json_default(node.question, raw)
        if stored is None:
            return None, None
        value = node.check(stored)
        if value is None or type(value) is Invalid:
            return None, None
        return value, stored  # type: ignore[return-value]

    # -- paths and output

    def prefix(self) -> str:
        parent = self.parent
        if parent is None:
            return ""
        repeat = self.kind.repeat
        assert repeat is not None  # noqa: S101
        return f"{parent.prefix()}{repeat.rel_path}[{self.index}]."

    def order(self) -> SortKey:
        parent = self.parent
        if parent is None:
            return ()
        repeat = self.kind.repeat
        assert repeat is not None  # noqa: S101
        return (*parent.order(), repeat.order, self.index)

    def obj(self, container: Node | None) -> dict[str, Any] | None:
        """The output object of a container in this scope, created when the client left it out."""
        objs = self.objs
        found = objs.get(container, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[no-any-return]
        assert container is not None  # noqa: S101 - the scope's own object always exists
        outer = self.obj(container.parent)
        if outer is None:
            objs[container] = None
            return None
        created: dict[str, Any] = {}
        outer[container.name] = created
        objs[container] = created
        return created
