"""Schedules driven by the real clock, moved with time-machine: DST changes, pause and
resume. The dispatcher reads `timezone.now()` here, as beat's tick does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.reminders.dispatch import dispatch_tick
from apps.reminders.models import Nudge, NudgeStatus, Schedule, SuppressionReason
from apps.reminders.services import schedule_save
from tests.factories import make_member

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def member_in(zone: str):
    member = make_member(timezone=zone)
    Schedule.objects.filter(member=member).delete()
    profile = member.profile
    profile.quiet_start = profile.quiet_end = None
    profile.save()
    return member


def tick_at(local: datetime, capture) -> None:
    with time_machine.travel(local, tick=False), capture(execute=True):
        dispatch_tick(enqueue=lambda groups: None)


def test_a_daily_nudge_fires_once_a_day_at_its_local_time_across_spring_forward(
    django_capture_on_commit_callbacks,
) -> None:
    member = member_in("America/New_York")
    with time_machine.travel(datetime(2026, 3, 6, 12, 0, tzinfo=NEW_YORK), tick=False):
        schedule_save(member=member, changes={"kind": "stretch", "times": ["07:30"]})

    # a tick one minute after 07:30 local, every day from 7 to 10 March (change: 8 March)
    for day in range(7, 11):
        tick_at(datetime(2026, 3, day, 7, 31, tzinfo=NEW_YORK), django_capture_on_commit_callbacks)

    fired = [
        n.astimezone(NEW_YORK)
        for n in Nudge.objects.order_by("due_at").values_list("due_at", flat=True)
    ]
    assert [moment.date() for moment in fired] == [date(2026, 3, d) for d in range(7, 11)]
    assert all(moment.time() == time(7, 30) for moment in fired)
    # the UTC hour moves with the clocks: 12:30 UTC before, 11:30 UTC after
    assert [f.astimezone(UTC).hour for f in fired] == [12, 11, 11, 11]


def test_a_time_lost_to_spring_forward_fires_at_three(django_capture_on_commit_callbacks) -> None:
    member = member_in("America/New_York")
    with time_machine.travel(datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK), tick=False):
        schedule_save(member=member, changes={"kind": "mindfulness", "times": ["02:30"]})

    tick_at(datetime(2026, 3, 8, 3, 1, tzinfo=NEW_YORK), django_capture_on_commit_callbacks)

    nudge = Nudge.objects.get()
    assert nudge.due_at.astimezone(NEW_YORK).time() == time(3, 0)
    assert nudge.status == NudgeStatus.PENDING


def test_a_time_repeated_by_fall_back_fires_once(django_capture_on_commit_callbacks) -> None:
    member = member_in("America/New_York")
    with time_machine.travel(datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK), tick=False):
        schedule_save(member=member, changes={"kind": "mindfulness", "times": ["01:30"]})

    # ticks after both 01:30s (05:31 UTC is the first, 06:31 UTC the second)
    for moment in (
        datetime(2026, 11, 1, 5, 31, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 31, tzinfo=UTC),
    ):
        tick_at(moment, django_capture_on_commit_callbacks)

    assert Nudge.objects.count() == 1
    assert Nudge.objects.get().due_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_nudges_stop_during_a_pause_and_resume_by_themselves(
    django_capture_on_commit_callbacks,
) -> None:
    member = member_in("Europe/London")
    london = ZoneInfo("Europe/London")
    with time_machine.travel(datetime(2026, 6, 1, 8, 0, tzinfo=london), tick=False):
        schedule_save(member=member, changes={"kind": "stretch", "times": ["09:00"]})
        profile = member.profile
        profile.paused_until = datetime(2026, 6, 2, 8, 0, tzinfo=london)  # "until tomorrow"
        profile.save()

    tick_at(datetime(2026, 6, 1, 9, 1, tzinfo=london), django_capture_on_commit_callbacks)
    tick_at(datetime(2026, 6, 2, 9, 1, tzinfo=london), django_capture_on_commit_callbacks)

    paused, resumed = Nudge.objects.order_by("due_at")
    assert (paused.status, paused.suppressed_reason) == (
        NudgeStatus.SUPPRESSED,
        SuppressionReason.PAUSED,
    )
    assert resumed.status == NudgeStatus.PENDING
    assert resumed.due_at - paused.due_at == timedelta(days=1)


@pytest.mark.parametrize(
    ("zone", "change_day"),
    [
        ("Europe/London", date(2026, 3, 29)),  # 01:00 -> 02:00
        ("Europe/London", date(2026, 10, 25)),  # 02:00 -> 01:00
        ("America/New_York", date(2026, 11, 1)),  # 02:00 -> 01:00
        ("Australia/Lord_Howe", date(2026, 10, 4)),  # 02:00 -> 02:30
        ("Australia/Lord_Howe", date(2026, 4, 5)),  # 02:00 -> 01:30
        ("Asia/Kathmandu", date(2026, 3, 29)),  # +05:45 all year: nothing moves
    ],
    ids=lambda value: str(value),
)
def test_a_daily_nudge_keeps_its_local_time_through_each_zones_clock_change(
    django_capture_on_commit_callbacks,
    zone: str,
    change_day: date,
) -> None:
    local = ZoneInfo(zone)
    member = member_in(zone)
    days = [change_day + timedelta(days=offset) for offset in (-1, 0, 1)]
    with time_machine.travel(datetime.combine(days[0], time(6, 0), tzinfo=local), tick=False):
        schedule_save(member=member, changes={"kind": "stretch", "times": ["07:30"]})

    for day in days:
        tick_at(
            datetime.combine(day, time(7, 31), tzinfo=local), django_capture_on_commit_callbacks
        )

    fired = [
        d.astimezone(local)
        for d in Nudge.objects.order_by("due_at").values_list("due_at", flat=True)
    ]
    assert [(moment.date(), moment.time()) for moment in fired] == [
        (day, time(7, 30)) for day in days
    ]
