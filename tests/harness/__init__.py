"""The reliability harness: fuzzing, authorization matrix, faults, bad input, migrations."""
