"""The Progress page: the member's own figures over 7, 30 or 90 local days, drawn from the
one selector the API, the therapist's admin and the weekly emails read, with two charts
drawn on the server (inline SVG, no script). Streaks can be hidden from here."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST, require_safe

from apps.profiles.serializers import ProfileSerializer
from apps.profiles.services import profile_update
from apps.progress import charts, figures
from apps.progress.figures import WeekOverWeek
from apps.progress.selectors import NUDGE_KINDS, Progress, progress_for_member
from apps.progress.serializers import PeriodQuerySerializer
from apps.reminders.models import NudgeKind

# Short names for the table: the nudge labels are written as invitations ("Get up and walk").
KIND_NAMES = {
    NudgeKind.MINDFULNESS: "Mindfulness",
    NudgeKind.HYDRATION: "Water",
    NudgeKind.STRETCH: "Stretching",
    NudgeKind.MOVEMENT: "Movement breaks",
    NudgeKind.WARMUP: "Warm-ups",
}
TREND_WORDS = {
    "rising": "higher than the week before",
    "falling": "lower than the week before",
    "steady": "about the same as the week before",
}


def _period(query: Any) -> tuple[int, str]:
    """The `days` asked for, validated like the API's; anything else is the default period
    and a sentence saying so (a page never answers a bad link with an error)."""
    if "days" not in query:
        return figures.DEFAULT_PERIOD, ""
    period = PeriodQuerySerializer(data={"days": query.get("days", "")})
    if period.is_valid():
        return int(period.validated_data["days"]), ""
    return (
        figures.DEFAULT_PERIOD,
        f"We can show 7, 30 or 90 days; here are the last {figures.DEFAULT_PERIOD}.",
    )


def _trend(name: str, change: WeekOverWeek) -> dict[str, Any]:
    if change.trend == "unknown":
        words = (
            f"Not enough check-ins yet to compare your {name} with the week before."
            if change.last_7_days is not None
            else f"No check-ins in the last 7 days, so no {name} figure yet."
        )
    else:
        words = TREND_WORDS[change.trend].capitalize()
        if change.trend != "steady":
            direction = "up" if change.trend == "rising" else "down"
            words += f" ({direction} {abs(change.change or 0.0):.1f} points)"
        words += "."
    return {
        "last": change.last_7_days,
        "previous": change.previous_7_days,
        "trend": change.trend,
        "arrow": figures.TREND_ARROWS[change.trend],
        "words": words,
    }


def _has_data(progress: Progress) -> bool:
    """Anything at all in the period: a nudge, a habit logged or a check-in."""
    habits, symptoms, overall = progress.habits, progress.symptoms, progress.overall
    logged = any(day.number for day in (*habits.mindfulness, *habits.water, *habits.movement))
    checked_in = any(value is not None for _, value in symptoms.stress_daily)
    return bool(overall.tally.sent or overall.tally.missed or logged or checked_in)


# Each chart is drawn twice: wide for a desk, narrow for a phone (CSS shows one), so the
# text inside stays legible; an SVG scales its text with its width.
CHART_WIDTHS = {"wide": 640, "narrow": 400}
CHART_HEIGHT = 220


def _charts(progress: Progress) -> dict[str, Any]:
    bars = [
        charts.Bar(label=date_format(day, "j M"), value=tally.adherence if tally.expected else None)
        for day, tally in progress.overall.daily
    ]
    lines = [
        charts.Series("Stress", [v for _, v in progress.symptoms.stress_daily], "stress"),
        charts.Series("Pain", [v for _, v in progress.symptoms.pain_daily], "pain"),
    ]
    drawn: dict[str, Any] = {"adherence_charts": {}, "symptoms_charts": {}}
    for size, width in CHART_WIDTHS.items():
        drawn["adherence_charts"][size] = charts.bar_chart(
            title=f"Reminders acted on each day, last {progress.days} days",
            bars=bars,
            width=width,
            height=CHART_HEIGHT,
        )
        drawn["symptoms_charts"][size] = charts.line_chart(
            title=f"Daily stress and pain, last {progress.days} days",
            days=progress.period,
            series=lines,
            y_label="0 to 10",
            width=width,
            height=CHART_HEIGHT,
        )
    return drawn


@login_required
@require_safe
def progress_page(request: HttpRequest) -> HttpResponse:
    days, period_notice = _period(request.GET)
    progress = progress_for_member(member=request.user, now=timezone.now(), days=days)
    # The member reads everything of their own: no part of `progress` is None here.
    habits = progress.habits
    context = {
        "progress": progress,
        "days": days,
        "periods": figures.PERIODS,
        "period_notice": period_notice,
        "has_data": _has_data(progress),
        "show_streaks": not progress.streaks_hidden,
        "kind_rows": [
            {"name": KIND_NAMES[kind], "figures": progress.kinds[kind]} for kind in NUDGE_KINDS
        ],
        "water_days": len(habits.water),
        "stress": _trend("stress", progress.symptoms.stress),
        "pain": _trend("pain", progress.symptoms.pain),
        "pain_status": progress.symptoms.pain_status,
        "member_zone": progress.time_zone,
        **_charts(progress),
    }
    return render(request, "web/progress.html", context)


@login_required
@require_POST
def streaks_toggle(request: HttpRequest) -> HttpResponse:
    """Show or hide streaks (`show_streaks`, the same setting as `me/`)."""
    profile = request.user.profile
    incoming = ProfileSerializer(
        instance=profile, data={"show_streaks": request.POST.get("show_streaks", "")}, partial=True
    )
    days, _ = _period(request.POST)
    target = reverse("web:progress") + (f"?days={days}" if "days" in request.POST else "")
    if not incoming.is_valid():
        messages.error(request, "That setting was not understood, so nothing changed.")
        return redirect(target)
    show = incoming.validated_data["show_streaks"]
    profile_update(profile=profile, changes={"show_streaks": show})
    messages.success(
        request,
        "Streaks are shown again."
        if show
        else "Streaks are hidden here, in your weekly email and from your therapist.",
    )
    return redirect(target)


urlpatterns = [
    path("progress/", progress_page, name="progress"),
    path("progress/streaks/", streaks_toggle, name="progress_streaks"),
]
