"""Reads about accounts."""

from __future__ import annotations

from apps.accounts.models import THERAPISTS_GROUP, User


def user_is_therapist(*, user: User) -> bool:
    """True for an active staff user in the Therapists group."""
    return bool(
        user.is_active and user.is_staff and user.groups.filter(name=THERAPISTS_GROUP).exists()
    )
