"""Analysis storage: where each answer sits in the typed arrays that aggregates read (pure)."""
