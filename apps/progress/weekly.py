"""The weekly emails: the therapist digest (clients who need attention) and the member's
own week in numbers (opt-in). Beat runs `weekly_emails_due` every 15 minutes; a worker
runs `weekly_email_send` for each email it enqueued.

Guarantees:
- **When.** An email is due when, in the recipient's profile time zone, it is Monday and
  the wall clock reads 08:00 or later. Beat runs at :00, :15, :30 and :45 UTC and every
  zone's offset is a whole number of quarter hours (Kathmandu +05:45, Lord Howe +10:30 or
  +11:00), so the run that finds it is the one at 08:00 local. A run later that Monday
  (beat was down) still sends it, late; from Tuesday 00:00 local it is stale news: no run
  creates it any more, and one created but not sent by then is `skipped`, never sent.
  08:00 on a Monday exists in every zone the service knows (clock changes happen at night);
  if one ever skipped it, the first run after the gap would be the one.
- **Who.** Digest: an active therapist with `weekly_digest_email` on and at least one
  active client (an unrevoked link from an active member). Progress: an active member with
  `weekly_progress_email` on whose channels still include "email" (unsubscribing from
  reminder emails stops it too). Both are checked again just before sending.
- **Once per person, kind and week.** The row (recipient, kind, week_start) is inserted
  before anything is sent; its unique key makes a second run, or a second beat, insert
  nothing, and only the run whose insert won enqueues it (after commit). A worker claims
  the row with a conditional update (pending -> sending) before it sends, so a duplicated
  or redelivered task sends nothing.
- **Sending.** No transaction is open while the mail server is spoken to. SMTP 4xx and
  connection errors retry with exponential backoff and jitter up to MAX_TRIES, then the row
  is `failed`; a 5xx is `failed` at once. The error kept is the server's reply, never an
  address. Each run also hands over again what was never picked up (a publish lost with
  the broker down, a worker killed mid-send) after SWEEP_AFTER; the Message-ID depends
  only on (kind, recipient, week), so a resend after a crash is the same message.
- **What** (weekly_content.py). The digest is read the way the admin's clients list reads
  (client_overviews): only what each link shares, and it is logged in each client's access
  log once sent. The progress email covers the member's last full local week, Monday to
  Sunday, so a late or retried email says exactly what the 08:00 one would have said.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from apps.accounts.models import THERAPISTS_GROUP, User
from apps.accounts.selectors import user_is_therapist
from apps.careteam.models import CareLink
from apps.careteam.services import access_log_record_list
from apps.delivery import links
from apps.delivery.transports import SendResult, email_send
from apps.profiles.models import Profile
from apps.progress.models import WeeklyEmail
from apps.progress.overview import client_overviews
from apps.progress.weekly_content import digest_email, progress_email

if TYPE_CHECKING:
    from apps.progress.overview import ClientOverview

logger = logging.getLogger(__name__)

Kind = WeeklyEmail.Kind
Status = WeeklyEmail.Status

SEND_WEEKDAY = 0  # Monday, as datetime.weekday() counts
SEND_TIME = time(8, 0)  # local wall clock
# Every zone's offset lies in [-12:00, +14:00]: only between Sunday 18:00 and Tuesday 12:00
# UTC can it be Monday 08:00 or later somewhere, so the other five days read no profiles.
EARLIEST_OFFSET, LATEST_OFFSET = timedelta(hours=-12), timedelta(hours=14)

MAX_TRIES = 5
# Seconds: 60, 120, 240, 480 with jitter; the fifth failure is final (about 15 minutes).
BACKOFF_BASE = 60
BACKOFF_CAP = 900
# A row still pending this long after it was due to run, or sending this long after a
# worker claimed it, was lost (broker down, worker killed): hand it over again.
SWEEP_AFTER = timedelta(minutes=10)
SWEEP_BATCH = 500
INSERT_BATCH = 1000  # rows per INSERT; a Monday morning in a big zone is one or two


# --- Finding who is due ---------------------------------------------------------------------
@dataclass
class WeeklyRun:
    """What one run of `weekly_emails_due` did."""

    created: dict[str, int] = field(default_factory=dict)  # kind -> rows this run inserted
    enqueued: list[int] = field(default_factory=list)  # ids handed to `enqueue`
    requeued: int = 0  # lost rows handed over again


def weekly_emails_due(
    *, enqueue: Callable[[list[int]], None], now: datetime | None = None
) -> WeeklyRun:
    """Create the weekly emails due at `now` and hand their ids to `enqueue` once the rows
    are committed; hand over again the rows that were lost (see the module docstring).

    Safe to run any number of times and from several processes at once: a person gets one
    row per kind and local week, and only the run that inserted a row enqueues it.
    """
    now = now or timezone.now()
    run = WeeklyRun()
    token = uuid.uuid4()
    with transaction.atomic():
        for kind in Kind:
            for week_start, zones in _due_weeks(_zones_of(kind), now=now).items():
                recipients = _recipients(kind, zones=zones, week_start=week_start)
                WeeklyEmail.objects.bulk_create(
                    [
                        WeeklyEmail(
                            recipient_id=recipient_id,
                            kind=kind,
                            week_start=week_start,
                            claim_token=token,
                        )
                        for recipient_id in recipients
                    ],
                    batch_size=INSERT_BATCH,
                    # A concurrent run that inserted the same key first keeps it.
                    ignore_conflicts=True,
                )
        # The rows this run won carry its token (the others kept the winner's).
        won = list(
            WeeklyEmail.objects.filter(claim_token=token, status=Status.PENDING)
            .order_by("id")
            .values_list("id", "kind")
        )
        for _, kind in won:
            run.created[kind] = run.created.get(kind, 0) + 1
        lost = _lost_rows(now=now)
        run.requeued = len(lost)
        run.enqueued = [email_id for email_id, _ in won] + lost
        if run.enqueued:
            ids = list(run.enqueued)
            transaction.on_commit(lambda: enqueue(ids))
    return run


def _zones_of(kind: str) -> list[str]:
    """The distinct time zones of the people this kind may go to (one small query)."""
    profiles = Profile.objects.filter(user__is_active=True)
    if kind == Kind.DIGEST:
        profiles = profiles.filter(weekly_digest_email=True, user__is_staff=True)
    else:
        profiles = profiles.filter(weekly_progress_email=True)
    return list(profiles.order_by().values_list("timezone", flat=True).distinct())


def _due_weeks(zones: Iterable[str], *, now: datetime) -> dict[date, list[str]]:
    """The zones where it is Monday, 08:00 or later, at `now`, by that Monday's date (two
    dates at most: near midnight UTC, Monday in Kiritimati is Sunday in Hawaii)."""
    if not _may_be_due_somewhere(now.astimezone(ZoneInfo("UTC"))):
        return {}
    due: dict[date, list[str]] = defaultdict(list)
    for zone in zones:
        try:
            local = now.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("weekly emails: unknown time zone %r in a profile, skipped", zone)
            continue
        if local.weekday() == SEND_WEEKDAY and local.time() >= SEND_TIME:
            due[local.date()].append(zone)
    return dict(due)


def _may_be_due_somewhere(utc_now: datetime) -> bool:
    """True from Sunday 18:00 to Tuesday 12:00 UTC: when Monday 08:00-24:00 at some offset
    between EARLIEST_OFFSET and LATEST_OFFSET overlaps `utc_now` (week minutes, cyclic)."""
    week = 7 * 24 * 60
    monday = SEND_WEEKDAY * 24 * 60
    opens = (monday + SEND_TIME.hour * 60 + SEND_TIME.minute - _minutes(LATEST_OFFSET)) % week
    closes = (monday + 24 * 60 - _minutes(EARLIEST_OFFSET)) % week
    minute = utc_now.weekday() * 24 * 60 + utc_now.hour * 60 + utc_now.minute
    if opens < closes:
        return opens <= minute < closes
    return minute >= opens or minute < closes


def _minutes(offset: timedelta) -> int:
    return int(offset.total_seconds() // 60)


def _recipients(kind: str, *, zones: list[str], week_start: date) -> list[int]:
    """Ids of the people in `zones` this kind goes to who have no row for that week yet."""
    people = User.objects.filter(is_active=True, profile__timezone__in=zones).filter(
        ~Exists(
            WeeklyEmail.objects.filter(recipient=OuterRef("pk"), kind=kind, week_start=week_start)
        )
    )
    if kind == Kind.DIGEST:
        active_clients = CareLink.objects.filter(
            therapist=OuterRef("pk"), revoked_at__isnull=True, member__is_active=True
        )
        return list(
            people.filter(
                is_staff=True,
                groups__name=THERAPISTS_GROUP,
                profile__weekly_digest_email=True,
            )
            .filter(Exists(active_clients))
            .values_list("pk", flat=True)
        )
    # JSON "contains" differs between SQLite and PostgreSQL: the channels are read here.
    rows = people.filter(profile__weekly_progress_email=True).values_list("pk", "profile__channels")
    return [pk for pk, channels in rows if "email" in (channels or [])]


def _lost_rows(*, now: datetime) -> list[int]:
    """Rows nobody is working on although they should be: pending past their time (the
    publish was lost) or sending for too long (the worker died). Those are set back to
    pending here, so whichever task comes first claims them."""
    cutoff = now - SWEEP_AFTER
    stuck = WeeklyEmail.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff)
    stuck.update(status=Status.PENDING, claim_token=None, retry_at=None)
    waiting = WeeklyEmail.objects.filter(
        Q(retry_at__isnull=True, created_at__lt=cutoff, claimed_at__isnull=True)
        | Q(retry_at__isnull=True, claimed_at__lt=cutoff)
        | Q(retry_at__lt=cutoff),
        status=Status.PENDING,
    )
    return list(waiting.order_by("created_at").values_list("id", flat=True)[:SWEEP_BATCH])


# --- Sending one ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SendOutcome:
    status: str  # the row's status afterwards; "" when this call did not claim it
    retry_in: float | None = None  # seconds until the task should run again


# A task woken a moment before retry_at (clocks of two hosts) still claims its row.
CLAIM_TOLERANCE = timedelta(seconds=5)


def weekly_email_send(*, email_id: int, now: datetime | None = None) -> SendOutcome:
    """Claim the weekly email `email_id`, send it unless it should no longer go, record how
    it went. Does nothing for a row another worker holds, or that is finished, or whose
    retry is not due yet."""
    now = now or timezone.now()
    token = uuid.uuid4()
    claimed = WeeklyEmail.objects.filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now + CLAIM_TOLERANCE),
        pk=email_id,
        status=Status.PENDING,
    ).update(status=Status.SENDING, claim_token=token, claimed_at=now, tries=F("tries") + 1)
    if not claimed:
        return SendOutcome("")
    row = WeeklyEmail.objects.select_related("recipient__profile").get(pk=email_id)
    reason = _reason_not_to_send(row, now=now)
    if reason:
        _finish(token, status=Status.SKIPPED, error=reason)
        return SendOutcome(Status.SKIPPED)
    clients: list[ClientOverview] = []
    try:
        if row.kind == Kind.DIGEST:
            clients = client_overviews(therapist=row.recipient, now=now)
            if not clients:
                _finish(token, status=Status.SKIPPED, error="no active clients any more")
                return SendOutcome(Status.SKIPPED)
            message = digest_email(row, clients)
        else:
            message = progress_email(row)
        result = email_send(message)
    except Exception as error:  # a bug or a library error: retried like a 4xx, then failed
        logger.warning("weekly email %s raised %s", row.pk, type(error).__name__)
        result = SendResult.failed(f"{type(error).__name__}: not sent")
    return _settle(row, result, token=token, now=now, clients=clients)


def _reason_not_to_send(row: WeeklyEmail, *, now: datetime) -> str:
    """Why this email must not go now ("" when it may)."""
    person = row.recipient
    profile = person.profile
    if not person.is_active:
        return "account inactive"
    try:
        local_day = now.astimezone(ZoneInfo(profile.timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return "unknown time zone"
    if local_day != row.week_start:
        return "stale: Monday was over in the recipient's time zone"
    if not getattr(profile, links.WEEKLY_EMAIL_FLAGS[row.kind]):
        return "turned off by the recipient"
    if row.kind == Kind.PROGRESS and "email" not in (profile.channels or []):
        return "email unsubscribed"
    if row.kind == Kind.DIGEST and not user_is_therapist(user=person):
        return "no longer a therapist"
    return ""


def _settle(
    row: WeeklyEmail,
    result: SendResult,
    *,
    token: uuid.UUID,
    now: datetime,
    clients: list[ClientOverview],
) -> SendOutcome:
    if result.outcome == "sent":
        if _finish(token, status=Status.SENT, error="", sent_at=now) and clients:
            # The therapist has now read these clients' figures: each client's log says so.
            access_log_record_list(
                therapist=row.recipient,
                links=[client.link for client in clients],
                what="weekly digest email",
            )
        return SendOutcome(Status.SENT)
    if result.outcome == "failed" and row.tries < MAX_TRIES:
        delay = _backoff(row.tries)
        WeeklyEmail.objects.filter(claim_token=token, status=Status.SENDING).update(
            status=Status.PENDING,
            claim_token=None,
            error=result.error,
            retry_at=now + timedelta(seconds=delay),
        )
        return SendOutcome(Status.PENDING, retry_in=delay)
    logger.warning("weekly email %s failed after %d tries", row.pk, row.tries)
    _finish(token, status=Status.FAILED, error=result.error)
    return SendOutcome(Status.FAILED)


def _finish(token: uuid.UUID, *, status: str, error: str, sent_at: datetime | None = None) -> bool:
    """End the claim `token` holds; False when the sweep gave the row to someone else."""
    fields: dict[str, Any] = {"status": status, "error": error[:1000], "retry_at": None}
    if sent_at is not None:
        fields["sent_at"] = sent_at
    return bool(
        WeeklyEmail.objects.filter(claim_token=token, status=Status.SENDING).update(**fields)
    )


def _backoff(tries: int) -> float:
    """Exponential backoff with full jitter: 30-60 s after the first try, then doubling."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (tries - 1))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - not security
