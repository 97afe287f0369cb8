"""Delivering nudges: claim, send on each channel, record every attempt, decide retries.

Guarantees:
- A nudge is claimed with a conditional update (pending -> sending, with a fresh token),
  so two workers, or a redelivered task, never send it twice once it is `sent`.
- No database transaction is open while a transport talks to the network.
- A channel that already has a `sent` attempt for these nudges is not sent again when a
  transient failure on another channel makes the task retry.
- Transient failures retry with exponential backoff and jitter, at most MAX_TRIES times;
  a permanent failure (5xx SMTP, push 404/410) stops that channel at once.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone

from apps.delivery.content import compose
from apps.delivery.models import DeliveryAttempt
from apps.delivery.transports import TRANSPORTS, SendResult
from apps.reminders.models import Nudge, NudgeStatus

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

MAX_TRIES = 5
# Seconds: 30 s, 60 s, 120 s, 240 s ... capped at 5 minutes (no long ETAs in the broker).
BACKOFF_BASE = 30
BACKOFF_CAP = 300


@dataclass(frozen=True)
class DeliveryOutcome:
    delivered: int = 0
    retry_in: float | None = None  # seconds until the task should run again


def nudges_deliver(*, nudge_ids: list[int], now: datetime | None = None) -> DeliveryOutcome:
    """Send these nudges of one member as one message on each of their channels."""
    now = now or timezone.now()
    token = uuid.uuid4()
    claimed = Nudge.objects.filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now),
        pk__in=nudge_ids,
        status=NudgeStatus.PENDING,
    ).update(
        status=NudgeStatus.SENDING,
        claim_token=token,
        claimed_at=now,
        delivery_tries=F("delivery_tries") + 1,
    )
    if not claimed:
        return DeliveryOutcome()
    nudges = list(
        Nudge.objects.filter(claim_token=token, status=NudgeStatus.SENDING)
        .select_related("member__profile", "schedule")
        .order_by("due_at", "id")
    )
    member = nudges[0].member
    done = _channels_done(nudges)
    results: dict[str, SendResult] = {}
    for channel in channels_for(nudges):
        # Per nudge: a bundle may join a nudge that was sent already with a new one.
        needing = [nudge for nudge in nudges if channel not in done[nudge.pk]]
        if not needing:
            continue
        result = _send_safely(channel, member, compose(needing))
        results[channel] = result
        attempts = [
            DeliveryAttempt(
                nudge=nudge, channel=channel, outcome=result.outcome, error=result.error
            )
            for nudge in needing
        ]
        _recorded(partial(DeliveryAttempt.objects.bulk_create, attempts))
        if result.outcome == "sent":
            for nudge in needing:
                done[nudge.pk].add(channel)
    return _recorded(partial(_settle, nudges, results, done, token=token, now=now))


def nudge_groups_deliver(
    *, groups: list[list[int]], now: datetime | None = None
) -> list[DeliveryOutcome]:
    """Deliver several members' nudges, one group (one member's ids) after the other, with
    the guarantees above for each group; one outcome per group, in order."""
    return [nudges_deliver(nudge_ids=nudge_ids, now=now) for nudge_ids in groups]


def _channels_done(nudges: list[Nudge]) -> dict[int, set[str]]:
    """Per nudge, the channels that already delivered it in this round: since its snooze
    ended (a snoozed nudge is sent again), else ever."""
    done: dict[int, set[str]] = {nudge.pk: set() for nudge in nudges}
    rounds = {nudge.pk: nudge.snoozed_until for nudge in nudges}
    for nudge_id, channel, attempted_at in DeliveryAttempt.objects.filter(
        nudge__in=nudges, outcome=DeliveryAttempt.Outcome.SENT
    ).values_list("nudge_id", "channel", "attempted_at"):
        started = rounds[nudge_id]
        if started is None or attempted_at >= started:
            done[nudge_id].add(channel)
    return done


def _send_safely(channel: str, member: object, message: object) -> SendResult:
    """A transport that raises is a transient failure of that channel, recorded and
    retried, never a nudge stuck half-sent."""
    transport = TRANSPORTS.get(channel)
    if transport is None:
        return SendResult.skipped(f"no transport for channel {channel!r}")
    try:
        return transport.send(member=member, message=message)  # type: ignore[arg-type]
    except Exception as error:  # any bug or library error in one channel
        # The type only: an exception's text may hold an address.
        logger.warning("transport %s raised %s", channel, type(error).__name__)
        return SendResult.failed(f"{type(error).__name__}: {error}")


def channels_for(nudges: list[Nudge]) -> list[str]:
    """The schedule's own channels if it names any, else the member's preferred ones."""
    channels: list[str] = []
    for nudge in nudges:
        chosen = (
            nudge.schedule.channels if nudge.schedule else None
        ) or nudge.member.profile.channels
        channels.extend(channel for channel in chosen if channel not in channels)
    return channels


def _settle(
    nudges: list[Nudge],
    results: dict[str, SendResult],
    done: dict[int, set[str]],
    *,
    token: uuid.UUID,
    now: datetime,
) -> DeliveryOutcome:
    """Finish this claim. Only rows still carrying our claim token are touched: if the
    sweep reclaimed a slow send and another worker holds it now, we leave it alone."""
    reached = [nudge.pk for nudge in nudges if done[nudge.pk]]
    unreached = [nudge.pk for nudge in nudges if not done[nudge.pk]]
    transient = [r for r in results.values() if r.outcome == "failed"]
    tries = max(nudge.delivery_tries for nudge in nudges)
    mine = Nudge.objects.filter(claim_token=token)
    with transaction.atomic():
        if transient and tries < MAX_TRIES:
            delay = _backoff(tries, asked=max((r.retry_after or 0) for r in transient))
            retry = {"status": NudgeStatus.PENDING, "claim_token": None}
            retry["retry_at"] = now + timedelta(seconds=delay)
            mine.filter(pk__in=reached).update(**retry, sent_at=now)
            mine.filter(pk__in=unreached).update(**retry)
            # The broker holds at most a 5-minute countdown; a longer Retry-After is kept
            # in retry_at, which the claim and the outbox sweep honour.
            return DeliveryOutcome(retry_in=min(delay, BACKOFF_CAP))
        mine.filter(pk__in=reached).update(
            status=NudgeStatus.SENT, sent_at=now, retry_at=None, claim_token=None
        )
        mine.filter(pk__in=unreached).update(
            status=NudgeStatus.FAILED, retry_at=None, claim_token=None
        )
    if unreached:
        logger.warning("nudges %s failed on every channel", unreached)
    return DeliveryOutcome(delivered=len(reached))


def _backoff(tries: int, *, asked: float) -> float:
    """Exponential backoff with full jitter, never sooner than the far side asked."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (tries - 1))
    return max(asked, random.uniform(ceiling / 2, ceiling))  # noqa: S311 - not security


# A database that drops out just after a message went out must not make the worker forget
# it: the nudge would stay `sending`, the sweep would reclaim it and send it a second time
# (fault test 3, PostgreSQL unreachable for 30 s). The worker keeps trying to record what
# it sent for this long (seconds), well within the sweep's reclaim wait (5 minutes).
RECORD_PATIENCE = 120


def _recorded(write: Callable[[], _T]) -> _T:
    """`write()` (the rows saying what was just sent), retried while the database is
    unreachable, for at most RECORD_PATIENCE seconds; inside a caller's transaction it is
    not retried (the transaction is lost anyway)."""
    deadline = time.monotonic() + RECORD_PATIENCE
    pause = 0.5
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            logger.warning("database unreachable while recording a delivery; retrying")
            with suppress(DatabaseError):
                connection.close()  # a broken connection is never reused
            time.sleep(pause)
            pause = min(pause * 2, 5)
