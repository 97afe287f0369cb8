"""Celery tasks: thin. Each calls one service and decides about retries."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from apps.delivery.links import used_action_links_prune
from apps.delivery.services import nudge_groups_deliver, nudges_deliver
from apps.operations.services import heartbeat_record
from apps.progress.weekly import weekly_email_send, weekly_emails_due
from apps.reminders.dispatch import dispatch_tick

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="worker.tasks.heartbeat", ignore_result=True)
def heartbeat(self: Task) -> None:
    """Beat sends this every minute; the worker that runs it records that it is alive."""
    heartbeat_record(worker_name=self.request.hostname or "unknown")


@shared_task(name="worker.tasks.dispatch_nudges", ignore_result=True)
def dispatch_nudges() -> None:
    """One dispatcher tick (beat, every minute)."""
    report = dispatch_tick(enqueue=enqueue_deliveries)
    logger.info(
        "dispatch: %d schedules, %d nudges, %d enqueued, %d requeued, %d missed, %d suppressed",
        report.schedules, report.created, report.enqueued, report.requeued, report.missed,
        report.suppressed,
    )  # fmt: skip


# Members per delivery message. One task per member cost the dispatcher one publish (a
# Redis round trip and a JSON body) per member, and the worker one task overhead per member;
# a batch shares the claim, the SMTP connection and the HTTP session across its members.
# 50 keeps a batch short (a few seconds at worst) so a worker killed mid-batch redelivers
# little, and spreads a burst over both worker processes.
DELIVERY_BATCH_SIZE = 50


@shared_task(name="worker.tasks.deliver_nudge_batch", ignore_result=True)
def deliver_nudge_batch(groups: list[list[int]]) -> None:
    """Deliver several members' nudges (one list of ids per member), each in turn. A member
    whose delivery needs a retry is published again on its own, with its backoff, so the
    rest of the batch is not sent twice or held back."""
    outcomes = nudge_groups_deliver(groups=groups)
    released = []
    for nudge_ids, outcome in zip(groups, outcomes, strict=True):
        if outcome.retry_in is not None:
            _publish_group(nudge_ids, countdown=outcome.retry_in)
        elif outcome.released:
            released.append(nudge_ids)
    if released:  # the batch ran out of time: the rest goes back to the queue, unsent
        enqueue_deliveries(released)


@shared_task(bind=True, name="worker.tasks.deliver_nudges", ignore_result=True, max_retries=None)
def deliver_nudges(self: Task, nudge_ids: list[int]) -> None:
    """Deliver one member's nudges; a transient failure comes back after a backoff. Also
    the name of the messages published before batching: a broker still holding them during
    an upgrade gets them delivered the same way."""
    outcome = nudges_deliver(nudge_ids=nudge_ids)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task(name="worker.tasks.prune_used_action_links", ignore_result=True)
def prune_used_action_links() -> None:
    """Forget used one-click links once they would be refused as expired anyway."""
    used_action_links_prune()


def enqueue_deliveries(groups: list[list[int]]) -> None:
    """Publish the members' groups of nudge ids, DELIVERY_BATCH_SIZE members per task. A
    publish that fails (broker down) is only logged: the nudges stay pending and the next
    tick's outbox sweep hands them over."""
    for start in range(0, len(groups), DELIVERY_BATCH_SIZE):
        batch = groups[start : start + DELIVERY_BATCH_SIZE]
        try:
            # argsrepr: what monitoring (Flower, logs) shows of the arguments. Celery would
            # otherwise write a saferepr of the 50 groups of ids for every message, 8 % of
            # the dispatcher's CPU in a burst (issue 7, benchmark 1: 0.16 of 2.35 s for
            # 10,000 nudges, cProfile).
            deliver_nudge_batch.apply_async((batch,), argsrepr=f"({len(batch)} members)")
        except Exception:  # kombu raises transport-specific errors
            logger.warning(
                "could not enqueue delivery of %d members' nudges; the sweep will retry",
                len(batch),
            )


def _publish_group(nudge_ids: list[int], *, countdown: float) -> None:
    """One member's retry, as its own single-group task (which keeps retrying itself)."""
    try:
        deliver_nudges.apply_async((nudge_ids,), countdown=countdown)
    except Exception:  # the nudges keep their retry_at; the outbox sweep hands them over
        logger.warning("could not enqueue the retry of nudges %s; the sweep will", nudge_ids)


@shared_task(name="worker.tasks.weekly_emails", ignore_result=True)
def weekly_emails() -> None:
    """Beat, every 15 minutes: create the weekly emails due now (Monday 08:00 local) and
    enqueue one send task each; hand over again those that were lost."""
    run = weekly_emails_due(enqueue=enqueue_weekly_emails)
    if run.enqueued:
        logger.info(
            "weekly emails: %s created, %d enqueued, %d requeued",
            run.created, len(run.enqueued), run.requeued,
        )  # fmt: skip


@shared_task(bind=True, name="worker.tasks.send_weekly_email", ignore_result=True, max_retries=None)
def send_weekly_email(self: Task, email_id: int) -> None:
    """Send one weekly email; a transient failure comes back after a backoff (the service
    counts the tries and gives up by itself)."""
    outcome = weekly_email_send(email_id=email_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


def enqueue_weekly_emails(email_ids: list[int]) -> None:
    """Publish one send task per weekly email. A publish that fails is only logged: the
    row stays pending and a later run of `weekly_emails` hands it over again."""
    for email_id in email_ids:
        try:
            send_weekly_email.delay(email_id)
        except Exception:  # kombu raises transport-specific errors
            logger.warning("could not enqueue weekly email %s; a later run will retry", email_id)
