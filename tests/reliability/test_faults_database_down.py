"""Scenario 3: PostgreSQL unreachable for 30 s in the middle of a burst, then back. The
worker and beat reach the database through a loopback proxy that the test cuts (the
listener and every live connection closed) and restores; the shared cluster is never
touched. Every nudge ends final, each message reaches the sinks exactly once."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from tests.reliability.harness import PostgresProxy, PrivateRedis, fault_run

# Bounded: a stuck run fails after 10 minutes (a run takes 1-3 minutes on a loaded 2-core CI).
pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.timeout(600)]

OUTAGE = 30  # seconds, as the issue says


def test_a_database_outage_mid_burst_loses_nothing_and_sends_nothing_twice(
    transactional_db: None, private_redis: PrivateRedis
) -> None:
    database = connection.settings_dict
    proxy = PostgresProxy((database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)))
    proxy.start()
    try:
        # The sweep must not reclaim a nudge whose worker is only waiting for the database
        # to record what it sent: reclaim waits longer than the outage, as in production
        # (5 minutes).
        with fault_run(
            "3-database-down",
            channels=("email", "push"),
            broker_url=private_redis.url,
            reclaim_after=OUTAGE * 3,
        ) as run:
            run.database_url = proxy.database_url(run.database_url)
            # given the beat dispatching every member's nudge and a worker sending them,
            # both through the proxy
            run.start_beat()
            run.start_worker()
            run.wait_delivered(run.members // 4)

            # when the database becomes unreachable for 30 s, then comes back
            proxy.cut()
            delivered_when_cut = run.delivered()
            time.sleep(OUTAGE)  # the outage itself, not a wait for a result
            proxy.restore()
            run.fault_ended()
            run.notes["emails_before_the_outage"] = delivered_when_cut
            run.notes["outage_seconds"] = OUTAGE

            # then every nudge ends sent, none lost, none twice at either sink
            figures = run.finish()
            assert delivered_when_cut < run.members, "the outage came after the burst"
            assert figures.sent == run.members, figures
    finally:
        proxy.stop()
