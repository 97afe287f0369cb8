"""The beat schedule only names tasks a worker actually has."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from stressrelief.celery import app as celery_app
from worker.schedule import BEAT_SCHEDULE


def test_autodiscovery_registers_the_tasks_in_worker_package() -> None:
    celery_app.loader.import_default_modules()

    assert "worker.tasks.heartbeat" in celery_app.tasks


def test_every_beat_entry_names_a_registered_task() -> None:
    celery_app.loader.import_default_modules()

    missing = [
        entry["task"] for entry in BEAT_SCHEDULE.values() if entry["task"] not in celery_app.tasks
    ]
    assert missing == []
    assert celery_app.conf.beat_schedule == BEAT_SCHEDULE


def test_the_dispatcher_ticks_on_the_minute_whenever_beat_started() -> None:
    schedule = copy.copy(BEAT_SCHEDULE["dispatch-nudges"]["schedule"])  # nowfun set below
    # Beat started (and last ran the tick) at 09:00:20: the next tick is at 09:01:00, not
    # at 09:01:20, since reminders are due on whole minutes.
    last_run = datetime(2026, 6, 1, 9, 0, 20, tzinfo=UTC)
    schedule.nowfun = lambda: datetime(2026, 6, 1, 9, 0, 50, tzinfo=UTC)
    due, wait = schedule.is_due(last_run)
    assert not due
    assert wait == 10.0
