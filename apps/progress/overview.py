"""A therapist's clients at a glance: the figures of every active client in a fixed number
of queries (three, whatever the number of clients), for the admin's clients list, its CSV,
the `clients/` API and the weekly digest.

The figures follow the same definitions as figures.py and the client's own progress
(tests compare them). The clients' query can sort and filter by 7- and 30-day adherence,
computed in SQL per client from the local day that starts the client's period; the
figures shown (those counts, the habit score and the last nudge acted on) come from the
listed clients' nudges per local day, and the stress and pain trends and the
persistent-pain flag from their check-ins per local day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import NotSupportedError
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    DateTimeField,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from apps.careteam.models import CareLink
from apps.careteam.permissions import active_links_of_therapist
from apps.core.db import LocalDate
from apps.progress import figures
from apps.progress.attention import Reason, attention_reasons
from apps.progress.figures import Tally, WeekOverWeek
from apps.reminders.models import Nudge
from apps.tracking.models import Activity, CheckIn
from apps.tracking.pain import DAYS_TO_DECIDE_PERSISTENCE, pain_status_from_days

if TYPE_CHECKING:
    from apps.accounts.models import User

# The statuses counted in `sent - suppressed` (figures.COUNTED_AS): what adherence divides by.
EXPECTED_STATUSES = [
    status
    for status, counted_as in figures.COUNTED_AS.items()
    if "sent" in counted_as and status != "suppressed"
]


@dataclass
class ClientOverview:
    link: CareLink
    shares_adherence: bool
    shares_checkins: bool
    member_since: datetime
    last_activity_at: datetime | None = None
    done_7d: int = 0
    expected_7d: int = 0
    done_30d: int = 0
    expected_30d: int = 0
    habit_score: float = 0.0
    stress: WeekOverWeek | None = None
    pain: WeekOverWeek | None = None
    latest_pain: int | None = None
    worst_pain_7d: int | None = None  # the highest pain at a check-in of the last 7 days
    latest_checkin_at: datetime | None = None
    persistent_pain: bool = False
    pain_episode_start: date | None = None
    reasons: list[Reason] = field(default_factory=list)

    @property
    def member(self) -> User:
        return self.link.member

    @property
    def adherence_7d(self) -> float:
        return self.done_7d / self.expected_7d if self.expected_7d else 0.0

    @property
    def adherence_30d(self) -> float:
        return self.done_30d / self.expected_30d if self.expected_30d else 0.0

    @property
    def needs_attention(self) -> bool:
        return bool(self.reasons)


def _local_today(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


class LocalMidnight(Func):
    """The instant at which a local day begins, in the IANA zone held by a column: the day
    `days_before` days before `moment`'s local day (negative: days after).

    Why not LocalDate(due_at) per nudge: converting each of 1,000 clients' 300 nudges into
    its zone, four counts over, was 16 zone conversions per joined row, 5 s a page on the
    2-core benchmark machine (issue 7, benchmark 7). A boundary depends on the client
    alone, so PostgreSQL computes it once per client, as a bound of the index scan.
    """

    arity = 2
    output_field = DateTimeField()

    def __init__(self, moment: Any, zone: Any, *, days_before: int = 0) -> None:
        super().__init__(moment, zone)
        self.days_before = int(days_before)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        raise NotSupportedError("LocalMidnight is written for PostgreSQL and SQLite only.")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        moment, zone = (compiler.compile(part) for part in self.get_source_expressions())
        # A date as a timestamp is its local midnight; AT TIME ZONE makes that an instant.
        sql = (
            f"((({moment[0]} AT TIME ZONE {zone[0]})::date - {self.days_before})::timestamp"
            f" AT TIME ZONE {zone[0]})"
        )
        return sql, (*moment[1], *zone[1], *zone[1])

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        moment, zone = (compiler.compile(part) for part in self.get_source_expressions())
        connection.ensure_connection()
        connection.connection.create_function(
            "stressrelief_local_midnight", 3, _sqlite_local_midnight, deterministic=True
        )
        sql = f"stressrelief_local_midnight({moment[0]}, {zone[0]}, {self.days_before})"
        return sql, (*moment[1], *zone[1])


def _sqlite_local_midnight(moment: str | None, zone: str | None, days_before: int) -> str | None:
    """LocalMidnight for SQLite, which stores UTC timestamps as text without an offset."""
    if moment is None or zone is None:
        return None
    instant = datetime.fromisoformat(moment)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    local_zone = ZoneInfo(zone)
    day = instant.astimezone(local_zone).date() - timedelta(days=days_before)
    midnight = datetime.combine(day, time.min, tzinfo=local_zone).astimezone(UTC)
    return midnight.replace(tzinfo=None).isoformat(sep=" ")


def _adherence(*, days: int, moment: Value, zone: F) -> Case:
    """done / expected over the client's last `days` local days up to today included, as
    one correlated subquery (one scan of the client's nudges of those days, index
    nudge_member_recent); NULL where the link does not share adherence, so neither sorting
    nor filtering by it can tell the therapist anything about such a client.

    Why one subquery for the ratio, and no counts beside it: the counts are read from the
    per-day rows of the page (_daily_figures), and a ratio over two count subqueries
    evaluated each of them 2-3 times per client (PostgreSQL does not share a repeated
    subquery), the 30 days as a join grouped by every selected column: 5 subqueries
    and a 300,000-row sort, ~400 ms (EXPLAIN ANALYZE, 1,000 clients, 2-core machine at load 5)
    before, ~65 ms now; sorted by the 30-day ratio ~130 ms (issue 7, benchmark 7).
    """
    nudges = (
        Nudge.objects.filter(
            member=OuterRef("member"),
            due_at__gte=LocalMidnight(moment, OuterRef(zone.name), days_before=days - 1),
            # Nothing after today: the dispatcher sends up to 5 minutes early, so a nudge
            # of tomorrow can exist at 23:57.
            due_at__lt=LocalMidnight(moment, OuterRef(zone.name), days_before=-1),
        )
        .order_by()
        .values("member")
        .annotate(
            done=Count("id", filter=Q(status="done")),
            expected=Count("id", filter=Q(status__in=EXPECTED_STATUSES)),
        )
        .annotate(
            ratio=Case(
                When(expected__gt=0, then=Cast("done", FloatField()) / F("expected")),
                default=Value(0.0),
                output_field=FloatField(),
            )
        )
        .values("ratio")
    )
    return Case(
        When(share_adherence=False, then=Value(None)),
        # No nudge at all in the period: no group, no row.
        default=Coalesce(Subquery(nudges, output_field=FloatField()), Value(0.0)),
        output_field=FloatField(),
    )


def clients_with_adherence(
    *, therapist: User, now: datetime, model: type[CareLink] = CareLink
) -> QuerySet[CareLink]:
    """The therapist's active links, each with the client's user and profile, sortable and
    filterable by `adherence_7d` and `adherence_30d` (aliases: computed only where a sort
    or a filter names them), and annotated with the latest check-in and its pain.

    The ratios are NULL where the link does not share adherence. The figures shown
    (counts, ratios, habit score, the last nudge acted on and habit logged) come from
    client_overviews, which reads them for the listed clients only (_daily_figures).
    """
    links = active_links_of_therapist(therapist=therapist, model=model)
    zone = F("member__profile__timezone")
    moment = Value(now, output_field=DateTimeField())
    return (
        links.select_related("member", "member__profile")
        .alias(
            adherence_7d=_adherence(days=7, moment=moment, zone=zone),
            adherence_30d=_adherence(days=30, moment=moment, zone=zone),
        )
        .annotate(
            last_checkin_at=Subquery(
                CheckIn.objects.filter(member=OuterRef("member"), recorded_at__lte=now)
                .order_by("-recorded_at", "-id")
                .values("recorded_at")[:1]
            ),
            latest_pain=Subquery(
                CheckIn.objects.filter(member=OuterRef("member"), recorded_at__lte=now)
                .order_by("-recorded_at", "-id")
                .values("pain")[:1]
            ),
        )
    )


def client_overviews(
    *, therapist: User, now: datetime, links: QuerySet[CareLink] | None = None
) -> list[ClientOverview]:
    """Every client of `therapist` (or those of `links`, a filtered or sorted
    clients_with_adherence queryset), in its order, with figures and attention reasons."""
    if links is None:
        links = clients_with_adherence(therapist=therapist, now=now)
    rows = list(links)
    clients = {link.member_id: _overview(link) for link in rows}
    adherence_zones = {
        member_id: client.member.profile.timezone
        for member_id, client in clients.items()
        if client.shares_adherence
    }
    checkin_ids = [m for m, client in clients.items() if client.shares_checkins]
    daily, last_logged = _daily_figures(zones=adherence_zones, now=now)
    for member_id, zone in adherence_zones.items():
        client = clients[member_id]
        last_acted_at = _add_adherence(client, daily.get(member_id, {}), now=now, zone=zone)
        moments = (client.last_activity_at, last_logged.get(member_id), last_acted_at)
        client.last_activity_at = max((m for m in moments if m is not None), default=None)
    _add_symptoms(clients, member_ids=checkin_ids, now=now)
    for client in clients.values():
        client.reasons = attention_reasons(client, now=now)
    return [clients[link.member_id] for link in rows]


def _overview(link: CareLink) -> ClientOverview:
    client = ClientOverview(
        link=link,
        shares_adherence=link.share_adherence,
        shares_checkins=link.share_checkins,
        member_since=link.member.date_joined,
    )
    # The last habit logged and nudge acted on (adherence) are added by client_overviews.
    if client.shares_checkins:
        client.latest_pain = link.latest_pain
        client.latest_checkin_at = client.last_activity_at = link.last_checkin_at
    return client


@dataclass
class _Day:
    """One client's nudges of one local day: what the score and the counts read."""

    tally: Tally
    last_acted_at: datetime | None


