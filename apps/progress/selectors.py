"""Reads for progress: one member's figures (`progress_for_member`) for the API, the web
pages, the therapist's client page and the weekly emails. The definitions are in
figures.py; this module only counts rows per local day.

Query budget: seven queries whatever the length of the history (a test holds it), because
every count is a GROUP BY over the member's local days, never a query per day or kind.
Work is bounded too: per-day rows reach Python only for the days a figure shows (the period,
or the habit score's 30-day lookback); streaks, which need the whole history, are counted by
the database and arrive as one row per kind (see _streaks_of_kinds).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Avg, Case, Count, Max, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils.dateparse import parse_datetime

from apps.progress import figures
from apps.progress.figures import KindFigures, Streaks, Tally, WeekOverWeek
from apps.reminders.models import Nudge, NudgeKind
from apps.tracking.models import Activity, ActivityKind, CheckIn
from apps.tracking.pain import NO_EPISODE, PainStatus, pain_status_for_member

if TYPE_CHECKING:
    from apps.accounts.models import User

ADHERENCE = "adherence"  # nudges and habit logs (careteam AccessCategory values)
CHECKINS = "checkins"  # stress, pain, symptoms
EVERYTHING = frozenset({ADHERENCE, CHECKINS})
NUDGE_KINDS = tuple(NudgeKind.values)
# The statuses that make a day "expected" for streaks: tally.expected > 0 (sent - suppressed).
EXPECTED_STATUSES = tuple(
    status
    for status, counted_as in figures.COUNTED_AS.items()
    if "sent" in counted_as and status != "suppressed"
)


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
        # Per-day rows for the days the figures show: the period and the habit score's
        # lookback. A year of per-day rows cost ~40 ms of Python per request (issue 7,
        # benchmark 6); only the streaks need the whole history, and they come counted.
        first_day = today - timedelta(days=max(days, figures.HABIT_SCORE_LOOKBACK_DAYS) - 1)
        since = _local_midnight(first_day, zone)
        by_kind = _nudge_tallies(member=member, zone=zone, since=since, before=end_of_today)
        logged = _habit_days(member=member, zone=zone, since=since, before=end_of_today)
        runs, last_acted_at = _streaks_of_kinds(
            member=member, zone=zone, today=today, before=end_of_today
        )
        activity_moments.append(last_acted_at)
        kinds = {
            kind: replace(
                figures.kind_figures(by_kind.get(kind, {}), period=period, today=today),
                streaks=runs.get(kind, Streaks(current=0, longest=0)),
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
    *, member: User, zone: ZoneInfo, since: datetime, before: datetime
) -> dict[str, dict[date, Tally]]:
    """Per kind, per local day from `since`: about 5 kinds x 3 statuses rows per day."""
    rows = (
        Nudge.objects.filter(
            member=member,
            status__in=figures.COUNTED_STATUSES,
            due_at__gte=since,
            due_at__lt=before,
        )
        .annotate(day=TruncDate("due_at", tzinfo=zone))
        .values_list("day", "kind", "status")
        .annotate(number=Count("id"))
        .order_by()
    )
    by_kind: dict[str, dict[date, Tally]] = defaultdict(dict)
    for day, kind, status, number in rows:
        by_kind[kind].setdefault(day, Tally()).count(status, number)
    return by_kind


def _habit_days(
    *, member: User, zone: ZoneInfo, since: datetime, before: datetime
) -> dict[str, dict[date, HabitDay]]:
    rows = (
        Activity.objects.filter(member=member, recorded_at__gte=since, recorded_at__lt=before)
        .annotate(day=TruncDate("recorded_at", tzinfo=zone))
        .values_list("day", "kind")
        .annotate(number=Count("id"), minutes=Sum("minutes"), amount_ml=Sum("amount_ml"))
        .order_by()
    )
    logged: dict[str, dict[date, HabitDay]] = defaultdict(dict)
    for day, kind, number, minutes, amount_ml in rows:
        logged[kind][day] = HabitDay(
            day=day, number=number, minutes=minutes or 0, amount_ml=amount_ml or 0
        )
    return logged


# figures.streaks in SQL (PostgreSQL and SQLite both have window functions), over the
# member's (kind, local day) rows: a day is kept (a nudge done or the habit logged) or only
# expected (a nudge that could have been acted on); other days are rests and are absent.
# Today, not kept yet, breaks nothing and is left out. Every day not kept starts a new run
# (the running count of such days numbers the runs); a run's length is its kept days; the
# current streak is the last run's. The last row carries the latest moment the member acted
# on a nudge or logged a habit.
_STREAKS_SQL = """
WITH days AS ({days}),
merged AS (
    SELECT kind, day, MAX(kept) AS kept, MAX(expected) AS expected, MAX(last_at) AS last_at
    FROM days GROUP BY kind, day
),
numbered AS (
    SELECT kind, kept,
           SUM(1 - kept) OVER (PARTITION BY kind ORDER BY day ROWS UNBOUNDED PRECEDING) AS run
    FROM merged
    WHERE (kept = 1 OR expected = 1) AND NOT (day = %s AND kept = 0)
),
runs AS (
    SELECT kind, run, SUM(kept) AS length, MAX(run) OVER (PARTITION BY kind) AS last_run
    FROM numbered GROUP BY kind, run
)
SELECT kind, MAX(length), MAX(CASE WHEN run = last_run THEN length END), NULL
FROM runs GROUP BY kind
UNION ALL
SELECT NULL, NULL, NULL, MAX(last_at) FROM merged
"""


def _streaks_of_kinds(
    *, member: User, zone: ZoneInfo, today: date, before: datetime
) -> tuple[dict[str, Streaks], datetime | None]:
    """figures.streaks of every kind over the member's whole history, as one query whose
    answer is one row per kind; and the latest moment the member acted or logged."""
    one, zero = Value(1), Value(0)
    nudge_days = (
        Nudge.objects.filter(member=member, status__in=figures.COUNTED_STATUSES, due_at__lt=before)
        .annotate(day=TruncDate("due_at", tzinfo=zone))
        .values("kind", "day")
        .annotate(
            kept=Max(Case(When(status="done", then=one), default=zero)),
            expected=Max(Case(When(status__in=EXPECTED_STATUSES, then=one), default=zero)),
            last_at=Max("acted_at"),
        )
        .order_by()
    )
    log_days = (
        Activity.objects.filter(member=member, recorded_at__lt=before)
        .annotate(day=TruncDate("recorded_at", tzinfo=zone))
        .values("kind", "day")
        .annotate(kept=Max(one), expected=Max(zero), last_at=Max("recorded_at"))
        .order_by()
    )
    days_sql, params = nudge_days.union(log_days, all=True).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_STREAKS_SQL.format(days=days_sql), [*params, today])
        rows = cursor.fetchall()
    runs = {
        kind: Streaks(current=current or 0, longest=longest or 0)
        for kind, longest, current, _ in rows
        if kind is not None
    }
    last_at = next((moment for kind, _, _, moment in rows if kind is None), None)
    if isinstance(last_at, str):  # SQLite answers a raw query's timestamps as UTC text
        last_at = parse_datetime(last_at)
        last_at = last_at.replace(tzinfo=UTC) if last_at and last_at.tzinfo is None else last_at
    return runs, last_at


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
