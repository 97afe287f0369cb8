"""A mindfulness session (the web timer or "I did my session") logs one activity and
settles today's open mindfulness nudges, without the extra 10 minutes `nudge_done` logs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.reminders.actions import mindfulness_session_record
from apps.reminders.models import Nudge, NudgeStatus
from apps.tracking.models import Activity
from tests.factories import make_member, make_nudge

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def statuses(*nudges: Nudge) -> list[str]:
    return [Nudge.objects.get(pk=nudge.pk).status for nudge in nudges]


@pytest.mark.parametrize("status", ["pending", "sending", "sent", "snoozed"])
def test_a_session_marks_todays_open_mindfulness_nudge_done(status) -> None:
    member = make_member()
    nudge = make_nudge(member=member, kind="mindfulness", due_at=NOON, status=status)

    activity = mindfulness_session_record(
        member=member, minutes=7, now=NOON + timedelta(minutes=30)
    )

    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.DONE
    assert nudge.acted_at == NOON + timedelta(minutes=30)
    assert (activity.kind, activity.minutes) == ("mindfulness", 7)
    assert activity.recorded_at == NOON + timedelta(minutes=30)


def test_the_session_is_the_only_activity_logged() -> None:
    member = make_member()
    make_nudge(member=member, kind="mindfulness", due_at=NOON, status="sent")
    make_nudge(
        member=member, kind="mindfulness", due_at=NOON + timedelta(hours=3), status="pending"
    )

    mindfulness_session_record(member=member, minutes=10, now=NOON + timedelta(hours=4))

    assert list(Activity.objects.filter(member=member).values_list("kind", "minutes")) == [
        ("mindfulness", 10)
    ]
    assert set(Nudge.objects.filter(member=member).values_list("status", flat=True)) == {"done"}


def test_a_claim_by_a_delivery_worker_is_cleared_so_it_sends_nothing() -> None:
    member = make_member()
    nudge = make_nudge(member=member, kind="mindfulness", due_at=NOON, status="sending")
    Nudge.objects.filter(pk=nudge.pk).update(claim_token=uuid.uuid4(), claimed_at=NOON)

    mindfulness_session_record(member=member, minutes=10, now=NOON + timedelta(minutes=1))

    nudge.refresh_from_db()
    assert (nudge.status, nudge.claim_token) == ("done", None)


def test_other_days_kinds_members_and_settled_nudges_are_left_alone() -> None:
    member = make_member()
    someone_else = make_member()
    yesterday = make_nudge(
        member=member, kind="mindfulness", due_at=NOON - timedelta(days=1), status="sent"
    )
    stretch = make_nudge(member=member, kind="stretch", due_at=NOON, status="sent")
    theirs = make_nudge(member=someone_else, kind="mindfulness", due_at=NOON, status="sent")
    skipped = make_nudge(
        member=member, kind="mindfulness", due_at=NOON - timedelta(hours=2), status="skipped"
    )
    suppressed = make_nudge(
        member=member, kind="mindfulness", due_at=NOON - timedelta(hours=1), status="suppressed"
    )

    mindfulness_session_record(member=member, minutes=10, now=NOON)

    assert statuses(yesterday, stretch, theirs, skipped, suppressed) == [
        "sent",
        "sent",
        "sent",
        "skipped",
        "suppressed",
    ]
    assert not Activity.objects.filter(member=someone_else).exists()


def test_today_is_the_members_local_day_not_utcs() -> None:
    # Auckland is UTC+13 in March: 10:00 UTC on the 10th is 23:00 local on the 10th, and
    # 12:00 UTC on the 10th is already 01:00 on the 11th there.
    member = make_member(timezone="Pacific/Auckland")
    late_on_the_tenth = make_nudge(
        member=member,
        kind="mindfulness",
        due_at=datetime(2026, 3, 10, 10, 0, tzinfo=UTC),
        status="sent",
    )
    early_on_the_eleventh = make_nudge(
        member=member,
        kind="mindfulness",
        due_at=datetime(2026, 3, 10, 11, 30, tzinfo=UTC),
        status="sent",
    )

    mindfulness_session_record(member=member, minutes=10, now=NOON)

    assert statuses(late_on_the_tenth, early_on_the_eleventh) == ["sent", "done"]


def test_with_nothing_open_only_the_activity_is_stored() -> None:
    member = make_member()

    with time_machine.travel(NOON, tick=False):
        activity = mindfulness_session_record(member=member, minutes=5)

    assert activity.recorded_at == NOON
    assert Activity.objects.filter(member=member).count() == 1
    assert not Nudge.objects.filter(member=member, status="done").exists()


def test_a_failure_stores_neither_the_activity_nor_the_done(monkeypatch) -> None:
    member = make_member()
    nudge = make_nudge(member=member, kind="mindfulness", due_at=NOON, status="sent")

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("apps.reminders.actions._settle", broken)
    with pytest.raises(RuntimeError):
        mindfulness_session_record(member=member, minutes=10, now=NOON)

    assert not Activity.objects.filter(member=member).exists()
    assert statuses(nudge) == ["sent"]
