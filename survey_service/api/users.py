"""Account endpoints: users (admins) and API tokens (admins, or users for their own)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from marshmallow import Schema

from survey_service import error_codes
from survey_service.api.blueprint import Blueprint
from survey_service.api.context import authenticated, current_user, db_session, require
from survey_service.errors import Forbidden
from survey_service.models import Role, User
from survey_service.schemas.accounts import (
    CreatedUserSchema,
    NewTokenSchema,
    TokenCreateSchema,
    TokenSchema,
    UserCreateSchema,
    UserSchema,
    UserUpdateSchema,
)
from survey_service.services import accounts

blp = Blueprint("users", __name__, url_prefix="/api/v1", description="Users and API tokens")


def _self_or_admin(user_id: int) -> User:
    """The user whose tokens are managed: oneself, or for an admin a user within its scope."""
    me = current_user()
    if me.id != user_id and me.role != Role.ADMIN.value:
        raise Forbidden(error_codes.AUTH_FORBIDDEN, "Only admins may manage other users' tokens.")
    user = accounts.get_user(db_session(), user_id)
    if me.id != user_id:
        accounts.check_may_manage(me, user)
    return user


def _with_secret(obj: Any, schema: type[Schema], secret: str) -> dict[str, Any]:
    """The object's fields as the schema sees them, plus a secret shown this once."""
    return {name: getattr(obj, name) for name in schema().fields} | {"token": secret}


@blp.route("/users")
class Users(MethodView):
    @require("users.manage")
    @blp.response(200, UserSchema(many=True))
    def get(self) -> Any:
        """List users."""
        return accounts.list_users(db_session())

    @require("users.manage")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, CreatedUserSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a user; the reply carries its first API token, shown this once."""
        user, secret = accounts.create_user(
            db_session(),
            data["name"],
            data["role"],
            data["countries"],
            data.get("password"),
            actor=current_user(),
        )
        location = url_for("users.UserById", user_id=user.id)
        return _with_secret(user, UserSchema, secret), 201, {"Location": location}


@blp.route("/users/me")
class Me(MethodView):
    @authenticated
    @blp.response(200, UserSchema)
    def get(self) -> Any:
        """The authenticated user."""
        return accounts.get_user(db_session(), current_user().id)


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @require("users.manage")
    @blp.response(200, UserSchema)
    def get(self, user_id: int) -> Any:
        """One user."""
        return accounts.get_user(db_session(), user_id)

    @require("users.manage")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, data: dict[str, Any], user_id: int) -> Any:
        """Change a user's role, countries, or deactivate it."""
        user = accounts.get_user(db_session(), user_id)
        return accounts.update_user(db_session(), user, actor=current_user(), **data)


@blp.route("/users/<int:user_id>/tokens")
class Tokens(MethodView):
    @authenticated
    @blp.response(200, TokenSchema(many=True))
    def get(self, user_id: int) -> Any:
        """A user's tokens (never their secrets)."""
        return _self_or_admin(user_id).tokens

    @authenticated
    @blp.arguments(TokenCreateSchema, required=False)
    @blp.response(201, NewTokenSchema)
    def post(self, data: dict[str, Any], user_id: int) -> Any:
        """Issue a new token (the body, with a label, is optional); the secret is in this
        reply only."""
        user = _self_or_admin(user_id)
        token, secret = accounts.issue_token(db_session(), user, data.get("label", ""))
        return _with_secret(token, TokenSchema, secret), 201


@blp.route("/users/<int:user_id>/tokens/<int:token_id>")
class TokenById(MethodView):
    @authenticated
    @blp.response(204)
    def delete(self, user_id: int, token_id: int) -> None:
        """Revoke a token; it stops working at once."""
        user = _self_or_admin(user_id)
        accounts.revoke_token(db_session(), token_id, user)
