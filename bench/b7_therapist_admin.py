"""Benchmark 7 of issue 7: the therapist's admin clients list (/admin/progress/client/) with
1,000 clients, requested as the logged-in therapist through Django's whole stack
(django.test.Client, in this process, DJANGO_DEBUG=false): server time (median and p95 of
30 requests) and statements per request (CaptureQueriesContext).

Two pages: the default changelist (all 1,000 clients' figures computed, so that it can sort
by 7-day adherence, and the first 100 rendered) and `?all=` (all 1,000 rendered).
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
from datetime import timedelta

from bench.common import Result, flush_redis, reset_database, run_main, setup_django

MODULE = "b7_therapist_admin"
CLIENTS = 1000
HISTORY_DAYS = 30
URL = "/admin/progress/client/"
# 30 requests a page, or as many as fit in 45 s (at least 10) when each takes seconds.
REQUESTS, MINIMUM, WARMUP, BUDGET_SECONDS = 30, 10, 3, 45
TARGET_MS, TARGET_QUERIES = 300.0, 10
COMMAND = (
    "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stressrelief "
    "REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python -m bench b7_therapist_admin --no-report"
)


def main() -> list[Result]:
    # Production settings (no query log, no template debugging), with what they require.
    os.environ.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        EMAIL_URL="memory://",
        DJANGO_SECURE_SSL_REDIRECT="false",
    )
    setup_django(MODULE)
    reset_database()
    flush_redis()
    from django.test import override_settings

    began = time.monotonic()
    therapist, rows = _practice()
    built_seconds = time.monotonic() - began
    # Start up as a gunicorn worker does: the WSGI module loads the URLconf and freezes what
    # start-up built (gc.freeze, see stressrelief/wsgi.py).
    import stressrelief.wsgi  # noqa: F401

    # Production serves static files from collectstatic's manifest; this process has none,
    # and reading a URL from the manifest or not costs the same: the plain storage.
    with override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        pages = {
            "first page of 100": _measure(therapist, {}),
            "all 1,000 on one page": _measure(therapist, {"all": ""}),
        }
    plans = _statement_times(pages["all 1,000 on one page"]["statements"])
    details = _details(pages, rows=rows, built_seconds=built_seconds, plans=plans)
    results = []
    for label, page in pages.items():
        common = {"command": COMMAND, "extra": {key: page[key] for key in ("median", "p95")}}
        results += [
            Result(7, f"Therapist admin, 1,000 clients, {label}: p95 server time",
                   page["p95"], "ms", TARGET_MS, details=details if not results else "", **common),
            Result(7, f"Therapist admin, 1,000 clients, {label}: statements",
                   len(_sql(page["statements"])), "queries", TARGET_QUERIES, **common),
        ]  # fmt: skip
    return results


def _practice() -> tuple[object, dict[str, int]]:
    """A therapist with CLIENTS active clients sharing adherence and check-ins, each with
    HISTORY_DAYS days of the demo personas' history (zones, adherence, quiet spells, pain)."""
    from django.db import transaction
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.accounts.services import therapist_create
    from apps.careteam.models import CareLink
    from apps.operations.demo_history import PERSONAS, history_create
    from apps.reminders.models import Nudge
    from apps.tracking.models import Activity, CheckIn

    now = timezone.now()
    therapist = therapist_create(email="therapist@bench.invalid", password=secrets.token_hex(16))
    with transaction.atomic():
        for index in range(CLIENTS):
            persona = PERSONAS[index % len(PERSONAS)]
            member = User.objects.create_user(
                email=f"client{index}@bench.invalid", password=None, timezone=persona.zone
            )
            member.display_name = f"{persona.name} {index}"
            member.date_joined = now - timedelta(days=HISTORY_DAYS)
            member.save(update_fields=["display_name", "date_joined"])
            CareLink.objects.create(member=member, therapist=therapist)
            history_create(member=member, persona=persona, now=now, seed=index, days=HISTORY_DAYS)
    rows = {
        "care links": CareLink.objects.count(),
        "nudges": Nudge.objects.count(),
        "activities": Activity.objects.count(),
        "check-ins": CheckIn.objects.count(),
    }
    with transaction.atomic():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would leave them
    return therapist, rows


