"""Test data builders: real rows made through the services, unique per call."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import member_create, therapist_create
from apps.careteam.models import CareLink
from apps.careteam.services import Shares, care_link_accept, invitation_create
from apps.reminders.models import Nudge
from apps.tracking.models import Activity, CheckIn
from apps.tracking.services import activity_record, checkin_record

DEFAULT_PASSWORD = "calm-shoulders-2026"
_sequence = itertools.count(1)


def make_member(
    *, email: str | None = None, password: str = DEFAULT_PASSWORD, timezone: str = "UTC"
) -> User:
    return member_create(
        email=email or f"member{next(_sequence)}@example.org", password=password, timezone=timezone
    )


def make_therapist(*, email: str | None = None, password: str = DEFAULT_PASSWORD) -> User:
    return therapist_create(
        email=email or f"therapist{next(_sequence)}@example.org", password=password
    )


def make_link(
    *,
    member: User,
    therapist: User,
    adherence: bool = True,
    checkins: bool = True,
    notes: bool = False,
) -> CareLink:
    """A link made the real way: the therapist invites, the member accepts."""
    _, code = invitation_create(therapist=therapist)
    return care_link_accept(
        member=member, code=code, shares=Shares(adherence=adherence, checkins=checkins, notes=notes)
    )


def make_checkin(
    *,
    member: User,
    pain: int = 3,
    stress: int = 4,
    recorded_at: datetime | None = None,
    note: str = "",
) -> CheckIn:
    return checkin_record(
        member=member,
        stress=stress,
        pain=pain,
        symptoms=["tightness"],
        body_areas=["neck"],
        note=note,
        recorded_at=recorded_at,
    )


def make_activity(
    *,
    member: User,
    kind: str = "stretch",
    minutes: int | None = 5,
    amount_ml: int = 250,
    recorded_at: datetime | None = None,
) -> Activity:
    if kind == "hydration":
        return activity_record(
            member=member, kind=kind, amount_ml=amount_ml, recorded_at=recorded_at
        )
    return activity_record(member=member, kind=kind, minutes=minutes, recorded_at=recorded_at)


def make_nudge(
    *,
    member: User,
    due_at: datetime,
    kind: str = "stretch",
    status: str = "sent",
    acted_at: datetime | None = None,
) -> Nudge:
    """A nudge as the dispatcher and the member's action would have left it (no schedule:
    the history's shape is what matters to the readers under test)."""
    return Nudge.objects.create(
        member=member, kind=kind, due_at=due_at, status=status, acted_at=acted_at
    )


def make_pending_nudge(member: User, kind: str = "hydration") -> Nudge:
    """A nudge the dispatcher has just handed to delivery: pending, due a minute ago."""
    return make_nudge(
        member=member, kind=kind, due_at=timezone.now() - timedelta(minutes=1), status="pending"
    )
