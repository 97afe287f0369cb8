"""Shapes for schedules and nudges, validated at the edge."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.profiles.models import CHANNELS
from apps.profiles.serializers import HourMinuteField
from apps.reminders.models import Nudge, NudgeKind, Schedule, SuppressionReason


class ScheduleSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=NudgeKind.choices)
    times = serializers.ListField(
        child=HourMinuteField(), required=False, max_length=24, allow_empty=True
    )
    every_minutes = serializers.IntegerField(
        min_value=5, max_value=720, required=False, allow_null=True
    )
    window_start = HourMinuteField(required=False, allow_null=True)
    window_end = HourMinuteField(required=False, allow_null=True)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), max_length=7, required=False
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=CHANNELS), max_length=3, required=False
    )

    class Meta:
        model = Schedule
        fields = (
            "id", "kind", "times", "every_minutes", "window_start", "window_end", "weekdays",
            "channels", "enabled", "next_due_at",
        )  # fmt: skip
        read_only_fields = ("next_due_at",)

    def to_representation(self, instance: Schedule) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["times"] = [value[:5] for value in instance.times]
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, None))

        times = current("times") or []
        every = current("every_minutes")
        if bool(times) == bool(every):
            raise serializers.ValidationError(
                {"times": ["Give either times (local HH:MM) or every_minutes with a window."]}
            )
        if every:
            start, end = current("window_start"), current("window_end")
            if start is None or end is None:
                raise serializers.ValidationError(
                    {"window_start": ["every_minutes needs window_start and window_end."]}
                )
            if start >= end:
                raise serializers.ValidationError(
                    {"window_end": ["Must be after window_start (windows stay within one day)."]}
                )
        if "times" in attrs:
            attrs["times"] = sorted({moment.strftime("%H:%M") for moment in attrs["times"]})
        if "weekdays" in attrs:
            attrs["weekdays"] = sorted(set(attrs["weekdays"]))
        return attrs


class NudgeSerializer(serializers.ModelSerializer):
    # Declared: the model's blank choice ("" = not suppressed) is dropped from a generated
    # read-only field, and the schema then refused the "" most nudges have (schemathesis).
    suppressed_reason = serializers.ChoiceField(
        choices=SuppressionReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Nudge
        fields = (
            "id", "kind", "due_at", "status", "suppressed_reason", "acted_at", "snooze_count",
            "snoozed_until",
        )  # fmt: skip
        read_only_fields = fields


class SnoozeSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=240, required=False, default=10)
