"""The expression language's syntax: tokenizer, parser with its checks, and the syntax tree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, NamedTuple, TypeAlias

from survey_service.expressions.functions import (
    FUNCTIONS,
    digest_algorithm,
    digest_encoding,
    format_pattern_error,
)
from survey_service.expressions.regex import regex_matcher


class ExpressionError(ValueError):
    """An expression that does not parse, calls an unknown function or miscounts arguments."""

    message: str
    position: int
    code: str

    def __init__(self, message: str, position: int, code: str = "syntax") -> None:
        super().__init__(message, position, code)
        self.message = message
        self.position = position
        self.code = code

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------- lexer

_WHITESPACE: Final = frozenset(" \t\r\n")
_OPERAND_ENDS: Final = frozenset({"num", "str", "ref", "dot", "dotdot", "name", ")"})
_OPERATOR_NAMES: Final = frozenset({"and", "or", "div", "mod"})
_ASCII_DIGITS: Final = frozenset("0123456789")


class _Token(NamedTuple):
    kind: str  # num str ref dot dotdot name func op ( ) , end
    text: str  # the literal's value, the reference's name, or the token itself
    pos: int


def _is_name_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_-."


def _is_name(text: str) -> bool:
    return bool(text) and _is_name_start(text[0]) and all(_is_name_char(ch) for ch in text)


def _syntax(message: str, position: int) -> ExpressionError:
    return ExpressionError(f"{message} at position {position}", position, "syntax")


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while True:
        while i < n and source[i] in _WHITESPACE:
            i += 1
        if i >= n:
            tokens.append(_Token("end", "", n))
            return tokens
        ch = source[i]
        after_operand = bool(tokens) and tokens[-1].kind in _OPERAND_ENDS
        if ch == "$":
            if not source.startswith("${", i):
                raise _syntax("'$' must start a reference like ${name}", i)
            close = source.find("}", i + 2)
            if close < 0:
                raise _syntax("unterminated reference", i)
            name = source[i + 2 : close]
            if not _is_name(name):
                raise _syntax(f"invalid question name {name!r} in reference", i)
            tokens.append(_Token("ref", name, i))
            i = close + 1
        elif ch in "'\"":
            close = source.find(ch, i + 1)
            if close < 0:
                raise _syntax("unterminated string", i)
            tokens.append(_Token("str", source[i + 1 : close], i))
            i = close + 1
        elif ch in _ASCII_DIGITS or (ch == "." and i + 1 < n and source[i + 1] in _ASCII_DIGITS):
            j = i
            while j < n and source[j] in _ASCII_DIGITS:
                j += 1
            if j < n and source[j] == ".":
                j += 1
                while j < n and source[j] in _ASCII_DIGITS:
                    j += 1
            tokens.append(_Token("num", source[i:j], i))
            i = j
        elif ch == ".":
            if source.startswith("..", i):
                tokens.append(_Token("dotdot", "..", i))
                i += 2
            else:
                tokens.append(_Token("dot", ".", i))
                i += 1
        elif _is_name_start(ch):
            j = i + 1
            while j < n and _is_name_char(source[j]):
                j += 1
            if j + 1 < n and source[j] == ":" and _is_name_start(source[j + 1]):
                j += 2
                while j < n and _is_name_char(source[j]):
                    j += 1
            text = source[i:j]
            if after_operand and text in _OPERATOR_NAMES:
                tokens.append(_Token("op", text, i))
            else:
                k = j
                while k < n and source[k] in _WHITESPACE:
                    k += 1
                if k < n and source[k] == "(":
                    tokens.append(_Token("func", text, i))
                elif ":" in text:
                    raise _syntax(f"unexpected '{text}'", i)
                else:
                    tokens.append(_Token("name", text, i))
            i = j
        elif source.startswith(("!=", "<=", ">="), i):
            tokens.append(_Token("op", source[i : i + 2], i))
            i += 2
        elif ch in "=<>+-" or (ch == "*" and after_operand):
            tokens.append(_Token("op", ch, i))
            i += 1
        elif ch == "*":
            raise _syntax("unexpected '*'", i)
        elif ch in "(),":
            tokens.append(_Token(ch, ch, i))
            i += 1
        else:
            raise _syntax(f"unexpected character {ch!r}", i)


# --------------------------------------------------------------------------- parser

_PRECEDENCE: Final = {
    "or": 1,
    "and": 2,
    "=": 3,
    "!=": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "*": 6,
    "div": 6,
    "mod": 6,
}
_MAX_NESTING: Final = 200  # parser calls in progress; keeps parse, compile and eval stacks short


# The syntax tree, read by the evaluator (which compiles it to closures) and by the SQL
# compiler (aggregates); treat it as read-only.


@dataclass(slots=True)
class Literal:
    value: int | float | str
    pos: int


@dataclass(slots=True)
class Ref:
    name: str


@dataclass(slots=True)
class Current:
    pass


@dataclass(slots=True)
class Bare:
    name: str


@dataclass(slots=True)
class Parent:
    pos: int


@dataclass(slots=True)
class Negation:
    operand: SyntaxNode
    negate: bool  # an even number of minus signs still converts to a number


@dataclass(slots=True)
class Chain:
    """Operands joined left to right by operators of one precedence level."""

    level: int
    operands: list[SyntaxNode]
    operators: list[str]


@dataclass(slots=True)
class Call:
    name: str
    args: list[SyntaxNode]
    pos: int


SyntaxNode: TypeAlias = Literal | Ref | Current | Bare | Parent | Negation | Chain | Call


class Parser:
    """Parses one source (`parse()`), collecting the names it references and calls."""

    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.index = 0
        self.depth = 0
        self.references: set[str] = set()
        self.functions: set[str] = set()
        self.bare_names: set[str] = set()
        self.uses_current = False
        self.device_only = False  # calls a device function (a seeded randomize() is not)

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def unexpected(self, token: _Token) -> ExpressionError:
        if token.kind == "end":
            return _syntax("unexpected end of expression", token.pos)
        if token.kind == "str":
            return _syntax("unexpected string", token.pos)
        shown = "${" + token.text + "}" if token.kind == "ref" else token.text
        return _syntax(f"unexpected '{shown}'", token.pos)

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise _syntax("expression nested too deeply", token.pos)

    def parse(self) -> SyntaxNode:
        if self.peek().kind == "end":
            raise _syntax("empty expression", 0)
        node = self.binary(1)
        token = self.peek()
        if token.kind != "end":
            raise self.unexpected(token)
        return node

    def binary(self, min_level: int) -> SyntaxNode:
        self.enter(self.peek())
        left = self.unary()
        while True:
            token = self.peek()
            level = _PRECEDENCE.get(token.text, 0) if token.kind == "op" else 0
            if level < min_level:
                break
            self.advance()
            right = self.binary(level + 1)
            if isinstance(left, Chain) and left.level == level:
                left.operands.append(right)
                left.operators.append(token.text)
            else:
                left = Chain(level, [left, right], [token.text])
        self.depth -= 1
        return left

    def unary(self) -> SyntaxNode:
        minus = 0
        while self.peek().kind == "op" and self.peek().text == "-":
            self.advance()
            minus += 1
        node = self.primary()
        return Negation(node, minus % 2 == 1) if minus else node

    def primary(self) -> SyntaxNode:
        token = self.advance()
        kind = token.kind
        if kind == "num":
            text = token.text
            number: int | float = float(text) if "." in text or len(text) > 15 else int(text)
            return Literal(number, token.pos)
        if kind == "str":
            return Literal(token.text, token.pos)
        if kind == "ref":
            self.references.add(token.text)
            return Ref(token.text)
        if kind == "dot":
            self.uses_current = True
            return Current()
        if kind == "name":
            self.bare_names.add(token.text)
            return Bare(token.text)
        if kind == "func":
            return self.call(token)
        if kind == "(":
            self.enter(token)
            node = self.binary(1)
            closing = self.advance()
            if closing.kind != ")":
                raise self.unexpected(closing)
            self.depth -= 1
            return node
        if kind == "dotdot":
            raise _syntax("'..' is only allowed as the argument of position(..)", token.pos)
        raise self.unexpected(token)

    def call(self, token: _Token) -> SyntaxNode:
        name = token.text
        function = FUNCTIONS.get(name)
        if function is None:
            raise ExpressionError(f"unknown function '{name}'", token.pos, "unknown_function")
        self.functions.add(name)
        self.enter(token)
        self.advance()  # the '(' the lexer saw
        args: list[SyntaxNode] = []
        starts: list[int] = []
        if self.peek().kind == ")":
            self.advance()
        else:
            while True:
                start = self.peek()
                starts.append(start.pos)
                after = self.tokens[self.index + 1] if start.kind == "dotdot" else None
                if after is not None and after.kind in (",", ")"):
                    self.advance()
                    args.append(Parent(start.pos))
                else:
                    args.append(self.binary(1))
                separator = self.advance()
                if separator.kind == ")":
                    break
                if separator.kind != ",":
                    raise self.unexpected(separator)
        self.depth -= 1
        least, most = function.least, function.most
        if len(args) < least or (most is not None and len(args) > most):
            raise ExpressionError(
                f"{name}() takes {_arity_text(least, most)}, got {len(args)}",
                token.pos,
                "arity",
            )
        for arg in args:
            if isinstance(arg, Parent) and name != "position":
                raise _syntax("'..' is only allowed as the argument of position(..)", arg.pos)
        if name == "position" and not isinstance(args[0], Parent):
            raise _syntax("position() takes '..' as its argument", starts[0])
        if name == "jr:choice-name":
            question = quoted_reference(args[1])
            if question is None:
                raise _syntax(
                    "the second argument of jr:choice-name() must be the question "
                    "in quotes, like '${name}'",
                    starts[1],
                )
            self.references.add(question)
        if function.device and not (name == "randomize" and len(args) == 2):
            self.device_only = True
        _check_arguments(name, args, starts)
        if name == "regex":
            pattern = args[1]
            if isinstance(pattern, Literal) and isinstance(pattern.value, str):
                matcher = regex_matcher(pattern.value)
                if isinstance(matcher, str):
                    raise _syntax(matcher, pattern.pos)
        return Call(name, args, token.pos)


def _literal_text(node: SyntaxNode) -> str | None:
    if isinstance(node, Literal) and isinstance(node.value, str):
        return node.value
    return None


def _check_arguments(name: str, args: list[SyntaxNode], starts: list[int]) -> None:
    """Refuse at parse time what the function could never evaluate: an unknown digest
    algorithm or encoding, a date format escape JavaRosa refuses, indexed-repeat() on
    something other than references with an index each."""
    if name == "digest":
        algorithm = _literal_text(args[1])
        if algorithm is not None and digest_algorithm(algorithm) is None:
            raise _syntax(
                f"digest() knows MD5, SHA-1, SHA-256, SHA-384 and SHA-512, not {algorithm!r}",
                starts[1],
            )
        encoding = _literal_text(args[2]) if len(args) == 3 else None
        if encoding is not None and not digest_encoding(encoding):
            raise _syntax(f"digest() encodes in base64 or hex, not {encoding!r}", starts[2])
    elif name in ("format-date", "format-date-time"):
        pattern = _literal_text(args[1])
        problem = format_pattern_error(pattern) if pattern is not None else None
        if problem is not None:
            raise _syntax(problem, starts[1])
    elif name == "indexed-repeat":
        if len(args) % 2 == 0:
            raise ExpressionError(
                "indexed-repeat() takes a field, then a repeat and an index for each level",
                starts[-1],
                "arity",
            )
        for index in (0, *range(1, len(args), 2)):
            if not isinstance(args[index], Ref):
                raise _syntax(
                    "indexed-repeat() takes the field and its repeats as references like ${name}",
                    starts[index],
                )


def _arity_text(least: int, most: int | None) -> str:
    def count(n: int) -> str:
        return f"{n} argument" if n == 1 else f"{n} arguments"

    if most is None:
        return f"at least {count(least)}"
    if least == most:
        return count(least)
    return f"{least} or {count(most)}" if most == least + 1 else f"{least} to {count(most)}"


_QUOTED_REFERENCE: Final = re.compile(r"[ \t\r\n]*\$\{([^{}]*)\}[ \t\r\n]*")


def quoted_reference(node: SyntaxNode) -> str | None:
    """The question name of a literal '${name}' (jr:choice-name's second argument), or None."""
    if not isinstance(node, Literal) or not isinstance(node.value, str):
        return None
    match = _QUOTED_REFERENCE.fullmatch(node.value)
    if match is None or not _is_name(match.group(1)):
        return None
    return match.group(1)


def syntax_tree(source: str) -> SyntaxNode:
    """The syntax tree of an expression, checked as `parse` checks it; raises ExpressionError."""
    try:
        return Parser(source).parse()
    except RecursionError:  # only when called from deep in the stack already
        raise ExpressionError("expression nested too deeply", 0, "syntax") from None