def _add_adherence(
    client: ClientOverview, daily: dict[date, _Day], *, now: datetime, zone: str
) -> datetime | None:
    """The 7- and 30-day counts and the habit score, from the client's days up to their
    today (days after it, nudges sent a few minutes early, do not count yet): the same
    local days as the adherence_7d/30d sort keys. Answers the last moment a nudge of
    those 30 days was acted on."""
    today = _local_today(now, zone)
    week_start = today - timedelta(days=6)
    month_start = today - timedelta(days=29)
    past: dict[date, Tally] = {}
    acted_moments = []
    for day, figures_of_day in daily.items():
        if day > today:
            continue
        tally = past[day] = figures_of_day.tally
        if day < month_start:
            continue
        client.done_30d += tally.done
        client.expected_30d += tally.sent
        if day >= week_start:
            client.done_7d += tally.done
            client.expected_7d += tally.sent
        if figures_of_day.last_acted_at is not None:
            acted_moments.append(figures_of_day.last_acted_at)
    client.habit_score = figures.habit_score(past, today=today)
    return max(acted_moments, default=None)


def _daily_figures(
    *, zones: dict[int, str], now: datetime
) -> tuple[dict[int, dict[date, _Day]], dict[int, datetime]]:
    """Per client (`zones`: member id to IANA zone) and local day, over the habit score's
    lookback (which covers the 30-day adherence too): the nudges acted on, those that
    could have been, and the last moment one was acted on; and per client, the moment of
    the last habit logged up to `now`.

    One statement, a UNION ALL branch per zone with the zone as a constant. Why not
    LocalDate(due_at, member__profile__timezone): that joined every one of 1,000 clients'
    ~300 nudges to the user and profile rows for its zone and grouped by status too,
    ~87,000 groups spilled to disk, 250 ms a page on the 2-core benchmark machine
    (issue 7, benchmark 7); without the joins and the status, 30,000 groups in memory.
    Every status is read (no filter): a nudge acted on and then sent again still counts
    as the client's last activity.

    The last habit logged is one more branch of the same statement (its day NULL): as a
    subquery per link of clients_with_adherence it was read for all 1,000 clients to
    show 100 of them, ~30 ms of the list's query (no index on (member, recorded_at)).
    """
    if not zones:
        return {}, {}
    # One day more than the lookback in UTC covers every zone's local days.
    since = now - timedelta(days=figures.HABIT_SCORE_LOOKBACK_DAYS + 1)
    members_of_zone: dict[str, list[int]] = defaultdict(list)
    for member_id, zone in zones.items():
        members_of_zone[zone].append(member_id)
    branches = [
        Nudge.objects.filter(
            member_id__in=member_ids, due_at__gte=since, due_at__lt=now + timedelta(days=1)
        )
        .annotate(day=LocalDate("due_at", Value(zone)))
        .values("member_id", "day")
        .annotate(
            done=Count("id", filter=Q(status="done")),
            expected=Count("id", filter=Q(status__in=EXPECTED_STATUSES)),
            last_acted_at=Max("acted_at"),
        )
        .values_list("member_id", "day", "done", "expected", "last_acted_at")
        .order_by()
        for zone, member_ids in sorted(members_of_zone.items())
    ]
    # The same columns in the same order (annotations after the member): a UNION pairs
    # them by position.
    logged = (
        Activity.objects.filter(member_id__in=list(zones), recorded_at__lte=now)
        .values("member_id")
        .annotate(
            day=Value(None, output_field=DateField()),
            done=Value(0, output_field=IntegerField()),
            expected=Value(0, output_field=IntegerField()),
            last_acted_at=Max("recorded_at"),
        )
        .values_list("member_id", "day", "done", "expected", "last_acted_at")
        .order_by()
    )
    rows = branches[0].union(*branches[1:], logged, all=True)
    daily: dict[int, dict[date, _Day]] = defaultdict(dict)
    last_logged: dict[int, datetime] = {}
    for member_id, day, done, expected, acted in rows:
        if isinstance(acted, str):  # SQLite: a compound SELECT loses the columns' types
            acted = datetime.fromisoformat(acted).replace(tzinfo=UTC)
        if day is None:
            if acted is not None:
                last_logged[member_id] = acted
            continue
        if isinstance(day, str):
            day = date.fromisoformat(day)
        # Sent minus suppressed is what a Tally calls expected: the score reads no more.
        daily[member_id][day] = _Day(tally=Tally(sent=expected, done=done), last_acted_at=acted)
    return daily, last_logged


