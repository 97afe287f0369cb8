"""The therapist's clients list in the admin is a view of care links: a proxy, no table.
The weekly emails (weekly.py) are recorded here, one row per person, kind and week."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.careteam.models import CareLink


class Client(CareLink):
    """A member who shares with the therapist looking at the admin (an active CareLink)."""

    class Meta:
        proxy = True
        verbose_name = "client"
        verbose_name_plural = "clients"
        # No add/change/delete: the admin is read-only about clients.
        default_permissions = ("view",)


class WeeklyEmail(models.Model):
    """One weekly email to one person for one local week: the claim, made before sending,
    and the record of how the sending went. The unique key (recipient, kind, week_start)
    is what makes it once a week whatever number of beats or workers run."""

    class Kind(models.TextChoices):
        DIGEST = "digest", "Therapist digest"
        PROGRESS = "progress", "Weekly progress"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # claimed, waiting for a worker (or a retry)
        SENDING = "sending", "Sending"  # a worker is talking to the mail server
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"  # permanent refusal, or out of tries
        SKIPPED = "skipped", "Skipped"  # opted out, or Monday ended, before it could go

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="weekly_emails"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    week_start = models.DateField(help_text="The Monday of the week, in the recipient's zone.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    tries = models.PositiveSmallIntegerField(default=0)
    # The last attempt's error: SMTP code and reply, never an address.
    error = models.TextField(blank=True)
    # Set by the tick that inserted the row (so it knows which rows it won), then by each
    # worker's claim (so a slow worker cannot settle a row another worker holds now).
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-week_start", "kind", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "week_start"], name="weeklyemail_once_a_week"
            ),
        ]
        indexes = [
            # The outbox sweep reads only the few unfinished rows.
            models.Index(
                fields=["created_at"],
                name="weeklyemail_unfinished",
                condition=Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Weekly {self.kind} email to user {self.recipient_id} for {self.week_start}"
