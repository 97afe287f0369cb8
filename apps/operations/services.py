"""Writes for operating the service: heartbeats and the one-machine demo data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import member_create, therapist_create
from apps.operations.demo_history import demo_clients_create
from apps.operations.models import WorkerHeartbeat
from apps.reminders.models import Schedule
from apps.reminders.services import schedule_save

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
    member = member_create(
        email=DEMO_MEMBER_EMAIL, password=member_password, display_name="Demo Member"
    )
    # No quiet hours: whenever someone tries `make run`, the demo nudge can arrive.
    member.profile.quiet_start = member.profile.quiet_end = None
    member.profile.save(update_fields=["quiet_start", "quiet_end"])
    therapist = therapist_create(
        email=DEMO_THERAPIST_EMAIL, password=therapist_password, display_name="Demo Therapist"
    )
    # So the therapist's admin shows clients (one per attention rule) from the first run.
    demo_clients_create(therapist=therapist, now=timezone.now())
    return [
        DemoAccount("member", DEMO_MEMBER_EMAIL, member_password),
        DemoAccount("therapist", DEMO_THERAPIST_EMAIL, therapist_password),
    ]


DEMO_SCHEDULE_KIND = "mindfulness"


def demo_nudge_soon(*, now: datetime | None = None) -> Schedule | None:
    """Move the demo member's daily mindfulness nudge to the next whole minute, so a
    person who just ran `make run` sees one arrive in var/mail/ within two minutes
    (beat's first dispatcher tick comes a minute after it starts)."""
    member = User.objects.filter(email=DEMO_MEMBER_EMAIL).first()
    if member is None:
        return None
    now = now or timezone.now()
    local = now.astimezone(ZoneInfo(member.profile.timezone))
    next_minute = (local + timedelta(minutes=1)).replace(second=0, microsecond=0)
    schedule = Schedule.objects.filter(member=member, kind=DEMO_SCHEDULE_KIND).first()
    return schedule_save(
        member=member,
        schedule=schedule,
        changes={"kind": DEMO_SCHEDULE_KIND, "times": [next_minute.strftime("%H:%M")]},
    )
