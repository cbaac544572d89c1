"""Response intake on PostgreSQL through `survey-service serve`, against raw psycopg INSERTs."""

from __future__ import annotations

import contextlib
import gc
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from survey_service import synthetic
from survey_service.build import is_compiled
from survey_service.cli import run_migrations
from survey_service.questionnaire.definition import load_definition
from survey_service.validation import ResponseValidator
from survey_service.validation import validator as validation_module

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "questionnaires" / "climate-migration-household.json"
QID = "climate-migration-household"
SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://root@127.0.0.1:5432")
DATABASE = "survey_bench"
CLIENTS = 8
SINGLE = int(os.environ.get("BENCH_SINGLE", "3000"))
BATCHES = int(os.environ.get("BENCH_BATCHES", "20"))
BATCH_SIZE = 500
VALIDATE = int(os.environ.get("BENCH_VALIDATE", "5000"))
# three worker processes on two cores: a third process keeps the cores busy while the others
# wait on PostgreSQL (measured back to back, compiled validator: 2 workers reach 5,636 to
# 6,778 households/s in batches, 85-99% of what their CPU cost allows, 3 reach 6,085 to
# 6,687, 93-98%; single submissions are about the same)
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
ROUNDS = 5  # the machine is shared: every figure is the best (and median) of five rounds


