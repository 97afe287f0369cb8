"""Validation at the edge for check-ins and activities: every error names its field."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from apps.core.api import EARLIEST_RECORD
from apps.tracking.models import (
    BODY_AREAS,
    HEAT_MAX_MINUTES,
    NOTE_MAX_LENGTH,
    SYMPTOMS,
    Activity,
    ActivityKind,
    CheckIn,
)

# Clocks drift: a phone a few minutes ahead must still be able to log "now".
FUTURE_TOLERANCE = timedelta(minutes=5)
HEAT_REFUSAL = (
    f"Heat therapy is limited to {HEAT_MAX_MINUTES} minutes at a time: longer risks "
    "superficial burns. Log up to 20 minutes, let the skin cool, and start a new session "
    "later if you need one."
)
# Upper bounds that catch typos (a 5000-minute stretch) without policing anyone.
MAX_MINUTES = {
    ActivityKind.MINDFULNESS: 180,
    ActivityKind.STRETCH: 240,
    ActivityKind.MOVEMENT: 240,
    ActivityKind.WARMUP: 240,
    ActivityKind.HEAT: HEAT_MAX_MINUTES,
}
MAX_WATER_ML = 5000
KINDS_NEEDING_MINUTES = {ActivityKind.MINDFULNESS, ActivityKind.HEAT}


def validate_not_in_future(value: datetime) -> datetime:
    """Not more than 5 minutes ahead (clock drift), and not before 2000 (a typo, and
    a date so early it cannot be turned into every zone's local day)."""
    if value > timezone.now() + FUTURE_TOLERANCE:
        raise serializers.ValidationError("Cannot be more than 5 minutes in the future.")
    if value.date() < EARLIEST_RECORD:
        raise serializers.ValidationError(f"Cannot be before {EARLIEST_RECORD.isoformat()}.")
    return value


def _unique_choices(choices: dict[str, str], what: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(
            choices=list(choices.items()),
            error_messages={"invalid_choice": f'"{{input}}" is not a known {what}.'},
        ),
        required=False,
        max_length=len(choices),
    )


class CheckInSerializer(serializers.ModelSerializer):
    stress = serializers.IntegerField(min_value=0, max_value=10)
    pain = serializers.IntegerField(min_value=0, max_value=10)
    symptoms = _unique_choices(SYMPTOMS, "symptom")
    body_areas = _unique_choices(BODY_AREAS, "body area")
    note = serializers.CharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True)
    recorded_at = serializers.DateTimeField(required=False, validators=[validate_not_in_future])

    class Meta:
        model = CheckIn
        fields = ("id", "stress", "pain", "symptoms", "body_areas", "note", "recorded_at")

    def validate_symptoms(self, value: list[str]) -> list[str]:
        return _without_repeats(value)

    def validate_body_areas(self, value: list[str]) -> list[str]:
        return _without_repeats(value)


def _without_repeats(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class TherapistCheckInSerializer(serializers.ModelSerializer):
    """A client's check-in as a therapist sees it; `note` only when notes are shared."""

    class Meta:
        model = CheckIn
        fields = ("id", "stress", "pain", "symptoms", "body_areas", "note", "recorded_at")

    def to_representation(self, instance: CheckIn) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("include_notes"):
            data.pop("note")
        return data


class ActivitySerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    minutes = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    amount_ml = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    recorded_at = serializers.DateTimeField(required=False, validators=[validate_not_in_future])

    class Meta:
        model = Activity
        fields = ("id", "kind", "minutes", "amount_ml", "recorded_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        merged = {
            field: attrs.get(field, getattr(self.instance, field, None))
            for field in ("kind", "minutes", "amount_ml")
        }
        kind, minutes, amount_ml = merged["kind"], merged["minutes"], merged["amount_ml"]
        if kind == ActivityKind.HYDRATION:
            if amount_ml is None:
                raise serializers.ValidationError({"amount_ml": ["Water is logged in ml."]})
            if amount_ml > MAX_WATER_ML:
                raise serializers.ValidationError(
                    {"amount_ml": [f"At most {MAX_WATER_ML} ml in one entry."]}
                )
            if minutes is not None:
                raise serializers.ValidationError({"minutes": ["Water is logged in ml only."]})
            return attrs
        if amount_ml is not None:
            raise serializers.ValidationError({"amount_ml": [f"{kind} is logged in minutes."]})
        if minutes is None and kind in KINDS_NEEDING_MINUTES:
            raise serializers.ValidationError({"minutes": ["How many minutes?"]})
        if minutes is not None and minutes > MAX_MINUTES[kind]:
            message = (
                HEAT_REFUSAL
                if kind == ActivityKind.HEAT
                else (f"At most {MAX_MINUTES[kind]} minutes in one entry.")
            )
            raise serializers.ValidationError({"minutes": [message]})
        return attrs
