"""The account page: the name, the password, the data download and erasing the account,
through Django's test client."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.authtoken.models import Token

from apps.accounts.models import User
from apps.accounts.services import token_for
from apps.careteam.models import CareLink
from apps.tracking.models import CheckIn
from tests.factories import DEFAULT_PASSWORD, make_checkin, make_link, make_member, make_therapist

pytestmark = pytest.mark.django_db

PAGE = "/account/"
NEW_PASSWORD = "slow-breaths-at-noon-7"


@pytest.fixture
def member(client):
    member = make_member(email="ann@example.org", timezone="Pacific/Auckland")
    client.force_login(member)
    return member


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", PAGE),
        ("post", "/account/name/"),
        ("post", "/account/password/"),
        ("get", "/account/export/"),
        ("post", "/account/delete/"),
    ],
)
def test_every_account_address_needs_a_login(client, method, path) -> None:
    response = getattr(client, method)(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_page_shows_the_email_and_the_name(client, member) -> None:
    member.display_name = "Ann"
    member.save(update_fields=["display_name"])

    text = page_text(client.get(PAGE))

    assert "ann@example.org" in text
    assert re.search(r'name="display_name"[^>]*value="Ann"', text)
    assert 'href="/account/export/"' in text


def test_changing_the_name_saves_it(client, member) -> None:
    response = client.post("/account/name/", {"display_name": "  Ann Lee "}, follow=True)

    member.refresh_from_db()
    assert member.display_name == "Ann Lee"
    assert "We will call you Ann Lee." in page_text(response)


def test_a_name_too_long_gets_the_apis_message_and_nothing_is_saved(client, member) -> None:
    response = client.post("/account/name/", {"display_name": "A" * 151})

    assert response.status_code == 400
    errors = response.context["name_form"].errors["display_name"]
    assert errors == ["Ensure this field has no more than 150 characters."]
    assert 'id="id_display_name_error"' in response.content.decode()
    member.refresh_from_db()
    assert member.display_name == ""


def test_a_name_post_without_the_name_changes_nothing_else_either(client, member) -> None:
    member.display_name = "Ann"
    member.save(update_fields=["display_name"])

    response = client.post("/account/name/", {"timezone": "Mars/Base"})

    assert response.context["name_form"].errors["display_name"] == ["This field is required."]
    member.refresh_from_db()
    member.profile.refresh_from_db()
    assert (member.display_name, member.profile.timezone) == ("Ann", "Pacific/Auckland")


def test_changing_the_password_keeps_this_browser_and_ends_the_others(client, member) -> None:
    other_browser = client.__class__()
    other_browser.force_login(member)
    old_token = token_for(user=member).key

    response = client.post(
        "/account/password/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
        follow=True,
    )

    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert "Your password is changed" in page_text(response)
    assert client.get(PAGE).status_code == 200  # still logged in here
    assert other_browser.get(PAGE).status_code == 302  # logged out there
    assert not Token.objects.filter(key=old_token).exists()
    # This browser's new session is known, so the next change or an erase ends it too.
    assert member.login_sessions.filter(session_key=client.session.session_key).exists()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"old_password": "wrong-one", "new_password1": NEW_PASSWORD,
          "new_password2": NEW_PASSWORD}, "old_password", "incorrectly"),
        ({"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD,
          "new_password2": NEW_PASSWORD + "x"}, "new_password2", "match"),
        ({"old_password": DEFAULT_PASSWORD, "new_password1": "short",
          "new_password2": "short"}, "new_password2", "too short"),
        ({}, "old_password", "required"),
    ],
)  # fmt: skip
def test_a_refused_password_change_names_the_field_and_changes_nothing(
    client, member, data, field, words
) -> None:
    response = client.post("/account/password/", data)

    assert response.status_code == 400
    assert words in " ".join(response.context["password_form"].errors[field])
    member.refresh_from_db()
    assert member.check_password(DEFAULT_PASSWORD)


def test_the_download_is_every_record_as_a_dated_json_attachment(client, member) -> None:
    make_checkin(member=member, pain=6, note="stiff neck after the drive")
    make_checkin(member=make_member(), note="someone else's")

    # 20:00 UTC on 4 March is already 5 March in Auckland (+13:00)
    with time_machine.travel(datetime(2026, 3, 4, 20, 0, tzinfo=UTC), tick=False):
        response = client.get("/account/export/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == (
        'attachment; filename="stressrelief-export-2026-03-05.json"'
    )
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert data["account"]["email"] == "ann@example.org"
    assert [row["note"] for row in data["checkins"]] == ["stiff neck after the drive"]
    assert data["exported_at"].startswith("2026-03-04T20:00:00")


def test_the_download_takes_only_get(client, member) -> None:
    assert client.post("/account/export/").status_code == 405


@pytest.mark.parametrize(
    ("data", "words"),
    [({"password": "not-my-password"}, "The password is not correct."),
     ({}, "This field is required."),
     ({"password": ""}, "This field may not be blank.")],
)  # fmt: skip
def test_deleting_with_a_wrong_or_missing_password_deletes_nothing(
    client, member, data, words
) -> None:
    make_checkin(member=member)

    response = client.post("/account/delete/", data)

    assert response.status_code == 400
    assert response.context["erase_form"].errors["password"] == [words]
    assert 'id="id_password_error"' in response.content.decode()
    assert User.objects.filter(pk=member.pk).exists()
    assert CheckIn.objects.filter(member=member).exists()
    assert client.get(PAGE).status_code == 200


def test_deleting_with_the_password_erases_everything_and_logs_out(client, member) -> None:
    make_checkin(member=member)
    make_link(member=member, therapist=make_therapist())
    other_browser = client.__class__()
    other_browser.post("/accounts/login/", {"username": member.email, "password": DEFAULT_PASSWORD})

    response = client.post("/account/delete/", {"password": DEFAULT_PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert "Your account and everything it held have been deleted." in page_text(response)
    assert not User.objects.filter(pk=member.pk).exists()
    assert not CheckIn.objects.exists()
    assert not CareLink.objects.filter(member_id=member.pk).exists()
    assert client.get(PAGE).status_code == 302
    assert other_browser.get(PAGE).status_code == 302
    again = client.post(
        "/accounts/login/", {"username": member.email, "password": DEFAULT_PASSWORD}
    )
    assert again.status_code == 200  # the log-in form again: no such account
