"""Writes about profiles: creation, updates, pausing nudges."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import transaction

from apps.profiles.models import Profile

if TYPE_CHECKING:
    from apps.accounts.models import User

# The longest pause a member can set in one go ("holiday until ..."): about a year.
MAX_PAUSE = timedelta(days=366)
# "Until tomorrow morning" when the member has no work hours to go by.
DEFAULT_MORNING = time(8, 0)


def profile_create(*, user: User, timezone: str = "UTC") -> Profile:
    """Create the profile for a new user; the time zone is validated first."""
    profile = Profile(user=user, timezone=timezone)
    profile.full_clean()
    profile.save()
    return profile


@transaction.atomic
def profile_update(*, profile: Profile, changes: dict[str, Any]) -> Profile:
    """Apply already-validated field changes and save them all, or none. Reminder
    schedules follow at once (a new time zone re-times every nudge)."""
    from apps.reminders.services import schedules_follow_profile  # reminders uses profiles

    before = {
        field: getattr(profile, field)
        for field in ("timezone", "hot_environment", "work_start", "work_end")
    }
    for field, value in changes.items():
        setattr(profile, field, value)
    profile.full_clean()
    profile.save()
    schedules_follow_profile(profile=profile, before=before)
    return profile


def pause_end_tomorrow_morning(*, profile: Profile, now: datetime) -> datetime:
    """Tomorrow at the member's work start (or 08:00), in their own time zone, in UTC."""
    zone = ZoneInfo(profile.timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    morning = profile.work_start or DEFAULT_MORNING
    # fold=0: on a fall-back morning the first of the two times; a spring-forward gap
    # time is normalised forward by the UTC round-trip.
    local = datetime.combine(tomorrow, morning, tzinfo=zone)
    return local.astimezone(ZoneInfo("UTC"))


def profile_pause(*, profile: Profile, until: datetime) -> Profile:
    """Pause every nudge until `until` (aware). Resuming needs nothing: the dispatcher
    compares with the current time."""
    profile.paused_until = until
    profile.save(update_fields=["paused_until", "updated_at"])
    return profile


def profile_resume(*, profile: Profile) -> Profile:
    profile.paused_until = None
    profile.save(update_fields=["paused_until", "updated_at"])
    return profile
