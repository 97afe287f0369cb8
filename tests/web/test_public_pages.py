"""The pages anyone sees: landing, sign-up, log-in, password reset; and the policy every
member page is served with."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from apps.accounts.models import User
from apps.core.middleware import CONTENT_SECURITY_POLICY
from tests.factories import DEFAULT_PASSWORD, make_member

pytestmark = pytest.mark.django_db


def test_the_landing_page_says_what_the_service_does_and_carries_the_policy(client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    text = response.content.decode()
    assert "10-minute mindfulness" in text
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "<style" not in text
    assert "<script>" not in text


def test_the_admin_keeps_djangos_own_headers(client) -> None:
    assert "Content-Security-Policy" not in client.get("/admin/login/")


def test_signing_up_creates_the_member_logs_them_in_and_opens_today(client) -> None:
    response = client.post(
        "/signup/",
        {"email": "New@Example.org", "password": "calm-shoulders-2026", "timezone": "Europe/Paris"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/today/"
    member = User.objects.get(email="new@example.org")
    assert member.profile.timezone == "Europe/Paris"
    assert member.schedules.exists()  # the default reminders
    assert client.get("/today/").status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"email": "x@example.org", "password": "short", "timezone": "UTC"}, "password", "short"),
        ({"email": "x@example.org", "password": "calm-shoulders-2026", "timezone": "Mars/Base"},
         "timezone", "time zone"),
        ({"email": "not-an-email", "password": "calm-shoulders-2026", "timezone": "UTC"},
         "email", "valid email"),
    ],
)  # fmt: skip
def test_a_bad_sign_up_names_the_field_and_stores_nothing(client, data, field, words) -> None:
    response = client.post("/signup/", data)

    assert response.status_code == 200
    assert words in " ".join(response.context["form"].errors[field]).lower()
    assert not User.objects.exists()


def test_an_email_in_use_is_refused_on_the_email_field(client) -> None:
    make_member(email="taken@example.org")

    response = client.post(
        "/signup/",
        {"email": "taken@example.org", "password": "calm-shoulders-2026", "timezone": "UTC"},
    )

    assert "exists already" in response.context["form"].errors["email"][0]


def test_log_in_and_out(client) -> None:
    make_member(email="ann@example.org")

    logged_in = client.post(
        "/accounts/login/", {"username": "ANN@example.org", "password": DEFAULT_PASSWORD}
    )
    logged_out = client.post("/accounts/logout/")

    assert logged_in["Location"] == "/today/"
    assert logged_out["Location"] == "/"
    assert client.get("/today/")["Location"].startswith("/accounts/login/")


def test_password_reset_links_point_at_the_site_and_end_other_sessions(client, settings) -> None:
    settings.SITE_URL = "https://stressrelief.example"
    settings.ALLOWED_HOSTS = ["testserver", "evil.test"]  # a Host header the link ignores
    member = make_member(email="ann@example.org")
    other_browser = client.__class__()
    other_browser.force_login(member)

    client.post("/accounts/password_reset/", {"email": "ann@example.org"}, HTTP_HOST="evil.test")

    assert len(mail.outbox) == 1
    link = re.search(r"https://stressrelief\.example(/accounts/reset/\S+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form_page = client.get(link.group(1), follow=True)
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url, {"new_password1": "new-calm-2026-x", "new_password2": "new-calm-2026-x"}
    )
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.check_password("new-calm-2026-x")
    assert other_browser.get("/today/").status_code == 302  # that session has ended


@pytest.mark.parametrize("path", ["/n/forged-token/", "/n/unsubscribe/forged/"])
def test_email_link_pages_work_logged_out_under_the_same_policy(client, path: str) -> None:
    response = client.get(path)

    assert 400 <= response.status_code < 500
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    text = response.content.decode()
    assert "<style" not in text
    assert "/static/web/app.css" in text


def test_an_expired_form_gets_a_plain_page_under_the_same_policy() -> None:
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "a@example.org", "password": "b"}
    )

    assert response.status_code == 403
    text = response.content.decode()
    assert "This form has expired" in text
    assert "<style" not in text


def test_guessing_passwords_on_the_login_page_is_throttled_like_the_api(client) -> None:
    make_member(email="ann@example.org")
    for _ in range(10):  # STRESSRELIEF_THROTTLE_AUTH: 10 a minute by default
        wrong = client.post("/accounts/login/", {"username": "ann@example.org", "password": "x"})
        assert wrong.status_code == 200

    right = client.post(
        "/accounts/login/", {"username": "ann@example.org", "password": DEFAULT_PASSWORD}
    )

    assert right.status_code == 429  # even the right password waits: it was never checked
    assert "Please wait about" in right.content.decode()
    assert client.get("/today/").status_code == 302
    api = client.post("/api/v1/auth/token/", {"email": "ann@example.org", "password": "x"})
    assert api.status_code == 429  # one counter for the page and the API


def test_sign_up_and_password_reset_pages_are_throttled_too(client) -> None:
    for _ in range(10):
        client.post("/signup/", {"email": "bad", "password": "x", "timezone": "UTC"})
        client.post("/accounts/password_reset/", {"email": "nobody@example.org"})

    signup = client.post("/signup/", {"email": "bad", "password": "x", "timezone": "UTC"})
    reset = client.post("/accounts/password_reset/", {"email": "nobody@example.org"})

    assert (signup.status_code, reset.status_code) == (429, 429)
    assert not mail.outbox
