"""Delivery claims a nudge once: redelivered tasks and racing workers never send twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.db import connections

from apps.delivery.models import DeliveryAttempt
from apps.delivery.services import nudges_deliver
from apps.reminders.dispatch import dispatch_tick
from apps.reminders.models import Nudge, NudgeStatus, Schedule
from apps.reminders.services import schedule_save
from tests.factories import make_member

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def pending_nudge(member) -> Nudge:
    return Nudge.objects.create(member=member, kind="stretch", due_at=NOON)


@pytest.mark.django_db
def test_a_nudge_is_sent_once_on_each_channel_even_if_its_task_runs_twice() -> None:
    member = make_member()
    nudge = pending_nudge(member)

    first = nudges_deliver(nudge_ids=[nudge.pk], now=NOON)
    second = nudges_deliver(nudge_ids=[nudge.pk], now=NOON)  # a redelivered task

    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.SENT
    assert (first.delivered, second.delivered) == (1, 0)
    assert len(mail.outbox) == 1
    assert sorted(DeliveryAttempt.objects.values_list("channel", "outcome")) == [
        ("email", "sent"),
        ("in_app", "sent"),
    ]


@pytest.mark.django_db
def test_an_acted_on_nudge_is_not_sent() -> None:
    member = make_member()
    nudge = pending_nudge(member)
    Nudge.objects.filter(pk=nudge.pk).update(status=NudgeStatus.DONE)

    assert nudges_deliver(nudge_ids=[nudge.pk], now=NOON).delivered == 0
    assert mail.outbox == []


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_create_each_nudge_once() -> None:
    # given 40 members with a schedule due now
    schedules = []
    for _ in range(40):
        member = make_member()
        Schedule.objects.filter(member=member).delete()
        schedule = schedule_save(member=member, changes={"kind": "stretch", "times": ["12:00"]})
        schedules.append(schedule.pk)
    Schedule.objects.filter(pk__in=schedules).update(next_due_at=NOON)
    handed_over: list[int] = []
    lock = threading.Lock()

    def collect(groups: list[list[int]]) -> None:
        with lock:
            handed_over.extend(nudge_id for group in groups for nudge_id in group)

    def run_dispatcher() -> None:
        try:
            barrier.wait()
            dispatch_tick(enqueue=collect, now=NOON + timedelta(seconds=5), batch_size=7)
        finally:
            connections.close_all()

    # when two dispatchers tick at the same moment, each in its own connection
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=run_dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then every firing became exactly one nudge, handed over exactly once
    assert Nudge.objects.count() == 40
    assert sorted(handed_over) == sorted(Nudge.objects.values_list("pk", flat=True))
    assert Schedule.objects.filter(pk__in=schedules, next_due_at=NOON).count() == 0
    assert all(
        next_due.astimezone(UTC).time() == time(12, 0)
        for next_due in Schedule.objects.filter(pk__in=schedules).values_list(
            "next_due_at", flat=True
        )
    )


@pytest.mark.django_db
def test_a_transport_that_raises_is_a_recorded_transient_failure_not_a_stuck_nudge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from apps.delivery import transports

    class Broken:
        channel = "email"

        def send(self, **kwargs: object) -> object:
            raise RuntimeError("template missing")

    monkeypatch.setitem(transports.TRANSPORTS, "email", Broken())
    nudge = pending_nudge(make_member())

    outcome = nudges_deliver(nudge_ids=[nudge.pk], now=NOON)

    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.PENDING
    assert nudge.retry_at is not None
    assert outcome.retry_in is not None
    assert DeliveryAttempt.objects.get(channel="email").error.startswith("RuntimeError")


@pytest.mark.django_db
def test_a_nudge_left_sending_by_a_dead_worker_is_handed_over_again(
    django_capture_on_commit_callbacks,
) -> None:
    member = make_member()
    nudge = pending_nudge(member)
    Nudge.objects.filter(pk=nudge.pk).update(
        status=NudgeStatus.SENDING, claimed_at=NOON - timedelta(minutes=6), due_at=NOON
    )
    handed_over: list[list[int]] = []

    with django_capture_on_commit_callbacks(execute=True):
        dispatch_tick(enqueue=handed_over.extend, now=NOON + timedelta(seconds=30))

    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.PENDING
    assert [nudge.pk] in handed_over
