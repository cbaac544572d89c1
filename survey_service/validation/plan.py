"""The plan of a questionnaire version: what validating its responses will do, built once.

`Plan(definition)` turns a checked definition into a tree of `Node`s (one per question, with
its answer checker and its expressions, memoised where that pays) and a `Kind` per scope
(the top level, the instances of each repeat) with its work lists: which relevance keys to
work out in which order, which answers are required, constrained, defaulted or calculated,
and how each ${name} resolves from there (`Scope.env`). Equal relevant expressions under the
same relevance share one result (`Node.rel_key`).

It also records what each expression reads (`Node.reads`): the names it refers to and, in
turn, what their values hang on (their calculations, the relevance of them and of the groups
around them). An answer rejected for its type reads as empty, so a verdict resting on it is
suppressed: the rejected answer's own error says what is wrong.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Container, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, cast

from survey_service.codes import DESIGN_ROLES, TAGS
from survey_service.expressions import Expression, Value
from survey_service.questionnaire.definition import Choice, Definition, Question
from survey_service.validation.answers import INTEGER_RANGE, Checker, check_note, checker

if TYPE_CHECKING:  # scopes run the plan; the plan's closures only take them as arguments
    from survey_service.validation.scope import Scope

_Fn = Callable[[Any], Value]
_BoolFn = Callable[[Any], bool]

# what a node is; `kind <= NOTE` is a question answered by the client itself
ANSWER: Final = 0
NOTE: Final = 1
CALCULATE: Final = 2
GROUP: Final = 3
REPEAT: Final = 4
_KINDS: Final = {"note": NOTE, "calculate": CALCULATE, "group": GROUP, "repeat": REPEAT}
ALWAYS: Final = object()  # the relevance key of nodes without a relevant anywhere above
CACHE_SIZE: Final = 4096  # results remembered per expression (or constraint), then forgotten

_MISSING: Final[Any] = object()
_TIME_FUNCTIONS: Final = frozenset({"now", "today"})
# functions whose result depends on more than their arguments
_CONTEXT_FUNCTIONS: Final = frozenset({"now", "today", "jr:choice-name", "position"})
_CACHED_TYPES: Final = frozenset(
    {"integer", "decimal", "text", "select_one", "select_multiple", "date", "geopoint"}
)
_SAFE_KEY_TYPES: Final = frozenset({str, int, type(None), datetime.date})
_EXPENSIVE_SOURCE: Final = 40  # characters: shorter expressions are cheaper than a cache lookup
_Evaluate = Callable[[Any], Any]


def _memoised(fn: _Evaluate, expression: Expression, choices: bool = False) -> _Evaluate:
    """Remember the results of an expensive expression by what it reads, across responses.

    The key is the values of its references (as seen from the scope), `.`, the repeat
    position and, in a choice filter, the choice (and the language when it reads `label`).
    Keys are only made of text, whole numbers, dates and nulls, where equal means identical;
    otherwise the expression is evaluated. Cheap expressions are left as they are.
    """
    functions = expression.functions
    if functions & _TIME_FUNCTIONS or "jr:choice-name" in functions:
        return fn
    if not choices and (
        not expression.references
        or (len(expression.source) < _EXPENSIVE_SOURCE and "regex" not in functions)
    ):
        return fn
    references = tuple(sorted(expression.references))
    position = "position" in functions
    current = expression.uses_current
    language = "label" in expression.bare_names
    cache: dict[Hashable, Any] = {}

    def memoised(s: Scope) -> Any:
        values = tuple(map(s.resolve, references))
        cur = s.cur if current else None
        if not _SAFE_KEY_TYPES.issuperset(map(type, values)) or type(cur) not in _SAFE_KEY_TYPES:
            return fn(s)
        key: Hashable = (values, cur, s.index if position else 0)
        if choices:
            choice = s.choice
            key = (key, choice.name if choice else None, s.run.language if language else None)
        result = cache.get(key, _MISSING)
        if result is _MISSING:
            result = fn(s)
            if len(cache) >= CACHE_SIZE:
                cache.clear()
            cache[key] = result
        return result

    return memoised


_Resolver = Callable[["Scope"], Value]


class _Never:
    """A type no JSON value has."""


class Kind:
    """A kind of scope: the top level, or the instances of one repeat, with its work lists."""

    __slots__ = (
        "by_name",
        "calculates",
        "chain",
        "constrained_names",
        "initial_seeds",
        "plan",
        "defaulted",
        "gated_names",
        "repeat",
        "repeats",
        "required_groups",
        "resolvers",
        "seeds",
        "seeds_by_key",
    )

    def __init__(self, repeat: Node | None, chain: tuple[Node, ...]) -> None:
        self.repeat = repeat
        self.chain = chain  # the enclosing repeats, outermost first, this one last
        self.by_name: dict[str, Node] = {}  # the nodes whose home this is
        self.resolvers: dict[str, _Resolver] = {}  # ${name} seen from here
        self.gated_names: frozenset[str] = frozenset()  # answers and notes with a relevant
        # required answers by relevance key: (a node with that key, their names)
        self.required_groups: list[tuple[Node, frozenset[str]]] = []
        self.constrained_names: frozenset[str] = frozenset()  # with a constraint or filter
        self.defaulted: list[Node] = []  # answers with a computed default
        self.calculates: list[Node] = []
        self.repeats: list[Node] = []
        # answers referenced here that are always relevant, and the same by relevance key
        self.seeds: tuple[str, ...] = ()
        self.seeds_by_key: dict[object, tuple[str, ...]] = {}
        # what a scope of this kind seeds first: `seeds`, and in a repeat instance also
        # seeds_by_key[self] (relevant whenever the instance is)
        self.initial_seeds: tuple[str, ...] = ()
        self.plan: list[Node] = []  # a node per relevance key of its own, document order


class Node:
    """One question, precompiled: its checker, expressions and place in the tree."""

    __slots__ = (
        "anchor",
        "anchor_ups",
        "calculation",
        "calculation_uses_current",
        "cache_position",
        "check",
        "choice_filter",
        "computes",
        "choices",
        "constraint",
        "constraint_cache",
        "constraint_message",
        "constraint_source",
        "fast",
        "fields",
        "home",
        "instances",
        "kind",
        "last",
        "multiple",
        "name",
        "names",
        "order",
        "parent",
        "question",
        "reads",
        "rel_key",
        "rel_path",
        "seeds",
        "relevant",
        "trusted",
        "relevant_uses_current",
        "repeat_count",
        "required",
        "required_fn",
        "required_message",
        "up_anchor",
        "up_key",
        "up_ups",
        "volatile",
    )

    def __init__(
        self, question: Question, parent: Node | None, home: Kind, path: str, order: int
    ) -> None:
        self.question = question
        self.name = question.name
        self.kind = _KINDS.get(question.type, ANSWER)
        self.parent = parent
        self.home = home
        self.rel_path = path  # relative to the home scope's object
        self.order = order  # document order
        self.last = order  # document order of the last descendant
        self.fields: dict[str, Node] = {}
        self.instances: Kind | None = None
        self.computes = False  # a group or repeat with calculations (or computed defaults) below
        raw = question.raw
        expressions = question.expressions
        relevant = expressions.get("relevant")
        self.relevant: _BoolFn | None = (
            _memoised(relevant.evaluate_bool, relevant) if relevant else None
        )
        self.relevant_uses_current = bool(relevant and relevant.uses_current)
        self.rel_key: object = self
        self.seeds: tuple[str, ...] | None = None  # the seeds of its relevance key
        self.anchor: Node | None = None  # nearest node, itself or above, with a relevant
        self.anchor_ups = 0  # scopes to climb to the anchor's home
        self.up_anchor: Node | None = None  # the same strictly above
        self.up_ups = 0
        self.up_key: object = ALWAYS  # the parent's relevance key, in this scope's memo
        required = expressions.get("required")
        self.required = raw.get("required") is True
        self.required_fn: _BoolFn | None = required.evaluate_bool if required else None
        constraint = expressions.get("constraint")
        self.constraint: _BoolFn | None = None
        if constraint is not None:
            self.constraint = _memoised(constraint.evaluate_bool, constraint)
        self.constraint_source = constraint.source if constraint else ""
        # results of a constraint on the answer alone, shared by every response
        self.constraint_cache: dict[Hashable, bool] | None = None
        self.cache_position = False
        if (
            constraint is not None
            and not constraint.references
            and not constraint.functions & (_CONTEXT_FUNCTIONS - {"position"})
            and question.type in _CACHED_TYPES
        ):
            self.constraint_cache = {}
            self.cache_position = "position" in constraint.functions
        calculation = expressions.get("calculation")
        self.calculation: _Fn | None = (
            _memoised(calculation.evaluate, calculation) if calculation else None
        )
        self.calculation_uses_current = bool(calculation and calculation.uses_current)
        # a calculate calling a function only the device can know (random(), once(), ...):
        # the client's value is kept when it passes `trusted_value`
        self.trusted = bool(self.kind == CALCULATE and calculation and calculation.device_only)
        count = expressions.get("repeat_count")
        self.repeat_count: _Fn | None = count.evaluate if count else None
        choice_filter = expressions.get("choice_filter")
        self.choice_filter: _BoolFn | None = (
            _memoised(choice_filter.evaluate_bool, choice_filter, choices=True)
            if choice_filter
            else None
        )
        self.required_message = _texts(raw.get("required_message"))
        self.constraint_message = _texts(raw.get("constraint_message"))
        self.choices: dict[str, Choice] = {}
        self.multiple = question.type in ("select_multiple", "rank")
        self.check: Checker = check_note
        # the fast path of `ResponseValidator._load` stores an answer of type `fast` that is
        # `in` `names` (choice names, the integer range), or when `names` is None, any
        # non-empty one
        self.fast: type = _Never
        self.names: Container[Any] | None = None
        self.volatile = False
        # what each of its expressions reads, by key ("relevant", "constraint", ...): the
        # names it refers to and what their values hang on (calculations, relevance)
        self.reads: dict[str, frozenset[str]] = {}


def trusted_value(sent: Any) -> bool:
    """Whether a client's value of a trusted calculation is kept: text or a finite number
    (a calculate has no type of its own, so text, which any value is written as)."""
    if type(sent) is str:
        return True
    if type(sent) is int:
        return True
    return type(sent) is float and math.isfinite(sent)


def _texts(value: Any) -> Mapping[str, str] | None:
    return value if isinstance(value, Mapping) else None


def pick(texts: Mapping[str, str] | None, languages: tuple[str, ...]) -> str | None:
    """An author's text (a message, a choice label) in the first of `languages` it has."""
    if texts is None:
        return None
    for language in languages:
        text = texts.get(language)
        if isinstance(text, str):
            return text
    return None


