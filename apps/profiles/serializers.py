"""The `me/` representation: the account's email and name plus the profile."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.profiles.models import CHANNELS, Profile
from apps.profiles.services import MAX_PAUSE
from apps.profiles.validators import validate_time_zone
from apps.tracking.pain import pain_status_for_member

TIME_FORMAT = "%H:%M"
# What HourMinuteField writes: OpenAPI's `format: time` is RFC 3339's `HH:MM:SS`, which
# the API never sends (found by schemathesis: every profile and schedule "violated" it).
HOUR_MINUTE_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class PersistentPainSerializer(serializers.Serializer):
    """The persistent-pain rule's verdict (apps/tracking/pain.py)."""

    persistent = serializers.BooleanField()
    episode_start = serializers.DateField(allow_null=True)
    last_pain_day = serializers.DateField(allow_null=True)
    days_in_episode = serializers.IntegerField()
    message = serializers.CharField()


@extend_schema_field({"type": "string", "pattern": HOUR_MINUTE_PATTERN, "example": "09:00"})
class HourMinuteField(serializers.TimeField):
    """A local wall-clock time written `HH:MM`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=TIME_FORMAT, input_formats=[TIME_FORMAT], **kwargs)


class ProfileSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    display_name = serializers.CharField(
        source="user.display_name", max_length=150, required=False, allow_blank=True
    )
    timezone = serializers.CharField(max_length=64, validators=[validate_time_zone])
    work_start = HourMinuteField()
    work_end = HourMinuteField()
    quiet_start = HourMinuteField(allow_null=True)
    quiet_end = HourMinuteField(allow_null=True)
    workdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), max_length=7
    )
    water_goal_ml = serializers.IntegerField(min_value=250, max_value=10000)
    glass_ml = serializers.IntegerField(min_value=50, max_value=1500)
    channels = serializers.ListField(child=serializers.ChoiceField(choices=CHANNELS), max_length=3)
    is_paused = serializers.SerializerMethodField()
    persistent_pain = serializers.SerializerMethodField()

    class Meta:
        model = Profile
        fields = (
            "email",
            "display_name",
            "timezone",
            "work_start",
            "work_end",
            "workdays",
            "quiet_start",
            "quiet_end",
            "hot_environment",
            "water_goal_ml",
            "glass_ml",
            "channels",
            "show_streaks",
            "weekly_progress_email",
            "weekly_digest_email",
            "paused_until",
            "is_paused",
            "persistent_pain",
        )
        read_only_fields = ("paused_until",)

    def get_is_paused(self, profile: Profile) -> bool:
        return profile.is_paused(now=timezone.now())

    @extend_schema_field(PersistentPainSerializer)
    def get_persistent_pain(self, profile: Profile) -> dict[str, Any]:
        status = pain_status_for_member(member=profile.user, now=timezone.now())
        return PersistentPainSerializer(status).data

    def validate_workdays(self, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each day may appear once (0 = Monday … 6 = Sunday).")
        return sorted(value)

    def validate_channels(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each channel may appear once.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        work_start = attrs.get("work_start", getattr(self.instance, "work_start", None))
        work_end = attrs.get("work_end", getattr(self.instance, "work_end", None))
        if work_start and work_end and work_start >= work_end:
            raise serializers.ValidationError(
                {"work_end": ["Must be after work_start (work hours cannot cross midnight)."]}
            )
        quiet_start = attrs.get("quiet_start", getattr(self.instance, "quiet_start", None))
        quiet_end = attrs.get("quiet_end", getattr(self.instance, "quiet_end", None))
        if (quiet_start is None) != (quiet_end is None):
            field = "quiet_end" if quiet_end is None else "quiet_start"
            raise serializers.ValidationError(
                {field: ["Give both quiet_start and quiet_end, or null for both."]}
            )
        if quiet_start is not None and quiet_start == quiet_end:
            raise serializers.ValidationError(
                {"quiet_end": ["Must differ from quiet_start (they may cross midnight)."]}
            )
        return attrs


class ZonedDateTimeField(serializers.DateTimeField):
    """A date-time in the member's zone; one that no zone can hold (year 1 west of UTC,
    year 9999 east of it) is a 400 naming the field, not an OverflowError."""

    def enforce_timezone(self, value: datetime) -> datetime:
        try:
            return super().enforce_timezone(value)
        except (OverflowError, ValueError):
            raise serializers.ValidationError("Must be a date between 2000 and 2100.") from None


class PauseSerializer(serializers.Serializer):
    """Exactly one of: `minutes` (e.g. 60), `until` (a date-time), `tomorrow_morning`."""

    minutes = serializers.IntegerField(
        min_value=1, max_value=int(MAX_PAUSE.total_seconds() // 60), required=False
    )
    until = ZonedDateTimeField(required=False)
    tomorrow_morning = serializers.BooleanField(required=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # A date-time without an offset means the member's own wall clock, not UTC.
        zone = self.context.get("time_zone")
        if zone:
            self.fields["until"].timezone = ZoneInfo(zone)
        return super().to_internal_value(data)

    def validate_until(self, value: datetime) -> datetime:
        now = timezone.now()
        if value <= now:
            raise serializers.ValidationError("Must be in the future.")
        if value > now + MAX_PAUSE:
            raise serializers.ValidationError("A pause can last a year at most.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [key for key in ("minutes", "until", "tomorrow_morning") if attrs.get(key)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": ["Give exactly one of minutes, until or tomorrow_morning."]}
            )
        return attrs
