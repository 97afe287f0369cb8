"""Delivery claims a nudge once: redelivered tasks and racing workers never send twice."""

from __future__ import annotations

import threading
import uuid
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


@pytest.mark.django_db
def test_a_snoozed_nudge_is_sent_again_as_a_new_email_when_its_snooze_ends(
    django_capture_on_commit_callbacks,
) -> None:
    from apps.reminders.actions import nudge_snooze

    member = make_member()
    nudge = pending_nudge(member)
    nudges_deliver(nudge_ids=[nudge.pk], now=NOON)
    nudge_snooze(nudge=nudge, minutes=10, now=NOON + timedelta(minutes=1))
    handed_over: list[list[int]] = []

    with django_capture_on_commit_callbacks(execute=True):
        dispatch_tick(enqueue=handed_over.extend, now=NOON + timedelta(minutes=11))
    second = nudges_deliver(nudge_ids=[nudge.pk], now=NOON + timedelta(minutes=11))

    nudge.refresh_from_db()
    assert [nudge.pk] in handed_over
    assert second.delivered == 1
    assert nudge.status == NudgeStatus.SENT
    assert len(mail.outbox) == 2
    assert mail.outbox[0].extra_headers["Message-ID"] != mail.outbox[1].extra_headers["Message-ID"]


@pytest.mark.django_db
def test_a_bundle_sends_email_for_the_new_nudge_even_if_the_other_was_emailed_before() -> None:
    member = make_member()
    old, new = pending_nudge(member), pending_nudge(member)
    nudges_deliver(nudge_ids=[old.pk], now=NOON)
    Nudge.objects.filter(pk=old.pk).update(status=NudgeStatus.PENDING)  # e.g. a retry round

    nudges_deliver(nudge_ids=[old.pk, new.pk], now=NOON + timedelta(minutes=1))

    assert DeliveryAttempt.objects.filter(nudge=new, channel="email", outcome="sent").exists()
    assert DeliveryAttempt.objects.filter(nudge=old, channel="email").count() == 1


@pytest.mark.django_db
def test_a_late_worker_cannot_undo_another_workers_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.delivery import services

    member = make_member()
    nudge = pending_nudge(member)
    original = services._send_safely

    def slow_then_reclaimed(channel: str, member: object, message: object) -> object:
        # while this worker is sending, the sweep reclaims it and another worker claims it
        Nudge.objects.filter(pk=nudge.pk).update(claim_token=uuid.uuid4())
        return services.SendResult.failed("451 try later")

    monkeypatch.setattr(services, "_send_safely", slow_then_reclaimed)
    nudges_deliver(nudge_ids=[nudge.pk], now=NOON)
    monkeypatch.setattr(services, "_send_safely", original)

    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.SENDING  # untouched: it belongs to the other worker


@pytest.mark.django_db
def test_a_long_retry_after_is_kept_in_the_database_not_the_broker() -> None:
    from apps.delivery import services

    member = make_member()
    nudge = pending_nudge(member)
    result = services.SendResult.failed("429", retry_after=86_400)
    nudge_claimed = Nudge.objects.filter(pk=nudge.pk)
    token = uuid.uuid4()
    nudge_claimed.update(status=NudgeStatus.SENDING, claim_token=token, delivery_tries=1)
    claimed = list(nudge_claimed)

    outcome = services._settle(claimed, {"push": result}, {nudge.pk: set()}, token=token, now=NOON)

    assert outcome.retry_in == services.BACKOFF_CAP
    assert Nudge.objects.get(pk=nudge.pk).retry_at == NOON + timedelta(seconds=86_400)


@pytest.mark.django_db
def test_a_released_snooze_too_late_to_send_is_missed(django_capture_on_commit_callbacks) -> None:
    member = make_member()
    nudge = pending_nudge(member)
    Nudge.objects.filter(pk=nudge.pk).update(snoozed_until=NOON + timedelta(minutes=10))

    with django_capture_on_commit_callbacks(execute=True):
        dispatch_tick(enqueue=lambda groups: None, now=NOON + timedelta(days=3))

    assert Nudge.objects.get(pk=nudge.pk).status == NudgeStatus.MISSED


@pytest.mark.django_db
def test_after_a_long_outage_the_current_firing_is_still_sent(
    django_capture_on_commit_callbacks,
) -> None:
    member = make_member()
    Schedule.objects.filter(member=member).delete()
    profile = member.profile
    profile.quiet_start = profile.quiet_end = None
    profile.save()
    schedule = schedule_save(
        member=member,
        changes={"kind": "movement", "every_minutes": 5, "window_start": time(0, 0),
                 "window_end": time(23, 55)},
    )  # fmt: skip
    Schedule.objects.filter(pk=schedule.pk).update(next_due_at=NOON - timedelta(hours=9))

    with django_capture_on_commit_callbacks(execute=True):
        dispatch_tick(enqueue=lambda groups: None, now=NOON + timedelta(seconds=30))

    # 03:00 .. 11:45 are more than 15 minutes late; 11:50, 11:55 and 12:00 are not
    assert Nudge.objects.get(due_at=NOON).status == NudgeStatus.PENDING
    assert Nudge.objects.filter(status=NudgeStatus.MISSED).count() == 106
    assert Nudge.objects.filter(status=NudgeStatus.PENDING).count() == 3
