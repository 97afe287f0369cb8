"""Writes about profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apps.profiles.models import Profile

if TYPE_CHECKING:
    from apps.accounts.models import User


def profile_create(*, user: User, timezone: str = "UTC") -> Profile:
    """Create the profile for a new user; the time zone is validated first."""
    profile = Profile(user=user, timezone=timezone)
    profile.full_clean()
    profile.save()
    return profile
