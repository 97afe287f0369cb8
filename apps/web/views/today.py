"""Today: the nudges due on the member's local today with Done / Snooze / Skip, quick logs
(a glass of water, a stretch, a movement break, a warm-up), a short check-in, the
persistent-pain notice when it applies, a summary of the day and the prescribed stretches.

Routes (all need a login; the three actions POST, then redirect back with a message):
- GET  /today/                                   web:today
- POST /today/nudges/<id>/<done|snooze|skip>/    web:nudge_act
- POST /today/log/                               web:quick_log
- POST /today/checkin/                           web:checkin

Input is validated with the API's own serializers, so the page refuses what the API
refuses with the same words. Invalid input re-renders the page (400) with the message next
to its field; a nudge that refuses the action (skipped already, snoozed three times)
re-renders it with the reason (409). Nothing is stored in either case. Another member's
nudge is a 404, as in the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe
from rest_framework import serializers

from apps.careteam.selectors import stretches_for_member
from apps.reminders.actions import (
    DEFAULT_SNOOZE_MINUTES,
    FINAL,
    MAX_SNOOZES,
    SNOOZABLE,
    nudge_done,
    nudge_skip,
    nudge_snooze,
)
from apps.reminders.models import Nudge, NudgeKind, NudgeStatus, SuppressionReason
from apps.reminders.serializers import SnoozeSerializer
from apps.tracking.models import (
    BODY_AREAS,
    NOTE_MAX_LENGTH,
    SYMPTOMS,
    Activity,
    ActivityKind,
    CheckIn,
)
from apps.tracking.pain import pain_status_for_member
from apps.tracking.serializers import ActivitySerializer, CheckInSerializer
from apps.tracking.services import activity_record, checkin_record

if TYPE_CHECKING:
    from apps.accounts.models import User

# What the page offers for a snooze: 5 minutes to 2 hours (the API allows 1 to 240; a
# page choice outside this range is a hand-made request and is refused by the field).
SNOOZE_MINUTES_MIN = 5
SNOOZE_MINUTES_MAX = 120
SNOOZE_CHOICES = [(5, "5 minutes"), (10, "10 minutes"), (15, "15 minutes"),
                  (30, "30 minutes"), (60, "1 hour"), (120, "2 hours")]  # fmt: skip

# The quick logs and what each records. A stretch, a movement break or a warm-up is logged
# without minutes, exactly as "Done" on its nudge logs it (apps/reminders/actions.py):
# the habit happened; how long it took is not asked for in one tap.
QUICK_LOGS = {
    ActivityKind.HYDRATION: "A glass of water",
    ActivityKind.STRETCH: "A stretch",
    ActivityKind.MOVEMENT: "A movement break",
    ActivityKind.WARMUP: "A warm-up",
}
QUICK_LOG_REFUSAL = "Choose water, a stretch, a movement break or a warm-up."

ACTIONS = ("done", "snooze", "skip")
DONE_MESSAGES = {
    NudgeKind.MINDFULNESS: "Done: 10 minutes of mindfulness logged. Well done.",
    NudgeKind.STRETCH: "Done: a stretch logged. Your muscles thank you.",
    NudgeKind.MOVEMENT: "Done: a movement break logged. Nice one.",
    NudgeKind.WARMUP: "Done: a warm-up logged. Good start.",
}


class PageSnoozeSerializer(SnoozeSerializer):
    """The API's snooze input, held to the choices the page offers."""

    minutes = serializers.IntegerField(
        min_value=SNOOZE_MINUTES_MIN,
        max_value=SNOOZE_MINUTES_MAX,
        required=False,
        default=DEFAULT_SNOOZE_MINUTES,
    )


@dataclass
class NudgeRow:
    """One of today's nudges as the page shows it."""

    id: int
    kind: str
    label: str
    time: str
    state: str  # in words
    status: str  # the stored status, for styling
    can_done: bool
    can_skip: bool
    can_snooze: bool
    errors: list[str] = field(default_factory=list)
    minutes_error: bool = False  # the error is about the snooze length


