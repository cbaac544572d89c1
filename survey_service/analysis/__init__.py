"""Analysis storage and queries: typed arrays of the answers, and aggregates compiled to SQL."""
