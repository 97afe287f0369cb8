"""kill -9 a Celery worker in the middle of a batch: every nudge still ends `sent`, and
the SMTP server holds each message exactly once (counted by Message-ID)."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import User
from apps.delivery.content import compose
from apps.delivery.transports import message_id
from apps.reminders.dispatch import dispatch_tick
from apps.reminders.models import Nudge, NudgeStatus, Schedule
from apps.reminders.services import schedule_save
from tests.conftest import start_worker_process, wait_until
from tests.delivery.smtp_sink import running_smtp_sink
from tests.factories import make_member
from worker.tasks import enqueue_deliveries

pytestmark = pytest.mark.slow

MEMBERS = 30
SENT_BEFORE_THE_KILL = 10


def members_emailed_only(count: int) -> list[User]:
    members = []
    for _ in range(count):
        member = make_member()
        Schedule.objects.filter(member=member).delete()
        profile = member.profile
        profile.channels = ["email"]  # one channel: the SMTP server sees every delivery
        profile.quiet_start = profile.quiet_end = None
        profile.save()
        members.append(member)
    return members


def test_a_worker_killed_mid_batch_leaves_every_nudge_sent_exactly_once(
    transactional_db: None, broker_redis_url: str
) -> None:
    with running_smtp_sink() as sink:
        # given 30 members with a nudge due now, dispatched to the broker
        now = timezone.now()
        this_minute = now.replace(second=0, microsecond=0)  # members are on UTC
        for member in members_emailed_only(MEMBERS):
            schedule = schedule_save(
                member=member,
                changes={"kind": "stretch", "times": [this_minute.strftime("%H:%M")]},
            )
            Schedule.objects.filter(pk=schedule.pk).update(next_due_at=this_minute)
        dispatch_tick(enqueue=enqueue_deliveries, now=now)
        assert Nudge.objects.filter(status=NudgeStatus.PENDING).count() == MEMBERS

        # and a worker that gets 10 emails through, then stalls on the 11th
        sink.hold_after(SENT_BEFORE_THE_KILL)
        first = start_worker_process(broker_redis_url, EMAIL_URL=sink.url)
        try:
            assert sink.holding.wait(60), first.output

            # when the worker is killed with SIGKILL in the middle of the batch
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait(timeout=10)
        finally:
            first.stop()
        sink.release()
        # the ten sent are recorded as sent; the one cut off and the rest of its batch are
        # still claimed by the dead worker (a batch claims all its members at once)
        assert Nudge.objects.filter(status=NudgeStatus.SENT).count() == SENT_BEFORE_THE_KILL
        assert Nudge.objects.filter(status=NudgeStatus.SENDING).count() == (
            MEMBERS - SENT_BEFORE_THE_KILL
        )

        # and a new worker starts, and the dispatcher's sweep runs after its grace period
        second = start_worker_process(broker_redis_url, EMAIL_URL=sink.url)
        try:
            dispatch_tick(enqueue=enqueue_deliveries, now=timezone.now() + timedelta(minutes=6))
            all_sent = wait_until(
                lambda: Nudge.objects.filter(status=NudgeStatus.SENT).count() == MEMBERS,
                timeout=90,
            )
            assert all_sent, second.output
        finally:
            second.stop()

        # then the mailbox holds each nudge's message exactly once
        expected = {message_id(compose([nudge])) for nudge in Nudge.objects.all()}
        accepted = [mail.message_id for mail in sink.accepted]
        assert len(accepted) == MEMBERS
        assert set(accepted) == expected
        assert any(not mail.accepted for mail in sink.received)  # the one cut off
