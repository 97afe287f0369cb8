"""The beat schedule. Per-member reminders are NOT beat entries: one dispatcher tick
(added with the nudge engine) finds every due reminder from an indexed column."""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "dispatch-nudges": {
        "task": "worker.tasks.dispatch_nudges",
        # On the minute, not every 60 s from whenever beat started: reminders are set to
        # whole minutes, so a tick at :00 sends them at once instead of up to 59 s late
        # (benchmark 3 measured that phase lag before this was a crontab).
        "schedule": crontab(minute="*"),
        # A tick not started within a minute is superseded by the next one.
        "options": {"expires": 55},
    },
    "prune-used-action-links": {
        "task": "worker.tasks.prune_used_action_links",
        "schedule": timedelta(hours=6),
    },
    "weekly-emails": {
        "task": "worker.tasks.weekly_emails",
        # On the quarter hours of the UTC clock: every zone's 08:00 falls on one of them
        # (Kathmandu +05:45, Lord Howe +10:30), so Monday 08:00 local is met on time.
        "schedule": crontab(minute="*/15"),
        # A run not started within 14 minutes is superseded by the next one.
        "options": {"expires": 14 * 60},
    },
    "heartbeat": {
        "task": "worker.tasks.heartbeat",
        "schedule": timedelta(minutes=1),
        # A heartbeat older than a minute says nothing new: drop it rather than queue up.
        "options": {"expires": 55},
    },
}
