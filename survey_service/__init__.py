"""Survey service: questionnaires, validated household responses and aggregates over HTTP."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from survey_service.config import Settings, load_settings

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """Build the WSGI app; `config` overrides settings (a mapping) or replaces them."""
    from survey_service.api import (
        aggregates,
        form_media,
        health,
        questionnaires,
        responses,
        users,
        weights,
    )
    from survey_service.api.blueprint import Api
    from survey_service.api.context import init_request_session
    from survey_service.api.json import JSONProvider
    from survey_service.api.problems import register_problem_handlers
    from survey_service.api.transport import init_transport
    from survey_service.db import make_engine, make_session_factory
    from survey_service.openrosa import views as openrosa_views

    settings = config if isinstance(config, Settings) else load_settings(config)
    logging.basicConfig(level=settings.log_level.upper())
    app = Flask(__name__)
    init_transport(app)  # every body within its limit, chunked or not
    app.json = JSONProvider(app)  # orjson: UTF-8 throughout, so labels in Cyrillic stay readable
    app.config.update(
        SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        API_TITLE="Survey service",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Household surveys on climate-induced migration: questionnaires, "
                "validated responses, design-based aggregates. Errors are RFC 9457 "
                "application/problem+json with a stable `code`."
            },
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    engine = make_engine(settings.resolved_database_url())
    app.extensions["survey"] = {
        "settings": settings,
        "engine": engine,
        "sessions": make_session_factory(engine),
    }
    api = Api(app)
    api.register_converters(app)  # before any blueprint's route is added
    blueprints = (health, questionnaires, form_media, responses, users, weights, aggregates)
    for module in blueprints:
        api.register_blueprint(module.blp)
    app.register_blueprint(openrosa_views.bp)
    questionnaires.register_definition_schema(api.spec)
    init_request_session(app)
    # after Api(app), so these replace flask-smorest's own (non problem+json) handlers
    register_problem_handlers(app)
    if settings.trusted_proxies:
        # outermost, so every URL the app builds (formList, manifest) is the public one
        proxies = settings.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign] # Flask documents this wrapping
            app.wsgi_app,
            x_for=proxies,
            x_proto=proxies,
            x_host=proxies,
            x_port=proxies,
            x_prefix=proxies,
        )
    return app
