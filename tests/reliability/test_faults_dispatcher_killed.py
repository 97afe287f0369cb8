"""Scenario 4: the dispatcher dies between committing nudges and publishing them (its
enqueue, which `transaction.on_commit` calls right after the commit, SIGKILLs its own
process). The nudges sit pending with nothing in the broker; the real beat and worker
hand them over through the outbox sweep, each sent exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from apps.reminders.dispatch import BATCH_SIZE
from apps.reminders.models import Nudge, NudgeStatus
from tests.conftest import REPOSITORY
from tests.reliability.harness import PrivateRedis, fault_run

# Bounded: a stuck run fails after 10 minutes (a run takes 1-3 minutes on a loaded 2-core CI).
pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.timeout(600)]

DISPATCHER_KILLED_AT_PUBLISH = """
import os, signal
import django
django.setup()
from apps.reminders.dispatch import dispatch_tick

def enqueue(groups):
    # on_commit calls this right after the batch's commit: die before publishing anything.
    os.kill(os.getpid(), signal.SIGKILL)

dispatch_tick(enqueue=enqueue)
"""


def test_a_dispatcher_killed_between_commit_and_publish_loses_nothing(
    transactional_db: None, private_redis: PrivateRedis
) -> None:
    # The orphans are handed over as soon as the first tick sees them (5 s), not after
    # the burst of the other 1,500 has drained.
    with fault_run("4-dispatcher-killed", broker_url=private_redis.url, requeue_after=5) as run:
        # given a dispatcher that dies right after committing its first batch of nudges
        killed = subprocess.run(
            [sys.executable, "-c", DISPATCHER_KILLED_AT_PUBLISH],
            cwd=REPOSITORY,
            env=run.environment(),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        run.fault_ended()
        committed = Nudge.objects.filter(status=NudgeStatus.PENDING, enqueued_at__isnull=False)
        assert committed.count() == min(BATCH_SIZE, run.members)  # marked handed over
        assert run.delivered() == 0  # yet nothing was published
        run.notes["committed_never_published"] = committed.count()

        # when the real beat and worker start
        run.start_worker()
        run.start_beat()

        # then the sweep hands the orphans over, and every nudge is sent exactly once
        figures = run.finish()
        assert figures.sent == run.members, figures
