"""Acting on a nudge: done, snooze, skip. The same service serves the API, the signed
email links and the push notification's buttons."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.progress.cache import progress_cache_expire
from apps.reminders.models import Nudge, NudgeKind, NudgeStatus
from apps.tracking.models import Activity, ActivityKind
from apps.tracking.services import activity_record

if TYPE_CHECKING:
    from apps.accounts.models import User

MAX_SNOOZES = 3
DEFAULT_SNOOZE_MINUTES = 10
MINDFULNESS_MINUTES = 10
FINAL = {NudgeStatus.DONE, NudgeStatus.SKIPPED}
# Only a nudge on its way or delivered can come back later; a suppressed or missed one
# must not be resurrected past quiet hours or a pause.
SNOOZABLE = {NudgeStatus.PENDING, NudgeStatus.SENDING, NudgeStatus.SENT, NudgeStatus.SNOOZED}


@transaction.atomic
def nudge_done(*, nudge: Nudge, now: datetime | None = None) -> Nudge:
    """Mark done and log what it stood for: a 10-minute mindfulness session, a glass of
    water (the member's own glass size), a stretch, a movement break, a warm-up. Done
    twice changes nothing."""
    nudge = _locked(nudge)
    if nudge.status == NudgeStatus.DONE:
        return nudge
    _refuse_if_final(nudge, "done")
    now = now or timezone.now()
    if nudge.kind == NudgeKind.HYDRATION:
        activity_record(
            member=nudge.member,
            kind=ActivityKind.HYDRATION,
            amount_ml=nudge.member.profile.glass_ml,
            recorded_at=now,
        )
    else:
        minutes = MINDFULNESS_MINUTES if nudge.kind == NudgeKind.MINDFULNESS else None
        activity_record(member=nudge.member, kind=nudge.kind, minutes=minutes, recorded_at=now)
    return _settle(nudge, NudgeStatus.DONE, now)


@transaction.atomic
def nudge_snooze(
    *, nudge: Nudge, minutes: int = DEFAULT_SNOOZE_MINUTES, now: datetime | None = None
) -> Nudge:
    """Send it again in `minutes` (at most 3 snoozes a nudge)."""
    nudge = _locked(nudge)
    _refuse_if_final(nudge, "snoozed")
    if nudge.status not in SNOOZABLE:
        raise ValidationError(
            {"status": [f"This nudge was {nudge.status}, not sent: there is nothing to snooze."]}
        )
    if nudge.snooze_count >= MAX_SNOOZES:
        raise ValidationError({"minutes": [f"A nudge can be snoozed {MAX_SNOOZES} times at most."]})
    now = now or timezone.now()
    nudge.snooze_count += 1
    nudge.snoozed_until = now + timedelta(minutes=minutes)
    return _settle(nudge, NudgeStatus.SNOOZED, now)


@transaction.atomic
def nudge_skip(*, nudge: Nudge, now: datetime | None = None) -> Nudge:
    nudge = _locked(nudge)
    if nudge.status == NudgeStatus.SKIPPED:
        return nudge
    _refuse_if_final(nudge, "skipped")
    return _settle(nudge, NudgeStatus.SKIPPED, now or timezone.now())


def _locked(nudge: Nudge) -> Nudge:
    return (
        Nudge.objects.select_for_update(of=("self",))
        .select_related("member__profile")
        .get(pk=nudge.pk)
    )


def _refuse_if_final(nudge: Nudge, wanted: str) -> None:
    if nudge.status in FINAL:
        raise ValidationError(
            {"status": [f"This nudge is {nudge.status} already; it cannot be {wanted}."]}
        )


def _settle(nudge: Nudge, status: str, now: datetime) -> Nudge:
    nudge.status = status
    nudge.acted_at = now
    nudge.claim_token = None
    nudge.save(update_fields=["status", "acted_at", "snooze_count", "snoozed_until", "claim_token"])
    progress_cache_expire(member_id=nudge.member_id)
    return nudge


# A local calendar day lies within 26 hours of any moment in it (UTC-12 .. UTC+14).
_LOCAL_DAY_REACH = timedelta(hours=26)
# Not acted on yet: on its way, delivered, or snoozed to come back.
_OPEN = SNOOZABLE


@transaction.atomic
def mindfulness_session_record(
    *, member: User, minutes: int, now: datetime | None = None
) -> Activity:
    """Log a mindfulness session the member did (the web timer, or "I did my session")
    and settle today's mindfulness nudges with it.

    Guarantees, all in one transaction (both happen or neither does):
    - exactly one Activity of kind mindfulness, `minutes` long, recorded at `now`;
    - every mindfulness nudge of `member` due on the member's local today (their
      profile's time zone) that is still open (pending, sending, sent or snoozed) becomes
      done, acted at `now`, with its delivery claim cleared, so a worker that claimed it
      sends nothing and a snoozed one does not come back;
    - no further activity: unlike `nudge_done`, which logs 10 minutes of its own, the
      session is the one record of what was done;
    - other members' nudges, other kinds, other days, and nudges already done, skipped,
      suppressed, missed or failed are left as they were. With nothing open, only the
      activity is stored.

    `minutes` is validated at the edge (the page and the API's serializer)."""
    now = now or timezone.now()
    activity = activity_record(
        member=member, kind=ActivityKind.MINDFULNESS, minutes=minutes, recorded_at=now
    )
    zone = ZoneInfo(member.profile.timezone)
    today = now.astimezone(zone).date()
    candidates = Nudge.objects.filter(
        member=member,
        kind=NudgeKind.MINDFULNESS,
        status__in=_OPEN,
        due_at__gt=now - _LOCAL_DAY_REACH,
        due_at__lt=now + _LOCAL_DAY_REACH,
    ).order_by("pk")  # one lock order, so two sessions at once cannot deadlock
    for candidate in candidates:
        if candidate.due_at.astimezone(zone).date() != today:
            continue
        # Re-read under the lock: a worker or a tap on Done may have moved it since.
        nudge = _locked(candidate)
        if nudge.status in _OPEN:
            _settle(nudge, NudgeStatus.DONE, now)
    return activity
