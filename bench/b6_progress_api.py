"""Benchmark 6 of issue 7: GET /api/v1/progress/ for a member with a year of history,
served by gunicorn (2 sync workers, DJANGO_DEBUG=false) and loaded by wrk (32 connections,
2 threads, 30 s) with bench/wrk_report.lua; plus the query count of one request in-process,
for a member with 7 days of history and one with 365, which must be equal.

The floor: the same server, token and wrk (15 s each) on the cheapest authenticated endpoint
(GET /api/v1/me/: token authentication, the profile row and the one-row persistent-pain
query) and on the unauthenticated GET /healthz.
If even those miss the p95 target, no change to the progress endpoint can meet it on this
stack and machine: the cost is Django + DRF + gunicorn per request, not progress.

Daily volume (apps/operations/demo_history.py, the demo clients' generator): 11 nudges a
workday and 8 a weekend day (mindfulness 1, hydration 4, stretch 2, movement 3 on workdays,
warm-up 1), a habit log for each nudge done (70 % of them), a check-in on 80 % of days.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from bench.common import (
    ROOT,
    Result,
    bench_environment,
    flush_redis,
    reset_database,
    run_main,
    setup_django,
)

MODULE = "b6_progress_api"
PATH = "/api/v1/progress/"  # default period (30 days), as an app opens it
# The floor: token authentication, the profile and the pain flag (one row each); and no
# authentication (a SELECT 1, a broker connection).
FLOOR_PATHS = {"me": "/api/v1/me/", "healthz": "/healthz"}
FLOOR_SECONDS = 15
HISTORY_DAYS = 365
SHORT_HISTORY_DAYS = 7
# Other members with a year of history each, so the member's rows are a small part of the
# tables (as in production) and the plans are those of an index, not of a tiny table.
NEIGHBOURS = 20
WRK = "/usr/bin/wrk"
CONNECTIONS, THREADS, SECONDS, WARMUP_SECONDS, REFERENCE_SECONDS = 32, 2, 30, 5, 10
TARGET_P95_MS = 50.0
UNCACHED_SETTINGS = "bench.settings_progress_uncached"
COMMAND = (
    "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stressrelief "
    "REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python -m bench b6_progress_api --no-report"
)


def main() -> list[Result]:
    setup_django(MODULE)
    reset_database()
    flush_redis()
    began = time.monotonic()
    year_member, rows = _member_with_history(email="year@bench.invalid", days=HISTORY_DAYS)
    week_member, _ = _member_with_history(email="week@bench.invalid", days=SHORT_HISTORY_DAYS)
    for index in range(NEIGHBOURS):
        _member_with_history(email=f"n{index}@bench.invalid", days=HISTORY_DAYS, seed=index + 2)
    built_seconds = time.monotonic() - began

    week_statements = _statements_of_one_request(week_member)
    year_statements = _statements_of_one_request(year_member)
    kept_statements = _statements_of_one_request(year_member, kept=True)

    from apps.accounts.services import token_for

    token = token_for(user=year_member).key
    port = _free_port()
    server = _start_gunicorn(port)
    try:
        _wait_until_served(port, token)
        _wrk(port, token, seconds=WARMUP_SECONDS)  # both workers warm: imports, connections
        # Little's law: 32 closed-loop connections wait on 2 workers, so the latency is
        # ~32 / throughput; one connection per worker shows the service time alone, and
        # the workers' CPU per request what it costs whatever else runs on the machine.
        alone = _wrk(port, token, seconds=REFERENCE_SECONDS, connections=2)
        figures = _wrk_with_cpu(server, port, token, seconds=SECONDS)
        figures["load_average"] = os.getloadavg()
        floors = {
            name: _wrk_with_cpu(server, port, token, seconds=FLOOR_SECONDS, path=path)
            for name, path in FLOOR_PATHS.items()
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The reference: the same load on a server that keeps no document, so every request
    # computes one (what a request costs when the kept document is missing or too old).
    server = _start_gunicorn(port, settings_module=UNCACHED_SETTINGS)
    try:
        _wait_until_served(port, token)
        _wrk(port, token, seconds=WARMUP_SECONDS)
        computed = _wrk_with_cpu(server, port, token, seconds=FLOOR_SECONDS)
    finally:
        server.terminate()
        server.wait(timeout=30)

    errors = figures["non_2xx"] + sum(figures["socket_errors"].values())
    details = _details(
        figures=figures,
        alone=alone,
        rows=rows,
        built_seconds=built_seconds,
        week_statements=week_statements,
        year_statements=year_statements,
        floors=floors,
        kept_statements=kept_statements,
        computed=computed,
    )
    common = {
        "command": COMMAND,
        "extra": {
            "wrk": figures, "wrk_2": alone, "rows": rows, "floors": floors,
            "computed_every_request": computed,
        },
    }  # fmt: skip
    return [
        Result(6, "Progress API p95 latency", figures["p95_ms"], "ms", TARGET_P95_MS,
               details=details, **common),
        Result(6, "Progress API errors (non-2xx + socket)", errors, "responses", 0, **common),
        Result(6, "Progress API queries, 365-day minus 7-day history",
               len(year_statements) - len(week_statements), "queries", 0, **common),
        *(
            Result(6, f"Floor: GET {FLOOR_PATHS[name]} p95 latency (same server, {label})",
                   floors[name]["p95_ms"], "ms", TARGET_P95_MS, **common)
            for name, label in (("me", "token, profile, pain"), ("healthz", "no authentication"))
        ),
        *(
            Result(6, f"Floor: GET {FLOOR_PATHS[name]} requests/s (p95 target needs this)",
                   floors[name]["requests_per_second"], "requests/s",
                   CONNECTIONS * 1000 / TARGET_P95_MS, higher_is_better=True, **common)
            for name in FLOOR_PATHS
        ),
    ]  # fmt: skip


def _member_with_history(*, email: str, days: int, seed: int = 1) -> tuple[object, dict]:
    from django.utils import timezone

    from apps.accounts.services import member_create
    from apps.operations.demo_history import Persona, history_create
    from apps.reminders.models import Nudge
    from apps.tracking.models import Activity, CheckIn

    persona = Persona("Bench Member", "Europe/Berlin", 0.7, (2, 6), (0, 3))
    now = timezone.now()
    member = member_create(email=email, password="", timezone=persona.zone)
    member.date_joined = now - timedelta(days=days)
    member.save(update_fields=["date_joined"])
    history_create(member=member, persona=persona, now=now, seed=seed, days=days)
    rows = {
        "nudges": Nudge.objects.filter(member=member).count(),
        "activities": Activity.objects.filter(member=member).count(),
        "checkins": CheckIn.objects.filter(member=member).count(),
    }
    return member, rows


def _statements_of_one_request(member: object, *, kept: bool = False) -> list[str]:
    """The SQL of one GET, token included, through Django's whole stack in this process:
    computing the document (nothing kept), or serving the one kept by the GET before."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.services import token_for

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token_for(user=member)}")
    client.get(PATH, secure=True)  # once first, so nothing lazy counts below
    if not kept:
        cache.clear()  # the bench's own Redis database
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PATH, secure=True)
    assert response.status_code == 200, response.content[:300]
    return [query["sql"] for query in queries]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_gunicorn(
    port: int, *, settings_module: str = "stressrelief.settings"
) -> subprocess.Popen[bytes]:
    # Production settings: DEBUG off (no query log kept per request, no debug templates),
    # with what production then requires; plain HTTP on loopback, so no SSL redirect.
    environment = bench_environment(MODULE) | {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "EMAIL_URL": "memory://",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }
    log = (ROOT / "var" / "bench" / f"{MODULE}-gunicorn.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "stressrelief.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait_until_served(port: int, token: str, timeout: float = 60.0) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{PATH}", headers={"Authorization": f"Token {token}"}
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                json.loads(response.read())
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _cpu_seconds(server: subprocess.Popen[bytes]) -> float:
    """User + system CPU of the gunicorn workers (the master only waits)."""
    import psutil

    total = 0.0
    for worker in psutil.Process(server.pid).children():
        times = worker.cpu_times()
        total += times.user + times.system
    return total


def _wrk(
    port: int, token: str, *, seconds: int, connections: int = CONNECTIONS, path: str = PATH
) -> dict:
    script = Path(__file__).with_name("wrk_report.lua")
    out = subprocess.run(
        [WRK, f"-c{connections}", f"-t{THREADS}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(script), "-H", f"Authorization: Token {token}",
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    return json.loads(line.removeprefix("WRK_JSON "))


def _wrk_with_cpu(
    server: subprocess.Popen[bytes], port: int, token: str, *, seconds: int, path: str = PATH
) -> dict:
    """_wrk's figures plus the gunicorn workers' CPU per request during the run."""
    cpu_before = _cpu_seconds(server)
    figures = _wrk(port, token, seconds=seconds, path=path)
    figures["worker_cpu_ms_per_request"] = (
        (_cpu_seconds(server) - cpu_before) * 1000 / max(figures["requests"], 1)
    )
    return figures


def _details(
    *,
    figures: dict,
    alone: dict,
    rows: dict,
    built_seconds: float,
    week_statements: list[str],
    year_statements: list[str],
    floors: dict[str, dict],
    kept_statements: list[str],
    computed: dict,
) -> str:
    statements = "\n".join(f"{n}. `{sql[:160]}`" for n, sql in enumerate(year_statements, 1))
    floor_rows = "\n".join(
        f"| `GET {FLOOR_PATHS[name]}` | {run['p50_ms']:.1f} ms | {run['p95_ms']:.1f} ms | "
        f"{run['p99_ms']:.1f} ms | {run['requests_per_second']:.0f} | "
        f"{run['worker_cpu_ms_per_request']:.1f} ms | {run['non_2xx']} |"
        for name, run in floors.items()
    )
    return f"""
Method: one member with {HISTORY_DAYS} days of history ({rows["nudges"]:,} nudges,
{rows["activities"]:,} habit logs, {rows["checkins"]:,} check-ins; the demo clients' daily
volume: 11 nudges a workday, 8 a weekend day, a habit log per nudge done at 70 %, a check-in
on 80 % of days) among {NEIGHBOURS} others with as much, written with bulk_create in
{built_seconds:.0f} s. gunicorn 2 sync workers with DJANGO_DEBUG=false (and the secret key,
EMAIL_URL, DJANGO_ALLOWED_HOSTS and DJANGO_SECURE_SSL_REDIRECT=false that production then
needs), so no query log is kept; `wrk -c{CONNECTIONS} -t{THREADS} -d{SECONDS}s` with
`Authorization: Token ...` on `GET {PATH}` (default 30 days) after a {WARMUP_SECONDS} s
warm-up, bench/wrk_report.lua printing the figures. No throttle applies to this endpoint
(ScopedRateThrottle throttles only views with a `throttle_scope`; progress has none).

The endpoint serves a kept document (apps/progress/cache.py) while it is younger than
PROGRESS_CACHE_SECONDS (30 s) and no change of the member's came after it; the member's
own changes expire it at once. Under this load the document is computed about once per
30 s and every other request reads it (one Redis MGET after the token's query), so the
run measures what a kept document costs. What computing costs is in the reference run
below.

| p50 | p95 | p99 | max | requests | requests/s | non-2xx | 429 | socket errors |
|---|---|---|---|---|---|---|---|---|
| {figures["p50_ms"]:.1f} ms | {figures["p95_ms"]:.1f} ms | {figures["p99_ms"]:.1f} ms | \
{figures["max_ms"]:.0f} ms | {figures["requests"]:,} | {figures["requests_per_second"]:.0f} | \
{figures["non_2xx"]} | {figures["throttled_429"]} | {figures["socket_errors"]} |

gunicorn workers' CPU per request during the run: {figures["worker_cpu_ms_per_request"]:.1f} ms
(so 2 cores serve at most ~{2000 / figures["worker_cpu_ms_per_request"]:.0f} requests/s before
PostgreSQL and wrk take their share); load average at the end: \
{", ".join(f"{value:.1f}" for value in figures["load_average"])} (2 cores, shared with other
benchmarks and test runs). Service time without queueing (`wrk -c2`, one connection per
worker, {REFERENCE_SECONDS} s): p50 {alone["p50_ms"]:.1f} ms, p95 {alone["p95_ms"]:.1f} ms,
{alone["requests_per_second"]:.0f} requests/s. With {CONNECTIONS} connections each request
waits behind ~{CONNECTIONS // 2} others per worker (Little's law: latency = connections /
throughput), so p95 <= {TARGET_P95_MS:.0f} ms needs >= {CONNECTIONS * 1000 / TARGET_P95_MS:.0f}
requests/s here, i.e. <= {2 * TARGET_P95_MS / CONNECTIONS:.1f} ms of CPU per request in all.

Queries per request that computes the document (CaptureQueriesContext around one
in-process GET after the cache is cleared, token authentication included):
{len(week_statements)} with {SHORT_HISTORY_DAYS} days of history, {len(year_statements)} with
{HISTORY_DAYS}; a request served from the kept document: {len(kept_statements)} (the token).
The {HISTORY_DAYS}-day computing request's statements:

{statements}

Reference, every request computed (a second gunicorn with
bench/settings_progress_uncached.py, PROGRESS_CACHE_SECONDS = 0; same wrk, {FLOOR_SECONDS} s):
p50 {computed["p50_ms"]:.1f} ms, p95 {computed["p95_ms"]:.1f} ms, p99 {computed["p99_ms"]:.1f} ms,
{computed["requests_per_second"]:.0f} requests/s, {computed["worker_cpu_ms_per_request"]:.1f} ms
of gunicorn CPU per request, {computed["non_2xx"]} non-2xx. Without kept documents the
target would be missed: 32 connections on 2 cores allow
{2 * TARGET_P95_MS / CONNECTIONS:.1f} ms of the whole machine's CPU per request.

The floor, same server and token, `wrk -c{CONNECTIONS} -t{THREADS} -d{FLOOR_SECONDS}s` each:

| endpoint | p50 | p95 | p99 | requests/s | gunicorn CPU per request | non-2xx |
|---|---|---|---|---|---|---|
{floor_rows}

{_floor_verdict(figures, floors)}
"""


def _floor_verdict(figures: dict, floors: dict[str, dict]) -> str:
    me = floors["me"]
    if me["p95_ms"] <= TARGET_P95_MS:
        return (
            f"GET {FLOOR_PATHS['me']} meets the target ({me['p95_ms']:.1f} ms p95, "
            f"{me['requests_per_second']:.0f} requests/s, "
            f"{me['worker_cpu_ms_per_request']:.1f} ms of CPU per request); progress served "
            f"from a kept document costs {figures['worker_cpu_ms_per_request']:.1f} ms."
        )
    return (
        f"Even GET {FLOOR_PATHS['me']} (token authentication, the profile and the pain "
        f"flag, nothing of progress) misses the target: p95 {me['p95_ms']:.1f} ms at "
        f"{me['requests_per_second']:.0f} requests/s, {me['worker_cpu_ms_per_request']:.1f} ms "
        f"of gunicorn CPU per request, with PostgreSQL's and wrk's share on top, against the "
        f"{2 * TARGET_P95_MS / CONNECTIONS:.1f} ms of the whole machine's CPU per request that "
        f"{CONNECTIONS} connections on 2 cores allow (and GET {FLOOR_PATHS['healthz']}, "
        f"no authentication, {floors['healthz']['p95_ms']:.1f} ms at "
        f"{floors['healthz']['requests_per_second']:.0f} requests/s). p95 <= "
        f"{TARGET_P95_MS:.0f} ms with {CONNECTIONS} connections is beyond Django + DRF + "
        "gunicorn sync workers on this 2-core machine, which also runs PostgreSQL and wrk, "
        "whatever progress does: meeting it needs more cores or fewer connections per core."
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    run_main(MODULE, main)
