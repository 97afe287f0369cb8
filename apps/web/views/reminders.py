"""The Reminders page: the member's schedules (add, edit, delete), the settings the nudges
follow (time zone, work hours, quiet hours, water, channels) and pausing every nudge.

Every form is validated by the API's own serializer (ScheduleSerializer,
ProfileSerializer, PauseSerializer) and saved by the same service the API calls, so the
page refuses exactly what `schedules/`, `me/` and `me/pause/` refuse, with the same
message next to the field it names. The Django forms here only render fields and carry
those errors: they validate nothing themselves.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST, require_safe

from apps.careteam.permissions import own_records
from apps.profiles.models import Profile
from apps.profiles.serializers import PauseSerializer, ProfileSerializer
from apps.profiles.services import (
    MAX_PAUSE,
    pause_end,
    pause_end_tomorrow_morning,
    profile_pause,
    profile_resume,
    profile_update,
)
from apps.reminders.models import NudgeKind, Schedule
from apps.reminders.rules import local_to_utc
from apps.reminders.serializers import ScheduleSerializer
from apps.reminders.services import schedule_delete, schedule_save
from apps.web.forms import serializer_errors_to_form

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY_CHOICES = [(str(number), name) for number, name in enumerate(WEEKDAYS)]
CHANNEL_NAMES = {"email": "email", "push": "push notification", "in_app": "in the app"}
CHANNEL_CHOICES = [
    ("email", "Email"),
    ("push", "Push notifications"),
    ("in_app", "In the app"),
]
# Times typed as "10:30, 15:00" or "10:30 15:00" (or one per line).
TIME_SEPARATORS = re.compile(r"[\s,;]+")
# A new reminder starts on, every day, by the member's own channels (the API's defaults).
NEW_SCHEDULE = {"enabled": True, "weekdays": [value for value, _ in WEEKDAY_CHOICES]}
SANE_DATES = (date(2000, 1, 1), date(2100, 1, 1))
LOCAL_MOMENT = "D j M, H:i"  # "Tue 24 Nov, 10:30", always in the member's own zone


# --- Forms: rendering and errors only -----------------------------------------------------
def _time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def _number_input(low: int, high: int, step: int = 1) -> forms.NumberInput:
    return forms.NumberInput(attrs={"min": low, "max": high, "step": step, "inputmode": "numeric"})


class DisplayForm(forms.Form):
    """Renders its fields and shows the errors a serializer found; never validates."""

    def full_clean(self) -> None:
        # The serializer is the one judge; this form must not add a second opinion.
        self._errors = ErrorDict()
        self.cleaned_data = {}


class ScheduleForm(DisplayForm):
    kind = forms.ChoiceField(label="Reminder", choices=NudgeKind.choices, required=False)
    times = forms.CharField(
        label="At these times",
        required=False,
        max_length=200,
        help_text="Your local time, HH:MM, separated by commas: 10:30, 15:00.",
    )
    every_minutes = forms.CharField(
        label="Every so many minutes",
        required=False,
        widget=_number_input(5, 720),
        help_text="5 to 720.",
    )
    window_start = forms.CharField(label="From", required=False, widget=_time_input())
    window_end = forms.CharField(label="Until", required=False, widget=_time_input())
    weekdays = forms.MultipleChoiceField(
        label="On these days",
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    channels = forms.MultipleChoiceField(
        label="How it reaches you",
        choices=CHANNEL_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: the ways chosen in your settings below.",
    )
    enabled = forms.BooleanField(label="This reminder is on", required=False, initial=True)


class SettingsForm(DisplayForm):
    timezone = forms.CharField(
        label="Time zone",
        required=False,
        max_length=64,
        help_text="Every reminder follows this clock, for example Europe/Paris.",
    )
    work_start = forms.CharField(label="Work starts", required=False, widget=_time_input())
    work_end = forms.CharField(label="Work ends", required=False, widget=_time_input())
    workdays = forms.MultipleChoiceField(
        label="Workdays",
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Movement breaks follow your work hours on these days.",
    )
    quiet_start = forms.CharField(label="Quiet from", required=False, widget=_time_input())
    quiet_end = forms.CharField(
        label="Quiet until",
        required=False,
        widget=_time_input(),
        help_text="Nothing is sent in between; it may cross midnight. Both empty: no quiet hours.",
    )
    hot_environment = forms.BooleanField(
        label="I work or live in the heat (water reminders come more often)", required=False
    )
    water_goal_ml = forms.CharField(
        label="Daily water goal (ml)",
        required=False,
        widget=_number_input(250, 10000, 50),
        help_text="250 to 10,000 ml. Water reminders stop for the day once you reach it.",
    )
    glass_ml = forms.CharField(
        label="Your usual glass or bottle (ml)",
        required=False,
        widget=_number_input(50, 1500, 10),
        help_text="What “Done” on a water reminder logs. 50 to 1,500 ml.",
    )
    channels = forms.MultipleChoiceField(
        label="How reminders reach you",
        choices=CHANNEL_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, stored_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if stored_zone == "UTC":
            # Still the sign-up default: let the browser offer its own zone (app.js).
            self.fields["timezone"].widget.attrs.update(
                {"data-browser-timezone": "", "data-default": "UTC"}
            )
            self.fields["timezone"].help_text += " Filled in from your browser: check it."


class PauseUntilForm(DisplayForm):
    until = forms.DateField(
        label="Pause until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Reminders come back at the start of that day (00:00, your time).",
    )


# --- Reading the posted forms into the API's shapes ---------------------------------------
def _blank_to_none(value: str | None) -> str | None:
    return value if value not in (None, "") else None


def _schedule_data(post: QueryDict) -> dict[str, Any]:
    """The API's schedule document from the form: every field given (an unticked box is an
    empty list or false), so an edit can also switch between times and an interval."""
    return {
        "kind": post.get("kind", ""),
        "times": [value for value in TIME_SEPARATORS.split(post.get("times", "")) if value],
        "every_minutes": _blank_to_none(post.get("every_minutes", "").strip()),
        "window_start": _blank_to_none(post.get("window_start")),
        "window_end": _blank_to_none(post.get("window_end")),
        "weekdays": post.getlist("weekdays"),
        "channels": post.getlist("channels"),
        "enabled": "enabled" in post,
    }


def _settings_data(post: QueryDict) -> dict[str, Any]:
    """The `me/` PATCH document from the form. A text field missing from the post is left
    as it is (partial update); boxes are always given, as an unticked box sends nothing."""
    data: dict[str, Any] = {
        "workdays": post.getlist("workdays"),
        "channels": post.getlist("channels"),
        "hot_environment": "hot_environment" in post,
    }
    for name in ("timezone", "work_start", "work_end", "water_goal_ml", "glass_ml"):
        if name in post:
            data[name] = post[name].strip()
    for name in ("quiet_start", "quiet_end"):  # empty: no quiet hours (null, as in the API)
        if name in post:
            data[name] = _blank_to_none(post[name])
    return data


def _pause_data(post: QueryDict, *, zone: ZoneInfo) -> dict[str, Any]:
    """The `me/pause/` document: `minutes`, `tomorrow_morning`, or `until` from a date,
    which means the start of that day in the member's zone (a midnight that does not exist
    there is the first minute after it, as for every local time)."""
    data: dict[str, Any] = {
        name: post[name] for name in ("minutes", "tomorrow_morning") if post.get(name)
    }
    raw_until = post.get("until", "").strip()
    if raw_until:
        try:
            day = date.fromisoformat(raw_until)
        except ValueError:
            data["until"] = raw_until  # the serializer names what is wrong with it
        else:
            # Dates near year 1 or 9999 overflow once moved to UTC. Any date outside this
            # range is refused anyway (past, or more than a year ahead): clamping keeps the
            # serializer's own message for it.
            day = min(max(day, SANE_DATES[0]), SANE_DATES[1])
            data["until"] = local_to_utc(day, time.min, zone).isoformat()
    return data


def _readable_errors(errors: dict[str, Any], data: dict[str, Any]) -> dict[str, list[str]]:
    """Serializer errors as `{field: [messages]}`; a list field's `{position: [messages]}`
    becomes one message per bad item, quoting what was typed."""
    readable: dict[str, list[str]] = {}
    for field, detail in errors.items():
        if isinstance(detail, dict):
            items = data.get(field) or []
            texts = []
            for position, item_messages in detail.items():
                known = isinstance(position, int) and 0 <= position < len(items)
                typed = items[position] if known else ""
                for message in item_messages:
                    texts.append(f"“{typed}”: {message}" if typed != "" else str(message))
            readable[field] = texts
        else:
            readable[field] = [str(message) for message in detail]
    return readable


def _with_errors(form: forms.Form, errors: dict[str, Any], data: dict[str, Any]) -> forms.Form:
    serializer_errors_to_form(form, _readable_errors(errors, data))
    return form


# --- Words for the list -------------------------------------------------------------------
def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _days_words(weekdays: list[int]) -> str:
    days = sorted(set(weekdays))
    if days == list(range(7)):
        return "every day"
    if days == list(range(5)):
        return "Monday to Friday"
    if days == [5, 6]:
        return "at weekends"
    if not days:
        return "on no day (tick at least one day for it to fire)"
    return "on " + _join([WEEKDAYS[day] for day in days])


def schedule_words(schedule: Schedule) -> str:
    """ "At 10:30 and 15:00, Monday to Friday" or "Every 90 minutes from 08:00 to 20:00,
    every day"."""
    if schedule.every_minutes:
        start = schedule.window_start.strftime("%H:%M") if schedule.window_start else "?"
        end = schedule.window_end.strftime("%H:%M") if schedule.window_end else "?"
        when = f"Every {schedule.every_minutes} minutes from {start} to {end}"
    else:
        when = "At " + _join([value[:5] for value in schedule.times] or ["no time"])
    return f"{when}, {_days_words(list(schedule.weekdays))}"


