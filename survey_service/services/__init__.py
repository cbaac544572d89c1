"""Use cases: functions that take a Session, change the model and never commit."""
