"""The physical reference of issue 7: what this machine's Redis and PostgreSQL do with no
application in between, so the dispatcher's figures can be read against them.

- Redis: `redis-benchmark -t set -n 200000 -q` against REDIS_URL's host and port (its
  default 50 clients, one command per round trip): SET operations a second.
- PostgreSQL: one `INSERT INTO t SELECT ... FROM generate_series(1, 1000000)` in the bench
  database (`<name>_bench_b0`), into a table shaped like a nudge row (bigint keys, a
  timestamp, a short text), once into an ordinary (logged, WAL-written) table with a
  primary key, as the dispatcher's tables are, and once into an UNLOGGED table without
  an index (the ceiling): rows a second, commit included.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

from bench.common import (
    RESULTS_DIR,
    BenchSetupError,
    Result,
    bench_database_url,
    required_env,
    run_main,
)

MODULE = "b0_reference"
SET_REQUESTS = 200_000
ROWS = 1_000_000
COMMAND = (
    "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stressrelief "
    "REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python -m bench b0_reference --no-report"
)
INSERT = """
INSERT INTO {table} (id, member_id, due_at, status)
SELECT n, n % 300000, now() + n * interval '1 second', 'pending'
FROM generate_series(1, {rows}) AS n
"""


def main() -> list[Result]:
    load = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    set_per_second, redis_line = _redis_set_per_second()
    logged, unlogged = _insert_rows_per_second()
    details = _details(set_per_second, redis_line, logged, unlogged)
    details += f"\n\nLoad average (1 minute) at the start: {load:.1f} on {os.cpu_count()} cores."
    # No target: these are the machine's ceilings, shown in their own section.
    return [
        Result(0, "Redis SET (redis-benchmark)", set_per_second, "ops/s", 0.0,
               higher_is_better=True, details=details, command=COMMAND),
        Result(0, "PostgreSQL INSERT ... SELECT generate_series, logged table", logged,
               "rows/s", 0.0, higher_is_better=True, command=COMMAND),
        Result(0, "PostgreSQL INSERT ... SELECT generate_series, unlogged table", unlogged,
               "rows/s", 0.0, higher_is_better=True, command=COMMAND),
    ]  # fmt: skip


def _redis_set_per_second() -> tuple[float, str]:
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise BenchSetupError("bench: redis-benchmark is not installed (Debian: redis-tools)")
    parts = urlsplit(required_env("REDIS_URL"))
    command = [binary, "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379),
               "-t", "set", "-n", str(SET_REQUESTS), "-q"]  # fmt: skip
    if parts.password:
        command += ["-a", parts.password]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    # e.g. "SET: 98716.68 requests per second, p50=0.263 msec" after \r progress lines
    line = output.replace("\r", "\n").strip().splitlines()[-1]
    match = re.search(r"SET: ([\d.]+) requests per second", line)
    if not match:
        raise RuntimeError(f"unexpected redis-benchmark output: {output!r}")
    return float(match.group(1)), line.strip()


def _insert_rows_per_second() -> tuple[float, float]:
    import psycopg

    target = urlsplit(bench_database_url(MODULE))
    name = target.path.lstrip("/")
    with psycopg.connect(urlunsplit(target._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    rates = []
    with psycopg.connect(urlunsplit(target), autocommit=True) as connection:
        for table, kind, key in (("t_logged", "", "PRIMARY KEY"), ("t_unlogged", "UNLOGGED", "")):
            connection.execute(
                f"CREATE {kind} TABLE {table} (id bigint {key}, member_id bigint NOT NULL, "
                "due_at timestamptz NOT NULL, status varchar(16) NOT NULL)"
            )
            began = time.perf_counter()
            connection.execute(INSERT.format(table=table, rows=ROWS))  # autocommit: commits
            rates.append(ROWS / (time.perf_counter() - began))
    with psycopg.connect(urlunsplit(target._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return rates[0], rates[1]


def _details(set_per_second: float, redis_line: str, logged: float, unlogged: float) -> str:
    lines = [
        f"- Redis: `redis-benchmark -t set -n {SET_REQUESTS} -q` against REDIS_URL's server: "
        f"**{set_per_second:,.0f} SET/s** (`{redis_line}`; 50 clients, one SET per round "
        "trip, no pipelining).",
        f"- PostgreSQL: one `INSERT ... SELECT` of {ROWS:,} rows from `generate_series` "
        "(the statement is INSERT in bench/b0_reference.py), in one transaction: "
        f"**{logged:,.0f} rows/s** into a logged table with a bigint primary key (as the "
        f"nudge table, WAL and index included), **{unlogged:,.0f} rows/s** into an UNLOGGED "
        "table with no index (the ceiling: no WAL, no index).",
        "",
        "How close the dispatcher comes: each nudge costs about 3 row writes (the nudge's "
        "insert, its schedule's `next_due_at` update, the nudge's hand-over update), two "
        "indexes' upkeep, and a share of a Redis push (one message per member or per batch "
        "of members), plus Python work per firing (zone arithmetic, suppression rules); so "
        "the write-bound ceiling is about a third of the logged-table rate.",
    ]
    rates = _dispatcher_rates()
    if not rates:
        lines.append(
            "No dispatcher figures existed when this ran (`make bench` runs this reference "
            "last, after benchmarks 1 and 3, so that it can compare)."
        )
    for label, rate in rates:
        lines.append(
            f"- {label}: {rate:,.0f} nudges/s, {rate / logged:.1%} of the logged INSERT rate, "
            f"{3 * rate / logged:.1%} counting 3 row writes per nudge, and "
            f"{rate / set_per_second:.1%} of Redis SET/s."
        )
    return "\n".join(lines)


def _dispatcher_rates() -> list[tuple[str, float]]:
    """The dispatcher's nudges a second from earlier results, where a benchmark left one:
    benchmark 3 records its run of 10,000 (from the due minute to the last message);
    benchmark 1 its burst (the p50 row's `extra["burst"]`)."""
    rates = []
    for row in _results_of("b1_dispatch"):
        burst = row.get("extra", {}).get("burst")
        if burst and burst.get("nudge_rows") and burst.get("elapsed"):
            # Both dispatcher processes start at the due second; the slower one ends it.
            rate = burst["nudge_rows"] / max(burst["elapsed"])
            rates.append(("Benchmark 1 (50,000 due, 2 dispatcher processes)", rate))
    for row in _results_of("b3_celery_beat")[:1]:
        ours = row.get("extra", {}).get("dispatcher", {})
        if ours.get("enqueued") and ours.get("seconds_to_last"):
            rate = ours["enqueued"] / ours["seconds_to_last"]
            rates.append(("Benchmark 3 (10,000 due, our beat + worker)", rate))
    return rates


def _results_of(module: str) -> list[dict]:
    import json

    path = RESULTS_DIR / f"{module}.json"
    return json.loads(path.read_text()) if path.exists() else []


if __name__ == "__main__":
    run_main(MODULE, main)
