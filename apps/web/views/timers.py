"""The mindfulness timer and the heat therapy timer.

Each page is a plain form that logs what the member did; timer.js adds the timer on top
and, when a session ends, submits that same form with the minutes it measured, so the
server has one path whether JavaScript runs or not."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from apps.reminders.actions import MINDFULNESS_MINUTES, mindfulness_session_record
from apps.tracking.models import HEAT_MAX_MINUTES, ActivityKind
from apps.tracking.serializers import ActivitySerializer
from apps.tracking.services import activity_record
from apps.web.forms import serializer_errors_to_form

# A session shorter than this is not logged: the habit is about 10 minutes a day, and
# ending after five still counts as having taken the pause.
MINDFULNESS_MIN_LOGGED_MINUTES = 5
HEAT_WARNING_MINUTES = 15
# Real seconds per timer minute; tests shrink it so a 10-minute session runs in seconds.
DEFAULT_SECONDS_PER_MINUTE = 60


class MindfulnessSessionForm(forms.Form):
    minutes = forms.IntegerField(
        label="Minutes",
        initial=MINDFULNESS_MINUTES,
        min_value=MINDFULNESS_MIN_LOGGED_MINUTES,
        max_value=MINDFULNESS_MINUTES,
        help_text="From 5 to 10 minutes.",
        error_messages={
            "required": "How many minutes? From 5 to 10.",
            "invalid": "Minutes are a whole number, from 5 to 10.",
            "min_value": (
                "Sessions of 5 minutes or more are logged. A shorter pause still helps, "
                "even if it is not logged."
            ),
            "max_value": "The session is 10 minutes: log at most 10 here.",
        },
        widget=forms.NumberInput(
            attrs={"min": MINDFULNESS_MIN_LOGGED_MINUTES, "max": MINDFULNESS_MINUTES}
        ),
    )


class HeatSessionForm(forms.Form):
    # The upper limit is the API's own (ActivitySerializer), so the page refuses 21 minutes
    # with the same words as the API.
    minutes = forms.IntegerField(
        label="Minutes of heat",
        min_value=1,
        help_text=f"From 1 to {HEAT_MAX_MINUTES} minutes.",
        error_messages={
            "required": f"How many minutes? From 1 to {HEAT_MAX_MINUTES}.",
            "invalid": f"Minutes are a whole number, from 1 to {HEAT_MAX_MINUTES}.",
            "min_value": f"Log at least 1 minute, at most {HEAT_MAX_MINUTES}.",
        },
        widget=forms.NumberInput(attrs={"min": 1, "max": HEAT_MAX_MINUTES}),
    )


def _seconds_per_minute() -> str:
    value = getattr(settings, "WEB_TIMER_SECONDS_PER_MINUTE", DEFAULT_SECONDS_PER_MINUTE)
    return format(float(value), "g")  # "60", "0.5": never a locale's decimal comma


def _minutes_checked_by_the_api(form: forms.Form, kind: str) -> int | None:
    """The form's minutes, also passed through the API's serializer, so the page refuses
    what the API refuses with the same message; None (errors on the form) when refused."""
    if not form.is_valid():
        return None
    serializer = ActivitySerializer(data={"kind": kind, "minutes": form.cleaned_data["minutes"]})
    if not serializer.is_valid():
        serializer_errors_to_form(form, serializer.errors)
        return None
    return serializer.validated_data["minutes"]


def _mindfulness_page(
    request: HttpRequest, form: MindfulnessSessionForm, *, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "total_minutes": MINDFULNESS_MINUTES,
        "minimum_minutes": MINDFULNESS_MIN_LOGGED_MINUTES,
        "seconds_per_minute": _seconds_per_minute(),
    }
    return render(request, "web/mindfulness.html", context, status=status)


def _heat_page(request: HttpRequest, form: HeatSessionForm, *, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "warning_minutes": HEAT_WARNING_MINUTES,
        "maximum_minutes": HEAT_MAX_MINUTES,
        "seconds_per_minute": _seconds_per_minute(),
    }
    return render(request, "web/heat.html", context, status=status)


@login_required
@require_GET
def mindfulness(request: HttpRequest) -> HttpResponse:
    return _mindfulness_page(request, MindfulnessSessionForm())


@login_required
@require_POST
def mindfulness_done(request: HttpRequest) -> HttpResponse:
    form = MindfulnessSessionForm(request.POST)
    minutes = _minutes_checked_by_the_api(form, ActivityKind.MINDFULNESS)
    if minutes is None:  # refused: 400, as every page answers invalid input
        return _mindfulness_page(request, form, status=400)
    mindfulness_session_record(member=request.user, minutes=minutes)
    messages.success(
        request,
        f"{minutes} minutes of mindfulness logged; today's mindfulness reminder counts as "
        "done. Well done for taking the time.",
    )
    return redirect("web:mindfulness")


@login_required
@require_GET
def heat(request: HttpRequest) -> HttpResponse:
    return _heat_page(request, HeatSessionForm())


@login_required
@require_POST
def heat_done(request: HttpRequest) -> HttpResponse:
    form = HeatSessionForm(request.POST)
    minutes = _minutes_checked_by_the_api(form, ActivityKind.HEAT)
    if minutes is None:
        return _heat_page(request, form, status=400)
    activity_record(member=request.user, kind=ActivityKind.HEAT, minutes=minutes)
    messages.success(
        request,
        f"{minutes} minutes of heat logged. Let your skin cool before you use heat again.",
    )
    return redirect("web:heat")


urlpatterns = [
    path("mindfulness/", mindfulness, name="mindfulness"),
    path("mindfulness/done/", mindfulness_done, name="mindfulness_done"),
    path("heat/", heat, name="heat"),
    path("heat/done/", heat_done, name="heat_done"),
]
