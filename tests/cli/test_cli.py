"""The survey-service command: migrate, load questionnaires, create users, admin, serve."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from survey_service.cli import main
from tests.helpers import REFERENCE, assert_problem, minimal_definition


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SURVEY_DATABASE_URL", database_url)
    monkeypatch.setenv("SURVEY_ENV", "test")
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_migrate_is_idempotent(cli: Any, app: Any) -> None:
    result = cli("migrate")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_create_user_prints_the_token_last(cli: Any, client: FlaskClient) -> None:
    result = cli("create-user", "dilnoza", "--role", "enumerator", "--country", "UZ")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["countries"] == ["UZ"]
    bad = cli("create-user", "x", "--role", "emperor")
    assert bad.exit_code == 1 and "user.invalid_role" in bad.output
    dup = cli("create-user", "dilnoza", "--role", "enumerator")
    assert dup.exit_code == 1 and "user.exists" in dup.output


def test_ensure_admin_only_once(cli: Any, client: FlaskClient) -> None:
    first = cli("ensure-admin")
    token = first.output.strip().splitlines()[-1]
    assert (
        client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).get_json()[
            "role"
        ]
        == "admin"
    )
    second = cli("ensure-admin")
    assert "exists already" in second.output and token not in second.output


def test_load_questionnaires_publishes_only_changes(
    cli: Any, client: FlaskClient, admin: dict, tmp_path: Path
) -> None:
    path = tmp_path / "pilot.json"
    path.write_text(json.dumps(minimal_definition()), encoding="utf-8")
    assert "flood-pilot: created (version 1)" in cli("load-questionnaires", str(path)).output
    assert "flood-pilot: unchanged (version 1)" in cli("load-questionnaires", str(tmp_path)).output
    changed = minimal_definition()
    changed["title"]["en"] = "Flood pilot 2"
    path.write_text(json.dumps(changed), encoding="utf-8")
    assert "flood-pilot: published (version 2)" in cli("load-questionnaires", str(path)).output
    versions = client.get("/api/v1/questionnaires/flood-pilot/versions", headers=admin)
    assert [v["version"] for v in versions.get_json()] == [1, 2]


def test_load_reports_a_broken_definition(cli: Any, tmp_path: Path) -> None:
    broken = minimal_definition()
    broken["questions"][0]["choices"] = "missing"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    result = cli("load-questionnaires", str(path))
    assert result.exit_code == 1
    assert "questions[0].choices: definition.unknown_choice_list" in result.output
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    assert "definition.unreadable" in cli("load-questionnaires", str(path)).output


def test_shipped_questionnaires_load(cli: Any) -> None:
    result = cli("load-questionnaires")
    assert result.exit_code == 0, result.output
    assert "climate-migration-household: created (version 1)" in result.output
    assert REFERENCE.is_file()


def test_serve_answers_over_http(
    database_url: str, client: FlaskClient, admin: dict[str, str], tmp_path: Path
) -> None:
    """`survey-service serve` as `make run` starts it: granian workers, access log to a file."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "access.log"
    env = {
        **os.environ,
        "SURVEY_DATABASE_URL": database_url,
        "SURVEY_ENV": "test",
        "SURVEY_ACCESS_LOG": str(log),
    }
    output_file = tmp_path / "serve.out"
    with output_file.open("wb") as output_handle:
        server = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "survey_service.cli", "serve", "--port", str(port)],
            env=env,
            stdout=output_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers too are stopped at the end, whatever happens
        )
    try:
        health = _get_when_up(f"http://127.0.0.1:{port}/api/v1/health")
        assert health == {"database": "ok", "status": "ok"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/users/me",
            headers={"Authorization": admin["Authorization"]},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - local http
            assert json.load(reply)["role"] == "admin"
    finally:
        _stop_group(server)
    output = output_file.read_text()
    assert f"serving on http://127.0.0.1:{port}/api/v1" in output
    assert "GET /api/v1/health" in log.read_text()


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0"])  # noqa: S104 - a test's own server
def test_serve_refuses_a_port_in_use(database_url: str, host: str) -> None:
    """Another server listens on the port: `serve` says so at once, instead of a backtrace."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        other.bind((host, 0))
        other.listen()
        port = other.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(  # noqa: S603 - our own command, fixed arguments
            [
                sys.executable,
                "-m",
                "survey_service.cli",
                "serve",
                "--host",
                host,
                "--port",
                str(port),
            ],
            env=_serve_env(database_url),
            capture_output=True,
            timeout=30,  # a server that started would never exit by itself
            start_new_session=True,
        )
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.decode().strip() == (
        f"Error: port {port} on {host} is already in use: stop the server there, "
        "or serve on another port (--port or SURVEY_PORT)"
    )
    assert b"serving on" not in result.stdout
    # the refusal comes before granian is imported: Python's start-up is most of this
    assert elapsed < 5, elapsed


def test_a_port_left_in_time_wait_is_free_to_serve(
    database_url: str, client: FlaskClient, tmp_path: Path
) -> None:
    """A server stopped a moment ago leaves its closed connections in TIME_WAIT: the port is
    free to serve again at once, as after a restart. Linux lets a port be bound over TIME_WAIT
    only when both the old and the new socket set SO_REUSEADDR, as servers (granian too) do."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        caller = socket.create_connection(("127.0.0.1", port), timeout=5)
        accepted, _ = listener.accept()
        accepted.close()  # the server's side closes first: its end stays in TIME_WAIT
        caller.recv(1)
        caller.close()
    assert _time_wait_on(port), "the test did not leave a connection in TIME_WAIT"
    output_file = tmp_path / "serve.out"
    with output_file.open("wb") as output_handle:
        server = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "survey_service.cli", "serve", "--port", str(port)],
            env=_serve_env(database_url),
            stdout=output_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        health = _get_when_up(f"http://127.0.0.1:{port}/api/v1/health", server)
        assert health == {"database": "ok", "status": "ok"}
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {output_file.read_text()[:2000]}") from None
    finally:
        # Ctrl-C stops granian at once; its SIGTERM waits for workers_kill_timeout (30 s)
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            server.send_signal(signal.SIGINT)
            server.wait(timeout=10)
        _stop_group(server)
    assert f"serving on http://127.0.0.1:{port}/api/v1" in output_file.read_text()


