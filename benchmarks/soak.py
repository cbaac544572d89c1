"""Soak: mixed traffic for minutes against `survey-service serve` on PostgreSQL; errors, latency
and each worker's memory at start and end (`python -m benchmarks soak --minutes 10`)."""

# The traffic, from CLIENTS threads on keep-alive connections (each renewed after RECONNECT
# requests, so that every worker gets its share): single submissions, batches of
# BATCH households, response listings, single responses (households stored earlier in the
# run), and aggregates (mean household size by country). Every reply is checked: any status
# other than the expected one is an error. The database `survey_soak` is created afresh.
#
# Memory: the resident set of every worker process, after a warm-up in which each kind of
# request has run (the caches and pools are filled then), and at the end; the target is less
# than 10% growth. The baseline for latency is the run's own first minute: the last minute
# is printed beside it, so that a slowdown as the tables grow is visible.

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from benchmarks.intake import REFERENCE, SERVER, THREADS, WORKERS, cli, free_port, server
from survey_service import synthetic
from survey_service.cli import run_migrations

DATABASE = "survey_soak"
QID = "climate-migration-household"
CLIENTS = 4
BATCH = 50
RECONNECT = 100  # requests on one connection before a client opens a new one
WARM_UP = 20.0  # seconds before the first memory reading
#: the share of each kind of request, and the status it must get
MIX = {"single": 40, "batch": 10, "list": 20, "get": 20, "aggregate": 10}
EXPECTED = {"single": 201, "batch": 200, "list": 200, "get": 200, "aggregate": 200}


def reset_database() -> str:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{DATABASE}"


def workers_of(server_pid: int) -> list[int]:
    """The worker processes of the server (children of granian's main process)."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Record:
    """Every request's kind, start time and latency; errors with their replies."""

    latencies: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, started: float, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append((started, seconds))


def _request(kind: str, rng: random.Random, record: Record) -> tuple[str, str, bytes | None]:
    base = f"/api/v1/questionnaires/{QID}"
    if kind == "single":
        return "POST", f"{base}/responses", json.dumps(synthetic.submission(rng)).encode()
    if kind == "batch":
        items = [synthetic.submission(rng) for _ in range(BATCH)]
        return "POST", f"{base}/responses/batch", json.dumps({"responses": items}).encode()
    if kind == "list":
        return "GET", f"{base}/responses?limit=50", None
    if kind == "get":
        with record.lock:
            instance_id = rng.choice(record.stored) if record.stored else None
        if instance_id is not None:
            return "GET", f"/api/v1/responses/{instance_id}", None
        return "GET", f"{base}/responses?limit=1", None
    return "GET", f"{base}/aggregates?stat=mean&variable=hh_size&by=country", None


def client(port: int, token: str, seed: int, until: float, record: Record) -> None:
    rng = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for turn in itertools.count(1):
            if time.monotonic() >= until:
                break
            if turn % RECONNECT == 0:  # clients come and go: new connections reach every worker
                connection.close()
            kind = rng.choices(kinds, weights)[0]
            method, path, body = _request(kind, rng, record)
            started = time.monotonic()
            try:
                connection.request(method, path, body=body, headers=headers)
                reply = connection.getresponse()
                answer = reply.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                with record.lock:
                    record.errors.append(f"{kind}: no reply ({exc!r})")
                time.sleep(0.1)
                continue
            record.add(kind, started, time.monotonic() - started)
            if reply.status != EXPECTED[kind]:
                with record.lock:
                    record.errors.append(f"{kind} {path}: {reply.status} {answer[:200]!r}")
            elif kind == "single":
                with record.lock:
                    record.stored.append(json.loads(answer)["instance_id"])
            elif kind == "batch":
                results = json.loads(answer)["results"]
                if any(r["status"] != 201 for r in results):
                    with record.lock:
                        record.errors.append(f"batch: not every item stored {answer[:200]!r}")
    finally:
        connection.close()


def wait_until_ready(port: int, seconds: float = 60.0) -> None:
    """Until the server answers /health (its port opens before its workers are ready)."""
    deadline = time.monotonic() + seconds
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
        finally:
            connection.close()
        time.sleep(0.2)


def latency(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"best {ordered[0] * 1000:.1f}, median {statistics.median(ordered) * 1000:.1f}, "
        f"p99 {p99 * 1000:.1f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks soak")
    parser.add_argument("--minutes", type=float, default=10.0, help="duration (default 10)")
    minutes = parser.parse_args(argv or []).minutes
    url = reset_database()
    run_migrations(url)
    cli(url, "load-questionnaires", str(REFERENCE))
    token = cli(url, "create-user", "soak", "--role", "admin").strip().splitlines()[-1]
    port, record = free_port(), Record()
    with server(url, port) as server_pid:
        wait_until_ready(port)
        start = time.monotonic()
        until = start + minutes * 60
        clients = [
            threading.Thread(target=client, args=(port, token, seed, until, record))
            for seed in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        time.sleep(min(WARM_UP, minutes * 60 / 4))
        workers = workers_of(server_pid)
        first = {pid: rss_mb(pid) for pid in workers}
        for thread in clients:
            thread.join()
        last = {pid: rss_mb(pid) for pid in workers_of(server_pid)}
        elapsed = time.monotonic() - start
    total = sum(len(v) for v in record.latencies.values())
    print(
        f"{minutes:g} minutes of mixed traffic, {CLIENTS} clients, {WORKERS} workers x "
        f"{THREADS} threads: {total:,} requests ({total / elapsed:,.0f}/s), "
        f"{len(record.errors)} errors"
    )
    for error in record.errors[:10]:
        print(f"  error: {error}")
    for kind in MIX:
        timings = record.latencies.get(kind, [])
        if not timings:
            continue
        early = [s for t, s in timings if t < start + 60]
        late = [s for t, s in timings if t >= until - 60]
        print(f"  {kind}: {len(timings):,} requests; {latency([s for _, s in timings])}")
        if early and late and minutes >= 2:
            print(f"    first minute {latency(early)}; last minute {latency(late)}")
    with psycopg.connect(f"{SERVER}/{DATABASE}") as connection:
        stored = connection.execute("SELECT count(*) FROM responses").fetchone()
    print(f"  households stored: {stored[0] if stored else 0:,}")
    for pid, before in first.items():
        after = last.get(pid)
        if after is None:
            print(f"  worker {pid}: {before:.0f} MB after the warm-up, gone at the end (respawned)")
            continue
        growth = (after - before) / before * 100
        print(
            f"  worker {pid}: RSS {before:.0f} MB after the warm-up, {after:.0f} MB at the end "
            f"({growth:+.1f}%)"
        )
    for pid in set(last) - set(first):
        print(f"  worker {pid}: new during the run (respawned), {last[pid]:.0f} MB at the end")
