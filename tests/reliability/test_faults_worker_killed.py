"""Scenario 1: kill -9 the Celery worker in the middle of a burst of 2,000 nudges, start a
new one: every nudge ends final, each message reaches the SMTP server exactly once."""

from __future__ import annotations

import pytest

from apps.reminders.models import Nudge, NudgeStatus
from tests.conftest import wait_until
from tests.reliability.harness import PrivateRedis, fault_run

# Bounded: a stuck run fails after 10 minutes (a run takes 1-3 minutes on a loaded 2-core CI).
pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.timeout(600)]

CONCURRENCY = 4


def test_a_worker_killed_mid_burst_loses_nothing_and_sends_nothing_twice(
    transactional_db: None, private_redis: PrivateRedis
) -> None:
    with fault_run(
        "1-worker-killed", broker_url=private_redis.url, reclaim_after=20, requeue_after=15
    ) as run:
        # given the beat dispatching every member's nudge and a worker sending them
        run.start_beat()
        worker = run.start_worker(concurrency=CONCURRENCY)
        half = run.members // 2
        # and, mid-burst, the SMTP server stalls: every thread of the worker ends up waiting
        # for its answer (a message is in flight on each)
        run.smtp.hold_after(half, every=True)
        assert wait_until(lambda: run.smtp.held == CONCURRENCY, timeout=180), run.process_output()

        # when the worker is killed with SIGKILL, mid-send
        worker.kill()
        run.smtp.release()
        stuck = Nudge.objects.filter(status=NudgeStatus.SENDING).count()
        assert stuck >= CONCURRENCY, stuck  # claimed by the dead worker, never settled
        # and a new worker starts
        run.start_worker("worker-2", concurrency=CONCURRENCY)
        run.fault_ended()

        # then every nudge ends final, none lost, none twice at the SMTP server
        run.notes["sending_when_killed"] = stuck
        figures = run.finish()
        assert figures.sent == run.members, figures
