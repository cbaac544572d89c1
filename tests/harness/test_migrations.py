"""Migrations: from empty to head, down to base and up again, one revision at a time, with data
present, on the suite's database kind; the service works afterwards and models do not drift.

Each test gets a fresh database (a temporary SQLite file, or a PostgreSQL database created on
the server of SURVEY_TEST_DATABASE_URL and dropped afterwards), never the suite's own.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, make_url, text

from alembic import command
from survey_service import create_app, synthetic
from survey_service.cli import alembic_config
from survey_service.db import Base
from survey_service.services.accounts import create_user
from survey_service.services.questionnaires import load_file
from tests.helpers import REFERENCE

QID = "climate-migration-household"


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    suite_url = os.environ.get("SURVEY_TEST_DATABASE_URL")
    if not suite_url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    maintenance = make_url(suite_url).set(database="postgres")
    server = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(suite_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _revisions(url: str) -> list[str]:
    """Every revision, base first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _current(url: str) -> str | None:
    engine = create_engine(url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return revision


def _use_the_service(url: str, seed: int) -> dict[str, Any]:
    """What a deployment does on day one: accounts and tokens, a published questionnaire,
    households (single and batch), a weight set; then it reads them back."""
    app = create_app({"env": "test", "database_url": url})
    try:
        with app.extensions["survey"]["sessions"]() as session:
            load_file(session, REFERENCE)
            _, secret = create_user(session, f"admin{seed}", "admin", (), None)
            create_user(session, f"enumerator{seed}", "enumerator", ("KG",), "a long passphrase")
            session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        rng = random.Random(seed)
        households = [synthetic.submission(rng) for _ in range(12)]
        base = f"/api/v1/questionnaires/{QID}"
        single = client.post(f"{base}/responses", json=households[0], headers=headers)
        assert single.status_code == 201, single.get_json()
        batch = client.post(
            f"{base}/responses/batch", json={"responses": households[1:]}, headers=headers
        )
        assert batch.status_code == 200, batch.get_json()
        assert batch.get_json()["summary"] == {"201": 11}
        rows = [f"{h['instance_id']},{100 + i},s{i % 2},p{i % 4}" for i, h in enumerate(households)]
        weights = client.put(
            f"{base}/weights/final",
            data="instance_id,weight,stratum,psu\n" + "\n".join(rows) + "\n",
            content_type="text/csv",
            headers=headers,
        )
        assert weights.status_code == 201, weights.get_json()
        listing = client.get(f"{base}/responses?limit=100", headers=headers)
        assert listing.status_code == 200
        one = client.get(f"/api/v1/responses/{households[3]['instance_id']}", headers=headers)
        assert one.status_code == 200, one.get_json()
        table = client.get(
            f"{base}/aggregates?stat=mean&variable=hh_size&weights=final&suppression=on",
            headers=headers,
        )
        assert table.status_code == 200, table.get_json()
        users = client.get("/api/v1/users", headers=headers)
        assert users.status_code == 200
        return {
            "responses": len(listing.get_json()["items"]),
            "users": sorted(u["name"] for u in users.get_json()),
        }
    finally:
        app.extensions["survey"]["engine"].dispose()


def _drift(url: str) -> list[Any]:
    """alembic check: the differences between the migrated schema and the models."""
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    return differences


def test_upgrade_downgrade_upgrade_with_data(fresh_url: str) -> None:
    config = alembic_config(fresh_url)
    command.upgrade(config, "head")
    first = _use_the_service(fresh_url, seed=1)
    assert first["responses"] == 12
    command.downgrade(config, "base")
    engine = create_engine(fresh_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(config, "head")
    again = _use_the_service(fresh_url, seed=2)
    assert again == {"responses": 12, "users": ["admin2", "enumerator2"]}
    assert _drift(fresh_url) == []


def test_each_revision_down_and_up_with_data(fresh_url: str) -> None:
    """Each downgrade runs with the data of a working service present (a downgrade may drop
    what its revision added, but must not fail), then each upgrade, one step at a time."""
    config = alembic_config(fresh_url)
    revisions = _revisions(fresh_url)
    command.upgrade(config, "head")
    _use_the_service(fresh_url, seed=1)
    for expected in [*reversed(revisions[:-1]), None]:
        command.downgrade(config, "-1")
        assert _current(fresh_url) == expected
    for expected in revisions:
        command.upgrade(config, "+1")
        assert _current(fresh_url) == expected
    assert _use_the_service(fresh_url, seed=2)["responses"] == 12
    assert _drift(fresh_url) == []
