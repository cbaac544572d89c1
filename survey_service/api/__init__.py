"""HTTP API under /api/v1: flask-smorest blueprints, problem+json errors, bearer auth."""
