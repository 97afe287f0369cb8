"""Demo clients with 90 days of history, so the therapist's admin has something to show
right after `make run`: one persona per attention rule and two who are doing fine.

Deterministic (seeded), written with bulk_create, idempotent: created once, alongside
the demo accounts. The clients cannot log in (unusable passwords); their addresses use
the reserved `.invalid` domain, so nothing is ever sent to a real person.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction

from apps.accounts.models import User
from apps.careteam.models import CareLink
from apps.reminders.models import Nudge, NudgeKind
from apps.tracking.models import Activity, CheckIn

HISTORY_DAYS = 90
# Local hours at which each kind's nudges fired.
NUDGE_HOURS = {
    NudgeKind.MINDFULNESS: (12,),
    NudgeKind.HYDRATION: (9, 11, 14, 16),
    NudgeKind.STRETCH: (10, 15),
    NudgeKind.MOVEMENT: (10, 13, 15),
    NudgeKind.WARMUP: (7,),
}


@dataclass(frozen=True)
class Persona:
    name: str
    zone: str
    adherence: float  # chance that a nudge is done
    stress: tuple[int, int]  # range of daily stress
    pain: tuple[int, int]  # range of daily pain, older weeks
    recent_pain: tuple[int, int] | None = None  # the last 7 days, when different
    quiet_days: int = 0  # no activity at all over the most recent days
    shares_checkins: bool = True
    checkin_chance: float = 0.8


PERSONAS = (
    Persona("Ava Doing-Well", "Europe/London", 0.85, (2, 4), (0, 0)),
    Persona("Ben Low-Adherence", "America/New_York", 0.3, (4, 7), (0, 0)),
    Persona("Chloé Persistent-Pain", "Europe/Paris", 0.7, (3, 6), (4, 6), checkin_chance=1.0),
    Persona("Dev Stalled", "Asia/Kolkata", 0.6, (3, 5), (0, 0), quiet_days=16),
    Persona(
        "Elena Pain-Rising",
        "Australia/Sydney",
        0.75,
        (3, 5),
        (0, 0),
        recent_pain=(7, 8),
        checkin_chance=1.0,
    ),
    Persona("Farid Adherence-Only", "UTC", 0.6, (2, 5), (0, 0), shares_checkins=False),
    Persona("Grace Quiet", "America/Los_Angeles", 0.7, (2, 4), (0, 0), quiet_days=3),
)


def demo_email(persona: Persona) -> str:
    return persona.name.split()[0].lower().replace("é", "e") + "@demo.stressrelief.invalid"


@transaction.atomic
def demo_clients_create(*, therapist: User, now: datetime) -> list[User]:
    """Create the personas as clients of `therapist` with their history; nothing when they
    exist already."""
    if User.objects.filter(email=demo_email(PERSONAS[0])).exists():
        return []
    clients = []
    for index, persona in enumerate(PERSONAS):
        client = User.objects.create_user(
            email=demo_email(persona), password=None, timezone=persona.zone
        )
        client.display_name = persona.name
        client.date_joined = now - timedelta(days=HISTORY_DAYS)
        client.save(update_fields=["display_name", "date_joined"])
        CareLink.objects.create(
            member=client, therapist=therapist, share_checkins=persona.shares_checkins
        )
        history_create(member=client, persona=persona, now=now, seed=index)
        clients.append(client)
    return clients


def history_create(
    *, member: User, persona: Persona, now: datetime, seed: int, days: int = HISTORY_DAYS
) -> None:
    """`days` local days of nudges, habit logs and check-ins ending at `now` (the
    benchmarks build a year with it)."""
    rng = random.Random(seed)  # noqa: S311 - demo data: repeatable, not secret
    zone = ZoneInfo(persona.zone)
    today = now.astimezone(zone).date()
    nudges, activities, checkins = [], [], []
    for days_ago in range(days - 1, -1, -1):
        day = today - timedelta(days=days_ago)
        quiet = days_ago < persona.quiet_days
        for kind, hours in NUDGE_HOURS.items():
            if kind == NudgeKind.MOVEMENT and day.weekday() >= 5:
                continue  # movement breaks are for workdays at the desk
            for hour in hours:
                due = datetime.combine(day, time(hour), tzinfo=zone)
                if due > now:
                    continue
                done = not quiet and rng.random() < persona.adherence
                status = "done" if done else rng.choice(["sent", "sent", "skipped", "snoozed"])
                acted = due + timedelta(minutes=rng.randint(1, 40)) if done else None
                nudges.append(
                    Nudge(member=member, kind=kind, due_at=due, status=status, sent_at=due,
                          acted_at=acted if acted and acted <= now else None)
                )  # fmt: skip
                if done and acted and acted <= now:
                    activities.append(_activity(member, kind, acted))
        if not quiet and rng.random() < persona.checkin_chance:
            low, high = (
                persona.recent_pain if persona.recent_pain and days_ago < 7 else persona.pain
            )
            moment = datetime.combine(day, time(20, rng.randint(0, 59)), tzinfo=zone)
            if moment <= now:
                checkins.append(
                    CheckIn(member=member, stress=rng.randint(*persona.stress),
                            pain=rng.randint(low, high), recorded_at=moment,
                            symptoms=["tightness"] if high else [], body_areas=["neck"])
                )  # fmt: skip
    Nudge.objects.bulk_create(nudges)
    Activity.objects.bulk_create(activities)
    CheckIn.objects.bulk_create(checkins)


def _activity(member: User, kind: str, at: datetime) -> Activity:
    if kind == NudgeKind.HYDRATION:
        return Activity(member=member, kind=kind, amount_ml=250, recorded_at=at)
    minutes = 10 if kind == NudgeKind.MINDFULNESS else None
    return Activity(member=member, kind=kind, minutes=minutes, recorded_at=at)
