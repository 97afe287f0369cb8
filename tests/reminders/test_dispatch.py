"""The dispatcher tick: nudges from due firings, exactly once, with their fate decided."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.reminders.dispatch import dispatch_tick
from apps.reminders.models import Nudge, NudgeStatus, Schedule, SuppressionReason
from apps.reminders.rules import next_occurrence
from apps.reminders.services import schedule_save
from apps.tracking.services import activity_record
from tests.factories import make_member

pytestmark = pytest.mark.django_db

MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Outbox:
    """Stands in for the broker hand-off: records what the tick would publish."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []

    def __call__(self, groups: list[list[int]]) -> None:
        self.groups.extend(groups)

    @property
    def ids(self) -> list[int]:
        return [nudge_id for group in self.groups for nudge_id in group]


@pytest.fixture
def member():
    member = make_member()
    Schedule.objects.filter(member=member).delete()  # only the schedules a test makes
    profile = member.profile
    profile.quiet_start = profile.quiet_end = None
    profile.save()
    return member


def fixed(member, *times: str, kind: str = "stretch", now: datetime = MONDAY_NOON) -> Schedule:
    schedule = schedule_save(member=member, changes={"kind": kind, "times": list(times)})
    schedule.next_due_at = _first_after(schedule, now - timedelta(hours=3))
    schedule.save()
    return schedule


def _first_after(schedule: Schedule, moment: datetime) -> datetime:
    return next_occurrence(schedule.rule(), ZoneInfo(schedule.member.profile.timezone), moment)


def tick(at: datetime) -> tuple[Outbox, object]:
    outbox = Outbox()
    report = dispatch_tick(enqueue=outbox, now=at)
    return outbox, report


def test_a_due_firing_becomes_one_pending_nudge_handed_to_delivery(
    django_capture_on_commit_callbacks, member
) -> None:
    schedule = fixed(member, "12:00")

    with django_capture_on_commit_callbacks(execute=True):
        outbox, _ = tick(MONDAY_NOON + timedelta(seconds=20))

    nudge = Nudge.objects.get()
    assert nudge.status == NudgeStatus.PENDING
    assert nudge.due_at == MONDAY_NOON
    assert outbox.groups == [[nudge.pk]]
    schedule.refresh_from_db()
    assert schedule.next_due_at == MONDAY_NOON + timedelta(days=1)  # advanced before sending


def test_a_tick_run_twice_creates_nothing_new(django_capture_on_commit_callbacks, member) -> None:
    schedule = fixed(member, "12:00")
    with django_capture_on_commit_callbacks(execute=True):
        tick(MONDAY_NOON)
    # as if a second dispatcher had read the schedule before the first advanced it
    Schedule.objects.filter(pk=schedule.pk).update(next_due_at=MONDAY_NOON)

    with django_capture_on_commit_callbacks(execute=True):
        tick(MONDAY_NOON + timedelta(seconds=5))

    assert Nudge.objects.count() == 1


def test_after_downtime_late_firings_are_missed_and_only_recent_ones_sent(
    django_capture_on_commit_callbacks,
    member,
) -> None:
    schedule = schedule_save(
        member=member,
        changes={"kind": "movement", "every_minutes": 30, "window_start": time(9, 0),
                 "window_end": time(17, 0)},
    )  # fmt: skip
    schedule.next_due_at = MONDAY_NOON - timedelta(hours=2)  # beat was down for 2 hours
    schedule.save()

    with django_capture_on_commit_callbacks(execute=True):
        outbox, report = tick(MONDAY_NOON + timedelta(minutes=5))

    statuses = dict(Nudge.objects.values_list("due_at", "status"))
    assert statuses[MONDAY_NOON] == NudgeStatus.PENDING
    assert statuses[MONDAY_NOON - timedelta(minutes=30)] == NudgeStatus.MISSED
    assert list(statuses.values()).count(NudgeStatus.MISSED) == 4
    assert report.missed == 4
    assert len(outbox.ids) == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("quiet", SuppressionReason.QUIET_HOURS),
        ("paused", SuppressionReason.PAUSED),
        ("inactive", SuppressionReason.INACTIVE),
    ],
)
def test_suppressed_firings_are_recorded_with_their_reason(
    django_capture_on_commit_callbacks,
    member,
    setup: str,
    reason: str,
) -> None:
    fixed(member, "12:00")
    profile = member.profile
    if setup == "quiet":
        profile.quiet_start, profile.quiet_end = time(11, 0), time(13, 0)
        profile.save()
    elif setup == "paused":
        profile.paused_until = MONDAY_NOON + timedelta(hours=1)
        profile.save()
    else:
        member.is_active = False
        member.save()

    with django_capture_on_commit_callbacks(execute=True):
        outbox, _ = tick(MONDAY_NOON)

    nudge = Nudge.objects.get()
    assert (nudge.status, nudge.suppressed_reason) == (NudgeStatus.SUPPRESSED, reason)
    assert outbox.ids == []


