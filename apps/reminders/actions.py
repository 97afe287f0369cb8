"""Acting on a nudge: done, snooze, skip. The same service serves the API, the signed
email links and the push notification's buttons."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.reminders.models import Nudge, NudgeKind, NudgeStatus
from apps.tracking.models import ActivityKind
from apps.tracking.services import activity_record

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
    return nudge
