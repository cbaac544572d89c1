"""The reliability harness: schema fuzzing, authorization, faults, bad input, migrations."""
