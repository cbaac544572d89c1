"""Against the real server (granian): bodies over their limit, chunked or not, keep-alive
connections after a refusal, and SQLite serving concurrent clients."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.harness.conftest import LIVE_SETTINGS, LiveServer
from tests.helpers import body, household, minimal_definition

Q = "/api/v1/questionnaires/flood-pilot"


def call(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    data: bytes | Iterable[bytes] | None = None,
) -> tuple[http.client.HTTPResponse, Any]:
    """Send one request (chunked when `data` is an iterable of chunks); the reply and its
    decoded JSON (None for an empty body)."""
    connection.request(method, path, body=data, headers=headers)
    reply = connection.getresponse()
    content = reply.read()
    return reply, json.loads(content) if content else None


def send_raw(
    server: LiveServer, path: str, headers: dict[str, str], data: bytes
) -> tuple[http.client.HTTPResponse, bytes]:
    """POST `data` with its Content-Length on a new connection, going on to read the reply
    when the server stops reading and closes (as it may for a body it will not read)."""
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(data)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection((server.host, server.port), timeout=30) as raw:
        raw.sendall(head.encode())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for chunk in chunks(data):
                raw.sendall(chunk)
        reply = http.client.HTTPResponse(raw)
        reply.begin()
        content = reply.read()
        if reply.getheader("Connection") == "close":
            assert raw.recv(1) == b""  # and the server did close it
        return reply, content


def assert_serves(connection: http.client.HTTPConnection) -> None:
    """The connection (or, once the server closed it, a new one) serves a request."""
    health, _ = call(connection, "GET", "/api/v1/health", {})
    assert health.status == 200


def database_file(server: LiveServer) -> str:
    return server.database_url.removeprefix("sqlite:///")


def chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture(scope="module")
def published(live_server: LiveServer) -> dict[str, str]:
    """The pilot questionnaire published, with three households: their instance ids."""
    connection = live_server.connection()
    headers = {**live_server.admin, "Content-Type": "application/json"}
    created, _ = call(
        connection,
        "POST",
        "/api/v1/questionnaires",
        headers,
        json.dumps(minimal_definition()).encode(),
    )
    assert created.status == 201
    assert call(connection, "POST", f"{Q}/publish", live_server.admin)[0].status == 201
    ids = {}
    for country in ("KG", "TJ", "KG"):
        payload = body(household(country=country))
        reply, _ = call(connection, "POST", f"{Q}/responses", headers, json.dumps(payload).encode())
        assert reply.status == 201
        ids[payload["instance_id"]] = country
    connection.close()
    return ids


def truncated_weights(ids: list[str], limit: int) -> bytes:
    """A valid weight CSV over `limit` bytes, blank lines in the middle, such that cut at
    `limit` it is still a valid CSV: its last weight 1234567890 read as 1234."""
    head = "instance_id,weight\n" + "".join(f"{i},1.5\n" for i in ids[:-1])
    last = f"{ids[-1]},1234"
    padding = "\n" * (limit - len(head) - len(last))
    return (head + padding + last + "567890\n").encode()


def test_chunked_weights_over_the_upload_limit_are_refused_not_truncated(
    live_server: LiveServer, published: dict[str, str]
) -> None:
    data = truncated_weights(list(published), LIVE_SETTINGS["max_upload_length"])
    headers = {**live_server.admin, "Content-Type": "text/csv"}
    connection = live_server.connection()
    reply, problem = call(connection, "PUT", f"{Q}/weights/final", headers, chunks(data))
    assert reply.status == 413, problem
    assert reply.getheader("Content-Type") == "application/problem+json"
    assert problem["code"] == "request.too_large"
    missing, _ = call(connection, "GET", f"{Q}/weights/final", live_server.admin)
    assert missing.status == 404  # nothing stored
    # the same file within the limit (without its padding) is taken whole
    whole = data.replace(b"\n" * 1000, b"")
    stored, summary = call(connection, "PUT", f"{Q}/weights/final", headers, chunks(whole))
    assert stored.status == 201, summary
    connection.close()
    with contextlib.closing(sqlite3.connect(database_file(live_server))) as db:
        weights = [w for (w,) in db.execute("SELECT weight FROM weight_set_entries")]
    assert sorted(weights) == [1.5, 1.5, 1234567890]


@pytest.mark.parametrize("chunked", [True, False])
def test_a_json_body_over_the_limit_is_a_413_chunked_or_not(
    live_server: LiveServer, published: dict[str, str], chunked: bool
) -> None:
    payload = body(household(), meta={"comment": "x" * LIVE_SETTINGS["max_content_length"]})
    data = json.dumps(payload).encode()
    headers = {**live_server.admin, "Content-Type": "application/json"}
    connection = live_server.connection()
    if chunked:
        reply, problem = call(connection, "POST", f"{Q}/responses", headers, chunks(data))
    else:
        reply, content = send_raw(live_server, f"{Q}/responses", headers, data)
        problem = json.loads(content)
    assert reply.status == 413, problem
    assert problem["code"] == "request.too_large"
    found, _ = call(
        connection, "GET", f"/api/v1/responses/{payload['instance_id']}", live_server.admin
    )
    assert found.status == 404
    connection.close()


def test_a_connection_serves_again_after_refused_posts_with_bodies(
    live_server: LiveServer, published: dict[str, str]
) -> None:
    enumerator = live_server.make_user("enumerator")
    definition = json.dumps(minimal_definition("other", padding="x" * 200_000)).encode()
    oversized = b"x" * (LIVE_SETTINGS["max_content_length"] + 1)
    json_type = {"Content-Type": "application/json"}
    refusals = [
        ({**json_type}, definition, 401),  # no credentials
        ({**json_type, **enumerator}, definition, 403),  # a role that may not
        ({**json_type, **live_server.admin}, oversized, 413),  # over the limit
        ({**json_type, "Authorization": "Bearer nope"}, chunks(definition), 401),  # chunked
    ]
    connection = live_server.connection()
    for headers, data, status in refusals * 3:
        reply, problem = call(connection, "POST", "/api/v1/questionnaires", headers, data)
        assert reply.status == status, problem
        assert_serves(connection)
    connection.close()


def test_a_refused_body_too_large_to_drain_closes_the_connection_cleanly(
    live_server: LiveServer,
) -> None:
    """The server stops reading: a client still sending sees its write fail, and then reads
    the 413, which says that the connection closes; a new connection is served."""
    data = b"x" * (3 * LIVE_SETTINGS["max_content_length"])  # more than the server drains
    headers = {"Content-Type": "application/json", **live_server.admin}
    reply, content = send_raw(live_server, "/api/v1/questionnaires", headers, data)
    assert reply.status == 413
    assert reply.getheader("Connection") == "close"
    assert json.loads(content)["code"] == "request.too_large"
    connection = live_server.connection()
    assert_serves(connection)
    connection.close()


def test_sixteen_clients_share_a_token_whose_last_use_is_stale(
    live_server: LiveServer, published: dict[str, str]
) -> None:
    researcher = live_server.make_user("researcher")
    database = database_file(live_server)

    def read(_: int) -> int:
        connection = live_server.connection()
        reply, _ = call(connection, "GET", f"{Q}/responses?limit=5", researcher)
        connection.close()
        return reply.status

    for _ in range(3):
        with contextlib.closing(sqlite3.connect(database)) as db, db:  # a token last used a day ago
            db.execute("UPDATE api_tokens SET last_used_at = datetime('now', '-1 day')")
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(read, range(16)))
        assert statuses == [200] * 16
