"""The JSON shape of progress (`progress/`, `clients/{id}/progress/`).

`progress_document` turns the selector's figures into plain values; the serializers
declare that shape, so the OpenAPI schema and the responses are one definition.
Ratios are 0..1 with 3 decimals, means 2 decimals.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.progress import figures
from apps.progress.attention import REASON_CODES
from apps.progress.figures import KindFigures, Tally, WeekOverWeek
from apps.progress.overview import ClientOverview
from apps.progress.selectors import Habits, Progress, Symptoms


class PeriodQuerySerializer(serializers.Serializer):
    days = serializers.ChoiceField(
        choices=figures.PERIODS,
        default=figures.DEFAULT_PERIOD,
        help_text="How many local days, ending today: 7, 30 or 90.",
    )


class DayAdherenceSerializer(serializers.Serializer):
    date = serializers.DateField()
    expected = serializers.IntegerField()
    done = serializers.IntegerField()
    adherence = serializers.FloatField(
        allow_null=True, help_text="null on a day when no nudge was expected."
    )


class TallySerializer(serializers.Serializer):
    sent = serializers.IntegerField(help_text="Fired for the member, suppressed ones included.")
    done = serializers.IntegerField()
    snoozed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    missed = serializers.IntegerField(help_text="Too late to send (the service was down).")
    failed = serializers.IntegerField()
    expected = serializers.IntegerField(help_text="sent - suppressed: what adherence divides by.")
    adherence = serializers.FloatField(help_text="done / expected, 0..1; 0 when none expected.")
    habit_score = serializers.FloatField(
        help_text="Exponentially weighted daily adherence, last 30 days, half-life 7 days."
    )
    daily = DayAdherenceSerializer(many=True)


class KindProgressSerializer(TallySerializer):
    current_streak = serializers.IntegerField(allow_null=True, help_text="null when hidden.")
    longest_streak = serializers.IntegerField(allow_null=True, help_text="null when hidden.")


class AdherenceSerializer(serializers.Serializer):
    overall = TallySerializer()
    kinds = serializers.DictField(child=KindProgressSerializer())


class MinutesDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    minutes = serializers.IntegerField()


class WaterDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    amount_ml = serializers.IntegerField()
    goal_met = serializers.BooleanField()


class MovementDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    breaks = serializers.IntegerField()
    workday = serializers.BooleanField()


class HabitsSerializer(serializers.Serializer):
    mindfulness_minutes = serializers.IntegerField()
    mindfulness_daily = MinutesDaySerializer(many=True)
    water_goal_ml = serializers.IntegerField()
    water_days_goal_met = serializers.IntegerField()
    water_daily = WaterDaySerializer(many=True)
    movement_breaks_on_workdays = serializers.IntegerField()
    workdays_in_period = serializers.IntegerField()
    movement_breaks_per_workday = serializers.FloatField()
    movement_daily = MovementDaySerializer(many=True)


class DayMeanSerializer(serializers.Serializer):
    date = serializers.DateField()
    mean = serializers.FloatField(allow_null=True, help_text="null on a day without check-ins.")


class TrendSerializer(serializers.Serializer):
    daily = DayMeanSerializer(many=True)
    last_7_days = serializers.FloatField(allow_null=True)
    previous_7_days = serializers.FloatField(allow_null=True)
    change = serializers.FloatField(allow_null=True, help_text="last_7_days - previous_7_days.")
    trend = serializers.ChoiceField(choices=figures.TRENDS)


class PainSerializer(TrendSerializer):
    latest = serializers.IntegerField(allow_null=True, help_text="The last check-in's pain.")
    latest_at = serializers.DateTimeField(allow_null=True)
    persistent = serializers.BooleanField(help_text="Pain reported for 14 days or more.")
    episode_start = serializers.DateField(allow_null=True)
    message = serializers.CharField()


class ProgressSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    date_from = serializers.DateField(help_text="First local day of the period.")
    date_to = serializers.DateField(help_text="Today, in the member's time zone.")
    time_zone = serializers.CharField()
    last_activity_at = serializers.DateTimeField(allow_null=True)
    streaks_hidden = serializers.BooleanField()
    shared = serializers.ListField(
        child=serializers.CharField(), help_text="The categories this response includes."
    )
    adherence = AdherenceSerializer(allow_null=True, help_text="null when not shared.")
    habits = HabitsSerializer(allow_null=True, help_text="null when not shared.")
    stress = TrendSerializer(allow_null=True, help_text="null when not shared.")
    pain = PainSerializer(allow_null=True, help_text="null when not shared.")


def _ratio(value: float) -> float:
    return round(value, 3)


def _mean(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# progress_document writes the response values itself instead of running them through
# ProgressSerializer: for ~600 nested values a request (90 days x 6 kinds), DRF's
# to_representation (a field copy, get_attribute and isinstance checks per value) cost
# 2.5 ms of the request's ~17 ms of CPU (issue 7, benchmark 6); this costs ~0.3 ms.
# The serializers above still declare the shape (the schema), and a test checks every
# document against them. Dates and datetimes are written as those fields write them.
_DATETIME = serializers.DateTimeField()


def _date(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _datetime(moment: datetime | None) -> str | None:
    return None if moment is None else _DATETIME.to_representation(moment)


def _tally(tally: Tally) -> dict[str, Any]:
    return {
        "sent": tally.sent,
        "done": tally.done,
        "snoozed": tally.snoozed,
        "skipped": tally.skipped,
        "suppressed": tally.suppressed,
        "missed": tally.missed,
        "failed": tally.failed,
        "expected": tally.expected,
        "adherence": _ratio(tally.adherence),
    }


def _kind(kind: KindFigures, *, streaks_hidden: bool) -> dict[str, Any]:
    document = {
        **_tally(kind.tally),
        "habit_score": _ratio(kind.habit_score),
        "daily": [
            {
                "date": day.isoformat(),
                "expected": tally.expected,
                "done": tally.done,
                "adherence": _ratio(tally.adherence) if tally.expected else None,
            }
            for day, tally in kind.daily
        ],
    }
    if kind.streaks is not None:  # a kind (KindProgressSerializer), not the overall tally
        document["current_streak"] = None if streaks_hidden else kind.streaks.current
        document["longest_streak"] = None if streaks_hidden else kind.streaks.longest
    return document


def _habits(habits: Habits) -> dict[str, Any]:
    workdays = set(habits.workdays)
    return {
        "mindfulness_minutes": int(habits.mindfulness_minutes),
        "mindfulness_daily": [
            {"date": d.day.isoformat(), "minutes": int(d.minutes)} for d in habits.mindfulness
        ],
        "water_goal_ml": habits.water_goal_ml,
        "water_days_goal_met": habits.water_days_goal_met,
        "water_daily": [
            {
                "date": d.day.isoformat(),
                "amount_ml": int(d.amount_ml),
                "goal_met": d.amount_ml >= habits.water_goal_ml,
            }
            for d in habits.water
        ],
        "movement_breaks_on_workdays": habits.movement_breaks_on_workdays,
        "workdays_in_period": habits.workdays_in_period,
        "movement_breaks_per_workday": round(habits.movement_breaks_per_workday, 2),
        "movement_daily": [
            {"date": d.day.isoformat(), "breaks": d.number, "workday": d.day.weekday() in workdays}
            for d in habits.movement
        ],
    }


def _trend(daily: list, change: WeekOverWeek) -> dict[str, Any]:
    return {
        "daily": [{"date": day.isoformat(), "mean": _mean(value)} for day, value in daily],
        "last_7_days": _mean(change.last_7_days),
        "previous_7_days": _mean(change.previous_7_days),
        "change": _mean(change.change),
        "trend": change.trend,
    }


def _pain(symptoms: Symptoms) -> dict[str, Any]:
    status = symptoms.pain_status
    return {
        **_trend(symptoms.pain_daily, symptoms.pain),
        "latest": symptoms.latest_pain,
        "latest_at": _datetime(symptoms.latest_checkin_at),
        "persistent": bool(status.persistent),
        "episode_start": _date(status.episode_start),
        "message": str(status.message),
    }


def progress_document(progress: Progress) -> dict[str, Any]:
    """The response body for `progress` (the shape ProgressSerializer declares); None for
    what the reader may not see."""
    adherence = None
    if progress.kinds is not None and progress.overall is not None:
        hidden = progress.streaks_hidden
        adherence = {
            "overall": _kind(progress.overall, streaks_hidden=hidden),
            "kinds": {
                name: _kind(kind, streaks_hidden=hidden) for name, kind in progress.kinds.items()
            },
        }
    symptoms = progress.symptoms
    shared = (["adherence"] if adherence else []) + (["checkins"] if symptoms else [])
    return {
        "days": progress.days,
        "date_from": progress.period[0].isoformat(),
        "date_to": progress.today.isoformat(),
        "time_zone": progress.time_zone,
        "last_activity_at": _datetime(progress.last_activity_at),
        "streaks_hidden": progress.streaks_hidden,
        "shared": shared,
        "adherence": adherence,
        "habits": _habits(progress.habits) if progress.habits else None,
        "stress": _trend(symptoms.stress_daily, symptoms.stress) if symptoms else None,
        "pain": _pain(symptoms) if symptoms else None,
    }


class ReasonSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=sorted(REASON_CODES))
    words = serializers.CharField()


class ClientOverviewSerializer(serializers.Serializer):
    """A client as the therapist's list shows them; figures of a category the client does
    not share are null."""

    id = serializers.IntegerField(source="link.member_id")
    name = serializers.SerializerMethodField()
    email = serializers.EmailField(source="member.email")
    timezone = serializers.CharField(source="member.profile.timezone")
    share_adherence = serializers.BooleanField(source="link.share_adherence")
    share_checkins = serializers.BooleanField(source="link.share_checkins")
    share_notes = serializers.BooleanField(source="link.share_notes")
    sharing_since = serializers.DateTimeField(source="link.created_at")
    last_activity_at = serializers.DateTimeField(allow_null=True)
    adherence_7d = serializers.SerializerMethodField()
    adherence_30d = serializers.SerializerMethodField()
    habit_score = serializers.SerializerMethodField()
    stress_trend = serializers.SerializerMethodField()
    pain_latest = serializers.SerializerMethodField()
    pain_change = serializers.SerializerMethodField()
    persistent_pain = serializers.SerializerMethodField()
    needs_attention = serializers.BooleanField()
    attention_reasons = ReasonSerializer(many=True, source="reasons")

    def get_name(self, client: ClientOverview) -> str:
        return client.member.display_name or client.member.email

    def _adherence(self, client: ClientOverview, value: float) -> float | None:
        return _ratio(value) if client.shares_adherence else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_adherence_7d(self, client: ClientOverview) -> float | None:
        return self._adherence(client, client.adherence_7d)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_adherence_30d(self, client: ClientOverview) -> float | None:
        return self._adherence(client, client.adherence_30d)

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_habit_score(self, client: ClientOverview) -> float | None:
        return self._adherence(client, client.habit_score)

    @extend_schema_field(serializers.ChoiceField(choices=figures.TRENDS, allow_null=True))
    def get_stress_trend(self, client: ClientOverview) -> str | None:
        return client.stress.trend if client.shares_checkins and client.stress else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_pain_latest(self, client: ClientOverview) -> int | None:
        return client.latest_pain if client.shares_checkins else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_pain_change(self, client: ClientOverview) -> float | None:
        if not client.shares_checkins or client.pain is None:
            return None
        return _mean(client.pain.change)

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_persistent_pain(self, client: ClientOverview) -> bool | None:
        return client.persistent_pain if client.shares_checkins else None
