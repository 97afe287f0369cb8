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
5. enqueues delivery after commit (`transaction.on_commit`), one task per member, so
   firings of one member due within 5 minutes of each other go out as one message.
Then an outbox sweep re-enqueues pending nudges whose hand-off never happened (a crash
between commit and publish, a broker outage) and releases snoozed nudges whose time came.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.reminders.models import Nudge, NudgeKind, NudgeStatus, Schedule, SuppressionReason
from apps.reminders.rules import in_local_window, next_occurrence, occurrences_between
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
    while _dispatch_batch(now=now, batch_size=batch_size, enqueue=enqueue, report=report):
        pass
    _sweep_outbox(now=now, enqueue=enqueue, report=report)
    return report


def _dispatch_batch(
    *, now: datetime, batch_size: int, enqueue: Enqueue, report: DispatchReport
) -> bool:
    """One transaction over at most `batch_size` due schedules; False when none was due."""
    with transaction.atomic():
        due = _claim(Q(next_due_at__lte=now), batch_size)
        if not due:
            return False
        members = {schedule.member_id for schedule in due}
        # Firings due in the next 5 minutes for these members join this message.
        upcoming = _claim(
            Q(member_id__in=members, next_due_at__gt=now, next_due_at__lte=now + BUNDLE_WINDOW),
            None,
        )
        context = MemberContext.load(schedules=[*due, *upcoming], now=now)
        nudges: list[Nudge] = []
        # Due schedules: every firing up to now. Upcoming ones (another schedule of the
        # same member, due within 5 minutes): only their next firing, sent with these.
        for schedule in due:
            nudges.extend(_firings(schedule, now=now, until=now, context=context))
            schedule.next_due_at = _next_after(schedule, now, context)
        for schedule in upcoming:
            assert schedule.next_due_at is not None
            first = schedule.next_due_at
            nudges.extend(_firings(schedule, now=now, until=first, context=context))
            schedule.next_due_at = _next_after(schedule, first, context)
        _apply_message_gap(nudges, context)
        Nudge.objects.bulk_create(nudges, ignore_conflicts=True)
        Schedule.objects.bulk_update([*due, *upcoming], ["next_due_at"])
        for nudge in nudges:
            report.created += 1
            if nudge.status == NudgeStatus.MISSED:
                report.missed += 1
            elif nudge.status == NudgeStatus.SUPPRESSED:
                report.suppressed += 1
        report.schedules += len(due) + len(upcoming)
        report.enqueued += _hand_over(
            Nudge.objects.filter(
                schedule__in=[*due, *upcoming], status=NudgeStatus.PENDING, enqueued_at__isnull=True
            ),
            now=now,
            enqueue=enqueue,
        )
    return len(due) == batch_size


def _next_after(schedule: Schedule, moment: datetime, context: MemberContext) -> datetime | None:
    return next_occurrence(schedule.rule(), context.zone(schedule.member_id), after=moment)


def _claim(condition: Q, limit: int | None) -> list[Schedule]:
    rows = (
        Schedule.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(condition, enabled=True, next_due_at__isnull=False)
        .select_related("member__profile")
        .order_by("next_due_at")
    )
    return list(rows[:limit] if limit else rows)


def _firings(
    schedule: Schedule, *, now: datetime, until: datetime, context: MemberContext
) -> Iterable[Nudge]:
    """Nudges for the schedule's firings from `next_due_at` up to `until`.

    Firings too late to send (an outage) are recorded as missed, at most
    MAX_FIRINGS_PER_SCHEDULE of them per tick (the oldest beyond that are only counted
    in the log); the recent ones, still worth sending, are always all evaluated.
    """
    assert schedule.next_due_at is not None
    zone, rule = context.zone(schedule.member_id), schedule.rule()
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
    recent = occurrences_between(rule, zone, after=max(start, cutoff), until=until)
    for due_at in [*late, *recent]:
        nudge = Nudge(
            member_id=schedule.member_id, schedule=schedule, kind=schedule.kind, due_at=due_at
        )
        if now - due_at > MISSED_AFTER:
            nudge.status = NudgeStatus.MISSED
        else:
            # Judged at the moment it would go out: a late tick sees what was logged since.
            reason = context.suppression(schedule.member_id, schedule.kind, max(due_at, now))
            if reason:
                nudge.status = NudgeStatus.SUPPRESSED
                nudge.suppressed_reason = reason
        yield nudge


