"""Writers for published tables and microdata exports (pure, streaming where possible)."""
