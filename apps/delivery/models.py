"""Delivery records and the endpoints members receive nudges on."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class DeliveryAttempt(models.Model):
    """One try at one channel: the audit trail an operator and a therapist read."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will retry)"
        REJECTED = "rejected", "Rejected permanently"
        SKIPPED = "skipped", "Skipped (no endpoint)"

    nudge = models.ForeignKey("reminders.Nudge", on_delete=models.CASCADE, related_name="attempts")
    channel = models.CharField(max_length=16)
    attempted_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ("attempted_at", "id")
        indexes = [models.Index(fields=["nudge", "channel"], name="attempt_nudge_channel")]

    def __str__(self) -> str:
        return f"{self.channel} {self.outcome} for nudge {self.nudge_id}"


class PushSubscription(models.Model):
    """A browser's Web Push endpoint for a member (RFC 8030), with its RFC 8291 keys."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the push service answered 404/410: the endpoint is gone for good.
    disabled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Push subscription {self.pk} of member {self.member_id}"


class UsedActionLink(models.Model):
    """An email action link (done, snooze, skip) that has been used: each works once.

    Only a digest of the signed token is kept; the unique key makes a second use, even
    two clicks racing each other, fail in the database rather than act twice. Rows older
    than a link's lifetime (48 hours) prove nothing any more and may be pruned
    (`links.used_action_links_prune`).
    """

    digest = models.CharField(max_length=64, unique=True)  # sha256 hex of the token
    nudge = models.ForeignKey(
        "reminders.Nudge", on_delete=models.CASCADE, related_name="used_action_links"
    )
    action = models.CharField(max_length=16)
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["used_at"], name="used_link_used_at")]

    def __str__(self) -> str:
        return f"{self.action} link for nudge {self.nudge_id}, used {self.used_at:%Y-%m-%d %H:%M}"
