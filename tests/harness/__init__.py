"""The reliability harness: schema fuzzing, the authorization matrix, faults, bad input, migrations."""
