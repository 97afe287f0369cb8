"""Signed links in nudge emails: a page to confirm on GET, the action on POST, once, for 48
hours, for the member the link was made for; and one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import signing
from django.http import HttpResponse
from django.test import Client

from apps.accounts.models import User
from apps.delivery import links
from apps.delivery.models import UsedActionLink
from apps.reminders.actions import nudge_skip
from apps.reminders.models import Nudge, NudgeKind, NudgeStatus
from apps.tracking.models import Activity, ActivityKind
from tests.factories import make_member

pytestmark = pytest.mark.django_db

SITE = "https://stressrelief.example"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- Fixtures and helpers ------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _site(settings) -> None:
    settings.SITE_URL = SITE


@pytest.fixture
def browser() -> Client:
    """A browser that, like a real one, is held to Django's CSRF checks."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def member() -> User:
    return make_member()


def sent_nudge(member: User, kind: str = NudgeKind.STRETCH) -> Nudge:
    return Nudge.objects.create(
        member=member, kind=kind, due_at=START, status=NudgeStatus.SENT, sent_at=START
    )


def link_path(nudge: Nudge, action: str, *, member_id: int | None = None) -> str:
    """The path of the link the email carries for `action` on `nudge`."""
    url = links.action_url(nudge_id=nudge.pk, member_id=member_id or nudge.member_id, action=action)
    assert url.startswith(f"{SITE}/n/")
    return urlsplit(url).path


def unsubscribe_path(member: User) -> str:
    return urlsplit(links.unsubscribe_url(member_id=member.pk)).path


def confirm(browser: Client, path: str, **fields: object) -> HttpResponse:
    """Open the link, then press the page's button (with the page's CSRF token)."""
    page = browser.get(path)
    assert page.status_code == 200, page.content.decode()
    match = CSRF_INPUT.search(page.content.decode())
    assert match, "the confirmation form has no CSRF token"
    return browser.post(path, {"csrfmiddlewaretoken": match.group(1), **fields})


def reloaded(nudge: Nudge) -> Nudge:
    return Nudge.objects.get(pk=nudge.pk)


def text_of(response: HttpResponse) -> str:
    return response.content.decode()


# --- Acting on a nudge ---------------------------------------------------------------------
def test_opening_a_done_link_shows_a_confirmation_page_and_changes_nothing(
    browser: Client, member: User
) -> None:
    nudge = sent_nudge(member, NudgeKind.MINDFULNESS)
    path = link_path(nudge, "done")

    page = browser.get(path)
    head = browser.head(path)

    assert page.status_code == 200
    assert head.status_code == 200
    assert "Mark this reminder as done?" in text_of(page)
    assert '<form method="post">' in text_of(page)
    assert reloaded(nudge).status == NudgeStatus.SENT
    assert not Activity.objects.filter(member=member).exists()
    assert not UsedActionLink.objects.exists()


def test_confirming_a_done_link_marks_the_nudge_done_and_logs_ten_minutes_of_mindfulness(
    browser: Client, member: User
) -> None:
    nudge = sent_nudge(member, NudgeKind.MINDFULNESS)

    response = confirm(browser, link_path(nudge, "done"))

    assert response.status_code == 200
    assert "Marked as done" in text_of(response)
    assert reloaded(nudge).status == NudgeStatus.DONE
    assert reloaded(nudge).acted_at is not None
    activity = Activity.objects.get(member=member)
    assert (activity.kind, activity.minutes) == (ActivityKind.MINDFULNESS, 10)


def test_confirming_a_snooze_link_snoozes_for_the_minutes_chosen_on_the_page(
    browser: Client, member: User
) -> None:
    nudge = sent_nudge(member)
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        response = confirm(browser, link_path(nudge, "snooze"), minutes="30")

    assert response.status_code == 200
    assert "We will remind you again at" in text_of(response)
    nudge = reloaded(nudge)
    assert nudge.status == NudgeStatus.SNOOZED
    assert nudge.snoozed_until == START + timedelta(minutes=35)
    assert nudge.snooze_count == 1


def test_a_snooze_for_minutes_not_offered_is_refused_on_the_page(
    browser: Client, member: User
) -> None:
    nudge = sent_nudge(member)

    response = confirm(browser, link_path(nudge, "snooze"), minutes="999")

    assert response.status_code == 400
    assert 'role="alert"' in text_of(response)
    assert reloaded(nudge).status == NudgeStatus.SENT
    assert not UsedActionLink.objects.exists()


