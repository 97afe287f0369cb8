"""Reads for operating the service: is each part we depend on answering?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, connections
from django.utils import timezone
from kombu import Connection

from apps.operations.models import WorkerHeartbeat
from stressrelief.celery import app as celery_app
from stressrelief.environment import redact_url

# Seconds: /healthz is polled by load balancers, so a dead broker must not hang it.
BROKER_CHECK_TIMEOUT = 3


@dataclass(frozen=True)
class ComponentHealth:
    ok: bool
    # For operators (the healthcheck command); never sent over HTTP.
    detail: str = ""


def health_of_database(*, using: str = "default") -> ComponentHealth:
    """Connect and run a trivial query on the database alias."""
    try:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return ComponentHealth(ok=False, detail=first_line)
    return ComponentHealth(ok=True)


def health_of_broker(*, broker_url: str | None = None) -> ComponentHealth:
    """Open (and close) a connection to the Celery broker."""
    url = broker_url or celery_app.conf.broker_url
    connection = Connection(
        url,
        connect_timeout=BROKER_CHECK_TIMEOUT,
        transport_options=dict(celery_app.conf.broker_transport_options or {}),
    )
    try:
        connection.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_CHECK_TIMEOUT
        )
    except Exception as error:  # kombu raises transport-specific errors
        return ComponentHealth(ok=False, detail=f"{redact_url(url)}: {error}")
    finally:
        connection.release()
    return ComponentHealth(ok=True)


def health_report(*, broker_url: str | None = None) -> dict[str, ComponentHealth]:
    """The components /healthz and `manage.py healthcheck` report, in that order."""
    return {
        "database": health_of_database(),
        "broker": health_of_broker(broker_url=broker_url),
    }


def heartbeats_recent(*, within: timedelta = timedelta(minutes=5)) -> list[WorkerHeartbeat]:
    """Workers that ran the heartbeat task within `within` of now, newest first."""
    return list(WorkerHeartbeat.objects.filter(last_seen_at__gte=timezone.now() - within))