def reset_database() -> str:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{DATABASE}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(url: str, *args: str) -> str:
    env = {**os.environ, "SURVEY_DATABASE_URL": url, "SURVEY_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "survey_service.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


_TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            yield int(entry.name), int(tail.split()[1]), head.split("(", 1)[1]


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server (granian and its workers), PostgreSQL and us."""
    processes = list(_processes())
    family = {server_pid}
    for pid, parent, _ in processes:  # workers are children of the server's main process
        if parent in family:
            family.add(pid)
    own = os.times()
    return {
        "server": sum(_process_cpu(pid) for pid in family),
        "postgresql": sum(_process_cpu(pid) for pid, _, name in processes if name == "postgres"),
        "client": own.user + own.system,
    }


def cpu_per_item(before: dict[str, float], after: dict[str, float], items: int) -> str:
    """Milliseconds of CPU per item by each party, e.g. 'server 1.9, postgresql 0.6, ...',
    and the rate at which they would fill every core of this machine."""
    spent = {name: (after[name] - before[name]) / items * 1000 for name in before}
    parts = [f"{name} {ms:.2f}" for name, ms in spent.items()]
    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / sum(spent.values())
    busy = f"all {cores} cores busy at that cost: {ceiling:,.0f}/s"
    return f"CPU ms per item: {', '.join(parts)}; {busy}"


@contextmanager
def server(url: str, port: int) -> Iterator[int]:
    env = {
        **os.environ,
        "SURVEY_DATABASE_URL": url,
        "SURVEY_LOG_LEVEL": "WARNING",
        "SURVEY_THREADS": str(THREADS),
    }
    command = [sys.executable, "-m", "survey_service.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", str(WORKERS)],
        env={**env, "SURVEY_ACCESS_LOG": ""},  # no per-request log lines
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # stopped as a group: no worker outlives the benchmark
    )
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


class Client:
    """A keep-alive HTTP client for one thread."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.connection.request("POST", path, body=body, headers=self.headers)
        reply = self.connection.getresponse()
        return reply.status, reply.read()


def submissions(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [synthetic.submission(rng) for _ in range(count)]


def encoded(payload: Any) -> bytes:
    """A request body, encoded before the clock starts: clients on other machines would
    encode their own, so the load generator should not take CPU from the server for it."""
    return json.dumps(payload).encode()


def run_clients(
    port: int, token: str, work: list[bytes], path: str
) -> tuple[float, dict[int, int]]:
    """Post every item of `work` from CLIENTS threads; returns (seconds, status counts)."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    shares = [work[i::CLIENTS] for i in range(CLIENTS)]

    def drive(share: list[Any]) -> None:
        client = Client(port, token)
        for item in share:
            status, _ = client.post(path, item)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(drive, shares))
    return time.perf_counter() - start, statuses


def raw_insert_rate(rows: list[tuple[Any, ...]], columns: list[str]) -> float:
    """The same rows inserted with plain psycopg executemany, 500 a transaction."""
    placeholders = ", ".join(["%s"] * len(columns))
    statement = f"INSERT INTO responses_raw ({', '.join(columns)}) VALUES ({placeholders})"
    with psycopg.connect(f"{SERVER}/{DATABASE}") as connection:
        connection.execute("DROP TABLE IF EXISTS responses_raw")
        connection.execute("CREATE TABLE responses_raw (LIKE responses INCLUDING ALL)")
        connection.commit()
        start = time.perf_counter()
        for offset in range(0, len(rows), BATCH_SIZE):
            with connection.cursor() as cursor:
                cursor.executemany(statement, rows[offset : offset + BATCH_SIZE])
            connection.commit()
        return len(rows) / (time.perf_counter() - start)


def stored_rows(limit: int) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Rows as the service stored them, with fresh keys, for the baseline."""
    with psycopg.connect(f"{SERVER}/{DATABASE}") as connection:
        cursor = connection.execute(
            "SELECT * FROM responses ORDER BY id LIMIT %s", (limit,), prepare=False
        )
        columns = [c.name for c in cursor.description or []]
        rows = []
        for row in cursor.fetchall():
            values = dict(zip(columns, row, strict=True))
            values["instance_id"] = str(uuid.uuid4())
            values.pop("id")
            for key in ("answers", "meta", "warnings"):
                values[key] = json.dumps(values[key])
            rows.append(tuple(values.values()))
        return rows, [c for c in columns if c != "id"]


def rates(values: list[float]) -> str:
    """'best X/s (median Y/s)' of several rounds."""
    return f"best {max(values):,.0f}/s (median {statistics.median(values):,.0f}/s)"


def build() -> str:
    """How the validator was installed: compiled by mypyc (setup.py) or plain Python."""
    if is_compiled(validation_module):
        return "compiled by mypyc"
    return "pure Python (SURVEY_PURE_PYTHON)"


def main() -> None:
    print(f"validator and projection: {build()}")
    definition = load_definition(json.loads(REFERENCE.read_text(encoding="utf-8")))
    validator = ResponseValidator(definition)
    samples = [submissions(VALIDATE, seed=1 + i) for i in range(ROUNDS + 1)]
    members = sum(len(s["answers"]["household"]["members"]) for s in samples[1]) / VALIDATE
    # the samples themselves (thousands of households in memory) would make every garbage
    # collection slower than a server holding one request's data: keep them out of the GC
    gc.collect()
    gc.freeze()
    for item in samples[0][:1000]:  # warm-up: the validator's caches fill as in a server
        validator.validate(item["answers"])
    validation_rates, invalid = [], 0
    for sample in samples[1:]:  # a fresh sample each round: no answer is checked twice
        start = time.perf_counter()
        invalid += sum(not validator.validate(s["answers"]).ok for s in sample)
        validation_rates.append(len(sample) / (time.perf_counter() - start))
    gc.unfreeze()
    del samples
    print(
        f"validation on one core: {rates(validation_rates)} households "
        f"({ROUNDS} rounds of {VALIDATE} new households, {members:.1f} members on average, "
        f"{invalid} invalid)"
    )

    url = reset_database()
    run_migrations(url)
    cli(url, "load-questionnaires", str(REFERENCE))
    token = cli(url, "create-user", "bench", "--role", "enumerator").strip().splitlines()[-1]
    port = free_port()
    single_work = [[encoded(s) for s in submissions(SINGLE, seed=10 + i)] for i in range(ROUNDS)]
    batch_work = [
        [
            encoded({"responses": submissions(BATCH_SIZE, seed=100 + r * BATCHES + i)})
            for i in range(BATCHES)
        ]
        for r in range(ROUNDS)
    ]
    gc.collect()
    gc.freeze()  # the client shares the 2 cores: keep its work lists out of the GC too
    single_path = f"/api/v1/questionnaires/{QID}/responses"
    batch_path = f"{single_path}/batch"
    with server(url, port) as server_pid:
        for warm in submissions(4 * WORKERS, seed=9):  # every worker builds its validator
            Client(port, token).post(single_path, encoded(warm))
        single_rates, batch_rates = [], []
        before = cpu_snapshot(server_pid)
        for work in single_work:
            seconds, statuses = run_clients(port, token, work, single_path)
            single_rates.append(len(work) / seconds)
        print(
            f"single submissions, {CLIENTS} clients, {WORKERS} workers x {THREADS} "
            f"threads: {rates(single_rates)} ({ROUNDS} rounds of {SINGLE}; last {statuses})"
        )
        print("  " + cpu_per_item(before, cpu_snapshot(server_pid), ROUNDS * SINGLE))
        before = cpu_snapshot(server_pid)
        for work in batch_work:
            seconds, statuses = run_clients(port, token, work, batch_path)
            batch_rates.append(BATCHES * BATCH_SIZE / seconds)
        print(
            f"batch intake, {BATCH_SIZE} a batch, {CLIENTS} clients: {rates(batch_rates)} "
            f"households ({ROUNDS} rounds of {BATCHES} batches; last {statuses})"
        )
        print("  " + cpu_per_item(before, cpu_snapshot(server_pid), ROUNDS * BATCHES * BATCH_SIZE))
    rows, columns = stored_rows(BATCHES * BATCH_SIZE)
    raw_rates = [raw_insert_rate(rows, columns) for _ in range(ROUNDS)]
    print(
        f"baseline, raw psycopg executemany INSERTs of the same {len(rows)} stored rows, "
        f"{BATCH_SIZE} a transaction, one connection: {rates(raw_rates)} rows"
    )
    best_raw = max(raw_rates)
    print(
        f"ratios to the baseline (best to best): single {max(single_rates) / best_raw:.2f}, "
        f"batch {max(batch_rates) / best_raw:.2f}"
    )


if __name__ == "__main__":
    main()
