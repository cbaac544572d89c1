"""Run every benchmark, or those named on the command line (`python -m benchmarks expressions`);
the soak runs only when named, its options after it (`python -m benchmarks soak --minutes 10`)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("expressions", "intake", "estimation", "aggregates")
ON_DEMAND = ("soak",)  # minutes long: not part of `make bench`


def main(argv: list[str]) -> None:
    if argv and argv[0] in ON_DEMAND:
        print(f"== {argv[0]}")
        importlib.import_module(f"benchmarks.{argv[0]}").main(argv[1:])
        return
    for name in argv or BENCHMARKS:
        if name not in BENCHMARKS:
            known = ", ".join(BENCHMARKS + ON_DEMAND)
            sys.exit(f"unknown benchmark {name!r}; choose from {known}")
        print(f"== {name}")
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
