"""A member's profile: the facts the nudges are scheduled around.

The foundation holds the time zone; work hours, quiet hours, hot environment, water
goal and channels join it with the members issue.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.profiles.validators import validate_time_zone


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone; every local time (nudges, days) is computed in it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of user {self.user_id}"