def test_confirming_a_skip_link_skips_the_nudge_without_logging_anything(
    browser: Client, member: User
) -> None:
    nudge = sent_nudge(member)

    response = confirm(browser, link_path(nudge, "skip"))

    assert response.status_code == 200
    assert reloaded(nudge).status == NudgeStatus.SKIPPED
    assert not Activity.objects.filter(member=member).exists()


def test_a_used_link_gets_a_clear_page_and_acts_no_second_time(
    browser: Client, member: User
) -> None:
    nudge = sent_nudge(member)
    path = link_path(nudge, "snooze")
    page = browser.get(path)
    csrf = CSRF_INPUT.search(text_of(page)).group(1)  # type: ignore[union-attr]
    assert browser.post(path, {"csrfmiddlewaretoken": csrf}).status_code == 200

    again_get = browser.get(path)
    again_post = browser.post(path, {"csrfmiddlewaretoken": csrf})

    for response in (again_get, again_post):
        assert response.status_code == 410
        assert "This link was already used" in text_of(response)
    assert reloaded(nudge).snooze_count == 1


def test_a_link_still_works_47_hours_after_it_was_sent(browser: Client, member: User) -> None:
    nudge = sent_nudge(member)
    with time_machine.travel(START, tick=False):
        path = link_path(nudge, "done")

    with time_machine.travel(START + timedelta(hours=47), tick=False):
        response = confirm(browser, path)

    assert response.status_code == 200
    assert reloaded(nudge).status == NudgeStatus.DONE


def test_a_link_older_than_48_hours_has_expired_and_changes_nothing(
    browser: Client, member: User
) -> None:
    nudge = sent_nudge(member)
    with time_machine.travel(START, tick=False):
        path = link_path(nudge, "done")
        csrf = CSRF_INPUT.search(text_of(browser.get(path))).group(1)  # type: ignore[union-attr]

    with time_machine.travel(START + timedelta(hours=49), tick=False):
        page = browser.get(path)
        post = browser.post(path, {"csrfmiddlewaretoken": csrf})

    for response in (page, post):
        assert response.status_code == 410
        assert "This link has expired" in text_of(response)
        assert "48 hours" in text_of(response)
    assert reloaded(nudge).status == NudgeStatus.SENT
    assert not Activity.objects.filter(member=member).exists()


def tampered(token: str) -> str:
    """The token with one character of its signed payload changed."""
    index = 2
    swapped = "A" if token[index] != "A" else "B"
    return token[:index] + swapped + token[index + 1 :]


