"""Evaluation: a syntax tree compiled once to closures, an `Expression` evaluated on a context."""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple, Protocol, TypeAlias, cast

from survey_service.expressions.functions import FUNCTIONS
from survey_service.expressions.regex import TextTest, regex_matcher
from survey_service.expressions.syntax import (
    Bare,
    Call,
    Chain,
    Current,
    ExpressionError,
    Literal,
    Negation,
    Parser,
    Ref,
    SyntaxNode,
    quoted_reference,
)
from survey_service.expressions.values import (
    ARITHMETIC,
    COMPARISONS,
    EQUAL_TOLERANCE,
    MIRRORED,
    Value,
    arithmetic_number,
    equals,
    is_null,
    negate,
    nodes,
    not_equals,
    numbers_equal,
    to_boolean,
    to_number,
    to_string,
)


class EvalContext(Protocol):
    """What an expression reads while it is evaluated."""

    def resolve(self, name: str) -> Value:
        """The value of ${name} relative to the current node (a list for a node-set)."""
        ...

    def current(self) -> Value:
        """The value of '.'."""
        ...

    def position(self) -> int:
        """The 1-based index of the current repeat instance, for position(..)."""
        ...

    def choice_label(self, question: str, value: str) -> str:
        """The label of choice `value` of the question's list, for jr:choice-name."""
        ...

    def choice_property(self, name: str) -> Value:
        """A bare name inside a choice_filter: the property of the choice being filtered."""
        ...

    def now(self) -> datetime.datetime:
        """The timezone-aware current time; today() is its date."""
        ...


class Lookups(Protocol):
    """What a context may offer besides EvalContext, for the functions that need it.

    The evaluator looks for these methods on the context and, without them, gives what
    it can: pulldata() is empty and indexed-repeat() reads a node-set of the field.
    """

    def pulldata(self, instance: str, column: str, key_column: str, key: str) -> Value:
        """The `column` of the row of the form media file `instance` whose `key_column`
        is `key` ('' when there is none)."""
        ...

    def indexed_repeat(self, name: str, indices: list[tuple[str, int]]) -> Value:
        """The value of ${name} in the instances of the repeats at the 1-based indices."""
        ...


_Fn: TypeAlias = Callable[[EvalContext], Value]
_BoolFn: TypeAlias = Callable[[EvalContext], bool]


# --------------------------------------------------------------------------- compiler


class _Compiled(NamedTuple):
    fn: _Fn
    is_bool: bool  # the closure always returns a bool


def _constant(value: Value) -> _Fn:
    return lambda ctx: value


def _as_bool_fn(compiled: _Compiled) -> _BoolFn:
    if compiled.is_bool:
        return cast(_BoolFn, compiled.fn)
    fn = compiled.fn
    return lambda ctx: to_boolean(fn(ctx))


def _compile(node: SyntaxNode) -> _Compiled:
    if isinstance(node, Literal):
        return _Compiled(_constant(node.value), False)
    if isinstance(node, Current):
        return _Compiled(operator.methodcaller("current"), False)
    if isinstance(node, Ref):
        return _Compiled(operator.methodcaller("resolve", node.name), False)
    if isinstance(node, Bare):
        return _Compiled(operator.methodcaller("choice_property", node.name), False)
    if isinstance(node, Negation):
        operand = _compile(node.operand).fn
        convert = negate if node.negate else arithmetic_number
        return _Compiled(lambda ctx: convert(operand(ctx)), False)
    if isinstance(node, Chain):
        return _compile_chain(node)
    if isinstance(node, Call):
        return _compile_call(node)
    raise TypeError(f"cannot compile {node!r}")  # Parent never reaches here


def _compile_chain(node: Chain) -> _Compiled:
    if node.level <= 2:
        return _compile_logic(node)
    if node.level <= 4:
        return _compile_comparisons(node)
    return _compile_arithmetic(node)