# --------------------------------------------------------------------------- resolution


def _getter(node: Node) -> _Resolver:
    """The value of a question in its home scope, as expressions see it."""
    name = node.name
    if node.kind == ANSWER:
        if node.calculation is not None:

            def answer_or_default(s: Scope) -> Value:
                value = s.values.get(name)
                if not s.relevant(node):
                    return None
                if value is not None or (s.bad is not None and name in s.bad):
                    return value
                return s.default(node)[0]

            return answer_or_default
        if node.anchor is None:

            def plain(s: Scope) -> Value:
                return s.values.get(name)

            return plain

        def conditional(s: Scope) -> Value:
            value = s.values.get(name)
            if value is None or (s.rel.get(node.rel_key) or s.relevant(node)):
                return value
            return None

        return conditional
    if node.kind == CALCULATE:
        fn = node.calculation
        assert fn is not None  # noqa: S101
        uses_current = node.calculation_uses_current
        trusted = node.trusted

        def calculated(s: Scope) -> Value:
            if node.anchor is not None and not s.relevant(node):
                return None
            if trusted and s.client is not None:
                sent = s.client.get(name)
                if trusted_value(sent):
                    return cast(Value, sent)
            s.env[name] = None  # a guard, replaced by the value when it is known
            if uses_current:
                old = s.cur
                s.cur = None
                value = fn(s)
                s.cur = old
            else:
                value = fn(s)
            while type(value) is list:  # a node-set stores its first item, as in XForms
                value = value[0] if value else None
            return value

        return calculated
    if node.kind == REPEAT:

        def instances(s: Scope) -> Value:
            if not s.relevant(node) or s.children is None:
                return []
            return [""] * len(s.children.get(name, ()))

        return instances
    return lambda s: None