def test_quiet_hours_across_midnight_suppress_a_late_evening_nudge(
    django_capture_on_commit_callbacks,
    member,
) -> None:
    profile = member.profile
    profile.quiet_start, profile.quiet_end = time(22, 0), time(7, 0)
    profile.save()
    fixed(member, "23:30", now=MONDAY_NOON + timedelta(hours=12))

    with django_capture_on_commit_callbacks(execute=True):
        tick(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))

    assert Nudge.objects.get().suppressed_reason == SuppressionReason.QUIET_HOURS


@pytest.mark.parametrize(
    ("kind", "logged", "reason"),
    [
        ("hydration", ("hydration", None, 250, 20), SuppressionReason.RECENT_WATER),
        ("hydration", ("hydration", None, 2000, 120), SuppressionReason.WATER_GOAL_MET),
        ("movement", ("stretch", 5, None, 10), SuppressionReason.RECENT_MOVEMENT),
        ("stretch", ("movement", 3, None, 15), SuppressionReason.RECENT_MOVEMENT),
        ("mindfulness", ("mindfulness", 10, None, 180), SuppressionReason.MINDFULNESS_DONE),
    ],
    ids=["water-30-min", "water-goal", "movement-after-stretch", "stretch-after-walk",
         "mindfulness-done-today"],
)  # fmt: skip
def test_context_decides_what_is_not_needed(
    django_capture_on_commit_callbacks,
    member,
    kind: str,
    logged: tuple,
    reason: str,
) -> None:
    logged_kind, minutes, amount, minutes_ago = logged
    activity_record(
        member=member, kind=logged_kind, minutes=minutes, amount_ml=amount,
        recorded_at=MONDAY_NOON - timedelta(minutes=minutes_ago),
    )  # fmt: skip
    fixed(member, "12:00", kind=kind)

    with django_capture_on_commit_callbacks(execute=True):
        tick(MONDAY_NOON)

    assert Nudge.objects.get().suppressed_reason == reason


def test_water_logged_an_hour_ago_does_not_stop_the_next_glass(
    django_capture_on_commit_callbacks,
    member,
) -> None:
    activity_record(
        member=member, kind="hydration", amount_ml=250, recorded_at=MONDAY_NOON - timedelta(hours=1)
    )
    fixed(member, "12:00", kind="hydration")

    with django_capture_on_commit_callbacks(execute=True):
        tick(MONDAY_NOON)

    assert Nudge.objects.get().status == NudgeStatus.PENDING


def test_firings_within_five_minutes_go_out_as_one_message(
    django_capture_on_commit_callbacks,
    member,
) -> None:
    fixed(member, "12:00", kind="stretch")
    fixed(member, "12:04", kind="hydration")
    later = fixed(member, "12:20", kind="mindfulness")

    with django_capture_on_commit_callbacks(execute=True):
        outbox, _ = tick(MONDAY_NOON)

    assert len(outbox.groups) == 1
    assert len(outbox.groups[0]) == 2
    later.refresh_from_db()
    assert later.next_due_at == MONDAY_NOON + timedelta(minutes=20)  # not pulled in


