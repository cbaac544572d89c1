"""The app of each `survey-service serve` worker process, built from the environment."""

from __future__ import annotations

import gc

from flask import Flask

from survey_service import create_app


def worker_app() -> Flask:
    """A new app; its long-lived objects are then left out of garbage collection."""
    app = create_app()
    # the app, its schemas and (later) compiled validators live as long as the worker:
    # freezing them keeps every collection from rescanning them
    gc.collect()
    gc.freeze()
    # A batch of 500 households keeps some 100,000 containers alive until its reply. With
    # the default thresholds (700, 10, 10) they reach the oldest generation within the
    # request, and full collections follow (5 per 10 batches, 50 middle ones). Collecting
    # the middle generation ten times less often halves the collector's share of batch
    # intake (measured: 22-29 to 12-17 µs a household); cycles are still collected within
    # some 70,000 allocations.
    gc.set_threshold(700, 100, 10)
    return app
