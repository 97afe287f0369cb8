"""The Celery app: configured from Django settings (CELERY_* names), tasks in worker/."""

import os
import sys

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressrelief.settings")

app = Celery("stressrelief")


@app.on_configure.connect
def _require_valid_settings(sender: Celery, **kwargs: object) -> None:
    """Fail with one line, not a traceback, when the environment is malformed."""
    from django.conf import settings

    from stressrelief.environment import ConfigurationError

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads (and so validates) the settings
    except ConfigurationError as error:
        sys.exit(f"stressrelief: configuration error: {error}")


app.config_from_object("django.conf:settings", namespace="CELERY")
# `worker` is in INSTALLED_APPS, so this imports worker/tasks.py.
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_beat_schedule(sender: Celery, **kwargs: object) -> None:
    from worker.schedule import BEAT_SCHEDULE

    sender.conf.beat_schedule = BEAT_SCHEDULE