@dataclass
class CheckInInput:
    """The check-in form's values (the member's own on a refused post) and its errors."""

    stress: int = 0
    pain: int = 0
    symptoms: list[str] = field(default_factory=list)
    body_areas: list[str] = field(default_factory=list)
    note: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def other_errors(self) -> list[str]:
        """Errors about no field of the form (a hand-made `recorded_at`, non_field_errors)."""
        shown = {"stress", "pain", "symptoms", "body_areas", "note"}
        return [text for name, texts in self.errors.items() if name not in shown for text in texts]


@dataclass(frozen=True)
class LocalDay:
    zone: ZoneInfo
    today: date
    start: datetime  # local midnight, aware
    end: datetime  # the next local midnight


# --- pages ------------------------------------------------------------------------------
@login_required
@require_safe
def today_page(request: HttpRequest) -> HttpResponse:
    return _render_today(request)


@login_required
@require_POST
def nudge_act(request: HttpRequest, nudge_id: int, action: str) -> HttpResponse:
    """Done, snooze (optional `minutes`, 5-120, default 10) or skip one of the member's
    nudges, through the same service as the API and the email links."""
    if action not in ACTIONS:
        raise Http404("No such action.")
    nudge = get_object_or_404(Nudge, pk=nudge_id, member=request.user)
    label = NudgeKind(nudge.kind).label
    before = nudge.status
    try:
        if action == "done":
            nudge = nudge_done(nudge=nudge)
            if before == NudgeStatus.DONE:  # a second tab or a double tap: logged once
                text = f"{label} was done already."
            elif nudge.kind == NudgeKind.HYDRATION:
                glass = nudge.member.profile.glass_ml
                text = f"Done: a glass of water ({glass} ml) logged. Cheers."
            else:
                text = DONE_MESSAGES[nudge.kind]
        elif action == "skip":
            nudge = nudge_skip(nudge=nudge)
            text = f"Skipped: {label.lower()}. That's fine, there will be another one."
        else:
            incoming = PageSnoozeSerializer(data=request.POST)
            if not incoming.is_valid():
                return _render_today(
                    request, nudge_errors={nudge.pk: _messages(incoming.errors)}, status=400
                )
            nudge = nudge_snooze(nudge=nudge, minutes=incoming.validated_data["minutes"])
            day = _local_day(request.user, timezone.now())
            text = f"Snoozed: {label.lower()} comes back at {_clock(nudge.snoozed_until, day)}."
    except ValidationError as refusal:
        # The service names the field ({"status": [...]}); a bare message is about the state.
        if hasattr(refusal, "error_dict"):
            reasons = refusal.message_dict
        else:
            reasons = {"status": refusal.messages}
        return _render_today(request, nudge_errors={nudge.pk: _messages(reasons)}, status=409)
    messages.success(request, text)
    return redirect("web:today")


@login_required
@require_POST
def quick_log(request: HttpRequest) -> HttpResponse:
    """One tap logs a habit: water logs the member's glass (profile.glass_ml); a stretch,
    a movement break or a warm-up logs the activity without minutes."""
    kind = request.POST.get("kind", "")
    if kind not in QUICK_LOGS:
        return _render_today(request, quick_log_errors=[QUICK_LOG_REFUSAL], status=400)
    data: dict[str, Any] = {"kind": kind}
    if kind == ActivityKind.HYDRATION:
        data["amount_ml"] = request.user.profile.glass_ml
    incoming = ActivitySerializer(data=data)
    if not incoming.is_valid():
        errors = _messages(incoming.errors)
        return _render_today(
            request, quick_log_errors=[text for texts in errors.values() for text in texts],
            status=400,
        )  # fmt: skip
    activity = activity_record(member=request.user, **incoming.validated_data)
    if kind == ActivityKind.HYDRATION:
        text = f"Logged a glass of water ({activity.amount_ml} ml)."
    else:
        text = f"Logged: {QUICK_LOGS[kind].lower()}. Nice one."
    messages.success(request, text)
    return redirect("web:today")


