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
# Fields a check constraint compares with each other (Profile.Meta.constraints).
CONSTRAINED_PAIRS = ({"work_start", "work_end"}, {"quiet_start", "quiet_end"})
# "Until tomorrow morning" when the member has no work hours to go by.
DEFAULT_MORNING = time(8, 0)


def profile_create(*, user: User, timezone: str = "UTC") -> Profile:
    """Create the profile for a new user; the time zone is validated first."""
    profile = Profile(user=user, timezone=timezone)
    profile.full_clean()
    profile.save()
    return profile


@transaction.atomic
def profile_update(
    *, profile: Profile, changes: dict[str, Any], display_name: str | None = None
) -> Profile:
    """Apply already-validated field changes (and the account's display name) and save
    them all, or none. Reminder schedules follow at once (a new time zone re-times
    every nudge)."""
    from apps.progress.cache import progress_cache_expire  # progress reads profiles
    from apps.reminders.services import schedules_follow_profile  # reminders uses profiles

    before = {
        field: getattr(profile, field)
        for field in ("timezone", "hot_environment", "work_start", "work_end")
    }
    for field, value in changes.items():
        setattr(profile, field, value)
    # Validate what changed, with the other half of any pair a constraint compares: the rest
    # was valid when stored, and each of Django's checks is a query (the user's existence,
    # the one-to-one's uniqueness, one per check constraint: 7 of a time-zone edit's 12).
    checked = set(changes)
    for pair in CONSTRAINED_PAIRS:
        if pair & checked:
            checked |= pair
    profile.full_clean(exclude=[f.name for f in Profile._meta.fields if f.name not in checked])
    profile.save()
    if display_name is not None:
        profile.user.display_name = display_name
        profile.user.save(update_fields=["display_name"])
    schedules_follow_profile(profile=profile, before=before)
    progress_cache_expire(member_id=profile.user_id)
    return profile


def pause_end_tomorrow_morning(*, profile: Profile, now: datetime) -> datetime:
    """Tomorrow at the member's work start (or 08:00), in their own time zone, in UTC."""
    from apps.reminders.rules import local_to_utc  # the one answer for gaps and folds

    zone = ZoneInfo(profile.timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return local_to_utc(tomorrow, profile.work_start or DEFAULT_MORNING, zone)


def pause_end(
    *,
    profile: Profile,
    now: datetime,
    minutes: int | None = None,
    until: datetime | None = None,
    tomorrow_morning: bool = False,
) -> datetime:
    """When a pause asked for as "for N minutes", "until ..." or "until tomorrow morning"
    ends. Exactly one is given (the API checks)."""
    if minutes:
        return now + timedelta(minutes=minutes)
    if until is not None:
        return until
    return pause_end_tomorrow_morning(profile=profile, now=now)


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
