"""Celery tasks: thin. Each loads by id, calls one service, and decides about retries."""

from __future__ import annotations

from celery import Task, shared_task

from apps.operations.services import heartbeat_record


@shared_task(bind=True, name="worker.tasks.heartbeat", ignore_result=True)
def heartbeat(self: Task) -> None:
    """Beat sends this every minute; the worker that runs it records that it is alive."""
    heartbeat_record(worker_name=self.request.hostname or "unknown")
