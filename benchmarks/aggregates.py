"""Aggregates over 10k, 100k and 1M households: the endpoint against raw SQL and against svy."""

# The data: synthetic households of the reference questionnaire (survey_service.synthetic: five
# countries, urban and rural strata, 400 PSUs a stratum, rosters of 1-10 members), validated
# and projected by the service's own code, then loaded with COPY. Final weights vary by PSU
# (80 to 400, as weights after fieldwork would), written to the weight column the design
# binds. Each size is a questionnaire of its own (bench-10k, bench-100k, bench-1m) in the
# database `survey_agg_bench`; households are generated once and kept between runs (about
# five minutes for 1.11 million of them on two cores).
#
# Measured, best and median of ROUNDS runs each:
# - the endpoint: GET .../aggregates?stat=mean&variable=hh_size&by=country,hazard_type,
#   displacement_status over HTTP against `survey-service serve`, end to end;
# - the raw SQL GROUP BY (domain, stratum, PSU) of the same sums, by hand, through psycopg,
#   with the same session settings the service uses (work_mem, no JIT);
# - svy computing the same table from a polars DataFrame already in memory (loading it is
#   not counted); its estimates and standard errors are also compared with the endpoint's.

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import statistics
import tempfile
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.intake import REFERENCE, cli, free_port, server
from survey_service import synthetic
from survey_service.analysis.layout import AnalysisLayout, Projector
from survey_service.cli import run_migrations
from survey_service.db import AGGREGATE_SETTINGS, pg_array_literal
from survey_service.jsonutil import content_digest, dumps_text
from survey_service.questionnaire.definition import load_definition
from survey_service.validation import ResponseValidator

SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://root@127.0.0.1:5432")
DATABASE = "survey_agg_bench"
SIZES = tuple(
    int(size) for size in os.environ.get("BENCH_AGG_SIZES", "10000,100000,1000000").split(",")
)
ROUNDS = 3
GENERATOR = "demo-v1"  # bump when the generated data changes, to regenerate
CHUNK = 5000
BY = ("country", "hazard_type", "displacement_status")
VARIABLE = "hh_size"

_RESPONSE_COLUMNS = (
    "id", "instance_id", "questionnaire_id", "version", "version_id", "revision",
    "content_hash", "country", "admin1", "hazard_type", "displacement_status", "weight",
    "stratum", "psu", "review_state", "language", "answers", "meta", "warnings",
    "collected_at", "received_at", "updated_at", "submitted_by", "num", "cat",
)  # fmt: skip


def qid_of(size: int) -> str:
    return f"bench-{size // 1000}k" if size < 1_000_000 else f"bench-{size // 1_000_000}m"


def psu_weight(psu: str) -> float:
    """A final weight per PSU: 80 to 400, fixed by the PSU's code."""
    return 80.0 + (zlib.crc32(psu.encode()) % 3201) / 10.0


# --------------------------------------------------------------------------- generation

_WORKER: dict[str, Any] = {}


def _init_worker(definition: dict[str, Any], layout: dict[str, Any]) -> None:
    loaded = load_definition(definition)
    _WORKER["validator"] = ResponseValidator(loaded)
    _WORKER["projector"] = Projector(AnalysisLayout.from_json(layout), loaded)


def _generate(job: tuple[int, int, str, int, int, int]) -> tuple[list[tuple[Any, ...]], ...]:
    """Rows of `count` households, ids from `first_id`, reproducible from the seed."""
    seed, count, qid, version_id, first_id, user_id = job
    validator, projector = _WORKER["validator"], _WORKER["projector"]
    rng = random.Random(seed)
    now = datetime(2025, 11, 1, tzinfo=UTC)
    responses, units = [], []
    for offset in range(count):
        body = synthetic.submission(rng)
        checked = validator.validate(body["answers"], language=body["language"], now=now)
        if not checked.ok:  # the generator makes valid households only
            raise RuntimeError(checked.errors[:3])
        projection = projector.project(checked.answers)
        row_id = first_id + offset
        psu = checked.design["psu"]
        started = datetime.fromisoformat(body["meta"]["started_at"]).astimezone(UTC)
        responses.append(
            (
                row_id, body["instance_id"], qid, 1, version_id, 1,
                content_digest({"version": 1, "answers": body["answers"]}),
                checked.tags["country"], checked.tags["admin1"], checked.tags["hazard_type"],
                checked.tags["displacement_status"], psu_weight(psu), checked.design["stratum"],
                psu, "received", body["language"], dumps_text(checked.answers),
                dumps_text(body["meta"]), "[]", started, now, now, user_id,
                pg_array_literal(projection.num), pg_array_literal(projection.cat),
            )
        )  # fmt: skip
        for unit in projection.unit_rows():
            units.append(
                (
                    row_id,
                    unit["unit"],
                    unit["instances"],
                    pg_array_literal(unit["num"]),
                    pg_array_literal(unit["cat"]),
                )
            )
    return responses, units


