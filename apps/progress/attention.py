"""Who needs attention: the alert rules of clinician dashboards, at fixed thresholds.

Each rule reads only a category the client shares (adherence: nudges and habit logs;
check-ins: stress and pain); "no activity" counts only the shared kinds of activity.
A reason is shown to the therapist in words, with the figure that tripped it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils.formats import date_format

if TYPE_CHECKING:
    from apps.progress.overview import ClientOverview

NO_ACTIVITY = timedelta(hours=49)  # two days and a margin for a late evening log
STALLED = timedelta(days=14)
PAIN_HIGH = 7  # the worst pain at a check-in of the last 7 local days, 0-10
PAIN_RISE = 2.0  # points, week over week
LOW_ADHERENCE = 0.5  # over the last 7 days


@dataclass(frozen=True)
class Reason:
    code: str
    words: str


REASON_CODES = {
    "stalled": "No activity for 14 days or more",
    "no_activity": "No activity for 49 hours",
    "pain_high": "Pain 7 or more",
    "pain_rising": "Pain up 2 or more on the week before",
    "persistent_pain": "Persistent pain (14 days or more)",
    "low_adherence": "Adherence under 50 % over 7 days",
}


def attention_reasons(client: ClientOverview, *, now: datetime) -> list[Reason]:
    """Every rule `client` trips, most urgent first; empty when all is well."""
    reasons: list[Reason] = []
    since = client.last_activity_at or client.member_since
    quiet_for = now - since
    shares_activity = client.shares_adherence or client.shares_checkins
    if not shares_activity:
        pass  # nothing shared to judge activity by: no claim either way
    elif quiet_for >= STALLED:
        reasons.append(Reason("stalled", f"Stalled: no activity for {quiet_for.days} days"))
    elif quiet_for >= NO_ACTIVITY:
        hours = int(quiet_for.total_seconds() // 3600)
        reasons.append(Reason("no_activity", f"No activity for {hours} hours"))
    if client.shares_checkins:
        if client.persistent_pain:
            start = client.pain_episode_start
            since_words = f" since {date_format(start, 'j M')}" if start else ""
            reasons.append(
                Reason(
                    "persistent_pain",
                    f"Pain reported for 14 days or more{since_words}: suggest an assessment",
                )
            )
        worst = client.worst_pain_7d
        if worst is not None and worst >= PAIN_HIGH:
            reasons.append(Reason("pain_high", f"Pain {worst}/10 at a check-in this week"))
        change = client.pain.change if client.pain else None
        if change is not None and change >= PAIN_RISE:
            reasons.append(Reason("pain_rising", f"Pain up {change:.1f} points on the week before"))
    low = client.expected_7d > 0 and client.adherence_7d < LOW_ADHERENCE
    if client.shares_adherence and low:
        reasons.append(
            Reason(
                "low_adherence",
                f"Acted on {client.done_7d} of {client.expected_7d} nudges in 7 days "
                f"({client.adherence_7d:.0%})",
            )
        )
    return reasons
