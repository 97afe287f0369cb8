"""The Celery wiring end to end: a real worker process, the real broker, the real database."""

from __future__ import annotations

import pytest

from apps.operations.models import WorkerHeartbeat
from tests.conftest import WorkerProcess, wait_until
from worker.tasks import heartbeat

pytestmark = pytest.mark.slow


def test_a_task_sent_through_the_broker_runs_in_a_worker_and_its_write_commits(
    celery_worker_process: WorkerProcess,
) -> None:
    # given a worker that has never run a heartbeat
    assert not WorkerHeartbeat.objects.exists()

    # when the beat's heartbeat task is published to the broker
    heartbeat.delay()

    # then the worker process runs it and the row it writes is visible to us
    assert wait_until(WorkerHeartbeat.objects.exists, timeout=30), (
        "no heartbeat row within 30 s; worker output:\n" + celery_worker_process.output
    )
    row = WorkerHeartbeat.objects.get()
    assert row.worker_name.startswith("test-")
    assert "worker.tasks.heartbeat" in celery_worker_process.output