def _compile_logic(node: Chain) -> _Compiled:
    tests = [_as_bool_fn(_compile(operand)) for operand in node.operands]
    if node.level == 1:
        if len(tests) == 2:
            a, b = tests
            return _Compiled(lambda ctx: a(ctx) or b(ctx), True)

        def any_of(ctx: EvalContext) -> bool:
            return any(test(ctx) for test in tests)

        return _Compiled(any_of, True)
    if len(tests) == 2:
        a, b = tests
        return _Compiled(lambda ctx: a(ctx) and b(ctx), True)

    def all_of(ctx: EvalContext) -> bool:
        return all(test(ctx) for test in tests)

    return _Compiled(all_of, True)


def _compile_comparisons(node: Chain) -> _Compiled:
    if len(node.operands) == 2:
        left, right = node.operands
        op = node.operators[0]
        if _is_literal(right):
            return _Compiled(_compare_constant(_compile(left).fn, op, _literal(right)), True)
        if _is_literal(left):
            return _Compiled(
                _compare_constant(_compile(right).fn, MIRRORED[op], _literal(left)), True
            )
        a, b = _compile(left).fn, _compile(right).fn
        compare = COMPARISONS[op]
        return _Compiled(lambda ctx: compare(a(ctx), b(ctx)), True)
    first = _compile(node.operands[0]).fn
    rest = [
        (COMPARISONS[op], _compile(operand).fn)
        for op, operand in zip(node.operators, node.operands[1:], strict=True)
    ]

    def fold(ctx: EvalContext) -> bool:
        value: Value = first(ctx)
        for compare, fn in rest:
            value = compare(value, fn(ctx))
        return bool(value)

    return _Compiled(fold, True)


def _is_literal(node: SyntaxNode) -> bool:
    return isinstance(node, Literal)


def _literal(node: SyntaxNode) -> int | float | str:
    return cast(Literal, node).value


def _compare_constant(fn: _Fn, op: str, constant: int | float | str) -> _BoolFn:
    """`fn(ctx) op constant`, with a shortcut for the usual types of the two sides."""
    compare = COMPARISONS[op]
    if isinstance(constant, str):
        if op == "=":

            def equals_text(ctx: EvalContext) -> bool:
                v = fn(ctx)
                if type(v) is str:
                    return v == constant
                # an unanswered or skipped question: string('') (the usual other case)
                return constant == "" if v is None else equals(v, constant)

            return equals_text
        if op == "!=":

            def differs_from_text(ctx: EvalContext) -> bool:
                v = fn(ctx)
                if type(v) is str:
                    return v != constant
                return constant != "" if v is None else not_equals(v, constant)

            return differs_from_text
        return lambda ctx: compare(fn(ctx), constant)
    return _compare_number(fn, op, constant, compare)


def _compare_number(
    fn: _Fn, op: str, number: int | float, compare: Callable[[Value, Value], bool]
) -> _BoolFn:
    """`fn(ctx) op number`: plain Python comparison when fn gives an int or a float."""
    if op == "=" or op == "!=":
        want = op == "="
        whole = type(number) is int  # literals of more than 15 digits are floats

        def equals_number(ctx: EvalContext) -> bool:
            v = fn(ctx)
            if type(v) is float:
                return (v == number or abs(v - number) < EQUAL_TOLERANCE) == want
            if type(v) is int:
                return (v == number if whole else numbers_equal(v, number)) == want
            return compare(v, number)

        return equals_number
    if op == "<":

        def less(ctx: EvalContext) -> bool:
            v = fn(ctx)
            if type(v) is int or type(v) is float:
                return v < number
            return compare(v, number)

        return less
    if op == "<=":

        def less_equal(ctx: EvalContext) -> bool:
            v = fn(ctx)
            if type(v) is int or type(v) is float:
                return v <= number
            return compare(v, number)

        return less_equal
    if op == ">":

        def greater(ctx: EvalContext) -> bool:
            v = fn(ctx)
            if type(v) is int or type(v) is float:
                return v > number
            return compare(v, number)

        return greater

    def greater_equal(ctx: EvalContext) -> bool:
        v = fn(ctx)
        if type(v) is int or type(v) is float:
            return v >= number
        return compare(v, number)

    return greater_equal


