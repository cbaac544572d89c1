"""Expression evaluation and definition checking, against hand-written Python as the baseline."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from survey_service.expressions import Value, parse
from survey_service.questionnaire.definition import check_definition

REFERENCE = Path(__file__).resolve().parent.parent / "questionnaires"


class Context:
    """A flat context: answers by name, `.` bound to one value."""

    def __init__(self, answers: dict[str, Value], current: Value) -> None:
        self.answers = answers
        self.value = current

    def resolve(self, name: str) -> Value:
        return self.answers.get(name)

    def current(self) -> Value:
        return self.value

    def position(self) -> int:
        return 1

    def choice_label(self, question: str, value: str) -> str:
        return value

    def choice_property(self, name: str) -> Value:
        return None

    def now(self) -> datetime:
        return datetime.now(UTC)


def rate(function: Callable[[], Any], seconds: float = 0.5) -> float:
    """Calls per second of `function`, measured for about `seconds`."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(1000):
            function()
        count += 1000
    return count / elapsed


CASES: list[tuple[str, dict[str, Value], Value, Callable[[dict[str, Value], Value], bool]]] = [
    (". >= 0 and . <= 120", {}, 42, lambda a, v: 0 <= v <= 120),
    ("${consent} = 'yes'", {"consent": "yes"}, None, lambda a, v: a["consent"] == "yes"),
    (
        "selected(${hazards}, 'MH0600') and ${year} >= 2014",
        {"hazards": "MH0600 MH0401", "year": 2019},
        None,
        lambda a, v: "MH0600" in str(a["hazards"]).split() and a["year"] >= 2014,
    ),
]


def main() -> None:
    print(f"{'expression':55} {'evals/s':>12} {'python/s':>12} {'ratio':>7}")
    for source, answers, current, baseline in CASES:
        expression = parse(source)
        context = Context(answers, current)
        ours = rate(lambda e=expression, c=context: e.evaluate_bool(c))
        theirs = rate(lambda b=baseline, a=answers, v=current: b(a, v))
        print(f"{source:55} {ours:12,.0f} {theirs:12,.0f} {theirs / ours:6.1f}x")
    for path in sorted(REFERENCE.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        start = time.perf_counter()
        problems = check_definition(data)
        elapsed = time.perf_counter() - start
        print(f"check_definition({path.name}): {elapsed * 1000:.1f} ms, {len(problems)} problems")
