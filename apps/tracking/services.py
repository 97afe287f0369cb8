"""Writes about what members log. Input is validated at the API edge; the database
constraints (models.py) are the backstop, so nothing invalid is ever stored."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction

from apps.progress.cache import progress_cache_expire
from apps.tracking.models import Activity, CheckIn

if TYPE_CHECKING:
    from apps.accounts.models import User


@transaction.atomic
def checkin_record(
    *,
    member: User,
    stress: int,
    pain: int,
    symptoms: list[str] | None = None,
    body_areas: list[str] | None = None,
    note: str = "",
    recorded_at: datetime | None = None,
) -> CheckIn:
    """Store one check-in for `member`."""
    checkin = CheckIn(
        member=member,
        stress=stress,
        pain=pain,
        symptoms=list(symptoms or []),
        body_areas=list(body_areas or []),
        note=note,
    )
    if recorded_at is not None:
        checkin.recorded_at = recorded_at
    checkin.save()
    progress_cache_expire(member_id=checkin.member_id)
    return checkin


@transaction.atomic
def record_update(*, record: CheckIn | Activity, changes: dict[str, Any]) -> CheckIn | Activity:
    """Apply validated changes to a member's own check-in or activity."""
    for field, value in changes.items():
        setattr(record, field, value)
    record.save()
    progress_cache_expire(member_id=record.member_id)
    return record


@transaction.atomic
def activity_record(
    *,
    member: User,
    kind: str,
    minutes: int | None = None,
    amount_ml: int | None = None,
    recorded_at: datetime | None = None,
) -> Activity:
    """Store one habit activity for `member` (minutes, or ml for water)."""
    activity = Activity(member=member, kind=kind, minutes=minutes, amount_ml=amount_ml)
    if recorded_at is not None:
        activity.recorded_at = recorded_at
    activity.save()
    progress_cache_expire(member_id=activity.member_id)
    return activity


@transaction.atomic
def record_delete(*, record: CheckIn | Activity) -> None:
    """Delete one of a member's own check-ins or habit logs (the caller has checked whose
    it is). Progress figures and the persistent-pain rule read the rows, so they follow
    at once; a nudge marked done keeps its status."""
    member_id = record.member_id
    record.delete()
    progress_cache_expire(member_id=member_id)
