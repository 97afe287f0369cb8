"""Shapes for invitations, care-team links, the access log and a therapist's clients."""

from __future__ import annotations

from rest_framework import serializers

from apps.careteam.models import AccessLogEntry, CareLink
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


class ClientSerializer(serializers.ModelSerializer):
    """A client as their therapist sees them: who, since when, what they share."""

    id = serializers.IntegerField(source="member_id")
    name = serializers.SerializerMethodField()
    email = serializers.EmailField(source="member.email")
    timezone = serializers.CharField(source="member.profile.timezone")
    sharing_since = serializers.DateTimeField(source="created_at")

    class Meta:
        model = CareLink
        fields = (
            "id",
            "name",
            "email",
            "timezone",
            "share_adherence",
            "share_checkins",
            "share_notes",
            "sharing_since",
        )

    def get_name(self, link: CareLink) -> str:
        return link.member.display_name or link.member.email
