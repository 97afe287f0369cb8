"""Delivering nudges: claim, send on each channel, record every attempt, decide retries.

Guarantees:
- A nudge is claimed with a conditional update (pending -> sending, with a fresh token),
  so two workers, or a redelivered task, never send it twice once it is `sent`.
- No database transaction is open while a transport talks to the network. (On PostgreSQL
  the previous member's write may still be running on the server meanwhile: sent whole, it
  commits without waiting for the worker; see recording.writes_overlapped.)
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from apps.delivery import transports
from apps.delivery.content import Message, compose
from apps.delivery.models import DeliveryAttempt
from apps.delivery.recording import delivery_record, recorded, writes_overlapped
from apps.delivery.transports import TRANSPORTS, SendResult
from apps.reminders.dispatch import RECLAIM_AFTER
from apps.reminders.models import Nudge, NudgeStatus

logger = logging.getLogger(__name__)

# Batching (worker.tasks.deliver_nudge_batch: up to 50 members per Celery message). Measured
# with bench 5 at BENCH_SCALE=0.1 (2,000 members, half email, half push, a prefork worker of
# 2 processes, PostgreSQL and Redis on loopback, the 2-core machine shared and loaded):
#   before, one task per member: 12.8 ms of worker CPU per delivery; per member 6 queries
#   and 2 commits, a new SMTP connection per email, a new HTTP session per push, the VAPID
#   key parsed and a token signed per push; publishing 2,000 tasks took 6.6 s;
#   after: 4.3 ms of worker CPU per delivery (3x less); per batch one claim UPDATE and one
#   SELECT (+ one for the push subscriptions), per member one round trip (delivery_record); one
#   SMTP connection and one keep-alive session per batch; 40 messages to publish, not 2,000.
# The per-member write is kept (not one write per batch, which would save ~1 round trip a
# member) so that a worker killed mid-batch has recorded everything it sent: the sweep then
# re-sends nothing (tests/reliability/test_worker_killed.py).
MAX_TRIES = 5
# Seconds: 30 s, 60 s, 120 s, 240 s ... capped at 5 minutes (no long ETAs in the broker).
BACKOFF_BASE = 30
BACKOFF_CAP = 300


@dataclass(frozen=True)
class DeliveryOutcome:
    delivered: int = 0
    retry_in: float | None = None  # seconds until the task should run again
    released: bool = False  # handed back unsent (the batch ran out of time): enqueue again


def nudges_deliver(*, nudge_ids: list[int], now: datetime | None = None) -> DeliveryOutcome:
    """Send these nudges of one member as one message on each of their channels."""
    return nudge_groups_deliver(groups=[nudge_ids], now=now)[0]


def nudge_groups_deliver(
    *, groups: list[list[int]], now: datetime | None = None
) -> list[DeliveryOutcome]:
    """Deliver several members' nudges (one group of ids per member), one group after the
    other, with the guarantees above for each group; one outcome per group, in order.

    A batch that has run for longer than half the outbox sweep's reclaim wait hands its
    remaining groups back unsent (`released`): the sweep would otherwise take their
    claims while this worker is still coming to them, and both would send.
    """
    now = now or timezone.now()
    outcomes = [DeliveryOutcome() for _ in groups]
    token = uuid.uuid4()
    claimed = Nudge.objects.filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now),
        pk__in=[nudge_id for nudge_ids in groups for nudge_id in nudge_ids],
        status=NudgeStatus.PENDING,
    ).update(
        status=NudgeStatus.SENDING,
        claim_token=token,
        claimed_at=now,
        delivery_tries=F("delivery_tries") + 1,
    )
    if not claimed:
        return outcomes
    nudges = {
        nudge.pk: nudge
        for nudge in Nudge.objects.filter(claim_token=token, status=NudgeStatus.SENDING)
        .select_related("member__profile", "schedule")
        .only(*_CLAIMED_FIELDS)
    }
    done = _channels_done(list(nudges.values()))
    mine = [
        sorted((nudges[i] for i in nudge_ids if i in nudges), key=lambda n: (n.due_at, n.pk))
        for nudge_ids in groups
    ]
    started = time.monotonic()
    budget = _batch_time_budget()
    member_ids = [group[0].member_id for group in mine if group]
    with transports.connections_shared(member_ids=member_ids), writes_overlapped():
        for index, group in enumerate(mine):
            if not group:
                continue
            if index and time.monotonic() - started > budget:
                _release(mine[index:], token=token)
                for later in range(index, len(groups)):
                    outcomes[later] = DeliveryOutcome(released=bool(mine[later]))
                break
            outcomes[index] = _deliver_group(group, done, token=token, now=now)
    return outcomes


# What delivering reads of a claimed nudge, its member, profile and schedule (a field left out
# would cost a query per member when read; tests/delivery/test_batch_delivery.py counts them):
# the 50-row SELECT of a batch 4.1 -> 2.2 ms of CPU against every column of the four tables
# (in-process, best of 7 rounds of 100; medians 4.8 -> 2.6 ms).
_CLAIMED_FIELDS = (
    "kind", "due_at", "snooze_count", "snoozed_until", "delivery_tries",
    "member__email", "member__display_name", "member__profile__channels", "schedule__channels",
)  # fmt: skip


def _deliver_group(
    nudges: list[Nudge], done: dict[int, set[str]], *, token: uuid.UUID, now: datetime
) -> DeliveryOutcome:
    """One member's claimed nudges: each channel sends one message, then the attempts and
    the nudges' state are written before the next member's messages go out."""
    member = nudges[0].member
    results: dict[str, SendResult] = {}
    attempts: list[DeliveryAttempt] = []
    messages: dict[tuple[int, ...], Message] = {}
    for channel in channels_for(nudges):
        # Per nudge: a bundle may join a nudge that was sent already with a new one.
        needing = [nudge for nudge in nudges if channel not in done[nudge.pk]]
        if not needing:
            continue
        key = tuple(nudge.pk for nudge in needing)
        if key not in messages:  # composed once for every channel that sends the same nudges
            messages[key] = compose(needing)
        result = _send_safely(channel, member, messages[key])
        results[channel] = result
        attempts.extend(
            DeliveryAttempt(
                nudge=nudge, channel=channel, outcome=result.outcome, error=result.error
            )
            for nudge in needing
        )
        if result.outcome == "sent":
            for nudge in needing:
                done[nudge.pk].add(channel)
    # A Retry-After counts from the far side's answer, not from the batch's claim: members
    # later in a batch are answered seconds after `now` (fault test 8 saw a retry 2.4 s
    # before a 45 s Retry-After had passed).
    answered_at = max(now, timezone.now())
    # One write for the attempts and the nudges' state (recording.delivery_record), retried
    # while the database is unreachable (recording.recorded).
    return recorded(
        partial(
            _settle, nudges, results, done, token=token, now=now, attempts=attempts,
            answered_at=answered_at,
        )
    )  # fmt: skip


def _release(groups: list[list[Nudge]], *, token: uuid.UUID) -> None:
    """Hand claimed, unsent nudges back as they were (pending, the try not counted)."""
    ids = [nudge.pk for group in groups for nudge in group]
    Nudge.objects.filter(pk__in=ids, claim_token=token, status=NudgeStatus.SENDING).update(
        status=NudgeStatus.PENDING,
        claim_token=None,
        claimed_at=None,
        delivery_tries=F("delivery_tries") - 1,
    )


def _batch_time_budget() -> float:
    """Seconds a batch may run before it hands its remaining groups back: half the wait
    after which the outbox sweep takes back a claim (settings may shorten it in tests)."""
    reclaim_after = getattr(settings, "DISPATCH_RECLAIM_AFTER", RECLAIM_AFTER)
    return reclaim_after.total_seconds() / 2


def _channels_done(nudges: list[Nudge]) -> dict[int, set[str]]:
    """Per nudge, the channels that already delivered it in this round: since its snooze
    ended (a snoozed nudge is sent again), else ever."""
    done: dict[int, set[str]] = {nudge.pk: set() for nudge in nudges}
    # Only a claimant writes attempts, and every claim counts a try: a nudge on its first
    # try has none, and a batch of first tries (the usual case) costs no query here.
    tried_before = [nudge for nudge in nudges if nudge.delivery_tries > 1]
    if not tried_before:
        return done
    rounds = {nudge.pk: nudge.snoozed_until for nudge in nudges}
    for nudge_id, channel, attempted_at in DeliveryAttempt.objects.filter(
        nudge__in=tried_before, outcome=DeliveryAttempt.Outcome.SENT
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
    attempts: list[DeliveryAttempt] | None = None,
    answered_at: datetime | None = None,
) -> DeliveryOutcome:
    """Finish this claim: record the attempts and the nudges' new state. Only rows still
    carrying our claim token are touched: if the sweep reclaimed a slow send and another
    worker holds it now, we leave it alone."""
    reached = [nudge.pk for nudge in nudges if done[nudge.pk]]
    unreached = [nudge.pk for nudge in nudges if not done[nudge.pk]]
    transient = [r for r in results.values() if r.outcome == "failed"]
    tries = max(nudge.delivery_tries for nudge in nudges)
    if transient and tries < MAX_TRIES:
        delay = _backoff(tries, asked=max((r.retry_after or 0) for r in transient))
        retry = {"status": NudgeStatus.PENDING, "claim_token": None}
        retry["retry_at"] = (answered_at or now) + timedelta(seconds=delay)
        delivery_record(
            attempts or [], [(reached, {**retry, "sent_at": now}), (unreached, retry)], token=token
        )
        # The broker holds at most a 5-minute countdown; a longer Retry-After is kept
        # in retry_at, which the claim and the outbox sweep honour.
        return DeliveryOutcome(retry_in=min(delay, BACKOFF_CAP))
    sent = {"status": NudgeStatus.SENT, "sent_at": now, "retry_at": None, "claim_token": None}
    failed = {"status": NudgeStatus.FAILED, "retry_at": None, "claim_token": None}
    delivery_record(attempts or [], [(reached, sent), (unreached, failed)], token=token)
    if unreached:
        logger.warning("nudges %s failed on every channel", unreached)
    return DeliveryOutcome(delivered=len(reached))


def _backoff(tries: int, *, asked: float) -> float:
    """Exponential backoff with full jitter, never sooner than the far side asked."""
    # A setting only so the fault tests (a real worker, a real clock) can shorten it.
    base = getattr(settings, "DELIVERY_BACKOFF_BASE", BACKOFF_BASE)
    ceiling = min(BACKOFF_CAP, base * 2 ** (tries - 1))
    return max(asked, random.uniform(ceiling / 2, ceiling))  # noqa: S311 - not security
