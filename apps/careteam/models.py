"""A member shares with a therapist only through a link the member accepted and controls."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q


class Invitation(models.Model):
    """A one-time code a therapist hands to a client. Only its SHA-256 digest is stored,
    so a database leak does not hand out working codes."""

    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations_sent"
    )
    code_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    # SET_NULL: erasing the member must leave no row pointing at them.
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Invitation {self.pk} from therapist {self.therapist_id}"


class CareLink(models.Model):
    """What one member shares with one therapist. Revoked links stay for the audit trail
    until the member erases their account."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_links"
    )
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_links"
    )
    share_adherence = models.BooleanField(default=True)
    share_checkins = models.BooleanField(default=True, help_text="Stress, pain and symptoms.")
    share_notes = models.BooleanField(default=False, help_text="The free-text check-in notes.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["therapist", "revoked_at"], name="carelink_therapist")]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "therapist"],
                condition=Q(revoked_at__isnull=True),
                name="carelink_one_active_per_pair",
            ),
            models.CheckConstraint(
                condition=~Q(member=F("therapist")), name="carelink_not_with_oneself"
            ),
        ]

    def __str__(self) -> str:
        return f"Link {self.pk}: member {self.member_id} -> therapist {self.therapist_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AccessCategory(models.TextChoices):
    ADHERENCE = "adherence", "Adherence"
    CHECKINS = "checkins", "Check-ins (stress, pain, symptoms)"
    NOTES = "notes", "Check-in notes"


class AccessLogEntry(models.Model):
    """One read of a member's data by a therapist; the member can list these."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_log"
    )
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept when the therapist's account is gone, so the member still knows who it was.
    therapist_name = models.CharField(max_length=254)
    categories = models.JSONField(default=list)
    what = models.CharField(max_length=200, help_text="The page or endpoint that was read.")
    accessed_at = models.DateTimeField(auto_now_add=True)
    # Reads by a list (many clients at once) are logged once per client and clock hour:
    # the unique key below lets one INSERT skip the ones already written.
    list_read_hour = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-accessed_at", "-id")
        indexes = [models.Index(fields=["member", "-accessed_at"], name="accesslog_member")]
        constraints = [
            models.UniqueConstraint(
                fields=["therapist", "member", "what", "list_read_hour"],
                condition=Q(list_read_hour__isnull=False),
                name="accesslog_list_read_once_an_hour",
            )
        ]
        verbose_name_plural = "access log entries"

    def __str__(self) -> str:
        return f"Access {self.pk} to member {self.member_id}"


# Bounds a clinician would accept: shorter than 5 s is not a stretch, longer than 5 minutes
# is a different exercise; more than 20 repetitions in one nudge is a typo.
STRETCH_NAME_MAX_LENGTH = 80
STRETCH_INSTRUCTIONS_MAX_LENGTH = 1000
HOLD_SECONDS_MIN, HOLD_SECONDS_MAX = 5, 300
REPETITIONS_MIN, REPETITIONS_MAX = 1, 20


class PrescribedStretch(models.Model):
    """A named stretch a therapist prescribes to one client, with how to do it and how long
    to hold it. Stretch nudges show the member's active ones (not retired, and only while
    the prescribing therapist still holds an active link with the member).

    Retiring keeps the row: the member's export and the therapist's history still hold it.
    """

    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stretches_prescribed"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prescribed_stretches"
    )
    name = models.CharField(max_length=STRETCH_NAME_MAX_LENGTH)
    instructions = models.TextField(
        max_length=STRETCH_INSTRUCTIONS_MAX_LENGTH, help_text="How to do it, in a few sentences."
    )
    hold_seconds = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(HOLD_SECONDS_MIN), MaxValueValidator(HOLD_SECONDS_MAX)],
        help_text=f"How long to hold it, {HOLD_SECONDS_MIN}-{HOLD_SECONDS_MAX} seconds.",
    )
    repetitions = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(REPETITIONS_MIN), MaxValueValidator(REPETITIONS_MAX)],
        help_text=f"How many times, {REPETITIONS_MIN}-{REPETITIONS_MAX}; empty: not specified.",
    )
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("created_at", "id")
        # Composing a stretch nudge reads a member's active stretches: (member, retired_at).
        indexes = [models.Index(fields=["member", "retired_at"], name="stretch_member_active")]
        constraints = [
            models.CheckConstraint(
                condition=Q(hold_seconds__gte=HOLD_SECONDS_MIN, hold_seconds__lte=HOLD_SECONDS_MAX),
                name="stretch_hold_seconds_range",
            ),
            models.CheckConstraint(
                condition=Q(repetitions__isnull=True)
                | Q(repetitions__gte=REPETITIONS_MIN, repetitions__lte=REPETITIONS_MAX),
                name="stretch_repetitions_range",
            ),
            models.CheckConstraint(
                condition=~Q(member=F("therapist")), name="stretch_not_for_oneself"
            ),
        ]
        verbose_name_plural = "prescribed stretches"

    def __str__(self) -> str:
        # Admin history stores this text: the stretch's name only, never the member's.
        return self.name

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


NOTE_TEXT_MAX_LENGTH = 4000


class TherapistNote(models.Model):
    """A therapist's private working note about a client (the client page in the admin).

    Private: no other therapist or member sees it in the service, and the therapist sees it
    only while the client shares with them. It is still data about the member: it is in
    the member's export (their right of access) and erased with their account.
    """

    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notes_written"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="therapist_notes"
    )
    text = models.TextField(max_length=NOTE_TEXT_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["therapist", "member", "-created_at"], name="note_of_client")
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(member=F("therapist")), name="note_not_on_oneself")
        ]

    def __str__(self) -> str:
        # Admin history stores this text: never the note itself.
        return f"Note {self.pk}"
