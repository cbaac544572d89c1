"""regex(): a linear-time matcher with re.search's answer, refusing what is not regular."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias

# Python's re backtracks, so a pattern like ^(a+)+$ can take exponential time on an answer.
# regex() only asks whether there is a match, which a Thompson NFA answers in time linear in
# the answer's length. The NFA is built from the re module's own parse tree (so the syntax,
# escapes, classes and flags are exactly Python's); each single-character test is delegated
# to a tiny compiled re. Backreferences, conditional groups, atomic groups and possessive
# quantifiers are not regular and are refused.

_RE_PARSER: Any = None
_RE_CONSTANTS: Any = None
try:
    _RE_PARSER = importlib.import_module("re._parser")
    _RE_CONSTANTS = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - every Python >= 3.11 has them
    pass

_REGEX_MAX_STATES: Final = 10_000
_REGEX_MAX_LOOKAROUND_DEPTH: Final = 8
_REGEX_MAX_STEPS: Final = 4096  # remembered steps of one pattern (cleared when full)
_CHAR, _SPLIT, _ASSERT, _MATCH = 0, 1, 2, 3
_CHAR_FLAGS: Final = re.IGNORECASE | re.ASCII | re.DOTALL | re.UNICODE
_CATEGORY_ESCAPES: Final = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}
_UNSUPPORTED_REGEX: Final = {
    "GROUPREF": "backreferences",
    "GROUPREF_EXISTS": "conditional groups",
    "ATOMIC_GROUP": "atomic groups",
    "POSSESSIVE_REPEAT": "possessive quantifiers",
}

TextTest: TypeAlias = Callable[[str], bool]
_PositionTest: TypeAlias = Callable[[str, int], bool]


class _RegexError(Exception):
    """A pattern the linear-time matcher cannot take."""


def _char_flags(flags: int) -> int:
    flags &= _CHAR_FLAGS
    if flags & re.ASCII:
        flags &= ~re.UNICODE
    return flags


def _any_char(ch: str) -> bool:
    return True


def _not_newline(ch: str) -> bool:
    return ch != "\n"


class _Nfa:
    """A Thompson NFA equivalent to a Python pattern, answering re.search(...) is not None."""

    def __init__(self, pattern: str) -> None:
        parsed = _RE_PARSER.parse(pattern, 0)
        flags = int(parsed.state.flags)
        self.kind: list[int] = []
        self.test: list[Any] = []
        self.out: list[Any] = []
        self.lookaround_depth = 0
        self.lookarounds = False
        self.charsets: dict[tuple[str, int], TextTest] = {}
        # steps of `search` already taken: see _search_cached
        self.steps: dict[tuple[tuple[int, ...], str, bool], tuple[tuple[int, ...], bool]] = {}
        items = list(parsed)
        self.start = self._sequence(items, flags, self._state(_MATCH, None, None))
        constants = _RE_CONSTANTS
        self.anchored = bool(items) and (
            items[0] == (constants.AT, constants.AT_BEGINNING_STRING)
            or (items[0] == (constants.AT, constants.AT_BEGINNING) and not flags & re.MULTILINE)
        )

    def _state(self, kind: int, test: Any, out: Any) -> int:
        if len(self.kind) >= _REGEX_MAX_STATES:
            raise _RegexError("regular expression is too complex")
        self.kind.append(kind)
        self.test.append(test)
        self.out.append(out)
        return len(self.kind) - 1

    def _sequence(self, items: Sequence[Any], flags: int, follow: int) -> int:
        for op, arg in reversed(items):
            follow = self._item(op, arg, flags, follow)
        return follow

    def _item(self, op: Any, arg: Any, flags: int, follow: int) -> int:
        c = _RE_CONSTANTS
        if op is c.LITERAL:
            if flags & re.IGNORECASE:
                return self._state(_CHAR, self._charset([(c.LITERAL, arg)], flags), follow)
            return self._state(_CHAR, chr(arg).__eq__, follow)
        if op is c.NOT_LITERAL:
            test = self._charset([(c.NEGATE, None), (c.LITERAL, arg)], flags)
            return self._state(_CHAR, test, follow)
        if op is c.ANY:
            return self._state(_CHAR, _any_char if flags & re.DOTALL else _not_newline, follow)
        if op is c.IN:
            return self._state(_CHAR, self._charset(arg, flags), follow)
        if op is c.BRANCH:
            starts = tuple(self._sequence(list(branch), flags, follow) for branch in arg[1])
            return self._state(_SPLIT, None, starts)
        if op is c.SUBPATTERN:
            _group, add_flags, del_flags, sub = arg
            return self._sequence(list(sub), (flags | add_flags) & ~del_flags, follow)
        if op is c.MAX_REPEAT or op is c.MIN_REPEAT:
            return self._repeat(arg, flags, follow)
        if op is c.AT:
            return self._state(_ASSERT, self._anchor(arg, flags), follow)
        if op is c.ASSERT or op is c.ASSERT_NOT:
            look = self._lookaround(arg, flags, negate=op is c.ASSERT_NOT)
            return self._state(_ASSERT, look, follow)
        feature = _UNSUPPORTED_REGEX.get(str(op), str(op).lower())
        raise _RegexError(f"regular expression feature not supported: {feature}")

    def _repeat(self, arg: Any, flags: int, follow: int) -> int:
        least, most, sub = arg
        items = list(sub)
        if most == _RE_CONSTANTS.MAXREPEAT:
            loop = self._state(_SPLIT, None, None)
            self.out[loop] = (self._sequence(items, flags, loop), follow)
            current = loop
        else:
            current = follow
            for _ in range(int(most) - int(least)):
                current = self._state(_SPLIT, None, (self._sequence(items, flags, current), follow))
        for _ in range(int(least)):
            current = self._sequence(items, flags, current)
        return current

    def _charset(self, items: Sequence[Any], flags: int) -> TextTest:
        c = _RE_CONSTANTS
        negate = False
        parts: list[str] = []
        for op, arg in items:
            if op is c.NEGATE:
                negate = True
            elif op is c.LITERAL:
                parts.append(f"\\U{arg:08x}")
            elif op is c.RANGE:
                parts.append(f"\\U{arg[0]:08x}-\\U{arg[1]:08x}")
            elif op is c.CATEGORY and str(arg) in _CATEGORY_ESCAPES:
                parts.append(_CATEGORY_ESCAPES[str(arg)])
            else:
                raise _RegexError(f"regular expression feature not supported: {op}")
        source = "[" + ("^" if negate else "") + "".join(parts) + "]"
        key = (source, _char_flags(flags))
        known = self.charsets.get(key)
        if known is not None:
            return known
        fullmatch = re.compile(source, key[1]).fullmatch

        def test(ch: str) -> bool:
            return fullmatch(ch) is not None

        self.charsets[key] = test
        return test

    def _anchor(self, code: Any, flags: int) -> _PositionTest:
        c = _RE_CONSTANTS
        multiline = bool(flags & re.MULTILINE)
        if code is c.AT_BEGINNING_STRING or (code is c.AT_BEGINNING and not multiline):
            return lambda s, i: i == 0
        if code is c.AT_BEGINNING:
            return lambda s, i: i == 0 or s[i - 1] == "\n"
        if code is c.AT_END_STRING:
            return lambda s, i: i == len(s)
        if code is c.AT_END and multiline:
            return lambda s, i: i == len(s) or s[i] == "\n"
        if code is c.AT_END:
            return lambda s, i: i == len(s) or (i == len(s) - 1 and s[i] == "\n")
        if code is c.AT_BOUNDARY or code is c.AT_NON_BOUNDARY:
            word = re.compile(r"\w", _char_flags(flags)).fullmatch
            want_boundary = code is c.AT_BOUNDARY

            def boundary(s: str, i: int) -> bool:
                if not s:
                    return False  # as re does: neither \b nor \B matches an empty string
                before = i > 0 and word(s[i - 1]) is not None
                after = i < len(s) and word(s[i]) is not None
                return (before != after) == want_boundary

            return boundary
        raise _RegexError(f"regular expression feature not supported: {code}")

    def _lookaround(self, arg: Any, flags: int, negate: bool) -> _PositionTest:
        direction, sub = arg
        self.lookarounds = True
        self.lookaround_depth += 1
        if self.lookaround_depth > _REGEX_MAX_LOOKAROUND_DEPTH:
            raise _RegexError("regular expression is too complex")
        start = self._sequence(list(sub), flags, self._state(_MATCH, None, None))
        self.lookaround_depth -= 1
        run = self._run
        if direction == 1:
            return lambda s, i: run(s, start, i, True, None) != negate
        width = int(sub.getwidth()[0])  # re only compiles fixed-width look-behinds
        return lambda s, i: (i >= width and run(s, start, i - width, True, i)) != negate

    def search(self, s: str) -> bool:
        if self.lookarounds:  # they read more than the next character: simulate each time
            return self._run(s, self.start, 0, self.anchored, None)
        return self._search_cached(s)

    def _search_cached(self, s: str) -> bool:
        """`_run` for a whole subject, remembering each step across subjects (a lazy DFA).

        Without lookarounds, the step over s[pos] depends only on the active states, that
        character, the next one (or none) and whether that next one is the last: the
        anchors at pos + 1 (^ $ \\A \\Z \\b \\B) read nothing else. Those make the key.
        """
        chars, matched = self._close([self.start], s, 0, None)
        if matched:
            return True
        steps, anchored, length = self.steps, self.anchored, len(s)
        for pos in range(length):
            key = (chars, s[pos : pos + 2], pos + 2 == length)
            step = steps.get(key)
            if step is None:
                step = self._step(chars, s, pos, self.start, anchored, None)
                if len(steps) >= _REGEX_MAX_STEPS:
                    steps.clear()
                steps[key] = step
            chars, matched = step
            if matched:
                return True
            if anchored and not chars:
                return False
        return False

    def _close(
        self, seeds: list[int], s: str, pos: int, end: int | None
    ) -> tuple[tuple[int, ...], bool]:
        """The character states reachable from `seeds` at `pos` without reading, and
        whether a match (ending at `end`, when given) is reachable."""
        kind, test, out = self.kind, self.test, self.out
        chars: list[int] = []
        stack = seeds
        seen: set[int] = set()
        while stack:
            state = stack.pop()
            if state in seen:
                continue
            seen.add(state)
            k = kind[state]
            if k == _CHAR:
                chars.append(state)
            elif k == _SPLIT:
                stack.extend(out[state])
            elif k == _ASSERT:
                if test[state](s, pos):
                    stack.append(out[state])
            elif end is None or pos == end:
                return tuple(chars), True
        return tuple(chars), False

    def _step(
        self,
        chars: tuple[int, ...],
        s: str,
        pos: int,
        start: int,
        anchored: bool,
        end: int | None,
    ) -> tuple[tuple[int, ...], bool]:
        """From the character states `chars`, read s[pos]: `_close` at pos + 1 (where an
        unanchored search may also begin anew from `start`)."""
        ch, test, out = s[pos], self.test, self.out
        seeds = [out[state] for state in chars if test[state](ch)]
        if not anchored:
            seeds.append(start)
        return self._close(seeds, s, pos + 1, end)

    def _run(self, s: str, start: int, begin: int, anchored: bool, end: int | None) -> bool:
        """Whether the NFA from `start` matches s from `begin` (anywhere after, unless
        anchored), ending at `end` when given. Time: len(s) times the number of states."""
        limit = len(s) if end is None else end
        chars, matched = self._close([start], s, begin, end)
        for pos in range(begin, limit):
            if matched:
                return True
            if anchored and not chars:
                return False
            chars, matched = self._step(chars, s, pos, start, anchored, end)
        return matched


@functools.lru_cache(maxsize=512)
def regex_matcher(pattern: str) -> TextTest | str:
    """A linear-time test with re.search's answer, or why the pattern is refused."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc.msg}"
    except (RecursionError, OverflowError, ValueError, TypeError) as exc:
        return f"invalid regular expression: {exc}"
    if _RE_PARSER is None:  # pragma: no cover
        return lambda s: compiled.search(s) is not None
    try:
        return _Nfa(pattern).search
    except _RegexError as exc:
        return str(exc)
    except RecursionError:
        return "regular expression is too complex"
    except (AttributeError, TypeError, ValueError, IndexError):  # pragma: no cover
        return "regular expression not supported by this version of Python"
