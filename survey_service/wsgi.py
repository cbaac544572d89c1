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
    return app
