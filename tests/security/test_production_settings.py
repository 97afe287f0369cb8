"""The DJANGO_DEBUG=false profile: deployment checks clean, security headers on real
responses, Argon2id passwords (older PBKDF2 hashes upgraded on log-in), the admin for
staff only, and the lockout's numbers read from the environment."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client

from apps.accounts.models import User
from tests.conftest import REPOSITORY, project_environment
from tests.factories import DEFAULT_PASSWORD, make_member

SITE_HOST = "stressrelief.example.org"


def production_environment(**overrides: str) -> dict[str, str]:
    """What an operator sets in production (README's configuration table)."""
    return project_environment(
        DJANGO_SETTINGS_MODULE="stressrelief.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        SITE_URL=f"https://{SITE_HOST}",
        EMAIL_URL="smtp+tls://nudges:mail-password@mail.example.org:587",
        DATABASE_URL="postgresql://stressrelief:db-password@db.example.org:5432/stressrelief",
        REDIS_URL="redis://redis.example.org:6379/0",
        **overrides,
    )


def run_python(code: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# Runs in a child process under the production environment: real settings, real middleware,
# real responses (pages that need no database), printed as JSON.
PROBE = textwrap.dedent(
    f"""
    import json
    import django
    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    # The manifest is made by collectstatic at image build time; this probe has none, and
    # static file names are not what is tested here.
    plain_static = dict(settings.STORAGES, staticfiles={{
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}})
    with override_settings(STORAGES=plain_static):
        client = Client(HTTP_HOST="{SITE_HOST}")
        page = client.get("/", secure=True)
        login = client.get("/accounts/login/", secure=True)
        plain_http = client.get("/")
    csrf = login.cookies["csrftoken"]
    print(json.dumps({{
        "page_status": page.status_code,
        "page_headers": dict(page.headers),
        "login_headers": dict(login.headers),
        "csrf_cookie": {{"secure": bool(csrf["secure"]), "httponly": bool(csrf["httponly"])}},
        "plain_http": [plain_http.status_code, plain_http.headers.get("Location")],
        "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
        "session_cookie_httponly": settings.SESSION_COOKIE_HTTPONLY,
        "first_hasher": settings.PASSWORD_HASHERS[0],
        "lockout": [settings.LOCKOUT_FAILURES, settings.LOCKOUT_MINUTES],
    }}))
    """
)


@pytest.fixture(scope="module")
def production_probe() -> dict:
    result = run_python(PROBE, production_environment())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_production_profile_passes_every_deployment_check() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPOSITORY,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_pages_carry_the_security_headers(production_probe: dict) -> None:
    headers = production_probe["page_headers"]

    assert production_probe["page_status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in production_probe["login_headers"]["Content-Security-Policy"]


@pytest.mark.slow
def test_production_cookies_are_secure_and_plain_http_is_redirected(
    production_probe: dict,
) -> None:
    assert production_probe["csrf_cookie"]["secure"]
    assert production_probe["session_cookie_secure"]
    assert production_probe["session_cookie_httponly"]
    status, location = production_probe["plain_http"]
    assert status == 301
    assert location == f"https://{SITE_HOST}/"


@pytest.mark.slow
def test_production_hashes_new_passwords_with_argon2(production_probe: dict) -> None:
    assert production_probe["first_hasher"] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert production_probe["lockout"] == [10, 15]  # the defaults


@pytest.mark.slow
def test_the_lockout_numbers_come_from_the_environment() -> None:
    code = "import django; django.setup(); from django.conf import settings as s; " + (
        "print(s.LOCKOUT_FAILURES, s.LOCKOUT_MINUTES)"
    )

    chosen = run_python(
        code,
        production_environment(
            STRESSRELIEF_LOCKOUT_FAILURES="5", STRESSRELIEF_LOCKOUT_MINUTES="30"
        ),
    )
    refused = run_python(code, production_environment(STRESSRELIEF_LOCKOUT_FAILURES="0"))

    assert chosen.stdout.split() == ["5", "30"], chosen.stderr
    assert refused.returncode != 0
    assert "STRESSRELIEF_LOCKOUT_FAILURES must be at least 1" in refused.stderr


@pytest.mark.django_db
def test_a_pbkdf2_hash_is_upgraded_to_argon2_on_a_successful_log_in() -> None:
    member = make_member(email="ann@example.org")
    User.objects.filter(pk=member.pk).update(
        password=make_password(DEFAULT_PASSWORD, hasher="pbkdf2_sha256")
    )
    member.refresh_from_db()
    assert member.password.startswith("pbkdf2_sha256$")

    response = Client().post(
        "/api/v1/auth/token/", {"email": "ann@example.org", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    member.refresh_from_db()
    assert member.password.startswith("argon2$argon2id$")
    assert member.check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_a_member_who_is_not_staff_gets_the_admin_log_in_page_never_an_admin_page() -> None:
    member = make_member(email="ann@example.org")
    browser = Client()
    browser.force_login(member)

    for path in ("/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{member.pk}/change/"):
        response = browser.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/admin/login/"), path
    log_in = browser.post(
        "/admin/login/",
        {"username": "ann@example.org", "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert log_in.status_code == 200  # the form again, with its error: no way in
    assert "staff account" in log_in.content.decode()
    assert browser.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_staff_reach_the_admin() -> None:
    # The other side of the test above: the admin does answer someone.
    User.objects.create_superuser(email="root@example.org", password=DEFAULT_PASSWORD)
    browser = Client()

    browser.post(
        "/admin/login/",
        {"username": "root@example.org", "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert browser.get("/admin/").status_code == 200
