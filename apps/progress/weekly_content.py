"""What the weekly emails say (weekly.py decides when they go and records how it went).

Both are HTML + plain text from templates/progress/, carry a Message-ID that depends only
on (kind, recipient, week) and RFC 8058 one-click unsubscribe headers that turn off that
weekly email alone. The digest shows only what each client's link shares (the attention
reasons of client_overviews already do); the progress email covers the member's last full
local week, Monday to Sunday, in warm, plain words: no guilt, and no ice (DOMAIN.md).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from apps.delivery import links
from apps.delivery.transports import message_id_domain
from apps.progress.selectors import NUDGE_KINDS, progress_for_member

if TYPE_CHECKING:
    from apps.progress.figures import WeekOverWeek
    from apps.progress.models import WeeklyEmail
    from apps.progress.overview import ClientOverview
    from apps.progress.selectors import Progress

# How the emails name each nudge kind.
KIND_NAMES = {
    "mindfulness": "Mindfulness",
    "hydration": "Water",
    "stretch": "Stretches",
    "movement": "Movement breaks",
    "warmup": "Warm-ups",
}
# A streak shorter than this is not worth a line.
STREAK_WORTH_MENTIONING = 2


def weekly_message_id(row: WeeklyEmail) -> str:
    """`<weekly-<kind>-<YYYYMMDD>-<recipient id>@<SITE_URL host>>`: one per person, kind
    and week, so every try of one weekly email carries the same Message-ID."""
    return f"<weekly-{row.kind}-{row.week_start:%Y%m%d}-{row.recipient_id}@{message_id_domain()}>"


def _email(
    row: WeeklyEmail, *, subject: str, template: str, context: dict
) -> EmailMultiAlternatives:
    unsubscribe = links.weekly_unsubscribe_url(member_id=row.recipient_id, kind=row.kind)
    context = {
        **context,
        "person": row.recipient,
        "site_url": settings.SITE_URL.rstrip("/"),
        "unsubscribe_url": unsubscribe,
    }
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"progress/{template}.txt", context),
        to=[row.recipient.email],
        headers={
            "Message-ID": weekly_message_id(row),
            # RFC 8058: one https URI, and the POST body a provider sends to it.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    email.attach_alternative(render_to_string(f"progress/{template}.html", context), "text/html")
    return email


def digest_email(row: WeeklyEmail, clients: list[ClientOverview]) -> EmailMultiAlternatives:
    """The therapist's digest: who needs attention and why, and how many are doing fine."""
    needing = [client for client in clients if client.needs_attention]
    fine = len(clients) - len(needing)
    if needing:
        subject = (
            "Your clients this week: 1 needs attention"
            if len(needing) == 1
            else f"Your clients this week: {len(needing)} need attention"
        )
    elif len(clients) == 1:
        subject = "Your client this week: doing fine"
    else:
        subject = f"Your clients this week: all {len(clients)} are doing fine"
    context = {
        "total": len(clients),
        "fine": fine,
        "clients": [
            {
                "name": client.member.display_name or client.member.email,
                "reasons": [reason.words for reason in client.reasons],
                "adherence": _adherence_words(client),
            }
            for client in needing
        ],
        "clients_url": links.absolute_url(reverse("admin:progress_client_changelist"))
        + "?attention=any",
    }
    return _email(row, subject=subject, template="weekly_digest", context=context)


def _adherence_words(client: ClientOverview) -> str:
    """The client's 7-day adherence in words; "" when the link does not share it."""
    if not client.shares_adherence:
        return ""
    if not client.expected_7d:
        return "No reminders expected in the last 7 days"
    return (
        f"7-day adherence {client.adherence_7d:.0%} "
        f"({client.done_7d} of {client.expected_7d} reminders acted on)"
    )


def progress_email(row: WeeklyEmail) -> EmailMultiAlternatives:
    """The member's last full local week in numbers."""
    member = row.recipient
    zone = ZoneInfo(member.profile.timezone)
    # The week that ended at the local midnight starting this Monday: Monday to Sunday.
    end_of_week = datetime.combine(row.week_start, time.min, tzinfo=zone)
    progress = progress_for_member(
        member=member, now=end_of_week - timedelta(microseconds=1), days=7
    )
    context = _progress_context(progress)
    first, last = progress.period[0], progress.period[-1]
    subject = f"Your week, {first.day} {first:%B} to {last.day} {last:%B}"
    return _email(row, subject=subject, template="weekly_progress", context=context)


def _progress_context(progress: Progress) -> dict[str, Any]:
    overall = kinds = habits = None
    if progress.overall is not None:
        tally = progress.overall.tally
        overall = {
            "done": tally.done,
            "expected": tally.expected,
            "percent": f"{tally.adherence:.0%}",
        }
    if progress.kinds is not None:
        kinds = [
            {
                "name": KIND_NAMES[kind],
                "done": figures.tally.done,
                "expected": figures.tally.expected,
            }
            for kind in NUDGE_KINDS
            if (figures := progress.kinds[kind]).tally.expected or figures.tally.done
        ]
    if progress.habits is not None:
        habits = {
            "mindfulness_minutes": progress.habits.mindfulness_minutes,
            "water_days": progress.habits.water_days_goal_met,
            "days": progress.days,
        }
    streaks = []
    if not progress.streaks_hidden and progress.kinds is not None:
        streaks = [
            {"name": KIND_NAMES[kind], "days": run.current}
            for kind in NUDGE_KINDS
            if (run := progress.kinds[kind].streaks) is not None
            and run.current >= STREAK_WORTH_MENTIONING
        ]
    symptoms = progress.symptoms
    trends, pain_message, pain_this_week = [], "", False
    if symptoms is not None:
        trends = [_trend_words("Stress", symptoms.stress), _trend_words("Pain", symptoms.pain)]
        pain_message = symptoms.pain_status.message
        pain_this_week = bool(symptoms.pain.last_7_days)
    return {
        "first_day": progress.period[0],
        "last_day": progress.period[-1],
        "overall": overall,
        "kinds": kinds,
        "habits": habits,
        "streaks": streaks,
        "trends": [line for line in trends if line],
        "pain_message": pain_message,
        "warmth_tip": pain_this_week,
    }


def _trend_words(name: str, week: WeekOverWeek) -> str:
    """E.g. "Stress: 4.2 this week, 5.6 the week before (falling)"; "" without check-ins."""
    this, before = week.last_7_days, week.previous_7_days
    if this is None and before is None:
        return ""
    if this is None:
        return f"{name}: no check-ins this week ({before:.1f} the week before)"
    if before is None:
        return f"{name}: {this:.1f} this week (no check-ins the week before)"
    return f"{name}: {this:.1f} this week, {before:.1f} the week before ({week.trend})"
