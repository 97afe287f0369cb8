"""The account page: name, password, a download of every record held, and erasing the
account. Each form posts to its own URL and, when it is refused, the page is shown again
with that form's errors and the others fresh."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.backends import AUTHENTICATION_BACKEND
from apps.accounts.export import member_export
from apps.accounts.serializers import PasswordConfirmationSerializer
from apps.accounts.services import member_erase, password_set
from apps.profiles.serializers import ProfileSerializer
from apps.profiles.services import profile_update
from apps.web.forms import serializer_errors_to_form

DISPLAY_NAME_MAX_LENGTH = 150  # the API's (ProfileSerializer) and the model's


class DisplayNameForm(forms.Form):
    # No length check here: ProfileSerializer's message is the one shown, as in the API.
    display_name = forms.CharField(
        required=False,
        label="Your name",
        help_text="How the service and a therapist you share with address you. May be empty.",
        widget=forms.TextInput(
            attrs={"autocomplete": "name", "maxlength": DISPLAY_NAME_MAX_LENGTH}
        ),
    )


class EraseForm(forms.Form):
    password = forms.CharField(
        strip=False,
        label="Your password",
        required=False,  # PasswordConfirmationSerializer says what is missing
        help_text="To be sure it is you.",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _password_form(request: HttpRequest, data: object = None) -> PasswordChangeForm:
    form = PasswordChangeForm(request.user, data)
    form.fields["old_password"].label = "Current password"
    # Django focuses it on load; on a page of several forms that skips the ones above it.
    form.fields["old_password"].widget.attrs.pop("autofocus", None)
    form.fields["new_password2"].label = "New password again"
    return form


def _render(
    request: HttpRequest,
    *,
    name_form: DisplayNameForm | None = None,
    password_form: PasswordChangeForm | None = None,
    erase_form: EraseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "name_form": name_form
        or DisplayNameForm(initial={"display_name": request.user.display_name}),
        "password_form": password_form or _password_form(request),
        "erase_form": erase_form or EraseForm(),
    }
    return render(request, "web/account.html", context, status=status)


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return _render(request)


@login_required
@require_POST
def display_name_change(request: HttpRequest) -> HttpResponse:
    form = DisplayNameForm(request.POST)
    form.is_valid()
    profile = request.user.profile
    if "display_name" not in request.POST:  # only a hand-made request; a browser sends ""
        form.add_error("display_name", "This field is required.")
        return _render(request, name_form=form, status=400)
    # Only the name: the rest of `me/` has its own pages.
    incoming = ProfileSerializer(
        profile, data={"display_name": request.POST["display_name"]}, partial=True
    )
    if not incoming.is_valid():
        serializer_errors_to_form(form, incoming.errors)
        return _render(request, name_form=form, status=400)
    name = incoming.validated_data["user"]["display_name"]
    profile_update(profile=profile, changes={}, display_name=name)
    messages.success(request, f"Saved. We will call you {name}." if name else "Saved.")
    return redirect("web:account")


@login_required
@require_POST
def password_change(request: HttpRequest) -> HttpResponse:
    """Django's checks (current password, twice the same, the password rules), then
    password_set, which ends every other browser session and API token. This browser
    logs in afresh, so its new session is recorded like any log-in and a later password
    change or erase ends it too."""
    form = _password_form(request, request.POST)
    if not form.is_valid():
        return _render(request, password_form=form, status=400)
    member = form.user
    password_set(user=member, new_password=form.cleaned_data["new_password1"])
    login(request, member, backend=AUTHENTICATION_BACKEND)
    messages.success(
        request,
        "Your password is changed. Every other browser and app using your account has been "
        "logged out; this one stays logged in.",
    )
    return redirect("web:account")


@login_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """Every record held about the member (apps/accounts/export.py) as a JSON file."""
    member = request.user
    today = timezone.localdate(timezone=ZoneInfo(member.profile.timezone))
    body = json.dumps(member_export(member=member), cls=DjangoJSONEncoder, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="stressrelief-export-{today.isoformat()}.json"'
    )
    # Health data: no shared cache, and not kept in the browser's cache either.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def erase(request: HttpRequest) -> HttpResponse:
    """Erase the account and every record about it, as DELETE me/ does: the password is
    checked by the API's own serializer, then the session ends and the data goes."""
    form = EraseForm(request.POST)
    form.is_valid()
    incoming = PasswordConfirmationSerializer(data=request.POST, context={"request": request})
    if not incoming.is_valid():
        serializer_errors_to_form(form, incoming.errors)
        return _render(request, erase_form=form, status=400)
    member = request.user
    logout(request)
    member_erase(member=member)
    messages.success(
        request,
        "Your account and everything it held have been deleted. Take good care of yourself.",
    )
    return redirect("web:landing")


urlpatterns = [
    path("account/", account, name="account"),
    path("account/name/", display_name_change, name="account_name"),
    path("account/password/", password_change, name="account_password"),
    path("account/export/", export, name="account_export"),
    path("account/delete/", erase, name="account_delete"),
]
