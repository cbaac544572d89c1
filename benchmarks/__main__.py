"""Run every benchmark, or those named on the command line (`python -m benchmarks expressions`)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("expressions", "intake", "estimation", "aggregates")


def main(argv: list[str]) -> None:
    for name in argv or BENCHMARKS:
        if name not in BENCHMARKS:
            sys.exit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
        print(f"== {name}")
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