def _apply_message_gap(nudges: list[Nudge], context: MemberContext) -> None:
    """A member whose last message went out (or was handed over for sending) less than
    20 minutes ago gets none now; the firings of this tick are one message."""
    for nudge in nudges:
        last = context.last_message_at.get(nudge.member_id)
        if (
            nudge.status == NudgeStatus.PENDING
            and last is not None
            and context.now - last < MIN_GAP_BETWEEN_MESSAGES
        ):
            nudge.status = NudgeStatus.SUPPRESSED
            nudge.suppressed_reason = SuppressionReason.TOO_SOON


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


def _sweep_outbox(*, now: datetime, enqueue: Enqueue, report: DispatchReport) -> None:
    # Settings override the two waits only so the fault-injection tests (real worker and
    # beat processes, real clock) need not wait minutes; production keeps the defaults.
    requeue_after = getattr(settings, "DISPATCH_REQUEUE_AFTER", REQUEUE_AFTER)
    reclaim_after = getattr(settings, "DISPATCH_RECLAIM_AFTER", RECLAIM_AFTER)
    with transaction.atomic():
        cutoff = now - MISSED_AFTER
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
    members: dict[int, User]
    activities: dict[int, list[tuple[str, int | None, datetime]]]
    last_message_at: dict[int, datetime]

    @classmethod
    def load(cls, *, schedules: list[Schedule], now: datetime) -> MemberContext:
        # _claim selected member__profile: no query here.
        members = {schedule.member_id: schedule.member for schedule in schedules}
        member_ids = set(members)
        activities: dict[int, list[tuple[str, int | None, datetime]]] = defaultdict(list)
        # 26 hours reach back to the start of "today" in every zone (UTC-12 .. UTC+14).
        for member_id, kind, amount, recorded_at in Activity.objects.filter(
            member_id__in=member_ids, recorded_at__gte=now - timedelta(hours=26)
        ).values_list("member_id", "kind", "amount_ml", "recorded_at"):
            activities[member_id].append((kind, amount, recorded_at))
        last_message_at: dict[int, datetime] = {}
        for member_id, sent, handed_over in (
            Nudge.objects.filter(
                Q(sent_at__gte=now - MIN_GAP_BETWEEN_MESSAGES)
                | Q(enqueued_at__gte=now - MIN_GAP_BETWEEN_MESSAGES),
                member_id__in=member_ids,
            )
            .values("member_id")
            .annotate(sent=Max("sent_at"), handed_over=Max("enqueued_at"))
            .values_list("member_id", "sent", "handed_over")
        ):
            last_message_at[member_id] = max(moment for moment in (sent, handed_over) if moment)
        return cls(now=now, members=members, activities=activities, last_message_at=last_message_at)

    def zone(self, member_id: int) -> ZoneInfo:
        return ZoneInfo(self.members[member_id].profile.timezone)  # zoneinfo caches zones

    def suppression(self, member_id: int, kind: str, due_at: datetime) -> str:
        """The reason this firing must not be sent, or "" to send it."""
        member = self.members[member_id]
        profile = member.profile
        zone = self.zone(member_id)
        if not member.is_active:
            return SuppressionReason.INACTIVE
        if profile.is_paused(now=due_at):
            return SuppressionReason.PAUSED
        quiet_start, quiet_end = profile.quiet_start, profile.quiet_end
        if quiet_start and quiet_end and in_local_window(due_at, zone, quiet_start, quiet_end):
            return SuppressionReason.QUIET_HOURS
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
