"""Writes for operating the service: heartbeats and the one-machine demo data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import member_create, therapist_create
from apps.operations.models import WorkerHeartbeat

DEMO_MEMBER_EMAIL = "member@demo.stressrelief.invalid"
DEMO_THERAPIST_EMAIL = "therapist@demo.stressrelief.invalid"


def heartbeat_record(*, worker_name: str) -> WorkerHeartbeat:
    """Record that `worker_name` is alive now; one row per worker, updated in place."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        worker_name=worker_name, defaults={"last_seen_at": timezone.now()}
    )
    return heartbeat


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    password: str


@transaction.atomic
def demo_accounts_create() -> list[DemoAccount]:
    """Create a demo member and a demo therapist with fresh random passwords, once.

    Returns the accounts created now; an empty list when they already exist, so the
    passwords are shown only on the first run and never stored in clear anywhere.
    """
    if User.objects.filter(email__in=[DEMO_MEMBER_EMAIL, DEMO_THERAPIST_EMAIL]).exists():
        return []
    member_password = secrets.token_urlsafe(12)
    therapist_password = secrets.token_urlsafe(12)
    member_create(email=DEMO_MEMBER_EMAIL, password=member_password, display_name="Demo Member")
    therapist_create(
        email=DEMO_THERAPIST_EMAIL, password=therapist_password, display_name="Demo Therapist"
    )
    return [
        DemoAccount("member", DEMO_MEMBER_EMAIL, member_password),
        DemoAccount("therapist", DEMO_THERAPIST_EMAIL, therapist_password),
    ]
