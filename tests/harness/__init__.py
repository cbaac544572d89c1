"""The reliability harness: schema fuzzing, authorization matrix, faults, bad input, migrations."""
