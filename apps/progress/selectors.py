"""Reads for progress: one member's figures (`progress_for_member`) for the API, the web
pages, the therapist's client page and the weekly emails. The definitions are in
figures.py; this module only counts rows per local day.

Query budget: six queries whatever the length of the history (a test holds it), because
every count is a GROUP BY over the member's local days, never a query per day or kind.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, Max, Sum
from django.db.models.functions import TruncDate

from apps.progress import figures
from apps.progress.figures import KindFigures, Tally, WeekOverWeek
from apps.reminders.models import Nudge, NudgeKind
from apps.tracking.models import Activity, ActivityKind, CheckIn
from apps.tracking.pain import NO_EPISODE, PainStatus, pain_status_for_member

if TYPE_CHECKING:
    from apps.accounts.models import User

ADHERENCE = "adherence"  # nudges and habit logs (careteam AccessCategory values)
CHECKINS = "checkins"  # stress, pain, symptoms
EVERYTHING = frozenset({ADHERENCE, CHECKINS})
NUDGE_KINDS = tuple(NudgeKind.values)


@dataclass(frozen=True)
class HabitDay:
    day: date
    number: int  # activities logged
    minutes: int
    amount_ml: int


@dataclass
class Habits:
    """What the member logged, per kind and local day, over the period."""

    mindfulness: list[HabitDay]
    water: list[HabitDay]
    movement: list[HabitDay]
    water_goal_ml: int
    workdays: list[int]

    @property
    def mindfulness_minutes(self) -> int:
        return sum(day.minutes for day in self.mindfulness)

    @property
    def water_days_goal_met(self) -> int:
        return sum(1 for day in self.water if day.amount_ml >= self.water_goal_ml)

    @property
    def workdays_in_period(self) -> int:
        return sum(1 for day in self.movement if day.day.weekday() in self.workdays)

    @property
    def movement_breaks_on_workdays(self) -> int:
        return sum(day.number for day in self.movement if day.day.weekday() in self.workdays)

    @property
    def movement_breaks_per_workday(self) -> float:
        workdays = self.workdays_in_period
        return self.movement_breaks_on_workdays / workdays if workdays else 0.0


@dataclass
class Symptoms:
    """Stress and pain over the period, and the persistent-pain verdict."""

    stress_daily: list[tuple[date, float | None]]
    pain_daily: list[tuple[date, float | None]]
    stress: WeekOverWeek
    pain: WeekOverWeek
    latest_pain: int | None
    latest_checkin_at: datetime | None
    pain_status: PainStatus


@dataclass
class Progress:
    member_id: int
    time_zone: str
    today: date
    period: list[date]
    streaks_hidden: bool
    last_activity_at: datetime | None
    # None when the reader may not see that category (a therapist's link does not share it).
    kinds: dict[str, KindFigures] | None
    overall: KindFigures | None
    habits: Habits | None
    symptoms: Symptoms | None

    @property
    def days(self) -> int:
        return len(self.period)


def progress_for_member(
    *,
    member: User,
    now: datetime,
    days: int = figures.DEFAULT_PERIOD,
    include: frozenset[str] = EVERYTHING,
) -> Progress:
    """`member`'s progress over the `days` local days ending today (in their zone).

    `include` limits what is read to the categories the reader may see; the rest is None
    and not queried. A member with no data gets zeros and empty days, never an error.
    """
    if days not in figures.PERIODS:
        raise ValueError(f"days must be one of {figures.PERIODS}")
    profile = member.profile
    zone = ZoneInfo(profile.timezone)
    today = now.astimezone(zone).date()
    period = figures.days_ending(today, days)
    end_of_today = _local_midnight(today + timedelta(days=1), zone)
    activity_moments: list[datetime | None] = []

    kinds = overall = habits = symptoms = None
    if ADHERENCE in include:
        by_kind, last_acted_at = _nudge_tallies(member=member, zone=zone, before=end_of_today)
        logged, last_logged_at = _habit_days(member=member, zone=zone, before=end_of_today)
        activity_moments += [last_acted_at, last_logged_at]
        kinds = {
            kind: figures.kind_figures(
                by_kind.get(kind, {}),
                period=period,
                today=today,
                kept={day for day, tally in by_kind.get(kind, {}).items() if tally.done}
                | set(logged.get(kind, {})),
            )
            for kind in NUDGE_KINDS
        }
        overall = figures.kind_figures(figures.merge_kinds(by_kind), period=period, today=today)
        habits = Habits(
            mindfulness=_over(period, logged.get(ActivityKind.MINDFULNESS, {})),
            water=_over(period, logged.get(ActivityKind.HYDRATION, {})),
            movement=_over(period, logged.get(ActivityKind.MOVEMENT, {})),
            water_goal_ml=profile.water_goal_ml,
            workdays=list(profile.workdays),
        )
    if CHECKINS in include:
        symptoms = _symptoms(member=member, zone=zone, now=now, period=period, today=today)
        activity_moments.append(symptoms.latest_checkin_at)

    present = [moment for moment in activity_moments if moment is not None]
    return Progress(
        member_id=member.pk,
        time_zone=profile.timezone,
        today=today,
        period=period,
        streaks_hidden=not profile.show_streaks,
        last_activity_at=max(present) if present else None,
        kinds=kinds,
        overall=overall,
        habits=habits,
        symptoms=symptoms,
    )


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _nudge_tallies(
    *, member: User, zone: ZoneInfo, before: datetime
) -> tuple[dict[str, dict[date, Tally]], datetime | None]:
    """Per kind, per local day: the member's whole history (streaks need all of it), as
    one GROUP BY: about 5 kinds x 3 statuses rows per day."""
    rows = (
        Nudge.objects.filter(member=member, status__in=figures.COUNTED_STATUSES, due_at__lt=before)
        .annotate(day=TruncDate("due_at", tzinfo=zone))
        .values("day", "kind", "status")
        .annotate(number=Count("id"), last_acted_at=Max("acted_at"))
        .order_by()
    )
    by_kind: dict[str, dict[date, Tally]] = defaultdict(dict)
    last_acted_at: datetime | None = None
    for row in rows:
        by_kind[row["kind"]].setdefault(row["day"], Tally()).count(row["status"], row["number"])
        acted = row["last_acted_at"]
        if acted is not None and (last_acted_at is None or acted > last_acted_at):
            last_acted_at = acted
    return by_kind, last_acted_at


def _habit_days(
    *, member: User, zone: ZoneInfo, before: datetime
) -> tuple[dict[str, dict[date, HabitDay]], datetime | None]:
    rows = (
        Activity.objects.filter(member=member, recorded_at__lt=before)
        .annotate(day=TruncDate("recorded_at", tzinfo=zone))
        .values("day", "kind")
        .annotate(
            number=Count("id"),
            minutes=Sum("minutes"),
            amount_ml=Sum("amount_ml"),
            last_at=Max("recorded_at"),
        )
        .order_by()
    )
    logged: dict[str, dict[date, HabitDay]] = defaultdict(dict)
    last_logged_at: datetime | None = None
    for row in rows:
        logged[row["kind"]][row["day"]] = HabitDay(
            day=row["day"],
            number=row["number"],
            minutes=row["minutes"] or 0,
            amount_ml=row["amount_ml"] or 0,
        )
        if last_logged_at is None or row["last_at"] > last_logged_at:
            last_logged_at = row["last_at"]
    return logged, last_logged_at


def _over(period: list[date], logged: dict[date, HabitDay]) -> list[HabitDay]:
    return [
        logged.get(day) or HabitDay(day=day, number=0, minutes=0, amount_ml=0) for day in period
    ]


def _symptoms(
    *, member: User, zone: ZoneInfo, now: datetime, period: list[date], today: date
) -> Symptoms:
    # The week-over-week change needs 14 days even when the period is 7.
    first_day = min(period[0], today - timedelta(days=13))
    rows = list(
        CheckIn.objects.filter(
            member=member,
            recorded_at__gte=_local_midnight(first_day, zone),
            recorded_at__lte=now,
        )
        .annotate(day=TruncDate("recorded_at", tzinfo=zone))
        .values("day")
        .annotate(stress=Avg("stress"), pain=Avg("pain"))
        .order_by()
    )
    stress_by_day = {row["day"]: float(row["stress"]) for row in rows}
    pain_by_day = {row["day"]: float(row["pain"]) for row in rows}
    latest = (
        CheckIn.objects.filter(member=member, recorded_at__lte=now)
        .order_by("-recorded_at", "-id")
        .values("pain", "recorded_at")
        .first()
    )
    return Symptoms(
        stress_daily=[(day, stress_by_day.get(day)) for day in period],
        pain_daily=[(day, pain_by_day.get(day)) for day in period],
        stress=figures.week_over_week(stress_by_day, today=today),
        pain=figures.week_over_week(pain_by_day, today=today),
        latest_pain=latest["pain"] if latest else None,
        latest_checkin_at=latest["recorded_at"] if latest else None,
        pain_status=pain_status_for_member(member=member, now=now) if latest else NO_EPISODE,
    )