def test_no_second_message_within_twenty_minutes(
    django_capture_on_commit_callbacks, member
) -> None:
    fixed(member, "12:00", kind="stretch")
    fixed(member, "12:10", kind="hydration")
    with django_capture_on_commit_callbacks(execute=True):
        tick(MONDAY_NOON)

    with django_capture_on_commit_callbacks(execute=True):
        outbox, _ = tick(MONDAY_NOON + timedelta(minutes=10))

    second = Nudge.objects.get(kind="hydration")
    assert second.suppressed_reason == SuppressionReason.TOO_SOON
    assert second.pk not in outbox.ids


def test_the_outbox_sweep_hands_over_a_nudge_whose_publish_was_lost(
    django_capture_on_commit_callbacks,
    member,
) -> None:
    fixed(member, "12:00")
    with django_capture_on_commit_callbacks(execute=False):  # committed, never published
        tick(MONDAY_NOON)
    nudge = Nudge.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        soon, _ = tick(MONDAY_NOON + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        later, report = tick(MONDAY_NOON + timedelta(minutes=3))

    assert soon.ids == []  # handed over a minute ago: give the broker time
    assert later.ids == [nudge.pk]
    assert report.requeued == 1


def test_a_snoozed_nudge_is_handed_over_again_when_its_time_comes(
    django_capture_on_commit_callbacks,
    member,
) -> None:
    schedule = fixed(member, "09:00")
    nudge = Nudge.objects.create(
        member=member, schedule=schedule, kind="stretch", due_at=MONDAY_NOON,
        status=NudgeStatus.SNOOZED, snoozed_until=MONDAY_NOON + timedelta(minutes=10),
        snooze_count=1,
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        early, _ = tick(MONDAY_NOON + timedelta(minutes=9))
    with django_capture_on_commit_callbacks(execute=True):
        due, _ = tick(MONDAY_NOON + timedelta(minutes=10))

    assert nudge.pk not in early.ids
    assert nudge.pk in due.ids


def test_changing_time_zone_re_times_the_next_nudge_at_once(api_as, member) -> None:
    schedule = fixed(member, "12:00")
    before = Schedule.objects.get(pk=schedule.pk).next_due_at

    api_as(member).patch("/api/v1/me/", {"timezone": "Asia/Tokyo"}, format="json")

    after = Schedule.objects.get(pk=schedule.pk).next_due_at
    assert after != before
    assert after.astimezone(ZoneInfo("Asia/Tokyo")).time() == time(12, 0)


def test_a_new_member_starts_with_the_default_schedules() -> None:
    member = make_member()

    kinds = sorted(Schedule.objects.filter(member=member).values_list("kind", flat=True))

    assert kinds == ["hydration", "mindfulness", "movement", "stretch"]
    assert all(Schedule.objects.filter(member=member).values_list("next_due_at", flat=True))


def test_a_late_tick_judges_context_at_sending_time(
    django_capture_on_commit_callbacks, member
) -> None:
    fixed(member, "12:00", kind="hydration")
    # water logged at 12:08, after the due time but before this tick ran at 12:10
    activity_record(
        member=member,
        kind="hydration",
        amount_ml=250,
        recorded_at=MONDAY_NOON + timedelta(minutes=8),
    )

    with django_capture_on_commit_callbacks(execute=True):
        tick(MONDAY_NOON + timedelta(minutes=10))

    assert Nudge.objects.get().suppressed_reason == SuppressionReason.RECENT_WATER


def test_a_tick_costs_the_same_queries_for_one_due_schedule_or_twenty(member) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # one member due at 12:00; twenty more due at 13:00
    fixed(member, "12:00")
    for _ in range(20):
        other = make_member()
        Schedule.objects.filter(member=other).delete()
        fixed(other, "13:00", now=MONDAY_NOON + timedelta(hours=1))

    with CaptureQueriesContext(connection) as one:
        tick(MONDAY_NOON)
    with CaptureQueriesContext(connection) as twenty:
        tick(MONDAY_NOON + timedelta(hours=1))

    assert Nudge.objects.filter(due_at=MONDAY_NOON + timedelta(hours=1)).count() == 20
    assert len(twenty) == len(one)  # no query per schedule or per member
