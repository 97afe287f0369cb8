"""The dispatcher tick: turn due schedule firings into nudges and hand them to delivery.

One tick (Celery beat every minute, or `manage.py dispatch_nudges`) does, in batches:
1. claims due schedules from the indexed `next_due_at` column with
   `select_for_update(skip_locked=True)`: two dispatchers never take the same schedule;
2. writes one nudge per firing under the unique (schedule, due_at) constraint: a tick
   run twice creates nothing new;
3. advances `next_due_at` in the same transaction, before anything is sent;
4. decides each nudge's fate: `missed` if more than 15 minutes late (after downtime
   nothing is sent in a burst), `suppressed` with a reason (quiet hours, pause, context:
   water goal met, water or movement logged recently, mindfulness done, another
   message less than 20 minutes ago), otherwise `pending`;
5. enqueues delivery after commit (`transaction.on_commit`), one list of nudge ids per
   member, so firings of one member due within 5 minutes of each other go out as one
   message.
Then an outbox sweep re-enqueues pending nudges whose hand-off never happened (a crash
between commit and publish, a broker outage) and releases snoozed nudges whose time came.

An idle tick (nothing due, nothing for the sweep) costs two indexed EXISTS and no
transaction; each batch costs 6 statements whatever its size (bench/b1_dispatch.py).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from apps.accounts.models import User
from apps.core.db import server_bound_cursor  # also registers the `any_of` lookup used here
from apps.reminders.models import Nudge, NudgeKind, NudgeStatus, Schedule, SuppressionReason
from apps.reminders.rules import Rule, in_local_window, next_occurrence, occurrences_between
from apps.reminders.services import schedules_set_next_due
from apps.tracking.models import Activity, ActivityKind

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# A firing later than this is recorded as missed instead of sent (after downtime).
MISSED_AFTER = timedelta(minutes=15)
# Firings of one member due within this window go out together, as one message.
BUNDLE_WINDOW = timedelta(minutes=5)
# At most one message per member per this long; firings in between are suppressed.
MIN_GAP_BETWEEN_MESSAGES = timedelta(minutes=20)
# A pending nudge handed to the broker this long ago and still not claimed is handed
# over again (the broker lost it, or the publish never happened).
REQUEUE_AFTER = timedelta(minutes=2)
# A nudge claimed by a worker this long ago and still `sending`: the worker died
# (kill -9, out of memory); it goes back to pending and is handed over again.
RECLAIM_AFTER = timedelta(minutes=5)
# After a long outage a schedule records at most this many missed firings per tick.
MAX_FIRINGS_PER_SCHEDULE = 1000
# Counting stops here (a 5-minute schedule down for a month): enough to know it was more.
MAX_LATE = 10_000
RECENT_WATER = timedelta(minutes=30)
RECENT_MOVEMENT = timedelta(minutes=20)

Enqueue = Callable[[list[list[int]]], None]


@dataclass
class DispatchReport:
    schedules: int = 0
    created: int = 0
    missed: int = 0
    suppressed: int = 0
    enqueued: int = 0
    requeued: int = 0
    unsnoozed: int = 0


def dispatch_tick(
    *, enqueue: Enqueue, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> DispatchReport:
    """Run one tick at `now`. `enqueue` receives lists of nudge ids, one list per member."""
    now = now or timezone.now()
    report = DispatchReport()
    # Idle ticks are the common case (every minute, all day): one index probe, outside any
    # transaction, decides whether to claim at all (measured: 2 queries, ~1 ms at 300,000
    # schedules, instead of BEGIN/claim/COMMIT and the 5-statement sweep).
    busy = _due(now).exists()
    rules = RuleCache()
    while busy and _dispatch_batch(
        now=now, batch_size=batch_size, enqueue=enqueue, report=report, rules=rules
    ):
        pass
    # A tick that dispatched sweeps unconditionally (its cost is small beside the batch);
    # an idle one first asks whether the sweep has anything to do.
    _sweep_outbox(now=now, enqueue=enqueue, report=report, check_first=not busy)
    return report


def _due(now: datetime) -> QuerySet[Schedule]:
    # These conditions match the partial index `schedule_due` (enabled, next_due_at set).
    return Schedule.objects.filter(next_due_at__lte=now, enabled=True, next_due_at__isnull=False)


@dataclass(slots=True)
class Firing:
    """A nudge about to be written (a plain record: a model instance per row cost ~10 us)."""

    member_id: int
    schedule_id: int
    kind: str
    due_at: datetime
    status: str = NudgeStatus.PENDING.value
    suppressed_reason: str = ""


@dataclass
class RuleCache:
    """Firing times per (rule, zone, interval) for one tick. Schedules due in the same minute
    mostly share a few rules and zones: 50,000 of them computed ~20 distinct answers instead
    of 100,000 zone conversions (a third of a batch's time before)."""

    between: dict[tuple[Rule, str, datetime, datetime], list[datetime]] = field(
        default_factory=dict
    )
    after: dict[tuple[Rule, str, datetime], datetime | None] = field(default_factory=dict)
    # Claimed rows carry their rule's columns as stored; 500 rows of a batch share a few.
    # Decoding the JSON and building the Rule once per distinct row cost ~8 us a schedule.
    parsed: dict[tuple[Any, ...], Rule] = field(default_factory=dict)

    def rule(
        self,
        times_json: str,
        every_minutes: int | None,
        window_start: time | None,
        window_end: time | None,
        weekdays_json: str,
    ) -> Rule:
        key = (times_json, every_minutes, window_start, window_end, weekdays_json)
        if key not in self.parsed:
            self.parsed[key] = Rule(
                times=tuple(time.fromisoformat(value) for value in json.loads(times_json)),
                every_minutes=every_minutes,
                window_start=window_start,
                window_end=window_end,
                weekdays=tuple(json.loads(weekdays_json)),
            )
        return self.parsed[key]

    def occurrences(
        self, rule: Rule, zone: ZoneInfo, *, after: datetime, until: datetime
    ) -> list[datetime]:
        key = (rule, zone.key, after, until)
        if key not in self.between:
            self.between[key] = list(occurrences_between(rule, zone, after=after, until=until))
        return self.between[key]

    def next_after(self, rule: Rule, zone: ZoneInfo, moment: datetime) -> datetime | None:
        key = (rule, zone.key, moment)
        if key not in self.after:
            self.after[key] = next_occurrence(rule, zone, after=moment)
        return self.after[key]


def _dispatch_batch(
    *,
    now: datetime,
    batch_size: int,
    enqueue: Enqueue,
    report: DispatchReport,
    rules: RuleCache,
) -> bool:
    """One transaction over at most `batch_size` due schedules; False when none was due.
    Round trips per batch, whatever its size: claim, upcoming claim, 2 context reads, one
    INSERT ... RETURNING (at most INSERT_CHUNK rows each), one UPDATE of `next_due_at`."""
    with transaction.atomic():
        members: dict[int, MemberFacts] = {}
        due = _claim(Q(next_due_at__lte=now), batch_size, members, rules)
        if not due:
            return False
        # Firings due in the next 5 minutes for these members join this message.
        upcoming = _claim(
            Q(
                member_id__any_of=frozenset(members),
                next_due_at__gt=now,
                next_due_at__lte=now + BUNDLE_WINDOW,
            ),
            None,
            members,
            rules,
        )
        context = MemberContext.load(members=members, now=now)
        # A firing bundled forward goes out now, so now must be a time the member may be
        # reached: a 07:02 nudge is not sent at 06:58 inside quiet hours ending at 07:00.
        # Those stay as they are (claimed but untouched) and fire at their own time.
        upcoming = [s for s in upcoming if not context.unreachable(s.member_id, now)]
        firings: list[Firing] = []
        # Due schedules: every firing up to now. Upcoming ones (another schedule of the
        # same member, due within 5 minutes): only their next firing, sent with these.
        for schedule in due:
            zone = context.zone(schedule.member_id)
            firings.extend(_firings(schedule, now=now, until=now, context=context, rules=rules))
            schedule.next_due_at = rules.next_after(schedule.rule, zone, now)
        for schedule in upcoming:
            assert schedule.next_due_at is not None
            zone, first = context.zone(schedule.member_id), schedule.next_due_at
            firings.extend(_firings(schedule, now=now, until=first, context=context, rules=rules))
            schedule.next_due_at = rules.next_after(schedule.rule, zone, first)
        _apply_message_gap(firings, context)
        # Advance before sending: the new next_due_at commits with the nudges.
        schedules_set_next_due(schedules=[*due, *upcoming])
        # Only rows really inserted come back: a firing another tick already wrote (the
        # unique (schedule, due_at) key) is neither counted nor handed over twice.
        inserted = _insert_new(firings, now=now)
        by_member: dict[int, list[int]] = defaultdict(list)
        for nudge_id, member_id, status in inserted:
            if status == NudgeStatus.PENDING:
                by_member[member_id].append(nudge_id)
            elif status == NudgeStatus.MISSED:
                report.missed += 1
            elif status == NudgeStatus.SUPPRESSED:
                report.suppressed += 1
        report.created += len(inserted)
        report.schedules += len(due) + len(upcoming)
        if by_member:
            groups = list(by_member.values())
            report.enqueued += sum(len(group) for group in groups)
            transaction.on_commit(lambda: enqueue(groups))
    return len(due) == batch_size


# SQLite (tests, one-machine default) takes one placeholder per value: 10 columns x 1,000
# rows = 10,000 parameters, under its limit of 32,766.
INSERT_CHUNK = 1000
_INSERT_COLUMNS = (
    "member_id", "schedule_id", "kind", "due_at", "status", "suppressed_reason", "enqueued_at",
    "snooze_count", "delivery_tries", "created_at",
)  # fmt: skip
_INSERT = (
    f"INSERT INTO reminders_nudge ({', '.join(_INSERT_COLUMNS)}) %s "
    "ON CONFLICT (schedule_id, due_at) DO NOTHING RETURNING id, member_id, status"
)
# PostgreSQL: the rows travel as one array per varying column (unnest), bound server-side
# in binary (`%b`: psycopg's automatic `%s` would still quote arrays as text); what is the
# same for every row is one scalar. A pending nudge is written already handed over.
_UNNEST_ROWS = (
    "SELECT firing.member_id, firing.schedule_id, firing.kind, firing.due_at, firing.status, "
    "firing.suppressed_reason, CASE WHEN firing.status = %s THEN %s::timestamptz END, 0, 0, "
    "%s::timestamptz "
    "FROM unnest(%b::bigint[], %b::bigint[], %b::varchar[], %b::timestamptz[], %b::varchar[], "
    "%b::varchar[]) AS firing (member_id, schedule_id, kind, due_at, status, suppressed_reason)"
)


def _insert_new(firings: list[Firing], *, now: datetime) -> list[tuple[int, int, str]]:
    """Write the firings; (id, member_id, status) of those that were new. Pending ones are
    written already marked as handed over (`enqueued_at`): the publish follows the commit,
    and if it never happens the outbox sweep finds them stale.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING instead of bulk_create (which returns
    no ids with ignore_conflicts) plus a SELECT and an UPDATE to hand them over: those were
    ~45 % of a batch's time. On PostgreSQL one array per column instead of one placeholder
    per value (psycopg spent ~15 % of the batch parsing a 5,000-placeholder statement),
    bound in binary (quoting 3 arrays of 500 timestamps as text cost ~6 ms a batch)."""
    if not firings:
        return []
    created_at = timezone.now()
    if connection.vendor == "postgresql":
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [])
        member_ids, schedule_ids, kinds, due_ats, statuses, reasons = columns
        for firing in firings:
            member_ids.append(firing.member_id)
            schedule_ids.append(firing.schedule_id)
            kinds.append(firing.kind)
            due_ats.append(firing.due_at)
            statuses.append(firing.status)
            reasons.append(firing.suppressed_reason)
        with server_bound_cursor() as cursor:
            cursor.execute(
                _INSERT % _UNNEST_ROWS, [NudgeStatus.PENDING.value, now, created_at, *columns]
            )
            return cursor.fetchall()
    adapt = connection.ops.adapt_datetimefield_value
    created, handed_over = adapt(created_at), adapt(now)
    rows = [
        (
            firing.member_id, firing.schedule_id, firing.kind, adapt(firing.due_at),
            firing.status, firing.suppressed_reason,
            handed_over if firing.status == NudgeStatus.PENDING else None, 0, 0, created,
        )
        for firing in firings
    ]  # fmt: skip
    inserted: list[tuple[int, int, str]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            values = ", ".join(["(" + ", ".join(["%s"] * len(_INSERT_COLUMNS)) + ")"] * len(chunk))
            cursor.execute(_INSERT % f"VALUES {values}", [value for row in chunk for value in row])
            inserted += cursor.fetchall()
    return inserted


# What the rules and the suppression read, as plain values: building a Schedule, a User
# and a Profile instance per claimed row was ~25 % of a batch's time. `times` and
# `weekdays` come as the JSON text stored (annotated below): RuleCache.rule decodes each
# distinct one once.
CLAIM_COLUMNS = (
    "id", "member_id", "kind", "times_json", "every_minutes", "window_start", "window_end",
    "weekdays_json", "next_due_at", "member__is_active", "member__profile__timezone",
    "member__profile__paused_until", "member__profile__quiet_start",
    "member__profile__quiet_end", "member__profile__water_goal_ml",
)  # fmt: skip


@dataclass(slots=True)
class ProfileFacts:
    """The profile fields suppression reads (a Profile answers the same)."""

    timezone: str
    paused_until: datetime | None
    quiet_start: time | None
    quiet_end: time | None
    water_goal_ml: int

    def is_paused(self, *, now: datetime) -> bool:
        return self.paused_until is not None and self.paused_until > now


@dataclass(slots=True)
class MemberFacts:
    """The account fields suppression reads (a User with its profile answers the same)."""

    is_active: bool
    profile: ProfileFacts


@dataclass(slots=True)
class ClaimedSchedule:
    pk: int
    member_id: int
    kind: str
    rule: Rule
    next_due_at: datetime | None


def _claim(
    condition: Q, limit: int | None, members: dict[int, MemberFacts], rules: RuleCache
) -> list[ClaimedSchedule]:
    """Lock and read the schedules; their members' facts go into `members`."""
    claimed = []
    for (
        pk, member_id, kind, times_json, every_minutes, window_start, window_end, weekdays_json,
        next_due_at, is_active, zone, paused_until, quiet_start, quiet_end, water_goal_ml,
    ) in claim_query(condition, limit):  # fmt: skip
        rule = rules.rule(times_json, every_minutes, window_start, window_end, weekdays_json)
        claimed.append(ClaimedSchedule(pk, member_id, kind, rule, next_due_at))
        if member_id not in members:
            profile = ProfileFacts(zone, paused_until, quiet_start, quiet_end, water_goal_ml)
            members[member_id] = MemberFacts(is_active, profile)
    return claimed


def claim_query(condition: Q, limit: int | None) -> QuerySet[Schedule, tuple[Any, ...]]:
    """Due schedules' CLAIM_COLUMNS, locked, skipping rows another dispatcher holds (the
    benchmark EXPLAINs this very query)."""
    rows = (
        Schedule.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(condition, enabled=True, next_due_at__isnull=False)
        .annotate(
            times_json=Cast("times", TextField()), weekdays_json=Cast("weekdays", TextField())
        )
        .order_by("next_due_at")
        .values_list(*CLAIM_COLUMNS)
    )
    return rows[:limit] if limit else rows


def _firings(
    schedule: ClaimedSchedule,
    *,
    now: datetime,
    until: datetime,
    context: MemberContext,
    rules: RuleCache,
) -> Iterable[Firing]:
    """Firings of the schedule from `next_due_at` up to `until`.

    Firings too late to send (an outage) are recorded as missed, at most
    MAX_FIRINGS_PER_SCHEDULE of them per tick (the oldest beyond that are only counted
    in the log); the recent ones, still worth sending, are always all evaluated.
    """
    assert schedule.next_due_at is not None
    zone, rule = context.zone(schedule.member_id), schedule.rule
    start = schedule.next_due_at - timedelta(microseconds=1)
    cutoff = now - MISSED_AFTER
    late: list[datetime] = []
    if start < cutoff:
        late = list(islice(occurrences_between(rule, zone, after=start, until=cutoff), MAX_LATE))
        if len(late) > MAX_FIRINGS_PER_SCHEDULE:
            logger.warning(
                "schedule %s: %s firings missed; only the latest %d are recorded",
                schedule.pk, f"{MAX_LATE}+" if len(late) == MAX_LATE else len(late),
                MAX_FIRINGS_PER_SCHEDULE,
            )  # fmt: skip
        late = late[-MAX_FIRINGS_PER_SCHEDULE:]
    recent = rules.occurrences(rule, zone, after=max(start, cutoff), until=until)
    for due_at in [*late, *recent]:
        firing = Firing(
            member_id=schedule.member_id, schedule_id=schedule.pk, kind=schedule.kind,
            due_at=due_at,
        )  # fmt: skip
        if now - due_at > MISSED_AFTER:
            firing.status = NudgeStatus.MISSED.value
        else:
            # Judged at the moment it would go out: a late tick sees what was logged since.
            reason = context.suppression(schedule.member_id, schedule.kind, max(due_at, now))
            if reason:
                firing.status = NudgeStatus.SUPPRESSED.value
                firing.suppressed_reason = str(reason)  # the choice's value
        yield firing


def _apply_message_gap(firings: list[Firing], context: MemberContext) -> None:
    """A member whose last message went out (or was handed over for sending) less than
    20 minutes ago gets none now; the firings of this tick are one message."""
    for firing in firings:
        last = context.last_message_at.get(firing.member_id)
        if (
            firing.status == NudgeStatus.PENDING
            and last is not None
            and context.now - last < MIN_GAP_BETWEEN_MESSAGES
        ):
            firing.status = NudgeStatus.SUPPRESSED.value
            firing.suppressed_reason = SuppressionReason.TOO_SOON.value


def _hand_over(pending: QuerySet[Nudge], *, now: datetime, enqueue: Enqueue) -> int:
    """Mark these nudges as handed to the broker and publish after commit, per member."""
    by_member: dict[int, list[int]] = defaultdict(list)
    for member_id, nudge_id in pending.values_list("member_id", "id"):
        by_member[member_id].append(nudge_id)
    ids = [nudge_id for group in by_member.values() for nudge_id in group]
    if not ids:
        return 0
    Nudge.objects.filter(pk__in=ids).update(enqueued_at=now)
    groups = list(by_member.values())
    transaction.on_commit(lambda: enqueue(groups))
    return len(ids)


OUTSTANDING = [NudgeStatus.PENDING, NudgeStatus.SENDING, NudgeStatus.SNOOZED]


def _sweep_outbox(
    *, now: datetime, enqueue: Enqueue, report: DispatchReport, check_first: bool = False
) -> None:
    # Settings override the two waits only so the fault-injection tests (real worker and
    # beat processes, real clock) need not wait minutes; production keeps the defaults.
    requeue_after = getattr(settings, "DISPATCH_REQUEUE_AFTER", REQUEUE_AFTER)
    reclaim_after = getattr(settings, "DISPATCH_RECLAIM_AFTER", RECLAIM_AFTER)
    cutoff = now - MISSED_AFTER
    if check_first:
        # The union of what the statements below touch, in one EXISTS on the partial index
        # `nudge_outbox` (only outstanding nudges are in it): nothing to do, nothing run.
        too_late = Q(snoozed_until__isnull=True, due_at__lt=cutoff) | Q(snoozed_until__lt=cutoff)
        stale = (Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - requeue_after)) & (
            Q(retry_at__isnull=True) | Q(retry_at__lte=now)
        )
        work = Nudge.objects.filter(status__in=OUTSTANDING).filter(
            (Q(status=NudgeStatus.PENDING) & (too_late | stale))
            | Q(status=NudgeStatus.SENDING, claimed_at__lt=now - reclaim_after)
            | Q(status=NudgeStatus.SNOOZED, snoozed_until__lte=now)
        )
        if not work.exists():
            return
    with transaction.atomic():
        # Already delivered on some channel, another channel still retrying: it was sent.
        Nudge.objects.filter(
            Q(snoozed_until__isnull=True, due_at__lt=cutoff) | Q(snoozed_until__lt=cutoff),
            status=NudgeStatus.PENDING,
            sent_at__isnull=False,
        ).update(status=NudgeStatus.SENT, retry_at=None)
        # Never delivered and too late to be useful (judged from the end of a snooze for a
        # snoozed one): record it as missed, as after downtime.
        report.missed += Nudge.objects.filter(
            Q(snoozed_until__isnull=True, due_at__lt=cutoff) | Q(snoozed_until__lt=cutoff),
            status=NudgeStatus.PENDING,
            sent_at__isnull=True,
        ).update(status=NudgeStatus.MISSED)
        reclaimed = Nudge.objects.filter(
            status=NudgeStatus.SENDING, claimed_at__lt=now - reclaim_after
        ).update(status=NudgeStatus.PENDING, claim_token=None, enqueued_at=None)
        report.unsnoozed = Nudge.objects.filter(
            status=NudgeStatus.SNOOZED, snoozed_until__lte=now
        ).update(status=NudgeStatus.PENDING, enqueued_at=None, claim_token=None, sent_at=None)
        stale = Nudge.objects.filter(
            Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - requeue_after),
            Q(retry_at__isnull=True) | Q(retry_at__lte=now),
            status=NudgeStatus.PENDING,
        )
        report.requeued = _hand_over(stale, now=now, enqueue=enqueue)
        if reclaimed:
            logger.warning(
                "%d nudges were stuck sending (a worker died); handed over again", reclaimed
            )


