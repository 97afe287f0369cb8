"""The care team page: share with a therapist by entering their invitation code, choose
what they see, change it or stop sharing, and read every time a therapist looked.

Validation is the API's own (AcceptSerializer, SharesSerializer), and accepting a code
counts against the same throttle as `POST care-team/` (10 an hour per member): the page
must not be a way round the limit that keeps codes from being guessed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from apps.careteam.models import AccessCategory, AccessLogEntry, CareLink
from apps.careteam.permissions import own_active_link, own_records
from apps.careteam.serializers import AcceptSerializer, SharesSerializer
from apps.careteam.services import Shares, care_link_accept, care_link_revoke, care_link_update
from apps.web.forms import serializer_errors_to_form
from apps.web.throttling import wait_message

# The page lists this many reads; the data download on the Account page holds every one.
ACCESS_LOG_LIMIT = 50

SHARE_LABELS = {
    "share_adherence": "My reminders and habits",
    "share_checkins": "My check-ins: stress, pain and symptoms",
    "share_notes": "The notes I write in check-ins",
}
SHARE_HELP = {
    "share_adherence": (
        "Which reminders you marked done, snoozed or skipped, your streaks and habit "
        "scores, and the habits you log (mindfulness minutes, water, stretches, walks)."
    ),
    "share_checkins": (
        "The stress and pain scores (0 to 10), symptoms and body areas of your check-ins, "
        "and how they change over the weeks."
    ),
    "share_notes": (
        "The words you type in a check-in's note. Off unless you turn it on: notes are "
        "often personal."
    ),
}
# How a shared category reads in a sentence ("... can see your reminders and habits and
# check-ins").
CATEGORY_WORDS = {
    AccessCategory.ADHERENCE: "reminders and habits",
    AccessCategory.CHECKINS: "check-ins",
    AccessCategory.NOTES: "check-in notes",
}


def _share_field(name: str, *, initial: bool) -> forms.BooleanField:
    return forms.BooleanField(
        required=False, initial=initial, label=SHARE_LABELS[name], help_text=SHARE_HELP[name]
    )


class SharesForm(forms.Form):
    """Renders the three choices; the values are judged by SharesSerializer. The template
    puts a hidden "false" before each box (web/careacct/share_choices.html): a browser
    sends nothing for an unticked box, and the serializer reads a missing share as its
    default (adherence and check-ins: yes), exactly as the API does."""

    share_adherence = _share_field("share_adherence", initial=True)
    share_checkins = _share_field("share_checkins", initial=True)
    share_notes = _share_field("share_notes", initial=False)


class AcceptForm(SharesForm):
    # No length or "required" check here: AcceptSerializer's own messages are the ones shown.
    code = forms.CharField(
        required=False,
        label="Invitation code",
        help_text="The 8 letters and digits your therapist gave you, e.g. K7QX-M2PD.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    field_order = ["code", "share_adherence", "share_checkins", "share_notes"]


def _own_active_link(request: HttpRequest, link_id: int) -> CareLink:
    """The member's active link `link_id`: another member's, a revoked or an unknown one
    is a 404 (as in the API)."""
    link = own_active_link(member=request.user, link_id=link_id)
    if link is None:
        raise Http404("Not found.")
    return link


def therapist_name(link: CareLink) -> str:
    return link.therapist.display_name or link.therapist.email


def _in_words(categories: list[str]) -> str:
    """'reminders and habits, check-ins and check-in notes', or 'nothing'."""
    chosen = [CATEGORY_WORDS.get(category, category) for category in categories]
    if not chosen:
        return "nothing"
    return chosen[0] if len(chosen) == 1 else ", ".join(chosen[:-1]) + " and " + chosen[-1]


def shared_words(*, adherence: bool, checkins: bool, notes: bool) -> str:
    flags = {"adherence": adherence, "checkins": checkins, "notes": notes}
    return _in_words([category for category in CATEGORY_WORDS if flags[category]])


def _link_form(link: CareLink, data: Any = None) -> SharesForm:
    # Each link's checkboxes need their own ids; the names stay the serializer's.
    return SharesForm(
        data,
        auto_id=f"id_link{link.pk}_%s",
        initial={
            "share_adherence": link.share_adherence,
            "share_checkins": link.share_checkins,
            "share_notes": link.share_notes,
        },
    )


def _render(
    request: HttpRequest,
    *,
    accept_form: AcceptForm | None = None,
    bound_link_form: tuple[int, SharesForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    links = own_records(CareLink.objects.select_related("therapist"), member=request.user).filter(
        revoked_at__isnull=True
    )
    rows = []
    for link in links:
        if bound_link_form and bound_link_form[0] == link.pk:
            form = bound_link_form[1]
        else:
            form = _link_form(link)
        shares = shared_words(
            adherence=link.share_adherence, checkins=link.share_checkins, notes=link.share_notes
        )
        rows.append({"link": link, "name": therapist_name(link), "shares": shares, "form": form})
    entries = list(
        own_records(AccessLogEntry.objects.all(), member=request.user).order_by(
            "-accessed_at", "-id"
        )[: ACCESS_LOG_LIMIT + 1]
    )
    log = [
        {"entry": entry, "categories": _in_words(entry.categories)}
        for entry in entries[:ACCESS_LOG_LIMIT]
    ]
    context = {
        "accept_form": accept_form or AcceptForm(),
        "links": rows,
        "access_log": log,
        "access_log_cut": len(entries) > ACCESS_LOG_LIMIT,
        "access_log_limit": ACCESS_LOG_LIMIT,
        "member_zone": request.user.profile.timezone,
    }
    return render(request, "web/care_team.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def care_team(request: HttpRequest) -> HttpResponse:
    """GET: the page. POST: accept an invitation code with the chosen shares."""
    if request.method != "POST":
        return _render(request)
    form = AcceptForm(request.POST)
    form.is_valid()  # the form only renders; the serializer and the service judge
    if waiting := wait_message(request, scope="care_team"):
        form.add_error("code", waiting)
        return _render(request, accept_form=form, status=429)
    incoming = AcceptSerializer(data=request.POST)
    if not incoming.is_valid():
        serializer_errors_to_form(form, incoming.errors)
        return _render(request, accept_form=form, status=400)
    try:
        link = care_link_accept(
            member=request.user, code=incoming.validated_data["code"], shares=incoming.shares()
        )
    except ValidationError as error:
        serializer_errors_to_form(form, error.message_dict)
        return _render(request, accept_form=form, status=400)
    shares = shared_words(
        adherence=link.share_adherence, checkins=link.share_checkins, notes=link.share_notes
    )
    messages.success(
        request,
        f"You now share with {therapist_name(link)}: they can see your {shares}. "
        "You can change that or stop at any time on this page."
        if shares != "nothing"
        else f"You are linked with {therapist_name(link)}, sharing nothing for now. "
        "Tick what they may see below when you are ready.",
    )
    return redirect("web:care_team")


@login_required
@require_POST
def care_team_shares(request: HttpRequest, link_id: int) -> HttpResponse:
    """Change what one link shares (the page's form for PATCH care-team/{id}/)."""
    link = _own_active_link(request, link_id)
    form = _link_form(link, request.POST)
    form.is_valid()
    # Partial, as PATCH care-team/{id}/: a share the request does not mention stays.
    incoming = SharesSerializer(data=request.POST, partial=True)
    if not incoming.is_valid():
        serializer_errors_to_form(form, incoming.errors)
        return _render(request, bound_link_form=(link.pk, form), status=400)
    current = Shares(
        adherence=link.share_adherence, checkins=link.share_checkins, notes=link.share_notes
    )
    care_link_update(link=link, shares=incoming.shares(current))
    shares = shared_words(
        adherence=link.share_adherence, checkins=link.share_checkins, notes=link.share_notes
    )
    messages.success(request, f"Saved. From now on {therapist_name(link)} can see your {shares}.")
    return redirect("web:care_team")


@login_required
@require_POST
def care_team_revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    """Stop sharing: the therapist's next request already finds nothing."""
    link = _own_active_link(request, link_id)
    care_link_revoke(link=link)
    messages.success(
        request,
        f"You stopped sharing with {therapist_name(link)}. They cannot see anything of "
        "yours from now on. To share again, ask them for a new code.",
    )
    return redirect("web:care_team")


urlpatterns = [
    path("care-team/", care_team, name="care_team"),
    path("care-team/<id:link_id>/shares/", care_team_shares, name="care_team_shares"),
    path("care-team/<id:link_id>/revoke/", care_team_revoke, name="care_team_revoke"),
]
