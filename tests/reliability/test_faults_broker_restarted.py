"""Scenario 2: the broker (a private redis-server, without persistence) is killed in the
middle of a burst and started again empty: every queued delivery task is gone. The
outbox sweep hands the pending nudges over again; each reaches the SMTP server exactly
once. (Email only, to keep CI short: push rides the same tasks and is covered by
scenarios 3 and 5.)"""

from __future__ import annotations

import time

import pytest

from tests.reliability.harness import PrivateRedis, fault_run

# Bounded: a stuck run fails after 10 minutes (a run takes 1-3 minutes on a loaded 2-core CI).
pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.timeout(600)]

# Seconds the broker stays down: long enough for the worker and beat to notice.
DOWN_FOR = 5


def test_a_broker_restarted_empty_mid_burst_loses_nothing_and_sends_nothing_twice(
    transactional_db: None, private_redis: PrivateRedis
) -> None:
    with fault_run("2-broker-restarted", broker_url=private_redis.url) as run:
        # given the beat dispatching every member's nudge and a worker sending them
        run.start_beat()
        run.start_worker()
        run.wait_delivered(run.members // 4)

        # when the broker dies mid-burst, with what it held, and comes back empty
        private_redis.kill()
        delivered_when_killed = run.delivered()
        time.sleep(DOWN_FOR)  # the outage itself, not a wait for a result
        private_redis.start()
        run.fault_ended()
        run.notes["emails_before_the_restart"] = delivered_when_killed

        # then every nudge ends sent, none lost, none twice at the SMTP server
        figures = run.finish()
        assert delivered_when_killed < run.members, "the restart came after the burst"
        assert figures.sent == run.members, figures
