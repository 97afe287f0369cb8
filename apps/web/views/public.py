"""Pages for everyone: the landing page and sign-up (log-in and password reset are
Django's views with our templates, under /accounts/)."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from apps.accounts.backends import AUTHENTICATION_BACKEND
from apps.accounts.forms import LockoutAuthenticationForm
from apps.accounts.lockout import LOCKED_CODE
from apps.accounts.services import member_create, password_reset_send, password_set
from apps.web.forms import SignupForm, serializer_errors_to_form
from apps.web.throttling import wait_message


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:today")
    return render(request, "web/landing.html")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and (waiting := wait_message(request, scope="register")):
        return render(
            request, "web/signup.html", {"form": SignupForm(), "throttled": waiting}, status=429
        )
    if request.method == "POST" and form.is_valid():
        try:
            member = member_create(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                timezone=form.cleaned_data["timezone"],
            )
        except ValidationError as error:
            serializer_errors_to_form(form, error.message_dict)
        else:
            login(request, member, backend=AUTHENTICATION_BACKEND)
            return redirect("web:today")
    return render(request, "web/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    """Django's log-in, under the API's log-in throttle (`auth_token`): guessing passwords
    on the page counts against the same limit as on `auth/token/`. A locked email address
    (apps/accounts/lockout.py) gets the lockout message and 429, like the API."""

    authentication_form = LockoutAuthenticationForm

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if waiting := wait_message(request, scope="auth_token"):
            # No form is checked: a throttled attempt never reaches authenticate().
            context = self.get_context_data(form=self.form_class(request), throttled=waiting)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: LockoutAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error("__all__", code=LOCKED_CODE):
            response.status_code = 429
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's page; the email goes through the same service as the API's, so its link
    points at SITE_URL, never at whatever Host header the request carried."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if waiting := wait_message(request, scope="password_reset"):
            context = self.get_context_data(form=self.form_class(), throttled=waiting)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: auth_views.PasswordResetForm) -> HttpResponse:
        password_reset_send(email=form.cleaned_data["email"], request=self.request)
        return redirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's page; the new password also ends every other session and API token,
    as a password change through the API does."""

    def form_valid(self, form: auth_views.SetPasswordForm) -> HttpResponse:
        password_set(user=form.user, new_password=form.cleaned_data["new_password1"])
        return redirect(self.get_success_url())


urlpatterns = [
    path("", landing, name="landing"),
    path("signup/", signup, name="signup"),
]
