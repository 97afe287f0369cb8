"""Writes about accounts. Every account is created here, so it always has a profile."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from apps.accounts.models import THERAPISTS_GROUP, User
from apps.profiles.services import profile_create


@transaction.atomic
def member_create(
    *, email: str, password: str, display_name: str = "", timezone: str = "UTC"
) -> User:
    """Create a member and their profile together, or neither."""
    user = User.objects.create_user(email=email, password=password, display_name=display_name)
    profile_create(user=user, timezone=timezone)
    return user


@transaction.atomic
def therapist_create(*, email: str, password: str, display_name: str = "") -> User:
    """Create a therapist: a staff user in the Therapists group, with a profile."""
    user = member_create(email=email, password=password, display_name=display_name)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    group, _ = Group.objects.get_or_create(name=THERAPISTS_GROUP)
    user.groups.add(group)
    return user