def _compile_arithmetic(node: Chain) -> _Compiled:
    fns = [_compile(operand).fn for operand in node.operands]
    if len(fns) == 2:
        a, b = fns
        apply = ARITHMETIC[node.operators[0]]
        return _Compiled(lambda ctx: apply(a(ctx), b(ctx)), False)
    first = fns[0]
    rest = [(ARITHMETIC[op], fn) for op, fn in zip(node.operators, fns[1:], strict=True)]

    def fold(ctx: EvalContext) -> Value:
        value = first(ctx)
        for apply, fn in rest:
            value = apply(value, fn(ctx))
        return value

    return _Compiled(fold, False)


def _unary(function: Callable[[Value], Value], arg: _Fn) -> _Fn:
    return lambda ctx: function(arg(ctx))


def _binary(function: Callable[[Value, Value], Value], a: _Fn, b: _Fn) -> _Fn:
    return lambda ctx: function(a(ctx), b(ctx))


def _compile_call(node: Call) -> _Compiled:
    special = SPECIAL_FORMS.get(node.name)
    if special is not None:
        return special(node.args)
    return _compile_function(node.name, node.args)


def _compile_function(name: str, args: list[SyntaxNode]) -> _Compiled:
    """A call of the function's implementation in FUNCTIONS on its arguments' values."""
    function = FUNCTIONS[name]
    implementation = function.implementation
    if implementation is None:  # FUNCTIONS and SPECIAL_FORMS disagree
        raise TypeError(f"no implementation for {name}()")
    fns = [_compile(arg).fn for arg in args]
    if len(fns) == 1:
        return _Compiled(_unary(implementation, fns[0]), function.returns_bool)
    if len(fns) == 2:
        return _Compiled(_binary(implementation, fns[0], fns[1]), function.returns_bool)
    return _Compiled(lambda ctx: implementation(*(fn(ctx) for fn in fns)), function.returns_bool)


def _compile_if(args: list[SyntaxNode]) -> _Compiled:
    test = _as_bool_fn(_compile(args[0]))
    then, otherwise = _compile(args[1]), _compile(args[2])
    a, b = then.fn, otherwise.fn
    return _Compiled(
        lambda ctx: a(ctx) if test(ctx) else b(ctx), then.is_bool and otherwise.is_bool
    )


def _compile_coalesce(args: list[SyntaxNode]) -> _Compiled:
    first, second = _compile(args[0]).fn, _compile(args[1]).fn

    def coalesce(ctx: EvalContext) -> Value:
        value = first(ctx)
        return second(ctx) if is_null(value) else value

    return _Compiled(coalesce, False)


def _compile_true(args: list[SyntaxNode]) -> _Compiled:
    return _Compiled(_constant(True), True)


def _compile_false(args: list[SyntaxNode]) -> _Compiled:
    return _Compiled(_constant(False), True)


def _today(ctx: EvalContext) -> datetime.date:
    return ctx.now().date()


def _compile_today(args: list[SyntaxNode]) -> _Compiled:
    return _Compiled(_today, False)


def _compile_now(args: list[SyntaxNode]) -> _Compiled:
    return _Compiled(operator.methodcaller("now"), False)


def _compile_position(args: list[SyntaxNode]) -> _Compiled:
    return _Compiled(operator.methodcaller("position"), False)


def _compile_not(args: list[SyntaxNode]) -> _Compiled:
    test = _as_bool_fn(_compile(args[0]))
    return _Compiled(lambda ctx: not test(ctx), True)


def _compile_choice_name(args: list[SyntaxNode]) -> _Compiled:
    value = _compile(args[0]).fn
    question = cast(str, quoted_reference(args[1]))

    def choice_name(ctx: EvalContext) -> Value:
        text = to_string(value(ctx))
        return ctx.choice_label(question, text) if text else ""

    return _Compiled(choice_name, False)


def _compile_regex(args: list[SyntaxNode]) -> _Compiled:
    subject = _compile(args[0]).fn
    pattern = args[1]
    if isinstance(pattern, Literal) and isinstance(pattern.value, str):
        # the parser checked the pattern: it has a matcher, built once here
        matcher = cast(TextTest, regex_matcher(pattern.value))
        return _Compiled(lambda ctx: matcher(to_string(subject(ctx))), True)
    return _compile_function("regex", args)


