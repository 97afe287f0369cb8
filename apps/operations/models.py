"""What an operator needs to see that the asynchronous side is alive."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran the beat's heartbeat task.

    One row per worker node name: a stale row means beat or that worker stopped.
    """

    worker_name = models.CharField(max_length=255, unique=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ("-last_seen_at",)

    def __str__(self) -> str:
        return self.worker_name
