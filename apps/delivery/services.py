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
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.delivery.content import compose
from apps.delivery.models import DeliveryAttempt
from apps.delivery.transports import TRANSPORTS, SendResult
from apps.reminders.models import Nudge, NudgeStatus

logger = logging.getLogger(__name__)

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
    message = compose(nudges)
    done_channels = set(
        DeliveryAttempt.objects.filter(
            nudge__in=nudges, outcome=DeliveryAttempt.Outcome.SENT
        ).values_list("channel", flat=True)
    )
    results: dict[str, SendResult] = {}
    for channel in channels_for(nudges):
        if channel in done_channels:
            continue
        result = _send_safely(channel, member, message)
        results[channel] = result
        DeliveryAttempt.objects.bulk_create(
            [
                DeliveryAttempt(
                    nudge=nudge, channel=channel, outcome=result.outcome, error=result.error
                )
                for nudge in nudges
            ]
        )
    return _settle(nudges, results, done_channels, now=now)


def _send_safely(channel: str, member: object, message: object) -> SendResult:
    """A transport that raises is a transient failure of that channel, recorded and
    retried, never a nudge stuck half-sent."""
    transport = TRANSPORTS.get(channel)
    if transport is None:
        return SendResult.skipped(f"no transport for channel {channel!r}")
    try:
        return transport.send(member=member, message=message)  # type: ignore[arg-type]
    except Exception as error:  # any bug or library error in one channel
        logger.exception("transport %s raised", channel)
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
    done_channels: set[str],
    *,
    now: datetime,
) -> DeliveryOutcome:
    sent_somewhere = bool(done_channels) or any(r.outcome == "sent" for r in results.values())
    transient = [r for r in results.values() if r.outcome == "failed"]
    tries = max(nudge.delivery_tries for nudge in nudges)
    ids = [nudge.pk for nudge in nudges]
    with transaction.atomic():
        if transient and tries < MAX_TRIES:
            delay = _backoff(tries, asked=max((r.retry_after or 0) for r in transient))
            Nudge.objects.filter(pk__in=ids, status=NudgeStatus.SENDING).update(
                status=NudgeStatus.PENDING,
                claim_token=None,
                retry_at=now + timedelta(seconds=delay),
                sent_at=now if sent_somewhere else None,
            )
            return DeliveryOutcome(retry_in=delay)
        Nudge.objects.filter(pk__in=ids, status=NudgeStatus.SENDING).update(
            status=NudgeStatus.SENT if sent_somewhere else NudgeStatus.FAILED,
            sent_at=now if sent_somewhere else None,
            retry_at=None,
        )
    if not sent_somewhere:
        logger.warning("nudges %s failed on every channel", ids)
    return DeliveryOutcome(delivered=len(ids) if sent_somewhere else 0)


def _backoff(tries: int, *, asked: float) -> float:
    """Exponential backoff with full jitter, never sooner than the far side asked."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (tries - 1))
    return max(asked, random.uniform(ceiling / 2, ceiling))  # noqa: S311 - not security
