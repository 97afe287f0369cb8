"""Settings for benchmark 3 only (bench/b3_celery_beat.py); the product never loads them.

The project's settings plus django-celery-beat (its tables and its DatabaseScheduler, the
usual design being compared), and routes that park what the two designs enqueue in queues
no worker consumes, so the benchmark can count it in Redis (LLEN) as it arrives.
"""

from stressrelief.settings import *  # noqa: F403
from stressrelief.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_celery_beat"]

# The usual design's per-member task (never registered: beat publishes it by name).
REMINDER_TASK = "bench.remind_member"
BEAT_REMINDERS_QUEUE = "bench-beat-reminders"
# Where the dispatcher's delivery messages wait uncollected. Every other task of
# worker/tasks.py goes there too, whatever another change names the delivery task (one
# member per task or several); the periodic ones below stay on the default queue, which
# the benchmark's worker consumes.
DELIVERY_QUEUE = "bench-deliveries"
_PERIODIC_TASKS = (
    "worker.tasks.dispatch_nudges",
    "worker.tasks.heartbeat",
    "worker.tasks.weekly_emails",
    "worker.tasks.prune_used_action_links",
)
# Exact names are matched before glob patterns (celery.app.routes.MapRoute).
CELERY_TASK_ROUTES = {
    **{name: {"queue": "celery"} for name in _PERIODIC_TASKS},
    REMINDER_TASK: {"queue": BEAT_REMINDERS_QUEUE},
    "worker.tasks.*": {"queue": DELIVERY_QUEUE},
}