def _channels_words(channels: list[str]) -> str:
    if not channels:
        return "the ways chosen in your settings"
    return _join([CHANNEL_NAMES.get(channel, channel) for channel in channels])


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return date_format(moment.astimezone(zone), LOCAL_MOMENT)


def _schedule_initial(schedule: Schedule) -> dict[str, Any]:
    return {
        "kind": schedule.kind,
        "times": ", ".join(value[:5] for value in schedule.times),
        "every_minutes": schedule.every_minutes or "",
        "window_start": schedule.window_start,
        "window_end": schedule.window_end,
        "weekdays": [str(day) for day in schedule.weekdays],
        "channels": list(schedule.channels),
        "enabled": schedule.enabled,
    }


def _settings_initial(profile: Profile) -> dict[str, Any]:
    return {
        "timezone": profile.timezone,
        "work_start": profile.work_start,
        "work_end": profile.work_end,
        "workdays": [str(day) for day in profile.workdays],
        "quiet_start": profile.quiet_start,
        "quiet_end": profile.quiet_end,
        "hot_environment": profile.hot_environment,
        "water_goal_ml": profile.water_goal_ml,
        "glass_ml": profile.glass_ml,
        "channels": list(profile.channels),
    }


def _own_schedule(request: HttpRequest, schedule_id: int) -> Schedule:
    """The member's schedule `schedule_id`; another member's is a 404, as in the API."""
    return get_object_or_404(
        own_records(Schedule.objects.all(), member=request.user), pk=schedule_id
    )


