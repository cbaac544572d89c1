"""Liveness and database reachability."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from survey_service.api.blueprint import Blueprint
from survey_service.api.context import db_session

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Service health")


class HealthSchema(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])  # public: load balancers and monitors carry no token
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="The database is unreachable.")
    def get(self) -> Any:
        """Whether the service and its database answer."""
        try:
            db_session().execute(text("SELECT 1"))
        except SQLAlchemyError:
            return {"status": "degraded", "database": "unreachable"}, 503
        return {"status": "ok", "database": "ok"}
