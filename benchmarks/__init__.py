"""Performance measurements with same-run baselines; run all with `python -m benchmarks`."""