# --- The page -----------------------------------------------------------------------------
def _page(
    request: HttpRequest,
    *,
    add_form: ScheduleForm | None = None,
    edit_forms: dict[int, ScheduleForm] | None = None,
    settings_form: SettingsForm | None = None,
    pause_form: PauseUntilForm | None = None,
) -> HttpResponse:
    """The page; with any form given back (a refused post) it is answered with 400."""
    refused = any(form is not None for form in (add_form, edit_forms, settings_form, pause_form))
    profile = request.user.profile
    zone = ZoneInfo(profile.timezone)
    now = timezone.now()
    paused = profile.is_paused(now=now)
    edit_forms = edit_forms or {}
    rows = []
    for schedule in own_records(Schedule.objects.all(), member=request.user):
        form = edit_forms.get(schedule.pk) or ScheduleForm(
            initial=_schedule_initial(schedule), auto_id=f"schedule-{schedule.pk}-%s"
        )
        next_due = schedule.next_due_at
        rows.append(
            {
                "schedule": schedule,
                "name": schedule.get_kind_display(),
                "words": schedule_words(schedule),
                "channels": _channels_words(list(schedule.channels)),
                "next_due": next_due,
                "held_by_pause": bool(paused and next_due and next_due < profile.paused_until),
                "form": form,
                "open": schedule.pk in edit_forms,
            }
        )
    pause_form = pause_form or PauseUntilForm(auto_id="pause-%s")
    local_today = now.astimezone(zone).date()
    pause_form.fields["until"].widget.attrs.update(
        {
            "min": (local_today + timedelta(days=1)).isoformat(),
            "max": (now + MAX_PAUSE).astimezone(zone).date().isoformat(),
        }
    )
    context = {
        "profile": profile,
        "member_zone": profile.timezone,
        "paused": paused,
        "schedules": rows,
        "add_form": add_form or ScheduleForm(initial=NEW_SCHEDULE, auto_id="new-%s"),
        "add_open": add_form is not None,
        "settings_form": settings_form
        or SettingsForm(
            initial=_settings_initial(profile),
            auto_id="settings-%s",
            stored_zone=profile.timezone,
        ),
        "pause_form": pause_form,
        "tomorrow_morning": _local(pause_end_tomorrow_morning(profile=profile, now=now), zone),
    }
    return render(request, "web/reminders.html", context, status=400 if refused else 200)


def _back(anchor: str = "") -> HttpResponse:
    return redirect(reverse("web:reminders") + (f"#{anchor}" if anchor else ""))