def _compile_pulldata(args: list[SyntaxNode]) -> _Compiled:
    fns = [_compile(arg).fn for arg in args]

    def pulldata(ctx: EvalContext) -> Value:
        lookup = getattr(ctx, "pulldata", None)
        if lookup is None:  # no form media here: a calculation keeps the client's value
            return None
        instance, column, key_column, key = (to_string(fn(ctx)) for fn in fns)
        return cast(Lookups, ctx).pulldata(instance, column, key_column, key)

    return _Compiled(pulldata, False)


def _compile_indexed_repeat(args: list[SyntaxNode]) -> _Compiled:
    field = cast(Ref, args[0]).name
    value = _compile(args[0]).fn
    repeats = [cast(Ref, arg).name for arg in args[1::2]]
    indices = [_compile(arg).fn for arg in args[2::2]]

    def indexed_repeat(ctx: EvalContext) -> Value:
        # JavaRosa reads an index below 1 (not answered yet, say) as 1
        wanted = [max(1, _whole(fn(ctx))) for fn in indices]
        if getattr(ctx, "indexed_repeat", None) is not None:
            steps = list(zip(repeats, wanted, strict=True))
            return cast(Lookups, ctx).indexed_repeat(field, steps)
        if len(wanted) != 1:
            return None
        items = nodes(value(ctx))
        return items[wanted[0] - 1] if wanted[0] <= len(items) else None

    return _Compiled(indexed_repeat, False)


def _whole(v: Value) -> int:
    x = to_number(v)
    return int(x) if x == x and abs(x) < 2**31 else 0


SPECIAL_FORMS: Final[Mapping[str, Callable[[list[SyntaxNode]], _Compiled]]] = {
    "if": _compile_if,
    "coalesce": _compile_coalesce,
    "true": _compile_true,
    "false": _compile_false,
    "today": _compile_today,
    "now": _compile_now,
    "position": _compile_position,
    "not": _compile_not,
    "jr:choice-name": _compile_choice_name,
    "regex": _compile_regex,
    "pulldata": _compile_pulldata,
    "indexed-repeat": _compile_indexed_repeat,
}
"""Function name -> how the evaluator compiles it from its arguments' syntax, for the
functions that read the context, skip arguments, are constants or have a faster form than
their implementation in FUNCTIONS (regex() with a literal pattern)."""

# --------------------------------------------------------------------------- public


@dataclass(frozen=True)
class Expression:
    """A parsed and compiled expression; evaluate it against any number of contexts.

    `evaluate(ctx)` gives the expression's value (None, bool, int, float, str, date,
    date-time or a list); `evaluate_bool(ctx)` its XPath boolean(), for relevant, constraint
    and required. Both are the compiled closures themselves: a call goes straight to them.
    """

    source: str
    references: frozenset[str]
    functions: frozenset[str]
    uses_current: bool
    bare_names: frozenset[str]
    # calls a function whose value only the device can know (FUNCTIONS' `device`)
    device_only: bool
    evaluate: _Fn = field(repr=False, compare=False)
    evaluate_bool: _BoolFn = field(repr=False, compare=False)


def _parse(source: str) -> Expression:
    if not isinstance(source, str):
        raise TypeError(f"an expression is text, not {type(source).__name__}")
    try:
        parser = Parser(source)
        tree = parser.parse()
        compiled = _compile(tree)
    except RecursionError:  # only when called from deep in the stack already
        raise ExpressionError("expression nested too deeply", 0, "syntax") from None
    return Expression(
        source=source,
        references=frozenset(parser.references),
        functions=frozenset(parser.functions),
        uses_current=parser.uses_current,
        bare_names=frozenset(parser.bare_names),
        device_only=parser.device_only,
        evaluate=compiled.fn,
        evaluate_bool=_as_bool_fn(compiled),
    )


_parse_cached = functools.lru_cache(maxsize=4096)(_parse)


def parse(source: str) -> Expression:
    """Parse and compile an expression (cached by source); raises ExpressionError."""
    return _parse_cached(source)
