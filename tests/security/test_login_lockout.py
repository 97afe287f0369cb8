"""Per-account lockout after repeated wrong passwords (apps/accounts/lockout.py), on every
way a password is typed: API token, log-in page, admin log-in, current password on a change.

Three failures lock here (LOCKOUT_FAILURES, 10 by default) so every test stays under the
per-address throttle (10 a minute from the test client's one address)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from apps.accounts.models import User
from apps.accounts.services import password_set
from tests.factories import DEFAULT_PASSWORD, make_member

pytestmark = pytest.mark.django_db

FAILURES = 3
MINUTES = 15
WRONG = "not-my-password-1"
LOCKED_WORDS = "Too many wrong passwords were tried for this email address"


@pytest.fixture(autouse=True)
def _three_failures_lock(settings) -> None:
    settings.LOCKOUT_FAILURES = FAILURES
    settings.LOCKOUT_MINUTES = MINUTES


def token_login(email: str, password: str):
    return Client().post("/api/v1/auth/token/", {"email": email, "password": password})


def page_login(client: Client, email: str, password: str):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_the_api_refuses_even_the_right_password_after_three_wrong_ones_with_retry_after() -> None:
    make_member(email="ann@example.org")
    for _ in range(FAILURES):
        assert token_login("ann@example.org", WRONG).status_code == 400

    refused = token_login("ann@example.org", DEFAULT_PASSWORD)

    assert refused.status_code == 429
    assert LOCKED_WORDS in refused.json()["detail"]
    assert MINUTES * 60 - 60 <= int(refused["Retry-After"]) <= MINUTES * 60
    assert "token" not in refused.json()


def test_an_unknown_address_locks_the_same_way_so_the_lockout_reveals_no_account() -> None:
    make_member(email="ann@example.org")
    with time_machine.travel(datetime.now(UTC), tick=False):  # the same Retry-After
        for email in ("ann@example.org", "nobody@example.org"):
            for _ in range(FAILURES):
                assert token_login(email, WRONG).status_code == 400

        known = token_login("ann@example.org", DEFAULT_PASSWORD)
        unknown = token_login("nobody@example.org", DEFAULT_PASSWORD)

    assert known.status_code == unknown.status_code == 429
    assert known.json() == unknown.json()


def test_the_log_in_page_says_the_address_is_locked_and_does_not_log_in(client) -> None:
    make_member(email="ann@example.org")
    for _ in range(FAILURES):
        assert page_login(client, "ann@example.org", WRONG).status_code == 200

    refused = page_login(client, "Ann@Example.org ", DEFAULT_PASSWORD)  # case: one counter

    assert refused.status_code == 429
    assert LOCKED_WORDS in refused.content.decode()
    assert client.get("/today/").status_code == 302  # still logged out


def test_the_admin_log_in_is_locked_too() -> None:
    User.objects.create_superuser(email="root@example.org", password=DEFAULT_PASSWORD)
    browser = Client()
    for _ in range(FAILURES):
        wrong = browser.post(
            "/admin/login/", {"username": "root@example.org", "password": WRONG, "next": "/admin/"}
        )
        assert wrong.status_code == 200

    refused = browser.post(
        "/admin/login/",
        {"username": "root@example.org", "password": DEFAULT_PASSWORD, "next": "/admin/"},
    )

    assert refused.status_code == 200  # the admin's own view; its form shows the error
    assert LOCKED_WORDS in refused.content.decode()
    assert browser.get("/admin/").status_code == 302  # to the admin's log-in: not in


def test_guessing_the_current_password_on_the_api_password_change_locks(api_as) -> None:
    member = make_member(email="ann@example.org")
    api = api_as(member)
    for _ in range(FAILURES):
        wrong = api.post(
            "/api/v1/auth/password/change/",
            {"old_password": WRONG, "new_password": "new-calm-2026-x"},
            format="json",
        )
        assert wrong.status_code == 400

    refused = api.post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "new-calm-2026-x"},
        format="json",
    )

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    member.refresh_from_db()
    assert member.password.startswith("argon2")  # unchanged hash, not the new password
    assert token_login("ann@example.org", DEFAULT_PASSWORD).status_code == 429  # one lock


def test_guesses_on_the_account_page_and_the_log_in_page_share_one_counter(client) -> None:
    member = make_member(email="ann@example.org")
    hash_before = member.password
    member_browser = Client()
    member_browser.force_login(member)
    for _ in range(FAILURES - 1):
        wrong = member_browser.post(
            "/account/password/",
            {
                "old_password": WRONG,
                "new_password1": "n-calm-2026-x",
                "new_password2": "n-calm-2026-x",
            },
        )
        assert wrong.status_code == 400
    assert page_login(client, "ann@example.org", WRONG).status_code == 200  # the third

    on_the_page = member_browser.post(
        "/account/password/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": "n-calm-2026-x",
            "new_password2": "n-calm-2026-x",
        },
    )

    assert on_the_page.status_code == 400
    assert LOCKED_WORDS in on_the_page.content.decode()
    member.refresh_from_db()
    assert member.password == hash_before  # not changed
    assert token_login("ann@example.org", DEFAULT_PASSWORD).status_code == 429


def test_a_right_password_clears_the_count() -> None:
    make_member(email="ann@example.org")
    for _ in range(FAILURES - 1):
        token_login("ann@example.org", WRONG)
    assert token_login("ann@example.org", DEFAULT_PASSWORD).status_code == 200

    for _ in range(FAILURES - 1):
        assert token_login("ann@example.org", WRONG).status_code == 400

    assert token_login("ann@example.org", DEFAULT_PASSWORD).status_code == 200


def test_another_account_from_the_same_address_is_not_locked_only_throttled(settings) -> None:
    make_member(email="ann@example.org")
    make_member(email="bob@example.org")
    for _ in range(FAILURES):
        token_login("ann@example.org", WRONG)
    assert token_login("ann@example.org", DEFAULT_PASSWORD).status_code == 429

    bob = token_login("bob@example.org", DEFAULT_PASSWORD)

    assert bob.status_code == 200
    # The per-address throttle (10 a minute) still counts every attempt from here, and
    # its answer is the throttle's, not the lockout's.
    answers = [token_login("bob@example.org", DEFAULT_PASSWORD) for _ in range(6)]
    assert answers[-1].status_code == 429
    assert LOCKED_WORDS not in answers[-1].json()["detail"]


def test_the_lock_ends_after_lockout_minutes() -> None:
    make_member(email="ann@example.org")
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(FAILURES):
            token_login("ann@example.org", WRONG)
        assert token_login("ann@example.org", DEFAULT_PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=MINUTES) - timedelta(seconds=5)):
        assert token_login("ann@example.org", DEFAULT_PASSWORD).status_code == 429

    with time_machine.travel(start + timedelta(minutes=MINUTES, seconds=1)):
        late = token_login("ann@example.org", DEFAULT_PASSWORD)

    assert late.status_code == 200


def test_a_new_password_from_a_reset_ends_the_lock() -> None:
    member = make_member(email="ann@example.org")
    for _ in range(FAILURES):
        token_login("ann@example.org", WRONG)
    assert token_login("ann@example.org", DEFAULT_PASSWORD).status_code == 429

    password_set(user=member, new_password="new-calm-2026-x")  # what both reset steps call

    assert token_login("ann@example.org", "new-calm-2026-x").status_code == 200
