"""Fixtures of the harness: `survey-service serve` (granian) on its own port and database."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from survey_service import create_app
from survey_service.cli import run_migrations
from survey_service.config import load_settings
from survey_service.services.accounts import create_user

#: limits of the shared live server: small, so that refusing an oversized body costs little
LIVE_SETTINGS = {"max_content_length": 1 << 20, "max_upload_length": 2 << 20, "workers": 2}


@dataclass(frozen=True)
class LiveServer:
    """A `survey-service serve` process: its address, database and an admin's token."""

    host: str
    port: int
    database_url: str
    admin: dict[str, str]  # the Authorization header of an admin
    process: subprocess.Popen[bytes]
    log: Path

    def connection(self, timeout: float = 30) -> http.client.HTTPConnection:
        """A new keep-alive HTTP/1.1 connection to the server."""
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def make_user(self, role: str, countries: tuple[str, ...] = ()) -> dict[str, str]:
        """A new account of `role`: the Authorization header of its token."""
        app = create_app({"database_url": self.database_url})
        try:
            with app.extensions["survey"]["sessions"]() as session:
                user, secret = create_user(session, f"{role}{time.monotonic_ns()}", role, countries)
                session.commit()
        finally:
            app.extensions["survey"]["engine"].dispose()
        return {"Authorization": f"Bearer {secret}"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _wait_until_serving(server: LiveServer, workers: int, deadline: float) -> None:
    # every worker started: granian does not stop while one is still starting
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited: {server.log.read_text()[-2000:]}")
        if server.log.read_text().count("Started worker-") < workers:
            time.sleep(0.05)
            continue
        connection = server.connection(timeout=1)
        try:
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.05)
    raise RuntimeError(f"the server did not answer in time: {server.log.read_text()[-2000:]}")


@contextlib.contextmanager
def serve_live(folder: Path, settings: Mapping[str, Any] | None = None) -> Iterator[LiveServer]:
    """Run `survey-service serve` on a free port with a new SQLite database in `folder`
    (SURVEY_<NAME> for each of `settings`), until the block ends."""
    database_url = f"sqlite:///{folder / 'live.db'}"
    run_migrations(database_url)
    app = create_app({"database_url": database_url})
    with app.extensions["survey"]["sessions"]() as session:
        _, secret = create_user(session, "admin", "admin")
        session.commit()
    app.extensions["survey"]["engine"].dispose()
    port = _free_port()
    env = {
        **os.environ,
        "SURVEY_DATABASE_URL": database_url,
        "SURVEY_ATTACHMENTS_DIR": str(folder / "attachments"),
        "SURVEY_ACCESS_LOG": "",
        "SURVEY_LOG_LEVEL": "info",  # (with "warning", granian ignored SIGTERM)
        **{f"SURVEY_{name.upper()}": str(value) for name, value in (settings or {}).items()},
    }
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command, no shell
            [sys.executable, "-m", "survey_service.cli", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers too are stopped at the end, whatever happens
        )
    server = LiveServer(
        "127.0.0.1", port, database_url, {"Authorization": f"Bearer {secret}"}, process, log
    )
    try:
        workers = int((settings or {}).get("workers", load_settings().workers))
        _wait_until_serving(server, workers, time.monotonic() + 60)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the session (limits: LIVE_SETTINGS); tests add their own users and data."""
    with serve_live(tmp_path_factory.mktemp("live"), LIVE_SETTINGS) as server:
        yield server