@dataclass
class MemberContext:
    """What the suppression rules need about a batch of members: the profiles already
    loaded with the claimed schedules, plus 2 queries (recent activity, last message)."""

    now: datetime
    members: dict[int, MemberFacts] | dict[int, User]
    activities: dict[int, list[tuple[str, int | None, datetime]]]
    last_message_at: dict[int, datetime]

    @classmethod
    def load(cls, *, members: dict[int, MemberFacts], now: datetime) -> MemberContext:
        """`members`: read with the claimed schedules (no query here)."""
        member_ids = frozenset(members)
        activities: dict[int, list[tuple[str, int | None, datetime]]] = defaultdict(list)
        # 26 hours reach back to the start of "today" in every zone (UTC-12 .. UTC+14).
        for member_id, kind, amount, recorded_at in Activity.objects.filter(
            member_id__any_of=member_ids, recorded_at__gte=now - timedelta(hours=26)
        ).values_list("member_id", "kind", "amount_ml", "recorded_at"):
            activities[member_id].append((kind, amount, recorded_at))
        last_message_at: dict[int, datetime] = {}
        for member_id, sent, handed_over in (
            Nudge.objects.filter(
                Q(sent_at__gte=now - MIN_GAP_BETWEEN_MESSAGES)
                | Q(enqueued_at__gte=now - MIN_GAP_BETWEEN_MESSAGES),
                member_id__any_of=member_ids,
            )
            .values("member_id")
            .annotate(sent=Max("sent_at"), handed_over=Max("enqueued_at"))
            .values_list("member_id", "sent", "handed_over")
        ):
            last_message_at[member_id] = max(moment for moment in (sent, handed_over) if moment)
        return cls(now=now, members=members, activities=activities, last_message_at=last_message_at)

    def zone(self, member_id: int) -> ZoneInfo:
        return ZoneInfo(self.members[member_id].profile.timezone)  # zoneinfo caches zones

    def unreachable(self, member_id: int, moment: datetime) -> str:
        """Why nothing at all may reach this member at `moment` (inactive, paused, quiet
        hours), or "" when a message may go out then."""
        member = self.members[member_id]
        profile = member.profile
        if not member.is_active:
            return SuppressionReason.INACTIVE
        if profile.is_paused(now=moment):
            return SuppressionReason.PAUSED
        quiet_start, quiet_end = profile.quiet_start, profile.quiet_end
        zone = self.zone(member_id)
        if quiet_start and quiet_end and in_local_window(moment, zone, quiet_start, quiet_end):
            return SuppressionReason.QUIET_HOURS
        return ""

    def suppression(self, member_id: int, kind: str, due_at: datetime) -> str:
        """The reason this firing must not be sent, or "" to send it."""
        if reason := self.unreachable(member_id, due_at):
            return reason
        profile = self.members[member_id].profile
        zone = self.zone(member_id)
        logged = [entry for entry in self.activities[member_id] if entry[2] <= due_at]
        today = due_at.astimezone(zone).date()
        logged_today = [entry for entry in logged if entry[2].astimezone(zone).date() == today]
        if kind == NudgeKind.HYDRATION:
            water_today = sum(a or 0 for k, a, _ in logged_today if k == ActivityKind.HYDRATION)
            if water_today >= profile.water_goal_ml:
                return SuppressionReason.WATER_GOAL_MET
            if any(
                k == ActivityKind.HYDRATION and due_at - t <= RECENT_WATER for k, _, t in logged
            ):
                return SuppressionReason.RECENT_WATER
        if kind in (NudgeKind.MOVEMENT, NudgeKind.STRETCH) and any(
            k in (ActivityKind.MOVEMENT, ActivityKind.STRETCH) and due_at - t <= RECENT_MOVEMENT
            for k, _, t in logged
        ):
            return SuppressionReason.RECENT_MOVEMENT
        if kind == NudgeKind.MINDFULNESS and any(
            k == ActivityKind.MINDFULNESS for k, _, _ in logged_today
        ):
            return SuppressionReason.MINDFULNESS_DONE
        return ""
