"""Delivery is published several members per Celery message; a member whose delivery
needs a retry comes back alone, with its backoff, and the rest of the batch is not resent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.accounts.models import User
from apps.reminders.models import Nudge, NudgeStatus
from tests.delivery.smtp_sink import SmtpSink
from tests.factories import make_member, make_pending_nudge
from worker import tasks


def member_emailed_only() -> User:
    member = make_member()
    member.profile.channels = ["email"]
    member.profile.save(update_fields=["channels"])
    return member


class Published:
    """What would have gone to the broker: (task name, args, countdown) per message."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.messages: list[tuple[str, tuple, float | None]] = []
        for task in (tasks.deliver_nudge_batch, tasks.deliver_nudges):
            monkeypatch.setattr(task, "apply_async", self._recorder(task.name))

    def _recorder(self, name: str):
        def apply_async(args=(), kwargs=None, countdown=None, **options):
            self.messages.append((name, tuple(args), countdown))

        return apply_async


def test_groups_are_published_fifty_members_per_message_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given 120 members' groups of nudge ids
    published = Published(monkeypatch)
    groups = [[member, member + 1000] for member in range(120)]

    # when the dispatcher hands them over
    tasks.enqueue_deliveries(groups)

    # then three batch messages carry them, every group once, in order
    assert [name for name, _, _ in published.messages] == ["worker.tasks.deliver_nudge_batch"] * 3
    sizes = [len(args[0]) for _, args, _ in published.messages]
    assert sizes == [tasks.DELIVERY_BATCH_SIZE, tasks.DELIVERY_BATCH_SIZE, 20]
    assert [group for _, args, _ in published.messages for group in args[0]] == groups


def test_a_broker_that_refuses_a_batch_does_not_stop_the_next_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[list[list[int]]] = []

    def flaky_apply_async(args: tuple, **options: object) -> None:
        if not sent:
            sent.append([])
            raise ConnectionError("broker down")
        sent.append(args[0])

    monkeypatch.setattr(tasks.deliver_nudge_batch, "apply_async", flaky_apply_async)

    tasks.enqueue_deliveries([[member] for member in range(60)])

    assert sent[1] == [[member] for member in range(50, 60)]


@pytest.mark.django_db
def test_a_member_whose_email_must_be_retried_is_republished_alone_with_its_backoff(
    mail_to_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given three members in one batch, and an SMTP server that answers the second 451
    published = Published(monkeypatch)
    first, second, third = (make_pending_nudge(member_emailed_only()) for _ in range(3))
    mail_to_sink.answer_next("250 2.0.0 Message accepted")
    mail_to_sink.answer_next("451 4.3.0 Try again later")

    # when a worker runs the batch task
    tasks.deliver_nudge_batch.run([[first.pk], [second.pk], [third.pk]])

    # then the first and third are sent once, and only the second is published again,
    # as a single-member task with a countdown within the backoff bounds
    assert len(mail_to_sink.accepted) == 2
    assert Nudge.objects.get(pk=first.pk).status == NudgeStatus.SENT
    assert Nudge.objects.get(pk=third.pk).status == NudgeStatus.SENT
    retried = Nudge.objects.get(pk=second.pk)
    assert retried.status == NudgeStatus.PENDING
    assert retried.retry_at is not None
    [(name, args, countdown)] = published.messages
    assert (name, args) == ("worker.tasks.deliver_nudges", ([second.pk],))
    assert countdown is not None
    assert 15 <= countdown <= 30


@pytest.mark.django_db
def test_a_message_published_before_batching_is_still_delivered(mail_to_sink: SmtpSink) -> None:
    # given a pending nudge whose task was published under the old, one-member name
    nudge = make_pending_nudge(member_emailed_only())

    # when a worker runs it
    tasks.deliver_nudges.apply(args=([nudge.pk],))

    # then it is delivered as before
    assert Nudge.objects.get(pk=nudge.pk).status == NudgeStatus.SENT
    assert len(mail_to_sink.accepted) == 1


@pytest.mark.django_db
def test_a_batch_out_of_time_publishes_its_unsent_members_again_as_one_batch(
    mail_to_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch, settings
) -> None:
    # given a batch of three members and no time before the sweep would reclaim them
    settings.DISPATCH_RECLAIM_AFTER = timedelta(0)
    published = Published(monkeypatch)
    first, second, third = (make_pending_nudge(member_emailed_only()) for _ in range(3))

    # when a worker runs the batch task
    tasks.deliver_nudge_batch.run([[first.pk], [second.pk], [third.pk]])

    # then the first is sent and the two others go back to the broker together, unsent
    assert len(mail_to_sink.accepted) == 1
    assert published.messages == [
        ("worker.tasks.deliver_nudge_batch", ([[second.pk], [third.pk]],), None)
    ]
