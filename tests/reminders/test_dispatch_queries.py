"""What an idle tick and a schedule edit cost in queries (issue 7, benchmarks 2 and 4), with
the behaviour they must keep. Counts, never time: the machine's speed varies, counts not.

Transaction control (BEGIN, COMMIT, SAVEPOINT) is not counted: it carries no work, and
whether it appears depends on the caller (a test's own transaction, ATOMIC_REQUESTS)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.profiles.services import profile_update
from apps.reminders.dispatch import dispatch_tick
from apps.reminders.models import Nudge, NudgeStatus, Schedule
from apps.reminders.services import schedule_save
from tests.factories import make_member

pytestmark = pytest.mark.django_db

MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def statements(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]


class Outbox:
    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self, groups: list[list[int]]) -> None:
        self.ids += [nudge_id for group in groups for nudge_id in group]


def members_due_tomorrow(count: int) -> list[Schedule]:
    """Members whose every schedule fires no earlier than tomorrow: nothing due today."""
    schedules = []
    for _ in range(count):
        member = make_member()
        Schedule.objects.filter(member=member).delete()
        schedule = schedule_save(member=member, changes={"kind": "stretch", "times": ["11:00"]})
        Schedule.objects.filter(pk=schedule.pk).update(
            next_due_at=MONDAY_NOON + timedelta(hours=23)
        )
        schedules.append(schedule)
    return schedules


def test_an_idle_tick_costs_at_most_three_queries_and_dispatches_nothing(
    django_capture_on_commit_callbacks,
) -> None:
    members_due_tomorrow(5)
    outbox = Outbox()

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = dispatch_tick(enqueue=outbox, now=MONDAY_NOON)

    assert len(statements(queries)) <= 3, statements(queries)
    assert report.created == report.requeued == report.unsnoozed == 0
    assert outbox.ids == []
    assert not Nudge.objects.exists()


def test_an_idle_tick_still_sweeps_when_the_outbox_has_work(
    django_capture_on_commit_callbacks,
) -> None:
    # given nothing due, but a snoozed nudge whose snooze ended and a lost hand-off
    schedule = members_due_tomorrow(1)[0]
    snoozed = Nudge.objects.create(
        member_id=schedule.member_id, schedule=schedule, kind="stretch",
        due_at=MONDAY_NOON - timedelta(minutes=10), status=NudgeStatus.SNOOZED,
        snoozed_until=MONDAY_NOON - timedelta(minutes=1), snooze_count=1,
    )  # fmt: skip
    lost = Nudge.objects.create(
        member_id=schedule.member_id, schedule=schedule, kind="stretch",
        due_at=MONDAY_NOON - timedelta(minutes=5), status=NudgeStatus.PENDING,
        enqueued_at=MONDAY_NOON - timedelta(minutes=4),
    )  # fmt: skip
    outbox = Outbox()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        report = dispatch_tick(enqueue=outbox, now=MONDAY_NOON)

    # then both are handed over again, as the sweep always did
    assert sorted(outbox.ids) == sorted([snoozed.pk, lost.pk])
    assert report.unsnoozed == 1
    assert report.requeued == 2


def test_an_idle_tick_leaves_a_recent_hand_off_alone(django_capture_on_commit_callbacks) -> None:
    schedule = members_due_tomorrow(1)[0]
    Nudge.objects.create(
        member_id=schedule.member_id, schedule=schedule, kind="stretch",
        due_at=MONDAY_NOON - timedelta(minutes=1), status=NudgeStatus.PENDING,
        enqueued_at=MONDAY_NOON - timedelta(seconds=30),
    )  # fmt: skip
    outbox = Outbox()

    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),
    ):
        dispatch_tick(enqueue=outbox, now=MONDAY_NOON)

    assert outbox.ids == []  # the broker has it; 2 minutes before handing it over again
    assert len(statements(queries)) <= 3, statements(queries)


def test_a_time_zone_edit_re_times_every_schedule_in_at_most_three_queries() -> None:
    member = make_member(timezone="Europe/Berlin")  # starts with the 4 default schedules
    profile = member.profile
    assert Schedule.objects.filter(member=member).count() == 4

    with CaptureQueriesContext(connection) as queries:
        profile_update(profile=profile, changes={"timezone": "Asia/Tokyo"})

    assert len(statements(queries)) <= 3, statements(queries)
    tokyo = ZoneInfo("Asia/Tokyo")
    mindfulness = Schedule.objects.get(member=member, kind="mindfulness")
    assert mindfulness.next_due_at.astimezone(tokyo).time() == time(12, 30)
    stretch = Schedule.objects.get(member=member, kind="stretch")
    assert stretch.next_due_at.astimezone(tokyo).time() in (time(11, 0), time(15, 0))


def test_a_hot_environment_edit_still_moves_hydration_in_at_most_three_queries() -> None:
    member = make_member()
    profile = member.profile

    with CaptureQueriesContext(connection) as queries:
        profile_update(profile=profile, changes={"hot_environment": True})

    assert len(statements(queries)) <= 3, statements(queries)
    assert Schedule.objects.get(member=member, kind="hydration").every_minutes == 60


def test_a_schedule_edit_re_times_its_next_nudge_in_at_most_three_queries() -> None:
    member = make_member(timezone="America/New_York")
    schedule = Schedule.objects.select_related("member__profile").get(
        member=member, kind="mindfulness"
    )

    with CaptureQueriesContext(connection) as queries:
        schedule_save(member=schedule.member, schedule=schedule, changes={"times": ["07:45"]})

    assert len(statements(queries)) <= 3, statements(queries)
    schedule.refresh_from_db()
    assert schedule.times == ["07:45"]
    local = schedule.next_due_at.astimezone(ZoneInfo("America/New_York"))
    assert local.time() == time(7, 45)


def test_disabling_a_schedule_clears_its_next_firing_in_one_statement() -> None:
    member = make_member()
    schedule = Schedule.objects.select_related("member__profile").get(member=member, kind="stretch")

    with CaptureQueriesContext(connection) as queries:
        schedule_save(member=schedule.member, schedule=schedule, changes={"enabled": False})

    assert len(statements(queries)) == 1, statements(queries)
    schedule.refresh_from_db()
    assert schedule.next_due_at is None