def _add_symptoms(
    clients: dict[int, ClientOverview], *, member_ids: list[int], now: datetime
) -> None:
    if not member_ids:
        return
    since = now - timedelta(days=DAYS_TO_DECIDE_PERSISTENCE + 1)
    rows = (
        CheckIn.objects.filter(
            member_id__in=member_ids, recorded_at__gte=since, recorded_at__lte=now
        )
        .annotate(day=LocalDate("recorded_at", "member__profile__timezone"))
        .values("member_id", "day")
        .annotate(mean_stress=Avg("stress"), mean_pain=Avg("pain"), worst=Max("pain"))
        .order_by()
    )
    by_member: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_member[row["member_id"]].append(row)
    for member_id in member_ids:
        client = clients[member_id]
        today = _local_today(now, client.member.profile.timezone)
        days = by_member.get(member_id, [])
        client.stress = figures.week_over_week(
            {row["day"]: float(row["mean_stress"]) for row in days}, today=today
        )
        client.pain = figures.week_over_week(
            {row["day"]: float(row["mean_pain"]) for row in days}, today=today
        )
        window_start = today - timedelta(days=DAYS_TO_DECIDE_PERSISTENCE - 1)
        pain_days = sorted(
            (row["day"] for row in days if row["worst"] >= 1 and row["day"] >= window_start),
            reverse=True,
        )
        week = [row["worst"] for row in days if row["day"] > today - timedelta(days=7)]
        client.worst_pain_7d = max(week) if week else None
        status = pain_status_from_days(pain_days, today=today, window_start=window_start)
        client.persistent_pain = status.persistent
        client.pain_episode_start = status.episode_start