@login_required
@require_POST
def checkin(request: HttpRequest) -> HttpResponse:
    """Stress and pain (0-10), symptoms, body areas and a note, validated as the API's
    `checkins/` validates them."""
    incoming = CheckInSerializer(data=request.POST)
    if not incoming.is_valid():
        entered = _checkin_as_entered(request)
        entered.errors = _messages(incoming.errors)
        return _render_today(request, checkin_input=entered, status=400)
    recorded = checkin_record(member=request.user, **incoming.validated_data)
    messages.success(
        request,
        f"Check-in saved: stress {recorded.stress}, pain {recorded.pain}. Thank you.",
    )
    return redirect("web:today")


# --- the page's contents ------------------------------------------------------------------
def _render_today(
    request: HttpRequest,
    *,
    checkin_input: CheckInInput | None = None,
    nudge_errors: dict[int, dict[str, list[str]]] | None = None,
    quick_log_errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    member = request.user
    profile = member.profile
    now = timezone.now()
    day = _local_day(member, now)
    nudge_errors = nudge_errors or {}

    rows = [_nudge_row(nudge, day) for nudge in _nudges_due(member, day)]
    shown = {row.id: row for row in rows}
    # A refused action on a nudge of another day (an old link, a second tab) is said at
    # the top of the list instead of beside a card that is not there.
    other_day_errors: list[str] = []
    for nudge_id, errors in nudge_errors.items():
        texts = [text for texts in errors.values() for text in texts]
        if nudge_id in shown:
            shown[nudge_id].errors = texts
            shown[nudge_id].minutes_error = "minutes" in errors
        else:
            other_day_errors += texts

    totals = Activity.objects.filter(
        member=member, recorded_at__gte=day.start, recorded_at__lt=day.end
    ).aggregate(
        mindfulness=Sum("minutes", filter=Q(kind=ActivityKind.MINDFULNESS)),
        water=Sum("amount_ml", filter=Q(kind=ActivityKind.HYDRATION)),
    )
    checkins_today = list(
        CheckIn.objects.filter(
            member=member, recorded_at__gte=day.start, recorded_at__lt=day.end
        ).order_by("recorded_at", "id")
    )
    paused = profile.is_paused(now=now)
    context = {
        "today": day.today,
        "time_zone": profile.timezone,
        "paused_until": _clock(profile.paused_until, day) if paused else "",
        "pain_status": pain_status_for_member(member=member, now=now),
        "nudges": rows,
        "nudge_problems": other_day_errors,
        "snooze_choices": SNOOZE_CHOICES,
        "default_snooze": DEFAULT_SNOOZE_MINUTES,
        "quick_logs": list(QUICK_LOGS.items()),
        "quick_log_errors": quick_log_errors or [],
        "glass_ml": profile.glass_ml,
        "mindfulness_minutes": totals["mindfulness"] or 0,
        "water_ml": totals["water"] or 0,
        "water_ml_text": f"{totals['water'] or 0:,}",
        "water_goal_ml": profile.water_goal_ml,
        "water_goal_text": f"{profile.water_goal_ml:,}",
        "checkins_today": [_checkin_row(row, day) for row in checkins_today],
        "checkin": checkin_input or CheckInInput(),
        "symptom_choices": list(SYMPTOMS.items()),
        "body_area_choices": list(BODY_AREAS.items()),
        "note_max_length": NOTE_MAX_LENGTH,
        "stretches": list(stretches_for_member(member=member)),
    }
    return render(request, "web/today.html", context, status=status)


def _local_day(member: User, now: datetime) -> LocalDay:
    """The member's local calendar day around `now`, with its bounds in aware datetimes
    (the same local-midnight rule as apps/progress/selectors.py)."""
    zone = ZoneInfo(member.profile.timezone)
    today = now.astimezone(zone).date()
    return LocalDay(
        zone=zone,
        today=today,
        start=datetime.combine(today, time.min, tzinfo=zone),
        end=datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone),
    )


