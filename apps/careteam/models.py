"""A member shares with a therapist only through a link the member accepted and controls."""

from __future__ import annotations

from django.conf import settings
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

    class Meta:
        ordering = ("-accessed_at", "-id")
        indexes = [models.Index(fields=["member", "-accessed_at"], name="accesslog_member")]
        verbose_name_plural = "access log entries"

    def __str__(self) -> str:
        return f"Access {self.pk} to member {self.member_id}"