def _measure(therapist: object, query: dict[str, str]) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(therapist)
    for _ in range(WARMUP):  # the first also writes the hour's access-log rows
        response = client.get(URL, query, secure=True)
        assert response.status_code == 200, response.status_code
    shown = response.content.decode().count('class="field-name"')
    timings = []
    deadline = time.monotonic() + BUDGET_SECONDS
    while len(timings) < REQUESTS and (len(timings) < MINIMUM or time.monotonic() < deadline):
        began = time.perf_counter()
        response = client.get(URL, query, secure=True)
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(URL, query, secure=True)
    timings.sort()
    return {
        "median": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95) - 1],
        "max": timings[-1],
        "requests": len(timings),
        "rows_shown": shown,
        "statements": [entry["sql"] for entry in queries],
    }


def _sql(statements: list[str]) -> list[str]:
    """The SQL statements, without the BEGIN and COMMIT Django logs around the access-log
    INSERT (bulk_create's transaction): round trips, but not queries."""
    return [sql for sql in statements if sql not in ("BEGIN", "COMMIT")]


def _statement_times(statements: list[str]) -> list[str]:
    """EXPLAIN ANALYZE of each SELECT: where the server time goes, and what PostgreSQL's JIT
    compilation (on by default, triggered by a plan's estimated cost) adds to it."""
    from django.db import connection

    lines = []
    with connection.cursor() as cursor:
        for number, sql in enumerate(statements, 1):
            if not sql.lstrip("(").startswith("SELECT"):  # a UNION starts with "("
                continue
            cursor.execute("EXPLAIN (ANALYZE) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
            execution = next(line for line in plan if line.startswith("Execution Time"))
            jit = next((line.strip() for line in plan if "Timing: Generation" in line), "")
            if jit:  # the same statement again without JIT, for comparison
                cursor.execute("SET jit = off")
                cursor.execute("EXPLAIN (ANALYZE) " + sql)
                without = next(r[0] for r in cursor.fetchall() if r[0].startswith("Execution"))
                cursor.execute("RESET jit")
                jit += f"; with jit = off: {without}"
            lines.append(f"{number}. {execution}{'; JIT ' + jit if jit else ''}")
    return lines


def _details(
    pages: dict[str, dict], *, rows: dict[str, int], built_seconds: float, plans: list[str]
) -> str:
    table = "\n".join(
        f"| {label} | {page['rows_shown']} | {page['requests']} | {page['median']:.0f} ms | "
        f"{page['p95']:.0f} ms | "
        f"{page['max']:.0f} ms | {len(_sql(page['statements']))} (+ BEGIN, COMMIT) |"
        for label, page in pages.items()
    )
    statements = "\n\n".join(
        f"{label}:\n\n" + "\n".join(f"{n}. `{sql[:150]}`" for n, sql in enumerate(sqls, 1))
        for label, sqls in ((label, page["statements"]) for label, page in pages.items())
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"""
Method: one therapist with {rows["care links"]:,} active clients, all sharing adherence and
check-ins, each with {HISTORY_DAYS} days of the demo personas' history (seven personas in
turn: seven zones, adherence 30-85 %, quiet spells, persistent and rising pain):
{rows["nudges"]:,} nudges, {rows["activities"]:,} habit logs, {rows["check-ins"]:,} check-ins,
written with bulk_create in {built_seconds:.0f} s. Server time is measured in-process:
django.test.Client (session of the logged-in therapist, the whole middleware stack,
DJANGO_DEBUG=false) timed around each of {REQUESTS} GETs (or those that fit in
{BUDGET_SECONDS} s, at least {MINIMUM}) after {WARMUP} warm-up ones (the first
writes the hour's access-log rows; later ones find them and insert nothing), the process
started as a gunicorn worker is (stressrelief.wsgi imported: URLconf loaded, start-up objects
frozen out of the garbage collector's sight); statements
counted with CaptureQueriesContext around one more. Load average during the run: {load}
(2 cores shared with other benchmarks and test runs).

| page | rows shown | requests | median | p95 | max | statements |
|---|---|---|---|---|---|---|
{table}

{statements}

Server-side time of each SELECT of the 1,000-row page (EXPLAIN ANALYZE, run once after the
timed requests, with PostgreSQL's JIT at its default):

{chr(10).join(plans)}
"""


if __name__ == "__main__":
    run_main(MODULE, main)
