"""Fixtures: the database of SURVEY_TEST_DATABASE_URL (default SQLite), built by migrations."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.orm import Session

import tests
from survey_service import create_app
from survey_service.cli import run_migrations
from survey_service.db import Base
from tests.helpers import REFERENCE

# CI replays a fixed set of examples, so a submission never fails on a newly drawn one;
# local runs keep exploring new examples each time
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def _database_url(tmp_dir: Path) -> str:
    return os.environ.get("SURVEY_TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    url = os.environ.get("SURVEY_TEST_DATABASE_URL") or "sqlite (temporary file)"
    return [f"database: {url}", f"validator and projection: {tests.BUILD}"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _database_url(tmp_path_factory.mktemp("db"))
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine

        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    run_migrations(url)
    return url


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    flask_app = create_app({"env": "test", "database_url": database_url})
    yield flask_app
    flask_app.extensions["survey"]["engine"].dispose()


def empty_tables(app: Flask) -> None:
    """Empty every table of the app's database."""
    engine = app.extensions["survey"]["engine"]
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table after each test that touched the database."""
    # every database test depends on database_url; its engine is the app's
    uses_database = "database_url" in request.fixturenames
    app: Flask | None = request.getfixturevalue("app") if uses_database else None
    yield
    if app is not None:
        empty_tables(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    factory = app.extensions["survey"]["sessions"]
    with factory() as db_session:
        yield db_session


@pytest.fixture
def make_user(app: Flask) -> Callable[..., dict[str, str]]:
    """Create a user directly; returns its name and the Authorization header for its token."""
    from survey_service.services.accounts import create_user

    counter = iter(range(1, 10_000))

    def make(
        role: str = "admin",
        countries: tuple[str, ...] = (),
        name: str | None = None,
        password: str | None = None,
    ) -> dict[str, str]:
        factory = app.extensions["survey"]["sessions"]
        with factory() as db_session:
            user, secret = create_user(
                db_session, name or f"{role}{next(counter)}", role, countries, password
            )
            db_session.commit()
            return {"Authorization": f"Bearer {secret}", "name": user.name, "id": str(user.id)}

    return make


@pytest.fixture
def admin(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return {"Authorization": make_user("admin")["Authorization"]}


@pytest.fixture
def researcher(make_user: Callable[..., dict[str, str]]) -> dict[str, str]:
    return {"Authorization": make_user("researcher")["Authorization"]}


@pytest.fixture(scope="session")
def reference_definition() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return data
