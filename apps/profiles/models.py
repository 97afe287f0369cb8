"""A member's profile: the facts the nudges are scheduled around."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.profiles.validators import validate_time_zone

CHANNELS = ("email", "push", "in_app")
DEFAULT_WORKDAYS = [0, 1, 2, 3, 4]  # Monday..Friday; 0 = Monday as in datetime.weekday()


def default_workdays() -> list[int]:
    return list(DEFAULT_WORKDAYS)


def default_channels() -> list[str]:
    return ["email", "in_app"]


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
    # Local wall-clock times; work hours do not cross midnight, quiet hours may.
    work_start = models.TimeField(default="09:00")
    work_end = models.TimeField(default="17:00")
    workdays = models.JSONField(default=default_workdays)
    quiet_start = models.TimeField(null=True, blank=True, default="22:00")
    quiet_end = models.TimeField(null=True, blank=True, default="07:00")
    hot_environment = models.BooleanField(
        default=False, help_text="Works or lives in the heat: hydration nudges come more often."
    )
    water_goal_ml = models.PositiveIntegerField(default=2000)
    # What "Done" on a water nudge logs: the member's usual glass or bottle.
    glass_ml = models.PositiveIntegerField(default=250)
    channels = models.JSONField(default=default_channels)
    # Streaks motivate some people and pressure others: hidden everywhere when False.
    show_streaks = models.BooleanField(default=True)
    # Monday 08:00 local: the member's own week in numbers (opt-in), and for therapists the
    # clients who need attention (on unless unsubscribed).
    weekly_progress_email = models.BooleanField(default=False)
    weekly_digest_email = models.BooleanField(default=True)
    # Nudges resume by themselves once this moment has passed: nothing needs to run.
    paused_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(work_start__lt=models.F("work_end")),
                name="profiles_work_hours_in_order",
            ),
            models.CheckConstraint(
                condition=Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | (
                    Q(quiet_start__isnull=False, quiet_end__isnull=False)
                    & ~Q(quiet_start=models.F("quiet_end"))
                ),
                name="profiles_quiet_hours_both_or_neither",
            ),
            models.CheckConstraint(
                condition=Q(water_goal_ml__gte=250, water_goal_ml__lte=10000),
                name="profiles_water_goal_range",
            ),
            models.CheckConstraint(
                condition=Q(glass_ml__gte=50, glass_ml__lte=1500), name="profiles_glass_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Profile of user {self.user_id}"

    def is_paused(self, *, now: datetime) -> bool:
        return self.paused_until is not None and self.paused_until > now
