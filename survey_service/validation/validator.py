"""Validating a response: the plan of its questionnaire version run over the answers.

`ResponseValidator(definition)` builds the plan once (survey_service.validation.plan);
`validate(answers)` then checks one response in two passes: the shape and types of the
answers (`_load`), then relevance, required answers, constraints, choice filters, repeat
counts and calculations (`_check`), scope by scope. It never raises on a JSON value; every
problem comes back as a `FieldError` (codes in survey_service.validation.results), in
document order, in the response's language. Tags and design variables are read from the
checked answers.

Results of expensive expressions and of constraints on the answer alone are remembered per
validator (bounded), keyed by every value they read, so reusing a validator gets faster.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final

from survey_service import error_codes
from survey_service.codes import DESIGN_ROLES, TAGS
from survey_service.errors import FieldError
from survey_service.expressions import Value, to_number, to_string
from survey_service.jsonutil import MAX_CLIENT_DEPTH, nested_deeper
from survey_service.questionnaire.definition import Definition
from survey_service.validation.answers import (
    BAD_ARRAY,
    BAD_OBJECT,
    TOO_DEEP,
    Invalid,
    numeric,
    quote,
    same_value,
    text_value,
    to_json,
)
from survey_service.validation.messages import languages_of, message
from survey_service.validation.plan import (
    CACHE_SIZE,
    CALCULATE,
    GROUP,
    NOTE,
    Node,
    Plan,
    pick,
    trusted_value,
)
from survey_service.validation.results import ValidatedResponse
from survey_service.validation.scope import Run, Scope, SortKey

__all__ = ["ResponseValidator"]

_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _cache_key(value: Any, position: int | None) -> Hashable:
    """The key of a cached constraint result: the answer (and the repeat position)."""
    key: Hashable = value
    if type(value) is float:  # keep 0.0 and -0.0 apart
        key = (value, math.copysign(1.0, value))
    return key if position is None else (key, position)


def _key_path(key: Any) -> str:
    """A key as a step of a JSON path: a bare name, or quoted in brackets."""
    text = key if isinstance(key, str) else str(key)
    if _IDENTIFIER.fullmatch(text):
        return text
    return "[" + json.dumps(text, ensure_ascii=False) + "]"


class ResponseValidator:
    """Validates responses to one questionnaire version; build once, reuse for every response."""

    def __init__(
        self,
        definition: Definition,
        tables: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    ) -> None:
        """`tables`: the rows of the version's CSV media files by pulldata() instance name."""
        self.definition = definition
        self.default_language = definition.default_language
        self._plan = Plan(definition, tables)
        self._languages: dict[str, tuple[str, ...]] = {}

    def validate(
        self,
        answers: Any,
        *,
        language: str | None = None,
        now: datetime.datetime | None = None,
    ) -> ValidatedResponse:
        """Check one response; never raises on any JSON value as `answers`."""
        if now is None:
            now = datetime.datetime.now(datetime.UTC)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=datetime.UTC)
        if not language or not isinstance(language, str):
            language = self.default_language
        languages = self._languages.get(language)
        if languages is None:
            languages = (*languages_of(language), self.default_language)
            if len(self._languages) < CACHE_SIZE:
                self._languages[language] = languages
        run = Run(self._plan, language, languages, now)
        if not isinstance(answers, dict):
            error = FieldError("", error_codes.RESPONSE_INVALID_TYPE, BAD_OBJECT.text(language))
            return ValidatedResponse(
                answers={},
                tags=dict.fromkeys(TAGS),
                design=dict.fromkeys(DESIGN_ROLES),
                errors=[error],
            )
        root = Scope(self._plan.root, None, 0, run)
        out = dict(answers)
        root.objs[None] = out
        self._load(answers, self._plan.root_fields, None, root, out)
        self._check(root)
        return ValidatedResponse(
            answers=out,
            tags=self._tag_values(root),
            design=self._design_values(root),
            errors=_in_order(run.errors),
            warnings=_in_order(run.warnings),
            trusted=[path for _, path in sorted(run.trusted, key=lambda item: item[0])],
        )

    def _tag_values(self, root: Scope) -> dict[str, str | None]:
        tags: dict[str, str | None] = dict.fromkeys(TAGS)
        env = root.env
        for role, name in self._plan.tag_names:
            value = env[name]
            tags[role] = value if type(value) is str and value else text_value(value)
        return tags

    def _design_values(self, root: Scope) -> dict[str, Any]:
        design: dict[str, Any] = dict.fromkeys(DESIGN_ROLES)
        env = root.env
        for role, name in self._plan.design_names:
            value = env[name]
            if role == "weight":
                design[role] = numeric(to_json(value))
            else:
                design[role] = value if type(value) is str and value else text_value(value)
        return design

    # -- the shape of the answers

    def _load(
        self,
        obj: dict[Any, Any],
        fields: dict[str, Node],
        container: Node | None,
        scope: Scope,
        out: dict[str, Any],
    ) -> bool:
        """Read one object into the scope; report unknown fields and misshapen containers."""
        filled = False
        values = scope.values
        for key, value in obj.items():
            node = fields.get(key)
            if node is None:
                self._unknown(scope, container, key)
                continue
            if type(value) is node.fast:  # the usual case of text, integer and select_one
                names = node.names
                if (value in names) if names is not None else (value != ""):
                    values[key] = value  # type: ignore[assignment]
                    filled = True
                    continue
            if value is None:
                continue
            kind = node.kind
            if kind <= NOTE:
                checked = node.check(value)
                if checked is None:
                    continue
                filled = True
                if type(checked) is Invalid:
                    if scope.bad is None:
                        scope.bad = {}
                    scope.bad[key] = checked
                else:
                    values[key] = checked  # type: ignore[assignment]
            elif kind == CALCULATE:  # the server's value replaces it (a warning if it differs)
                if type(value) in (list, dict) and nested_deeper(value, MAX_CLIENT_DEPTH):
                    self._error(
                        scope,
                        node,
                        error_codes.RESPONSE_INVALID_TYPE,
                        TOO_DEEP.text(scope.run.language),
                    )
                    continue
                if scope.client is None:
                    scope.client = {}
                scope.client[key] = value
            elif kind == GROUP:
                if type(value) is dict:
                    copy = value
                    if node.computes:  # calculations will be stored in it: copy it
                        copy = dict(value)
                        out[key] = copy
                        scope.objs[node] = copy
                    if self._load(value, node.fields, node, scope, copy):
                        filled = True
                        if scope.filled is None:
                            scope.filled = set()
                        scope.filled.add(node)
                else:
                    scope.objs[node] = None
                    self._error(
                        scope,
                        node,
                        error_codes.RESPONSE_INVALID_TYPE,
                        BAD_OBJECT.text(scope.run.language),
                    )
            elif type(value) is list:
                self._load_repeat(value, node, scope, out)
                if value:
                    filled = True
                    if scope.filled is None:
                        scope.filled = set()
                    scope.filled.add(node)
            else:
                self._error(
                    scope,
                    node,
                    error_codes.RESPONSE_INVALID_TYPE,
                    BAD_ARRAY.text(scope.run.language),
                )
        return filled

    def _load_repeat(self, items: list[Any], node: Node, scope: Scope, out: dict[str, Any]) -> None:
        kind = node.instances
        assert kind is not None  # noqa: S101
        computes = node.computes  # calculations will be stored in the instances: copy them
        if computes:
            copies: list[Any] = []
            out[node.name] = copies
        instances: list[Scope] = []
        run = scope.run
        fields = node.fields
        for index, item in enumerate(items):
            if type(item) is dict:
                instance = Scope(kind, scope, index, run)
                copy = item
                if computes:
                    copy = dict(item)
                    copies.append(copy)
                    instance.objs[node] = copy
                self._load(item, fields, node, instance, copy)
                instances.append(instance)
            else:
                if computes:
                    copies.append(item)
                error = FieldError(
                    f"{scope.prefix()}{node.rel_path}[{index}]",
                    error_codes.RESPONSE_INVALID_TYPE,
                    BAD_OBJECT.text(run.language),
                )
                run.errors.append(((*scope.order(), node.order, index), error))
        if scope.children is None:
            scope.children = {}
            scope.counts = {}
        scope.children[node.name] = instances
        scope.counts[node.name] = len(items)  # type: ignore[index]

    def _unknown(self, scope: Scope, container: Node | None, key: Any) -> None:
        path = scope.prefix()
        if container is not None and container.kind == GROUP:
            path += container.rel_path + "."
        part = _key_path(key)
        path = path[:-1] + part if part[0] == "[" and path else path + part
        language = scope.run.language
        text = message("unknown_field", language, name=quote(str(key)))
        after = math.inf if container is None else container.last + 0.5
        scope.run.errors.append(
            ((*scope.order(), after), FieldError(path, error_codes.RESPONSE_UNKNOWN_FIELD, text))
        )

    @staticmethod
    def _error(scope: Scope, node: Node, code: str, text: str) -> None:
        error = FieldError(scope.prefix() + node.rel_path, code, text)
        scope.run.errors.append(((*scope.order(), node.order), error))

    # -- the logic of the answers

    def _check(self, s: Scope) -> None:
        """Relevance, required, constraints, choice filters, calculations and repeat counts."""
        kind = s.kind
        by_name = kind.by_name
        values = s.values
        bad = s.bad
        rel = s.rel
        env = s.env
        initial = kind.initial_seeds
        if initial:  # Scope.seed, inline
            env.update(zip(initial, map(values.get, initial), strict=True))
        if kind.repeat is not None:
            rel[kind] = True  # a repeat instance that is checked is relevant
        # Every relevance key of the scope, in document order (a parent's before its
        # children's); some may have been worked out already, on demand.
        for node in kind.plan:
            key = node.rel_key
            if key in rel:
                continue
            up = rel.get(node.up_key)
            if up is None:
                s.relevant(node)
                continue
            if up:
                rel[key] = True  # the guard of Scope.relevant
                if node.relevant_uses_current:
                    s.cur = values.get(node.name)
                    result = node.relevant(s)  # type: ignore[misc]
                    s.cur = None
                else:
                    result = node.relevant(s)  # type: ignore[misc]
            else:
                result = False
            rel[key] = result
            seeds = node.seeds
            if seeds is not None:  # Scope.seed, inline
                if result:
                    env.update(zip(seeds, map(values.get, seeds), strict=True))
                else:
                    env.update(dict.fromkeys(seeds))
        # From here on, rel[node.rel_key] is known for every node of the scope.
        # Answers and containers where the questionnaire skips them (at the outermost).
        for name in kind.gated_names.intersection(values):
            node = by_name[name]
            if not rel[node.rel_key] and rel[node.up_key]:
                self._not_relevant(s, node)
        if s.filled is not None:
            for node in s.filled:
                if node.relevant is not None and not rel[node.rel_key] and rel[node.up_key]:
                    self._not_relevant(s, node)
        if bad is not None:
            for name, rejected in bad.items():
                node = by_name[name]
                if rel[node.rel_key]:
                    self._error(s, node, rejected.code, rejected.text(s.run.language))
                elif node.relevant is not None and rel[node.up_key]:
                    self._not_relevant(s, node)
        for first, names in kind.required_groups:  # one relevance check per relevance key
            if not rel[first.rel_key]:
                continue
            missing = names.difference(values)
            if not missing:
                continue
            for name in missing:
                if bad is not None and name in bad:
                    continue
                node = by_name[name]
                if node.required or (node.required_fn is not None and node.required_fn(s)):
                    self._required(s, node)
        for name in kind.constrained_names.intersection(values):
            node = by_name[name]
            value = values[name]
            if not rel[node.rel_key]:
                continue
            constraint = node.constraint
            if constraint is not None:
                cache = node.constraint_cache
                if cache is None:
                    s.cur = value
                    passed = constraint(s)
                    s.cur = None
                else:  # a constraint that depends on the answer alone (and its position)
                    if node.cache_position or type(value) is float:
                        key = _cache_key(value, s.index if node.cache_position else None)
                    else:
                        key = value
                    known = cache.get(key)
                    if known is None:
                        s.cur = value
                        passed = constraint(s)
                        s.cur = None
                        if len(cache) >= CACHE_SIZE:
                            cache.clear()
                        cache[key] = passed
                    else:
                        passed = known
                if not passed:
                    self._constraint_failed(s, node)
            if node.choice_filter is not None:
                self._check_filter(s, node, value)
        for node in kind.defaulted:
            self._check_default(s, node)
        for node in kind.calculates:
            self._calculate(s, node)
        for node in kind.repeats:
            if not rel[node.rel_key]:
                continue
            if node.repeat_count is not None:
                self._check_count(s, node)
            if s.children is not None:
                for instance in s.children.get(node.name, ()):
                    self._check(instance)

    def _not_relevant(self, s: Scope, node: Node) -> None:
        if _reads_rejected(s, node, "relevant"):
            return
        self._error(
            s, node, error_codes.RESPONSE_NOT_RELEVANT, message("not_relevant", s.run.language)
        )

    def _required(self, s: Scope, node: Node) -> None:
        if _reads_rejected(s, node, "relevant", "required"):
            return
        run = s.run
        text = pick(node.required_message, run.languages) or message("required", run.language)
        self._error(s, node, error_codes.RESPONSE_REQUIRED, text)

    def _constraint_failed(self, s: Scope, node: Node) -> None:
        if _reads_rejected(s, node, "constraint"):
            return
        run = s.run
        text = pick(node.constraint_message, run.languages) or message(
            "constraint_failed", run.language, expression=node.constraint_source
        )
        self._error(s, node, error_codes.RESPONSE_CONSTRAINT_FAILED, text)

    def _check_value(self, s: Scope, node: Node, value: Value) -> None:
        """The constraint and the choice filter of a relevant, typed, non-empty answer."""
        constraint = node.constraint
        if constraint is not None:
            s.cur = value
            passed = constraint(s)
            s.cur = None
            if not passed:
                self._constraint_failed(s, node)
        if node.choice_filter is not None:
            self._check_filter(s, node, value)

    def _check_filter(self, s: Scope, node: Node, value: Value) -> None:
        """A choice filter, evaluated for each chosen choice."""
        test = node.choice_filter
        assert test is not None  # noqa: S101
        names = value.split(" ") if node.multiple else (value,)  # type: ignore[union-attr]
        excluded = []
        for name in names:
            choice = node.choices.get(name)  # type: ignore[arg-type]
            if choice is None:
                continue  # `other`
            s.choice = choice
            if not test(s):
                excluded.append(name)
        s.choice = None
        if excluded and not _reads_rejected(s, node, "choice_filter"):
            text = message(
                "filtered_choice", s.run.language, values=", ".join(quote(x) for x in excluded)
            )
            self._error(s, node, error_codes.RESPONSE_INVALID_CHOICE, text)

    def _check_default(self, s: Scope, node: Node) -> None:
        """An answer with a computed default: the default stands in when it was left out."""
        name = node.name
        value = s.values.get(name)
        if s.bad is not None and name in s.bad:
            return
        if node.anchor is not None and not (s.rel.get(node.rel_key) or s.relevant(node)):
            return
        if value is None:
            value, stored = s.default(node)
            if value is None:
                if node.required or (node.required_fn is not None and node.required_fn(s)):
                    self._required(s, node)
                return
            target = s.obj(node.parent)
            if target is not None:
                target[name] = stored
        self._check_value(s, node, value)

    def _calculate(self, s: Scope, node: Node) -> None:
        client = s.client
        if node.anchor is not None and not (s.rel.get(node.rel_key) or s.relevant(node)):
            if client is not None and node.name in client:
                target = s.obj(node.parent)
                if target is not None:
                    target.pop(node.name, None)
            return
        stored = to_json(s.env[node.name])
        target = s.obj(node.parent)
        if target is not None:
            target[node.name] = stored
        if client is None:
            return
        sent = client.get(node.name)
        if node.trusted and trusted_value(sent):
            path = s.prefix() + node.rel_path
            run = s.run
            run.trusted.append(((*s.order(), node.order), path))
            text = message("calculation_trusted", run.language)
            warning = FieldError(path, error_codes.RESPONSE_CALCULATION_TRUSTED, text)
            run.warnings.append(((*s.order(), node.order), warning))
            return
        if node.volatile:
            return
        if sent is not None and not same_value(sent, stored):
            run = s.run
            text = message(
                "calculation_mismatch", run.language, client=quote(sent), server=quote(stored)
            )
            warning = FieldError(
                s.prefix() + node.rel_path, error_codes.RESPONSE_CALCULATION_MISMATCH, text
            )
            run.warnings.append(((*s.order(), node.order), warning))

    def _check_count(self, s: Scope, node: Node) -> None:
        fn = node.repeat_count
        assert fn is not None  # noqa: S101
        number = to_number(fn(s))
        expected: int | float
        if number != number:
            expected = 0
        elif math.isinf(number):
            expected = number
        else:
            expected = max(0, int(number))
        actual = s.counts.get(node.name, 0) if s.counts is not None else 0
        if actual != expected and not _reads_rejected(s, node, "repeat_count"):
            text = message(
                "repeat_count_mismatch",
                s.run.language,
                expected=to_string(expected),
                actual=str(actual),
            )
            self._error(s, node, error_codes.RESPONSE_REPEAT_COUNT_MISMATCH, text)


def _reads_rejected(s: Scope, node: Node, *keys: str) -> bool:
    """Whether the node's expressions under `keys` read an answer rejected in this scope or
    one around it. They saw it as empty, so their verdict (not relevant, required, constraint
    failed, ...) is not reported: the rejected answer's own error says what is wrong."""
    for key in keys:
        names = node.reads.get(key)
        if not names:
            continue
        scope: Scope | None = s
        while scope is not None:
            if scope.bad is not None and not names.isdisjoint(scope.bad):
                return True
            scope = scope.parent
    return False


def _in_order(found: list[tuple[SortKey, FieldError]]) -> list[FieldError]:
    """Findings in document order (repeat instances in turn), whatever order they came in."""
    if len(found) > 1:
        found.sort(key=lambda item: item[0])
    return [error for _, error in found]
