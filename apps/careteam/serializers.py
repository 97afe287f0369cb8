"""Shapes for invitations, care-team links, the access log, a therapist's clients and the
stretches a therapist prescribes."""

from __future__ import annotations

from rest_framework import serializers

from apps.careteam.models import (
    HOLD_SECONDS_MAX,
    HOLD_SECONDS_MIN,
    REPETITIONS_MAX,
    REPETITIONS_MIN,
    STRETCH_INSTRUCTIONS_MAX_LENGTH,
    STRETCH_NAME_MAX_LENGTH,
    AccessLogEntry,
    CareLink,
    PrescribedStretch,
)
from apps.careteam.services import Shares


class InvitationSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)


class SharesSerializer(serializers.Serializer):
    share_adherence = serializers.BooleanField(required=False, default=True)
    share_checkins = serializers.BooleanField(required=False, default=True)
    share_notes = serializers.BooleanField(required=False, default=False)

    def shares(self, current: Shares | None = None) -> Shares:
        """The chosen shares; with `partial=True`, unmentioned ones keep `current`."""
        data = self.validated_data
        base = current or Shares()
        return Shares(
            adherence=data.get("share_adherence", base.adherence),
            checkins=data.get("share_checkins", base.checkins),
            notes=data.get("share_notes", base.notes),
        )


class AcceptSerializer(SharesSerializer):
    code = serializers.CharField(max_length=32)


class RevokeSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1)


class CareLinkSerializer(serializers.ModelSerializer):
    therapist_name = serializers.SerializerMethodField()

    class Meta:
        model = CareLink
        fields = (
            "id",
            "therapist_name",
            "share_adherence",
            "share_checkins",
            "share_notes",
            "created_at",
        )

    def get_therapist_name(self, link: CareLink) -> str:
        return link.therapist.display_name or link.therapist.email


class AccessLogEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AccessLogEntry
        fields = ("id", "therapist_name", "categories", "what", "accessed_at")


class PrescribedStretchSerializer(serializers.ModelSerializer):
    """A stretch as the prescribing therapist writes and reads it (`clients/{id}/stretches/`).
    Every error names its field; the same bounds hold in the model and the service."""

    name = serializers.CharField(max_length=STRETCH_NAME_MAX_LENGTH)
    instructions = serializers.CharField(max_length=STRETCH_INSTRUCTIONS_MAX_LENGTH)
    hold_seconds = serializers.IntegerField(
        min_value=HOLD_SECONDS_MIN,
        max_value=HOLD_SECONDS_MAX,
        help_text=f"Seconds to hold the stretch, {HOLD_SECONDS_MIN}-{HOLD_SECONDS_MAX}.",
    )
    repetitions = serializers.IntegerField(
        min_value=REPETITIONS_MIN,
        max_value=REPETITIONS_MAX,
        required=False,
        allow_null=True,
        help_text=f"How many times, {REPETITIONS_MIN}-{REPETITIONS_MAX}; null: not specified.",
    )

    class Meta:
        model = PrescribedStretch
        fields = (
            "id",
            "name",
            "instructions",
            "hold_seconds",
            "repetitions",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")


class MemberStretchSerializer(serializers.ModelSerializer):
    """A stretch as the member it was prescribed to reads it (`stretches/`)."""

    therapist_name = serializers.SerializerMethodField()

    class Meta:
        model = PrescribedStretch
        fields = ("id", "name", "instructions", "hold_seconds", "repetitions", "therapist_name")

    def get_therapist_name(self, stretch: PrescribedStretch) -> str:
        return stretch.therapist.display_name or stretch.therapist.email
