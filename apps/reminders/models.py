"""Schedules (the member's rules), nudges (one per firing) and every delivery attempt."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.reminders.rules import Rule


class NudgeKind(models.TextChoices):
    MINDFULNESS = "mindfulness", "10 minutes of mindfulness"
    HYDRATION = "hydration", "A glass of water"
    STRETCH = "stretch", "Stretch"
    MOVEMENT = "movement", "Get up and walk"
    WARMUP = "warmup", "Warm up"


def all_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4, 5, 6]


class Schedule(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="schedules"
    )
    kind = models.CharField(max_length=16, choices=NudgeKind.choices)
    # Either fixed local times ["07:30", "12:00"] or every N minutes inside a window.
    times = models.JSONField(default=list, blank=True)
    every_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    weekdays = models.JSONField(default=all_weekdays)
    # Empty: the member's preferred channels (profile). Otherwise these, for this schedule.
    channels = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    # The next firing, in UTC; NULL when disabled or never. The dispatcher reads only this
    # column (partial index below), so an idle tick costs one index probe.
    next_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("kind", "id")
        indexes = [
            models.Index(
                fields=["next_due_at"],
                name="schedule_due",
                condition=Q(enabled=True, next_due_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(every_minutes__isnull=True)
                | Q(
                    every_minutes__gte=5,
                    every_minutes__lte=720,
                    window_start__isnull=False,
                    window_end__isnull=False,
                    window_start__lt=models.F("window_end"),
                ),
                name="schedule_interval_has_a_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} schedule {self.pk} of member {self.member_id}"

    def rule(self) -> Rule:
        return Rule(
            times=tuple(time.fromisoformat(value) for value in self.times),
            every_minutes=self.every_minutes,
            window_start=self.window_start,
            window_end=self.window_end,
            weekdays=tuple(self.weekdays),
        )

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.member.profile.timezone)


class NudgeStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    DONE = "done", "Done"
    SNOOZED = "snoozed", "Snoozed"
    SKIPPED = "skipped", "Skipped"
    MISSED = "missed", "Missed (too late to send)"
    SUPPRESSED = "suppressed", "Not sent (see reason)"
    FAILED = "failed", "Could not be delivered"


class SuppressionReason(models.TextChoices):
    QUIET_HOURS = "quiet_hours", "Inside the member's quiet hours"
    PAUSED = "paused", "The member paused nudges"
    INACTIVE = "inactive", "The account is not active"
    WATER_GOAL_MET = "water_goal_met", "Today's water goal is met"
    RECENT_WATER = "recent_water", "Water was logged in the last 30 minutes"
    RECENT_MOVEMENT = "recent_movement", "Movement or a stretch was logged in the last 20 minutes"
    MINDFULNESS_DONE = "mindfulness_done", "Today's mindfulness session is done"
    TOO_SOON = "too_soon", "Another message went out less than 20 minutes ago"


class Nudge(models.Model):
    # No single-column index on either foreign key: `nudge_member_recent` (member, -due_at)
    # and the unique (schedule, due_at) begin with them and serve the same lookups. Each
    # index costs every dispatched nudge an insert (6 indexes were 4 before; measured in
    # bench b1_dispatch).
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nudges", db_index=False
    )
    # SET_NULL: deleting a schedule keeps the history of what it sent.
    schedule = models.ForeignKey(
        Schedule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="nudges",
        db_index=False,
    )
    kind = models.CharField(max_length=16, choices=NudgeKind.choices)
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=NudgeStatus.choices, default=NudgeStatus.PENDING
    )
    suppressed_reason = models.CharField(
        max_length=24, choices=SuppressionReason.choices, blank=True
    )
    # Outbox: set when delivery was handed to the broker; a pending nudge whose hand-off
    # is missing or stale is handed over again by the next dispatcher tick.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acted_at = models.DateTimeField(null=True, blank=True)
    snooze_count = models.PositiveSmallIntegerField(default=0)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # Delivery bookkeeping: a worker claims a pending nudge by writing a fresh token
    # (conditional update), so two workers never send the same nudge; a transient
    # failure puts it back to pending with the time of the next try.
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivery_tries = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-due_at", "-id")
        indexes = [
            models.Index(fields=["member", "-due_at"], name="nudge_member_recent"),
            models.Index(
                fields=["status", "enqueued_at"],
                name="nudge_outbox",
                condition=Q(status__in=["pending", "sending", "snoozed"]),
            ),
        ]
        constraints = [
            # Two dispatchers, or one tick run twice, cannot create the same firing twice.
            models.UniqueConstraint(fields=["schedule", "due_at"], name="nudge_once_per_firing"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} nudge {self.pk} for member {self.member_id}"
