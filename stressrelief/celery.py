"""The Celery app: configured from Django settings (CELERY_* names), tasks in worker/."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressrelief.settings")

app = Celery("stressrelief")
app.config_from_object("django.conf:settings", namespace="CELERY")
# `worker` is in INSTALLED_APPS, so this imports worker/tasks.py.
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_beat_schedule(sender: Celery, **kwargs: object) -> None:
    from worker.schedule import BEAT_SCHEDULE

    sender.conf.beat_schedule = BEAT_SCHEDULE