FORGERIES = {
    "garbage": lambda nudge: "not-a-token",
    "one character changed": lambda nudge: tampered(
        links.action_token(nudge_id=nudge.pk, member_id=nudge.member_id, action="done")
    ),
    "signed with another key": lambda nudge: signing.dumps(
        {"a": "done", "n": nudge.pk, "m": nudge.member_id},
        key="an attacker's key " * 4,
        salt=links.ACTION_SALT,
    ),
    "an unsubscribe token": lambda nudge: links.unsubscribe_token(member_id=nudge.member_id),
    "an action it does not know": lambda nudge: signing.dumps(
        {"a": "delete", "n": nudge.pk, "m": nudge.member_id}, salt=links.ACTION_SALT
    ),
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_or_tampered_link_gets_a_clear_page_and_changes_nothing(
    client: Client, member: User, forgery
) -> None:
    nudge = sent_nudge(member)
    path = f"/n/{forgery(nudge)}/"

    page = client.get(path)
    post = client.post(path)

    for response in (page, post):
        assert response.status_code == 400
        assert "This link is not valid" in text_of(response)
    assert reloaded(nudge).status == NudgeStatus.SENT
    assert not UsedActionLink.objects.exists()


def test_another_members_link_cannot_act_on_my_nudge(client: Client, member: User) -> None:
    mine = sent_nudge(member)
    someone_else = make_member()
    theirs = sent_nudge(someone_else)
    # Their genuine link, with my nudge's id written into its payload.
    their_token = links.action_token(nudge_id=theirs.pk, member_id=someone_else.pk, action="skip")
    _, rest = their_token.split(":", 1)
    spliced_payload = signing.b64_encode(
        signing.JSONSerializer().dumps({"a": "skip", "n": mine.pk, "m": someone_else.pk})
    ).decode()
    spliced = f"{spliced_payload}:{rest}"
    # A correctly signed link naming my nudge but another member: refused all the same.
    misbound = link_path(mine, "skip", member_id=someone_else.pk)

    for path in (f"/n/{spliced}/", misbound):
        assert client.get(path).status_code == 400
        response = client.post(path)
        assert response.status_code == 400
        assert "This link is not valid" in text_of(response)
    assert reloaded(mine).status == NudgeStatus.SENT
    assert reloaded(theirs).status == NudgeStatus.SENT


def test_the_push_service_worker_can_act_with_a_bare_post_to_the_signed_link(
    browser: Client, member: User
) -> None:
    # No CSRF token: the signed single-use token in the URL is the credential.
    nudge = sent_nudge(member)

    response = browser.post(link_path(nudge, "done"))

    assert response.status_code == 200
    assert reloaded(nudge).status == NudgeStatus.DONE


def test_a_link_to_a_nudge_that_was_deleted_says_it_no_longer_exists(
    client: Client, member: User
) -> None:
    nudge = sent_nudge(member)
    path = link_path(nudge, "done")
    nudge.delete()

    response = client.get(path)

    assert response.status_code == 410
    assert "This reminder no longer exists" in text_of(response)


def test_an_action_the_nudge_refuses_is_explained_and_leaves_the_link_unused(
    browser: Client, member: User
) -> None:
    nudge = sent_nudge(member)
    path = link_path(nudge, "done")
    page = browser.get(path)
    nudge_skip(nudge=nudge)  # skipped in the app meanwhile

    response = browser.post(
        path,
        {"csrfmiddlewaretoken": CSRF_INPUT.search(text_of(page)).group(1)},  # type: ignore[union-attr]
    )

    assert response.status_code == 409
    assert "skipped already" in text_of(response)
    assert reloaded(nudge).status == NudgeStatus.SKIPPED
    assert not UsedActionLink.objects.exists()


def test_the_confirmation_pages_are_plain_accessible_html(browser: Client, member: User) -> None:
    nudge = sent_nudge(member)

    page = text_of(browser.get(link_path(nudge, "snooze")))

    assert '<html lang="en">' in page
    assert '<label for="id_minutes">Remind me again in</label>' in page
    assert '<select name="minutes" id="id_minutes">' in page
    # No external assets: nothing loaded from another origin, no scripts at all.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page


# --- Unsubscribe ---------------------------------------------------------------------------
def test_opening_the_unsubscribe_link_shows_a_confirm_page_and_changes_nothing(
    client: Client, member: User
) -> None:
    page = client.get(unsubscribe_path(member))

    assert page.status_code == 200
    assert "Stop reminder emails?" in text_of(page)
    assert member.email in text_of(page)
    member.profile.refresh_from_db()
    assert "email" in member.profile.channels


def test_a_one_click_unsubscribe_post_removes_email_from_the_profile_and_every_schedule(
    browser: Client, member: User
) -> None:
    # given a member emailed by their profile and by one schedule of their own
    schedule = member.schedules.first()
    schedule.channels = ["email", "push"]
    schedule.save(update_fields=["channels"])

    # when their mail provider POSTs the RFC 8058 body, with no cookie and no CSRF token
    response = browser.post(
        unsubscribe_path(member),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    # then no channel of theirs sends email any more
    assert response.status_code == 200
    assert "Reminder emails stopped" in text_of(response)
    member.profile.refresh_from_db()
    assert member.profile.channels == ["in_app"]
    schedule.refresh_from_db()
    assert schedule.channels == ["push"]
    assert not any("email" in channels for channels in member.schedules.values_list("channels"))


def test_unsubscribing_twice_is_harmless(client: Client, member: User) -> None:
    path = unsubscribe_path(member)

    first = client.post(path, {"List-Unsubscribe": "One-Click"})
    second = client.post(path, {"List-Unsubscribe": "One-Click"})

    assert (first.status_code, second.status_code) == (200, 200)
    member.profile.refresh_from_db()
    assert member.profile.channels == ["in_app"]


def test_a_member_emailed_only_keeps_in_app_reminders_after_unsubscribing(
    client: Client, member: User
) -> None:
    member.profile.channels = ["email"]
    member.profile.save(update_fields=["channels"])

    client.post(unsubscribe_path(member), {"List-Unsubscribe": "One-Click"})

    member.profile.refresh_from_db()
    assert member.profile.channels == ["in_app"]


def test_a_tampered_unsubscribe_link_changes_nothing(client: Client, member: User) -> None:
    path = f"/n/unsubscribe/{tampered(links.unsubscribe_token(member_id=member.pk))}/"

    response = client.post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 400
    member.profile.refresh_from_db()
    assert "email" in member.profile.channels


def test_an_action_link_does_not_unsubscribe(client: Client, member: User) -> None:
    nudge = sent_nudge(member)
    action_token = links.action_token(nudge_id=nudge.pk, member_id=member.pk, action="done")

    response = client.post(f"/n/unsubscribe/{action_token}/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 400
    member.profile.refresh_from_db()
    assert "email" in member.profile.channels