def _jobs(size: int, qid: str, version_id: int, first_id: int, user_id: int) -> Iterator[Any]:
    for start in range(0, size, CHUNK):
        seed = zlib.crc32(f"{qid}/{start}".encode())
        yield (seed, min(CHUNK, size - start), qid, version_id, first_id + start, user_id)


def _url() -> str:
    return f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{DATABASE}"


def prepare() -> tuple[str, dict[int, int]]:
    """The database with every size loaded; returns the URL and the slot of VARIABLE."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone():
            connection.execute(f"CREATE DATABASE {DATABASE}")
    url = _url()
    run_migrations(url)
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    slots: dict[int, int] = {}
    with psycopg.connect(f"{SERVER}/{DATABASE}") as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS bench_marker "
            "(qid text PRIMARY KEY, generator text, rows int)"
        )
        connection.commit()
        for size in SIZES:
            qid = qid_of(size)
            marker = connection.execute(
                "SELECT generator, rows FROM bench_marker WHERE qid = %s", (qid,)
            ).fetchone()
            if marker != (GENERATOR, size):
                _load(connection, url, reference, size, qid)
            layout = connection.execute(
                "SELECT analysis_layout FROM questionnaire_versions WHERE questionnaire_id = %s",
                (qid,),
            ).fetchone()
            assert layout is not None
            slots[size] = layout[0]["household"]["num"].index(VARIABLE)
    return url, slots


def _load(
    connection: psycopg.Connection[Any], url: str, reference: dict[str, Any], size: int, qid: str
) -> None:
    print(f"  generating {size:,} households for {qid} (kept for later runs) ...", flush=True)
    started = time.perf_counter()
    definition = {**reference, "id": qid}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{qid}.json"
        path.write_text(json.dumps(definition), encoding="utf-8")
        cli(url, "load-questionnaires", str(path))
    owner = f"loader-{qid}"  # the account the rows are submitted by
    if not connection.execute("SELECT 1 FROM users WHERE name = %s", (owner,)).fetchone():
        cli(url, "create-user", owner, "--role", "admin")
    connection.execute(
        "DELETE FROM response_units WHERE response_id IN "
        "(SELECT id FROM responses WHERE questionnaire_id = %s)",
        (qid,),
    )
    connection.execute("DELETE FROM responses WHERE questionnaire_id = %s", (qid,))
    version_id, layout = connection.execute(
        "SELECT id, analysis_layout FROM questionnaire_versions WHERE questionnaire_id = %s",
        (qid,),
    ).fetchone() or (0, {})
    user_id = connection.execute("SELECT id FROM users WHERE name = %s", (owner,)).fetchone()
    last = connection.execute("SELECT coalesce(max(id), 0) FROM responses").fetchone()
    first_id = (last[0] if last else 0) + 1
    jobs = list(_jobs(size, qid, version_id, first_id, user_id[0] if user_id else 0))
    columns = ", ".join(_RESPONSE_COLUMNS)
    with multiprocessing.get_context("spawn").Pool(
        2, initializer=_init_worker, initargs=(definition, layout)
    ) as pool:
        for responses, units in pool.imap(_generate, jobs):
            with connection.cursor() as cursor:
                with cursor.copy(f"COPY responses ({columns}) FROM STDIN") as copy:
                    for row in responses:
                        copy.write_row(row)
                with cursor.copy(
                    "COPY response_units (response_id, unit, instances, num, cat) FROM STDIN"
                ) as copy:
                    for row in units:
                        copy.write_row(row)
    connection.execute("SELECT setval('responses_id_seq', (SELECT max(id) FROM responses))")
    connection.execute(
        "INSERT INTO bench_marker VALUES (%s, %s, %s) ON CONFLICT (qid) "
        "DO UPDATE SET generator = excluded.generator, rows = excluded.rows",
        (qid, GENERATOR, size),
    )
    connection.commit()
    connection.autocommit = True
    connection.execute("VACUUM ANALYZE responses")
    connection.execute("VACUUM ANALYZE response_units")
    connection.autocommit = False
    print(f"  ... {time.perf_counter() - started:.0f} s", flush=True)


# --------------------------------------------------------------------------- measuring


def raw_sql(qid: str, slot: int) -> tuple[float, int]:
    """The GROUP BY (domain, stratum, PSU) by hand: seconds, rows."""
    y = f"num[{slot + 1}]"
    sql = (
        "SELECT country, hazard_type, displacement_status, coalesce(stratum, ''), psu, "  # noqa: S608
        f"count({y}), sum(CASE WHEN {y} IS NOT NULL THEN weight END), sum(weight * {y}), "
        f"sum(weight * {y} * {y}) FROM responses "
        "WHERE questionnaire_id = %s AND review_state <> 'rejected' GROUP BY 1, 2, 3, 4, 5"
    )
    with psycopg.connect(f"{SERVER}/{DATABASE}") as connection:
        for name, value in AGGREGATE_SETTINGS:
            connection.execute(f"SET {name} = '{value}'")
        started = time.perf_counter()
        rows = connection.execute(sql, (qid,)).fetchall()
        return time.perf_counter() - started, len(rows)


def endpoint(port: int, token: str, qid: str, **params: str) -> tuple[float, dict[str, Any]]:
    default = {"stat": "mean", "variable": VARIABLE, "by": ",".join(BY)}
    query = urllib.parse.urlencode(params or default)
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    client.request(
        "GET",
        f"/api/v1/questionnaires/{qid}/aggregates?{query}",
        headers={"Authorization": f"Bearer {token}"},
    )
    reply = client.getresponse()
    body = reply.read()
    seconds = time.perf_counter() - started
    if reply.status != 200:
        raise RuntimeError(f"{reply.status}: {body[:500]!r}")
    return seconds, json.loads(body)


def svy_table(qid: str, slot: int) -> tuple[float, dict[tuple[str, ...], tuple[float, float]]]:
    """svy's weighted means and SEs by the same cells, from a DataFrame in memory."""
    import polars as pl
    import svy

    with psycopg.connect(f"{SERVER}/{DATABASE}") as connection:
        rows = connection.execute(
            "SELECT coalesce(country, '_Z'), coalesce(hazard_type, '_Z'), "  # noqa: S608
            "coalesce(displacement_status, '_Z'), coalesce(stratum, ''), psu, weight, "
            f"num[{slot + 1}] "
            "FROM responses WHERE questionnaire_id = %s AND review_state <> 'rejected'",
            (qid,),
        ).fetchall()
    frame = pl.DataFrame(
        rows,
        schema={"c": pl.Utf8, "h": pl.Utf8, "s": pl.Utf8, "st": pl.Utf8, "p": pl.Utf8,
                "w": pl.Float64, "y": pl.Float64},
        orient="row",
    )  # fmt: skip
    del rows
    started = time.perf_counter()
    sample = svy.Sample(frame, svy.Design(stratum="st", psu="p", wgt="w"))
    result = sample.estimation.mean("y", by=["c", "h", "s"], drop_nulls=True).to_polars()
    seconds = time.perf_counter() - started
    table = {(r["c"], r["h"], r["s"]): (r["est"], r["se"]) for r in result.rows(named=True)}
    return seconds, table


