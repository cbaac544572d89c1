"""Query modules: every SQL statement of the service, one module per table family."""
