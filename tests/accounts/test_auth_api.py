"""Registration, tokens, password change and reset through the API."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from apps.accounts.models import User
from tests.factories import DEFAULT_PASSWORD, make_member

pytestmark = pytest.mark.django_db


def test_registration_creates_a_member_with_a_profile_in_their_time_zone() -> None:
    response = APIClient().post(
        "/api/v1/auth/register/",
        {
            "email": "Ana@Example.org",
            "password": "slow-breaths-at-noon",
            "timezone": "Europe/Lisbon",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "ana@example.org"
    assert User.objects.get(email="ana@example.org").profile.timezone == "Europe/Lisbon"
    assert "password" not in response.json()


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"email": "x@example.org", "password": "123"}, "password", "too short"),
        ({"email": "x@example.org", "password": "password123"}, "password", "too common"),
        ({"email": "not-an-email", "password": "slow-breaths-at-noon"}, "email", "valid email"),
        (
            {"email": "x@example.org", "password": "slow-breaths-at-noon", "timezone": "Mars/Base"},
            "timezone",
            "not a known IANA time zone",
        ),
    ],
    ids=["short-password", "common-password", "bad-email", "unknown-zone"],
)
def test_invalid_registration_names_the_field_and_stores_nothing(
    body: dict, field: str, fragment: str
) -> None:
    response = APIClient().post("/api/v1/auth/register/", body, format="json")

    assert response.status_code == 400
    assert fragment in " ".join(response.json()[field])
    assert not User.objects.exists()


def test_an_email_registers_once_whatever_its_case() -> None:
    make_member(email="sam@example.org")

    response = APIClient().post(
        "/api/v1/auth/register/",
        {"email": "SAM@example.org", "password": "slow-breaths-at-noon"},
        format="json",
    )

    assert response.status_code == 400
    assert "email" in response.json()


def test_a_token_authenticates_the_member() -> None:
    make_member(email="kim@example.org")
    client = APIClient()

    token = client.post(
        "/api/v1/auth/token/", {"email": "kim@example.org", "password": DEFAULT_PASSWORD}
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.get("/api/v1/me/").json()["email"] == "kim@example.org"


def test_a_wrong_password_gets_no_token_and_does_not_say_which_part_was_wrong() -> None:
    make_member(email="kim@example.org")

    wrong_password = APIClient().post(
        "/api/v1/auth/token/", {"email": "kim@example.org", "password": "nope"}
    )
    unknown_email = APIClient().post(
        "/api/v1/auth/token/", {"email": "nobody@example.org", "password": "nope"}
    )

    assert wrong_password.status_code == unknown_email.status_code == 400
    assert wrong_password.json() == unknown_email.json()


def test_repeated_token_attempts_are_throttled() -> None:
    client = APIClient()
    statuses = [
        client.post("/api/v1/auth/token/", {"email": "a@example.org", "password": "x"}).status_code
        for _ in range(11)
    ]

    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429


def test_registration_is_throttled() -> None:
    client = APIClient()
    statuses = [
        client.post(
            "/api/v1/auth/register/", {"email": f"r{i}@example.org", "password": "x"}
        ).status_code
        for i in range(11)
    ]

    assert statuses[10] == 429


def test_password_change_needs_the_current_password(api_as) -> None:
    member = make_member()
    client = api_as(member)

    refused = client.post(
        "/api/v1/auth/password/change/",
        {"old_password": "wrong", "new_password": "a-new-calm-password"},
    )
    changed = client.post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "a-new-calm-password"},
    )

    assert refused.status_code == 400
    assert "old_password" in refused.json()
    assert changed.status_code == 200
    member.refresh_from_db()
    assert member.check_password("a-new-calm-password")


def test_changing_the_password_ends_the_old_api_token(api_as) -> None:
    member = make_member()
    old = api_as(member)

    changed = old.post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "a-new-calm-password"},
    )

    assert old.get("/api/v1/me/").status_code == 401
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Token {changed.json()['token']}")
    assert fresh.get("/api/v1/me/").status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_throttle() -> None:
    client = APIClient()
    statuses = [
        client.post(
            "/api/v1/auth/token/",
            {"email": "a@example.org", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        ).status_code
        for attempt in range(12)
    ]

    assert statuses[10:] == [429, 429]


def test_two_registrations_racing_for_one_email_give_a_400_not_a_500() -> None:
    from apps.accounts.services import member_create

    make_member(email="race@example.org")
    # the serializer's check passed for both; the database decides
    with pytest.raises(ValidationError) as error:
        member_create(email="race@example.org", password="slow-breaths-at-noon")

    assert "email" in error.value.message_dict


def test_password_reset_by_email_link_sets_a_new_password() -> None:
    member = make_member(email="lee@example.org")
    client = APIClient()

    # when the member asks for a reset and follows the emailed link's uid and token
    assert (
        client.post("/api/v1/auth/password/reset/", {"email": "lee@example.org"}).status_code == 202
    )
    assert len(mail.outbox) == 1
    link = re.search(r"/accounts/reset/(?P<uid>[^/]+)/(?P<token>[^/]+)/", mail.outbox[0].body)
    assert link is not None
    confirmed = client.post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": link["uid"], "token": link["token"], "new_password": "fresh-start-in-spring"},
    )

    # then the new password works, old tokens are gone, and the link cannot be used again
    assert confirmed.status_code == 204
    member.refresh_from_db()
    assert member.check_password("fresh-start-in-spring")
    reused = client.post(
        "/api/v1/auth/password/reset/confirm/",
        {"uid": link["uid"], "token": link["token"], "new_password": "another-one-entirely"},
    )
    assert reused.status_code == 400
    assert "token" in reused.json()


def test_password_reset_for_an_unknown_email_answers_the_same_and_sends_nothing() -> None:
    response = APIClient().post("/api/v1/auth/password/reset/", {"email": "ghost@example.org"})

    assert response.status_code == 202
    assert mail.outbox == []