def _largest_difference(body: dict[str, Any], reference: dict[Any, tuple[float, float]]) -> float:
    worst = 0.0
    for cell in body["cells"]:
        if cell["estimate"] is None:
            continue
        key = tuple(cell[d] for d in BY)
        est, se = reference[key]
        for ours, theirs in ((cell["estimate"], est), (cell["se"], se)):
            if theirs:
                worst = max(worst, abs(ours - theirs) / abs(theirs))
    return worst


def rates(values: list[float]) -> str:
    return f"best {min(values):.3f} s, median {statistics.median(values):.3f} s"


def main() -> None:
    url, slots = prepare()
    token = cli(url, "create-user", f"statistician-{os.getpid()}", "--role", "statistician")
    token = token.strip().splitlines()[-1]
    port = free_port()
    with server(url, port):
        for size in SIZES:
            qid = qid_of(size)
            endpoint(port, token, qid)  # warm-up: the worker loads the version once
            timings, body = [], {}
            for _ in range(ROUNDS):
                seconds, body = endpoint(port, token, qid)
                timings.append(seconds)
            sql = [raw_sql(qid, slots[size]) for _ in range(ROUNDS)]
            svy_seconds, reference = svy_table(qid, slots[size])
            cells = len(body["cells"])
            suppressed = sum(c["CONF_STATUS"] != "F" for c in body["cells"])
            best, best_sql = min(timings), min(s for s, _ in sql)
            print(
                f"{size:>9,} households ({body['design']['psus']} PSUs, "
                f"{sql[0][1]:,} (cell, stratum, PSU) rows, {cells} cells, {suppressed} suppressed)"
            )
            print(f"  endpoint, HTTP end to end: {rates(timings)}")
            print(f"  raw SQL GROUP BY:          {rates([s for s, _ in sql])}")
            print(f"  svy in memory:             {svy_seconds:.3f} s")
            print(
                f"  endpoint / raw SQL: {best / best_sql:.2f}x (target <= 1.5); "
                f"svy / endpoint: {svy_seconds / best:.1f}x (target >= 4); "
                f"largest relative difference to svy (estimates, SEs): "
                f"{_largest_difference(body, reference):.1e}"
            )
        largest = qid_of(max(SIZES))
        for label, params in (
            ("the same with margins (7 margin levels, secondary suppression)",
             {"stat": "mean", "variable": VARIABLE, "by": ",".join(BY), "margins": "true"}),
            ("persons: mean age by sex and five-year band (a row per person)",
             {"stat": "mean", "unit": "members", "variable": "member_age",
              "by": "sex,age_group"}),
            ("an expression: mean of ${income_lost} div ${hh_size} by country",
             {"stat": "mean", "variable": "${income_lost} div ${hh_size}", "by": "country"}),
        ):  # fmt: skip
            seconds, body = endpoint(port, token, largest, **params)
            print(f"  {label}: {seconds:.3f} s ({len(body['cells'])} cells)")


if __name__ == "__main__":
    main()
