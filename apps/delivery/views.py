"""The pages a member reaches from a nudge email or a weekly email, without logging in.

Guarantees:
- GET (and HEAD) only shows what a link would do; it never changes anything, because
  mail scanners and link previews fetch every URL in a message.
- POST acts, through apps.delivery.links and so through apps.reminders.actions.
- A forged, tampered, expired, reused or wrong-member link gets a page that says so
  (400 or 410) and changes nothing; an action the nudge refuses gets a 409 page.
- The action forms are CSRF-protected. The unsubscribe endpoints are CSRF-exempt:
  RFC 8058 has the mail provider POST `List-Unsubscribe=One-Click` without cookies, and
  the signed token in its URL is what authorises it.
- Every answer is private: not cached, not indexed, and the token-bearing URL is not sent
  on as a Referer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from apps.delivery import links
from apps.reminders.actions import DEFAULT_SNOOZE_MINUTES
from apps.reminders.models import Nudge, NudgeKind

SNOOZE_CHOICES = [(10, "10 minutes"), (20, "20 minutes"), (30, "30 minutes"), (60, "1 hour")]

CONFIRM = {
    "done": ("Mark this reminder as done?", "Yes, mark it done"),
    "snooze": ("Remind you again later?", "Snooze"),
    "skip": ("Skip this reminder?", "Yes, skip it"),
}
RESULT = {
    "done": "Marked as done",
    "snooze": "Snoozed",
    "skip": "Skipped",
}


LINK_METHODS = ("GET", "HEAD", "POST")


def _link_methods(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Django's require_http_methods(LINK_METHODS), but the 405 is the links' own page
    with words (Django's is blank): a person, not only a client, can arrive here with
    another method (a browser extension, a mail client's preview)."""

    @wraps(view)
    def only_link_methods(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method not in LINK_METHODS:
            refusal = links.LinkProblem(
                status=405,
                title="This request is not allowed here",
                detail="Open the link from the email, then use the button on the page. "
                "Nothing was changed.",
            )
            response = _problem(request, refusal)
            response["Allow"] = ", ".join(LINK_METHODS)
            return response
        return view(request, *args, **kwargs)

    return only_link_methods


class SnoozeForm(forms.Form):
    minutes = forms.TypedChoiceField(
        label="Remind me again in",
        choices=SNOOZE_CHOICES,
        coerce=int,
        initial=DEFAULT_SNOOZE_MINUTES,
        # Left out (a client that posts only the button): the usual 10 minutes.
        required=False,
        empty_value=DEFAULT_SNOOZE_MINUTES,
    )


# CSRF-exempt: the signed, single-use token in the URL is the credential, and a page
# elsewhere cannot know it; the push notification's service worker POSTs here too.
@csrf_exempt
@never_cache
@_link_methods
def nudge_action(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the link will do, with a button. POST: do it (done, snooze or skip)."""
    try:
        link = links.action_link_read(token=token)
    except links.LinkProblem as problem:
        return _problem(request, problem)
    form = SnoozeForm(request.POST if request.method == "POST" else None)
    context = {"link": link, "nudge": _described(link.nudge), "form": form}
    context["question"], context["button"] = CONFIRM[link.action]
    if request.method != "POST":
        return _private(render(request, "delivery/action_confirm.html", context))
    minutes = DEFAULT_SNOOZE_MINUTES
    if link.action == "snooze":
        if not form.is_valid():
            return _private(render(request, "delivery/action_confirm.html", context, status=400))
        minutes = form.cleaned_data["minutes"]
    try:
        nudge = links.action_link_use(token=token, minutes=minutes)
    except links.LinkProblem as problem:
        return _problem(request, problem)
    except ValidationError as error:
        # The nudge refused (skipped already, snoozed three times): say why, keep the link.
        refusal = {"title": "This reminder cannot be changed", "detail": " ".join(error.messages)}
        return _private(render(request, "delivery/link_problem.html", refusal, status=409))
    result = {
        "title": RESULT[link.action],
        "nudge": _described(nudge),
        "action": link.action,
        "snoozed_until": _local(nudge, nudge.snoozed_until) if link.action == "snooze" else None,
    }
    return _private(render(request, "delivery/action_result.html", result))


@csrf_exempt
@never_cache
@_link_methods
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirm page. POST (the page's button, or a mail provider's RFC 8058
    one-click `List-Unsubscribe=One-Click`): stop email nudges for this member."""
    try:
        member = links.unsubscribe_link_read(token=token)
    except links.LinkProblem as problem:
        return _problem(request, problem)
    if request.method != "POST":
        return _private(
            render(request, "delivery/unsubscribe_confirm.html", {"email": member.email})
        )
    links.email_unsubscribe(member=member)
    return _private(render(request, "delivery/unsubscribe_done.html", {"email": member.email}))


WEEKLY_EMAIL_NAMES = {
    "digest": "the weekly digest of your clients",
    "progress": "your weekly progress email",
}
# How to get it back: both settings are in the profile (`me/`).
WEEKLY_EMAIL_BACK_ON = {
    "digest": "You can turn it back on in your profile at any time.",
    "progress": "You can turn it back on in your profile at any time.",
}


@csrf_exempt
@never_cache
@_link_methods
def weekly_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirm page. POST (the page's button, or a mail provider's RFC 8058
    one-click request): turn off that one weekly email; reminder emails stay as they are."""
    try:
        link = links.weekly_unsubscribe_link_read(token=token)
    except links.LinkProblem as problem:
        return _problem(request, problem)
    context = {
        "email": link.member.email,
        "kind": link.kind,
        "what": WEEKLY_EMAIL_NAMES[link.kind],
        "back_on": WEEKLY_EMAIL_BACK_ON[link.kind],
    }
    if request.method != "POST":
        return _private(render(request, "delivery/weekly_unsubscribe_confirm.html", context))
    links.weekly_email_unsubscribe(member=link.member, kind=link.kind)
    return _private(render(request, "delivery/weekly_unsubscribe_done.html", context))


def _problem(request: HttpRequest, problem: links.LinkProblem) -> HttpResponse:
    context = {"title": problem.title, "detail": problem.detail}
    return _private(render(request, "delivery/link_problem.html", context, status=problem.status))


def _private(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _described(nudge: Nudge) -> dict[str, str]:
    """What the page says about the nudge: its kind in words and when it was due, in the
    member's own time zone."""
    return {"kind": NudgeKind(nudge.kind).label, "due": _local(nudge, nudge.due_at)}


def _local(nudge: Nudge, moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment, ZoneInfo(nudge.member.profile.timezone))
    return local.strftime("%A %d %B, %H:%M")
