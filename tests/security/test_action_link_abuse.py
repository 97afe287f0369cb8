"""Abusing the one-click links in nudge emails (issue 8): every refused link gets a page
with a status and words, and leaves the nudge row exactly as it was (every column).

tests/delivery/test_action_links.py already covers, and this module does not repeat: a
garbage token, one character changed, another signing key, an unsubscribe token used as
an action link, an unknown action, an expired link, a reused link, another member's link
(spliced payload and mis-bound member), a deleted nudge, and an action the nudge refuses.
Here: wrong HTTP methods, a signature moved onto another payload, signed payloads of the
wrong shape, a deactivated account, HEAD, snooze minutes that are not offered, a second
link of the same email after the first acted, and two clicks racing (PostgreSQL).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core import signing
from django.db import connection
from django.test import Client

from apps.accounts.models import User
from apps.delivery import links
from apps.delivery.models import UsedActionLink
from apps.reminders.models import Nudge, NudgeStatus
from apps.tracking.models import Activity
from tests.delivery.test_action_links import SITE, link_path, sent_nudge, unsubscribe_path
from tests.factories import make_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings) -> None:
    settings.SITE_URL = SITE


@pytest.fixture
def member() -> User:
    return make_member()


def row(nudge: Nudge) -> dict[str, Any]:
    """Every column of the nudge as stored."""
    return Nudge.objects.filter(pk=nudge.pk).values().get()


def assert_untouched(nudge: Nudge, before: dict[str, Any], member: User) -> None:
    assert row(nudge) == before
    assert not UsedActionLink.objects.exists()
    assert not Activity.objects.filter(member=member).exists()


def page_text(response) -> str:
    return response.content.decode()


def signed_action(payload: object) -> str:
    """A token signed with the real key and salt around `payload`: only the server can make
    these, so they test what the reader accepts, not the signature."""
    return signing.dumps(payload, salt=links.ACTION_SALT)


@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
def test_a_wrong_http_method_on_an_action_link_is_refused_and_the_link_still_works(
    client: Client, member: User, method: str
) -> None:
    nudge = sent_nudge(member)
    path = link_path(nudge, "done")
    before = row(nudge)

    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert "not allowed" in page_text(response).lower()
    assert_untouched(nudge, before, member)
    # Nothing was used up: the genuine click still acts.
    assert client.post(path).status_code == 200
    assert row(nudge)["status"] == NudgeStatus.DONE


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_a_wrong_http_method_on_an_unsubscribe_link_changes_nothing(
    client: Client, member: User, method: str
) -> None:
    channels = list(member.profile.channels)
    weekly = links.weekly_unsubscribe_url(member_id=member.pk, kind="progress")
    member.profile.weekly_progress_email = True
    member.profile.save(update_fields=["weekly_progress_email"])

    for path in (unsubscribe_path(member), weekly.removeprefix(SITE)):
        response = getattr(client, method)(path)
        assert response.status_code == 405, path
        assert "not allowed" in page_text(response).lower()

    member.profile.refresh_from_db()
    assert member.profile.channels == channels
    assert member.profile.weekly_progress_email is True


def test_a_signature_moved_onto_another_action_is_refused(client: Client, member: User) -> None:
    nudge = sent_nudge(member)
    done = links.action_token(nudge_id=nudge.pk, member_id=member.pk, action="done")
    skip = links.action_token(nudge_id=nudge.pk, member_id=member.pk, action="skip")
    # The "skip" payload with the "done" link's timestamp and signature, and the reverse.
    moved = [
        skip.split(":", 1)[0] + ":" + done.split(":", 1)[1],
        done.split(":", 1)[0] + ":" + skip.split(":", 1)[1],
    ]
    before = row(nudge)

    for token in moved:
        for response in (client.get(f"/n/{token}/"), client.post(f"/n/{token}/")):
            assert response.status_code == 400
            assert "This link is not valid" in page_text(response)
    assert_untouched(nudge, before, member)


WRONG_SHAPES = {
    "a list": lambda nudge: ["done", nudge.pk, nudge.member_id],
    "nudge id as text": lambda nudge: {"a": "done", "n": str(nudge.pk), "m": nudge.member_id},
    "member id as text": lambda nudge: {"a": "done", "n": nudge.pk, "m": str(nudge.member_id)},
    "nudge id true": lambda nudge: {"a": "done", "n": True, "m": nudge.member_id},
    "negative nudge id": lambda nudge: {"a": "done", "n": -nudge.pk, "m": nudge.member_id},
    "no member": lambda nudge: {"a": "done", "n": nudge.pk},
    "action upper case": lambda nudge: {"a": "DONE", "n": nudge.pk, "m": nudge.member_id},
    "action a list": lambda nudge: {"a": ["done"], "n": nudge.pk, "m": nudge.member_id},
}


@pytest.mark.parametrize("shape", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_a_signed_payload_of_the_wrong_shape_is_refused(client: Client, member: User, shape):
    nudge = sent_nudge(member)
    path = f"/n/{signed_action(shape(nudge))}/"
    before = row(nudge)

    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400
        assert "This link is not valid" in page_text(response)
    assert_untouched(nudge, before, member)


def test_a_link_of_a_deactivated_account_no_longer_acts(client: Client, member: User) -> None:
    nudge = sent_nudge(member)
    path = link_path(nudge, "done")
    member.is_active = False
    member.save(update_fields=["is_active"])
    before = row(nudge)

    for response in (client.get(path), client.post(path)):
        assert response.status_code == 410
        assert "This reminder no longer exists" in page_text(response)
    assert_untouched(nudge, before, member)


def test_a_head_request_like_a_mail_scanners_changes_nothing(client: Client, member: User) -> None:
    nudge = sent_nudge(member)
    before = row(nudge)

    response = client.head(link_path(nudge, "skip"))

    assert response.status_code == 200
    assert_untouched(nudge, before, member)


@pytest.mark.parametrize("minutes", ["-10", "0", "abc", "10.5", "1e3", "10 OR 1=1", "99999999"])
def test_snooze_minutes_that_are_not_offered_change_nothing_and_keep_the_link(
    client: Client, member: User, minutes: str
) -> None:
    nudge = sent_nudge(member)
    path = link_path(nudge, "snooze")
    before = row(nudge)

    refused = client.post(path, {"minutes": minutes})

    assert refused.status_code == 400
    assert 'role="alert"' in page_text(refused)
    assert_untouched(nudge, before, member)
    assert client.post(path, {"minutes": "20"}).status_code == 200
    assert row(nudge)["snooze_count"] == 1


def test_a_second_link_of_the_same_email_after_the_first_acted_changes_nothing(
    client: Client, member: User
) -> None:
    nudge = sent_nudge(member)
    assert client.post(link_path(nudge, "done")).status_code == 200
    after_done = row(nudge)

    response = client.post(link_path(nudge, "skip"))

    assert response.status_code == 409
    assert "This reminder cannot be changed" in page_text(response)
    assert row(nudge) == after_done
    assert UsedActionLink.objects.count() == 1  # the refused link stays unused


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_clicks_racing_on_one_link_act_once(member: User) -> None:
    nudge = sent_nudge(member)
    path = link_path(nudge, "snooze")
    start = threading.Barrier(2)
    statuses: list[int] = []

    def click() -> None:
        try:
            start.wait(timeout=30)
            statuses.append(Client().post(path, {"minutes": "10"}).status_code)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200, 410]
    assert row(nudge)["snooze_count"] == 1
    assert UsedActionLink.objects.filter(nudge=nudge).count() == 1
