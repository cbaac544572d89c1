"""Unit tests of the aggregates package: its pieces that need no database."""