def _climb(name: str, ups: int) -> _Resolver:
    """A question of an enclosing scope: looked up (and remembered) there."""
    if ups == 1:
        return lambda s: s.parent.env[name]  # type: ignore[union-attr]

    def climb(s: Scope) -> Value:
        for _ in range(ups):
            s = s.parent  # type: ignore[assignment]
        return s.env[name]

    return climb


def _gather(name: str, ups: int, down: tuple[Node, ...]) -> _Resolver:
    """A node-set: the question's values in every instance of the repeats below the scope."""
    last = len(down) - 1

    def collect(s: Scope, level: int) -> list[Value]:
        repeat = down[level]
        if s.children is None or not s.relevant(repeat):
            return []
        instances = s.children.get(repeat.name, ())
        if level == last:
            return [instance.env[name] for instance in instances]
        return [collect(instance, level + 1) for instance in instances]

    def gather(s: Scope) -> Value:
        for _ in range(ups):
            s = s.parent  # type: ignore[assignment]
        sets = s.sets
        if sets is None:
            sets = s.sets = {}
        found = sets.get(name)
        if found is None:
            found = sets[name] = collect(s, 0)
        return found

    return gather


def _resolver(kind: Kind, target: Node) -> _Resolver:
    here = kind.chain
    there = target.home.chain
    common = 0
    while common < len(here) and common < len(there) and here[common] is there[common]:
        common += 1
    ups = len(here) - common
    down = there[common:]
    if not down:
        return _climb(target.name, ups) if ups else _getter(target)
    return _gather(target.name, ups, down)