def _nudges_due(member: User, day: LocalDay) -> list[Nudge]:
    return list(
        Nudge.objects.filter(member=member, due_at__gte=day.start, due_at__lt=day.end).order_by(
            "due_at", "id"
        )
    )


def _nudge_row(nudge: Nudge, day: LocalDay) -> NudgeRow:
    return NudgeRow(
        id=nudge.pk,
        kind=nudge.kind,
        label=NudgeKind(nudge.kind).label,
        time=_clock(nudge.due_at, day),
        state=_state_in_words(nudge, day),
        status=nudge.status,
        can_done=nudge.status not in FINAL,
        can_skip=nudge.status not in FINAL,
        can_snooze=nudge.status in SNOOZABLE and nudge.snooze_count < MAX_SNOOZES,
    )


def _state_in_words(nudge: Nudge, day: LocalDay) -> str:
    status = nudge.status
    if status in (NudgeStatus.PENDING, NudgeStatus.SENDING):
        return "on its way"
    if status == NudgeStatus.SNOOZED:
        return f"snoozed until {_clock(nudge.snoozed_until, day)}"
    if status == NudgeStatus.SUPPRESSED:
        if not nudge.suppressed_reason:
            return "not sent"
        reason = SuppressionReason(nudge.suppressed_reason).label
        return f"not sent: {reason[0].lower()}{reason[1:]}"
    if status == NudgeStatus.MISSED:
        return "missed: it was too late to send"
    if status == NudgeStatus.FAILED:
        return "could not be delivered"
    return NudgeStatus(status).label.lower()  # sent, done, skipped


def _clock(moment: datetime | None, day: LocalDay) -> str:
    """HH:MM on the member's clock; a moment on another local day says which."""
    if moment is None:
        return ""
    local = moment.astimezone(day.zone)
    text = local.strftime("%H:%M")
    if local.date() == day.today + timedelta(days=1):
        return f"{text} tomorrow"
    if local.date() != day.today:
        return f"{text} on {local.strftime('%d %B')}"
    return text


def _checkin_row(row: CheckIn, day: LocalDay) -> dict[str, Any]:
    return {
        "time": _clock(row.recorded_at, day),
        "stress": row.stress,
        "pain": row.pain,
        "symptoms": [SYMPTOMS.get(value, value) for value in row.symptoms],
        "body_areas": [BODY_AREAS.get(value, value) for value in row.body_areas],
    }


def _checkin_as_entered(request: HttpRequest) -> CheckInInput:
    """What the member sent, to show again beside the errors; a slider value that is not
    a number from 0 to 10 goes back to 0."""

    def slider(name: str) -> int:
        value = request.POST.get(name, "")
        # isdecimal, not isdigit: int() refuses some digits ("²"); two places at most.
        return int(value) if value.isdecimal() and len(value) <= 2 and int(value) <= 10 else 0

    return CheckInInput(
        stress=slider("stress"),
        pain=slider("pain"),
        symptoms=[value for value in request.POST.getlist("symptoms") if value in SYMPTOMS],
        body_areas=[value for value in request.POST.getlist("body_areas") if value in BODY_AREAS],
        note=request.POST.get("note", "")[:NOTE_MAX_LENGTH],
    )


def _messages(errors: Any) -> dict[str, list[str]]:
    """`{field: [messages]}` from a serializer's or a service's errors; a list field's
    per-item errors (`{0: [...]}`) are flattened into the field's own list."""

    def flat(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [text for item in value.values() for text in flat(item)]
        if isinstance(value, (list, tuple)):
            return [text for item in value for text in flat(item)]
        return [str(value)]

    return {str(name): flat(value) for name, value in dict(errors).items()}


urlpatterns = [
    path("today/", today_page, name="today"),
    path("today/nudges/<id:nudge_id>/<str:action>/", nudge_act, name="nudge_act"),
    path("today/log/", quick_log, name="quick_log"),
    path("today/checkin/", checkin, name="checkin"),
]