def _serve_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "SURVEY_DATABASE_URL": database_url, "SURVEY_ENV": "test"}


def _time_wait_on(port: int) -> bool:
    """Whether a TCP connection of local port `port` is in TIME_WAIT (Linux's /proc/net/tcp)."""
    table = Path("/proc/net/tcp")
    if not table.exists():
        pytest.skip("needs Linux's /proc/net/tcp to see TIME_WAIT")
    time_wait = "06"
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == time_wait:
            return True
    return False


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL to whatever is left after 60 s."""
    with contextlib.suppress(ProcessLookupError):  # it exited by itself (a failed start)
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=60)
    # a worker still starting when the signal came may outlive its parent
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _get_when_up(url: str, server: subprocess.Popen[bytes] | None = None) -> Any:
    for _ in range(300):  # up to 30 s: a worker imports the whole app first
        if server is not None and server.poll() is not None:
            raise AssertionError(f"the server exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - local http
                return json.load(reply)
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def _earlier_reference(tmp_path: Path) -> Path:
    """The reference questionnaire as version 1 was shipped: consent asked before the cover page
    (identification), which was skipped on a refusal."""
    definition = json.loads(REFERENCE.read_text(encoding="utf-8"))
    questions = definition["questions"]
    cover = questions.pop([q["name"] for q in questions].index("identification"))
    cover["relevant"] = "${consent} = 'yes'"
    for question in cover["questions"]:
        question.pop("relevant", None)
    questions.insert([q["name"] for q in questions].index("consent") + 1, cover)
    path = tmp_path / "earlier" / REFERENCE.name
    path.parent.mkdir()
    path.write_text(json.dumps(definition), encoding="utf-8")
    return path


def test_a_refusal_is_stored_with_its_cover_page_after_the_reference_is_upgraded(
    cli: Any, client: FlaskClient, tmp_path: Path, make_user: Any
) -> None:
    earlier = cli("load-questionnaires", str(_earlier_reference(tmp_path))).output
    assert "climate-migration-household: created (version 1)" in earlier
    kyrgyz = {"Authorization": make_user("enumerator", ("KG",))["Authorization"]}
    url = "/api/v1/questionnaires/climate-migration-household/responses"
    cover = {
        "country": "KG",
        "region": "KG-C",
        "settlement_type": "village",
        "cluster": "KG-R-0042",
        "household_number": 17,
    }
    answers = {"interview_start": "2026-06-01T10:00:00+06:00", "consent": "no"}
    bare = {"instance_id": "uuid:4c1f4a8e-6f0b-4d43-9a57-0d7c2b1e0001", "answers": answers}
    covered = {
        "instance_id": "uuid:4c1f4a8e-6f0b-4d43-9a57-0d7c2b1e0002",
        "answers": answers | {"identification": cover},
    }
    # the earlier layout: a refusal carries no country, so a country-restricted enumerator
    # cannot record it, and may not send the cover page (skipped on a refusal)
    assert_problem(client.post(url, json=bare, headers=kyrgyz), 403, "response.country_forbidden")
    old = assert_problem(client.post(url, json=covered, headers=kyrgyz), 422, "response.invalid")
    assert [e["path"] for e in old["errors"]] == ["identification"]

    # the shipped questionnaire asks the cover page first: loading it publishes version 2
    shipped = cli("load-questionnaires").output
    assert "climate-migration-household: published (version 2)" in shipped
    stored = client.post(url, json=covered, headers=kyrgyz)
    assert stored.status_code == 201, stored.get_json()
    record = stored.get_json()
    assert record["version"] == 2
    assert record["tags"] == {
        "country": "KG",
        "admin1": "KG-C",
        "hazard_type": None,
        "displacement_status": None,
    }
    # counted in its cluster's refusals, left out of every estimate (it weighs nothing)
    assert record["design"] == {"weight": None, "stratum": "KG-R", "psu": "KG-R-0042"}
    listed = client.get(f"{url}?country=KG", headers=kyrgyz).get_json()
    assert [r["instance_id"] for r in listed["items"]] == [record["instance_id"]]
    # and the cover page is now required, refusal or not
    problem = assert_problem(client.post(url, json=bare, headers=kyrgyz), 422, "response.invalid")
    assert {e["path"] for e in problem["errors"]} == {f"identification.{n}" for n in cover}