@login_required
@require_safe
def reminders_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def schedule_add(request: HttpRequest) -> HttpResponse:
    data = _schedule_data(request.POST)
    incoming = ScheduleSerializer(data=data)
    if not incoming.is_valid():
        messages.error(request, "The reminder was not added: please check the form below.")
        form = _with_errors(ScheduleForm(request.POST, auto_id="new-%s"), incoming.errors, data)
        return _page(request, add_form=form)
    # As the API's create: the same serializer, then the same service.
    schedule = schedule_save(member=request.user, changes=incoming.validated_data)
    messages.success(request, _saved_message("Added", schedule))
    return _back(f"schedule-{schedule.pk}")


@login_required
@require_POST
def schedule_edit(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = _own_schedule(request, schedule_id)
    data = _schedule_data(request.POST)
    # As the API's PATCH (it offers no PUT): partial, on the member's own schedule.
    incoming = ScheduleSerializer(instance=schedule, data=data, partial=True)
    if not incoming.is_valid():
        messages.error(request, "Your changes were not saved: please check the form below.")
        form = ScheduleForm(request.POST, auto_id=f"schedule-{schedule.pk}-%s")
        return _page(request, edit_forms={schedule.pk: _with_errors(form, incoming.errors, data)})
    schedule = schedule_save(
        member=request.user, changes=incoming.validated_data, schedule=schedule
    )
    messages.success(request, _saved_message("Saved", schedule))
    return _back(f"schedule-{schedule.pk}")


@login_required
@require_POST
def reminder_delete(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = _own_schedule(request, schedule_id)
    name = schedule.get_kind_display()
    schedule_delete(schedule=schedule)
    messages.success(
        request, f"Deleted the reminder “{name}”. What it already sent stays in your history."
    )
    return _back("schedules-heading")


def _saved_message(verb: str, schedule: Schedule) -> str:
    words = schedule_words(schedule)
    text = f"{verb}: {schedule.get_kind_display()}, {words[0].lower()}{words[1:]}."
    if schedule.next_due_at:
        text += f" Next one: {_local(schedule.next_due_at, schedule.zone())}."
    elif not schedule.enabled:
        text += " It is off until you turn it on."
    return text


@login_required
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    profile = request.user.profile
    data = _settings_data(request.POST)
    incoming = ProfileSerializer(instance=profile, data=data, partial=True)
    form = SettingsForm(request.POST, auto_id="settings-%s", stored_zone=profile.timezone)
    if not incoming.is_valid():
        messages.error(request, "Your settings were not saved: please check the form below.")
        return _page(request, settings_form=_with_errors(form, incoming.errors, data))
    # As `me/` PATCH does: the account's part (display name) apart from the profile's.
    changes = dict(incoming.validated_data)
    account_changes = changes.pop("user", {})
    try:
        profile_update(
            profile=profile, changes=changes, display_name=account_changes.get("display_name")
        )
    except ValidationError as error:
        profile.refresh_from_db()
        messages.error(request, "Your settings were not saved: please check the form below.")
        serializer_errors_to_form(form, error.message_dict)
        return _page(request, settings_form=form)
    messages.success(request, "Your settings are saved; every reminder follows them from now on.")
    return _back("settings-heading")


@login_required
@require_POST
def pause(request: HttpRequest) -> HttpResponse:
    profile = request.user.profile
    zone = ZoneInfo(profile.timezone)
    data = _pause_data(request.POST, zone=zone)
    incoming = PauseSerializer(data=data, context={"time_zone": profile.timezone})
    if not incoming.is_valid():
        messages.error(request, "Nothing was paused: please check the pause form below.")
        form = PauseUntilForm(request.POST, auto_id="pause-%s")
        return _page(request, pause_form=_with_errors(form, incoming.errors, data))
    # As `me/pause/` does.
    until = pause_end(profile=profile, now=timezone.now(), **incoming.validated_data)
    profile_pause(profile=profile, until=until)
    messages.success(request, f"All reminders are paused until {_local(until, zone)}, your time.")
    return _back()


@login_required
@require_POST
def resume(request: HttpRequest) -> HttpResponse:
    profile_resume(profile=request.user.profile)
    messages.success(request, "Reminders are back on.")
    return _back()


urlpatterns = [
    path("reminders/", reminders_page, name="reminders"),
    path("reminders/new/", schedule_add, name="reminders_add"),
    path("reminders/<id:schedule_id>/", schedule_edit, name="reminders_edit"),
    path("reminders/<id:schedule_id>/delete/", reminder_delete, name="reminders_delete"),
    path("reminders/settings/", settings_save, name="reminders_settings"),
    path("reminders/pause/", pause, name="reminders_pause"),
    path("reminders/resume/", resume, name="reminders_resume"),
]