# --------------------------------------------------------------------------- the plan


# the functions only the device can compute, pulldata() aside (the server reads the tables)
_DEVICE_FUNCTIONS = frozenset({"uuid", "random", "once", "randomize"})


class Plan:
    """The plan of one questionnaire version: its nodes, and the kinds of scope with their
    work lists and resolvers; built once, shared by every response."""

    def __init__(
        self,
        definition: Definition,
        tables: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    ) -> None:
        self.definition = definition
        # the CSV tables of the version's media by instance name (`villages` for
        # villages.csv), which pulldata() reads: calculations calling it are computed
        self.tables: Mapping[str, Sequence[Mapping[str, str]]] = tables or {}
        self.root = Kind(None, ())
        self.root_fields: dict[str, Node] = {}
        self.nodes: dict[str, Node] = {}
        self.kinds = [self.root]
        self._build(definition.questions, None, self.root, "", self.root_fields)
        if self.tables:
            for node in self.nodes.values():
                calculation = node.question.expressions.get("calculation")
                if (
                    node.trusted
                    and calculation is not None
                    and "pulldata" in calculation.functions
                    and not calculation.functions & _DEVICE_FUNCTIONS
                ):
                    node.trusted = False
        shared: dict[tuple[Any, ...], Node] = {}
        for node in self.nodes.values():  # document order: parents first
            self._link(node, shared)
        volatile: dict[str, bool] = {}
        known: dict[str, frozenset[str]] = {}
        for node in self.nodes.values():
            node.volatile = self._volatile(node.name, volatile, set())
            node.reads = {
                key: self._reads(expression, known)
                for key, expression in node.question.expressions.items()
            }
            self._schedule(node)
        for node in self.nodes.values():
            node.seeds = node.home.seeds_by_key.get(node.rel_key)
        for kind in self.kinds:
            kind.initial_seeds = kind.seeds + kind.seeds_by_key.get(kind, ())
        for kind in self.kinds:
            for node in self.nodes.values():
                kind.resolvers[node.name] = _resolver(kind, node)
        self.tag_names = [
            (role, name)
            for role, name in definition.tags.items()
            if role in TAGS and name in self.nodes
        ]
        self.design_names = [
            (role, name)
            for role, name in definition.design.items()
            if role in DESIGN_ROLES and name in self.nodes
        ]

    def _build(
        self,
        questions: Iterable[Question],
        parent: Node | None,
        kind: Kind,
        prefix: str,
        fields: dict[str, Node],
    ) -> None:
        for question in questions:
            node = Node(question, parent, kind, prefix + question.name, len(self.nodes))
            fields[question.name] = node
            kind.by_name[question.name] = node
            self.nodes[question.name] = node
            if node.kind == GROUP:
                self._build(question.questions, node, kind, node.rel_path + ".", node.fields)
            elif node.kind == REPEAT:
                instances = Kind(node, (*kind.chain, node))
                node.instances = instances
                self.kinds.append(instances)
                self._build(question.questions, node, instances, "", node.fields)
            elif node.kind == ANSWER:
                names = self.definition.choice_names(question)
                node.check = checker(question, names)
                if question.type in ("text", "select_one"):
                    node.fast = str
                    node.names = names if question.type == "select_one" else None
                elif question.type == "integer":
                    node.fast = int
                    node.names = INTEGER_RANGE
                choices = self.definition.choice_lists.get(question.choice_list or "", [])
                node.choices = {c.name: c for c in choices}
            node.last = len(self.nodes) - 1

    def _link(self, node: Node, shared: dict[tuple[Any, ...], Node]) -> None:
        """Where the node's relevance comes from; equal relevant expressions share a result."""
        parent = node.parent
        if parent is None:
            above, ups = None, 0
        else:
            step = 1 if parent.kind == REPEAT else 0
            above, ups = parent.anchor, parent.anchor_ups + step
        node.up_anchor, node.up_ups = above, ups
        if above is not None:
            # above the scope, the anchor is the repeat's own relevance: true when it is checked
            node.up_key = above.rel_key if ups == 0 else node.home
        if node.relevant is None:
            node.anchor, node.anchor_ups = above, ups
            if above is None:
                node.rel_key = ALWAYS
            elif ups == 0:
                node.rel_key = above.rel_key
            else:  # every such node of the kind hangs on the same anchor outside it
                node.rel_key = node.home
            return
        node.anchor, node.anchor_ups = node, 0
        if not node.relevant_uses_current:
            source = node.question.expressions["relevant"].source
            signature = (source, id(node.home), above.rel_key if above else None, ups)
            node.rel_key = shared.setdefault(signature, node)

    def _schedule(self, node: Node) -> None:
        """Put the node on its home's work lists."""
        kind = node.home
        if node.kind == CALCULATE or (node.kind == ANSWER and node.calculation is not None):
            above = node.parent
            while above is not None:
                above.computes = True
                above = above.parent
        # Plain answers that expressions refer to: their home's `env` gets them as soon as
        # their relevance is known (no lookup through the resolvers then).
        for expression in node.question.expressions.values():
            for name in expression.references:
                target = self.nodes.get(name)
                if target is None or target.kind != ANSWER or target.calculation is not None:
                    continue
                home = target.home
                if target.rel_key is ALWAYS:
                    if name not in home.seeds:
                        home.seeds += (name,)
                    continue
                seeds = home.seeds_by_key.get(target.rel_key, ())
                if name not in seeds:
                    home.seeds_by_key[target.rel_key] = (*seeds, name)
        if node.relevant is not None and node.kind <= NOTE:
            kind.gated_names |= {node.name}
        if node.relevant is not None and all(n.rel_key is not node.rel_key for n in kind.plan):
            kind.plan.append(node)
        if node.kind == CALCULATE:
            kind.calculates.append(node)
        elif node.kind == REPEAT:
            kind.repeats.append(node)
        elif node.kind == ANSWER:
            if node.calculation is not None:
                kind.defaulted.append(node)
            else:
                if node.required or node.required_fn is not None:
                    groups = kind.required_groups
                    for index, (first, names) in enumerate(groups):
                        if first.rel_key is node.rel_key:
                            groups[index] = (first, names | {node.name})
                            break
                    else:
                        groups.append((node, frozenset({node.name})))
                if node.constraint is not None or node.choice_filter is not None:
                    kind.constrained_names |= {node.name}

    def _volatile(self, name: str, known: dict[str, bool], visiting: set[str]) -> bool:
        """Whether a calculation depends on now() or today(), directly or through others."""
        if name in known:
            return known[name]
        node = self.nodes.get(name)
        expression: Expression | None = (
            node.question.expressions.get("calculation") if node is not None else None
        )
        if expression is None or name in visiting:
            return False
        visiting.add(name)
        result = bool(expression.functions & _TIME_FUNCTIONS) or any(
            self._volatile(other, known, visiting) for other in sorted(expression.references)
        )
        visiting.discard(name)
        known[name] = result
        return result

    def _reads(self, expression: Expression, known: dict[str, frozenset[str]]) -> frozenset[str]:
        """The names an expression reads: its references and what their values hang on in
        turn (`known` remembers that by name)."""
        names = set(expression.references)
        for name in expression.references:
            found = known.get(name)
            if found is None:
                known[name] = frozenset()  # a guard against cycles of relevance
                found = known[name] = self._hangs_on(name, known)
            names |= found
        return frozenset(names)

    def _hangs_on(self, name: str, known: dict[str, frozenset[str]]) -> frozenset[str]:
        """What a question's value, as expressions see it, reads: its calculation (or
        computed default), and the relevance of the question and of the groups around it."""
        node = self.nodes.get(name)
        names: frozenset[str] = frozenset()
        if node is not None:
            calculation = node.question.expressions.get("calculation")
            if calculation is not None:
                names |= self._reads(calculation, known)
        while node is not None:
            relevant = node.question.expressions.get("relevant")
            if relevant is not None:
                names |= self._reads(relevant, known)
            node = node.parent
        return names
