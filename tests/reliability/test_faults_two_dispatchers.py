"""Scenario 5: two beats and two looping `manage.py dispatch_nudges` processes tick at
once, with two workers: four dispatchers claim the same due schedules and sweep the same
outbox. No nudge is created twice and no message reaches a sink twice."""

from __future__ import annotations

import re
import sys

import pytest

from apps.reminders.models import Nudge
from tests.reliability.harness import PrivateRedis, fault_run

# Bounded: a stuck run fails after 10 minutes (a run takes 1-3 minutes on a loaded 2-core CI).
pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.timeout(600)]

TICK_SENT = "Sending due task dispatch-nudges"
DISPATCHED = re.compile(r"[1-9]\d* nudges created")


def test_concurrent_beats_and_dispatchers_create_and_send_each_nudge_once(
    transactional_db: None, private_redis: PrivateRedis
) -> None:
    with fault_run(
        "5-two-dispatchers",
        channels=("email", "push"),
        broker_url=private_redis.url,
        dispatch_every=1,
    ) as run:
        # given two workers
        run.start_worker("worker-a", concurrency=3)
        run.start_worker("worker-b", concurrency=3)
        # when two beats and two looping dispatchers start at once
        loop = [sys.executable, "manage.py", "dispatch_nudges", "--loop", "--interval", "0.5"]
        dispatchers = [run.start_process(f"dispatcher-{name}", loop) for name in ("a", "b")]
        beats = [run.start_beat(f"beat-{name}", wait=False) for name in ("a", "b")]
        run.fault_ended()

        def side_by_side() -> dict[str, object]:
            return {
                "beat_ticks": [beat.log_count(TICK_SENT) for beat in beats],
                "looping_dispatchers_that_created_nudges": sum(
                    1 for process in dispatchers if DISPATCHED.search(process.output_all)
                ),
            }

        # then every nudge is created once and sent once, on both channels
        figures = run.finish(notes=side_by_side)
        assert figures.sent == run.members, figures
        assert Nudge.objects.count() == run.members
        # and the beats did tick side by side with the looping dispatchers
        assert all(ticks >= 1 for ticks in figures.notes["beat_ticks"]), run.process_output()
