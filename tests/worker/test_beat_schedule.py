"""The beat schedule only names tasks a worker actually has."""

from __future__ import annotations

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
