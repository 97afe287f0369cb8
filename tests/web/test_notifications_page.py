"""The notifications page (push on this device, push among the channels, the in-app inbox)
and the service worker served from the site root, through Django's test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.core.middleware import CONTENT_SECURITY_POLICY
from apps.delivery.webpush import vapid_key_pair
from tests.factories import make_member, make_nudge

pytestmark = pytest.mark.django_db

PAGE = "/notifications/"
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def member(client):
    member = make_member(timezone="America/New_York")
    client.force_login(member)
    return member


@pytest.fixture
def vapid(settings) -> str:
    public_key, private_key = vapid_key_pair()
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = public_key, private_key
    return public_key


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.parametrize(
    ("method", "path"), [("get", PAGE), ("post", "/notifications/push-channel/")]
)
def test_the_notifications_page_needs_a_login(client, method, path) -> None:
    response = getattr(client, method)(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_service_worker_is_served_from_the_root_to_anyone_without_caching(client) -> None:
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "no-cache"
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    script = response.content.decode()
    assert 'addEventListener("push"' in script
    assert 'addEventListener("notificationclick"' in script
    assert 'credentials: "omit"' in script
    assert client.post("/sw.js").status_code == 405


def test_without_a_vapid_key_the_page_says_push_is_unavailable(client, member, settings):
    settings.VAPID_PUBLIC_KEY = ""

    response = client.get(PAGE)

    text = page_text(response)
    assert response.status_code == 200
    assert "Push notifications are not available yet" in text
    assert "data-push" not in text
    assert "Turn on notifications" not in text
    assert "Send my reminders by push too" not in text  # it would stay quiet


def test_with_a_vapid_key_the_page_carries_it_for_the_script(client, member, vapid) -> None:
    text = page_text(client.get(PAGE))

    assert f'data-vapid-public-key="{vapid}"' in text
    assert 'data-subscriptions-url="/api/v1/push-subscriptions/"' in text
    assert re.search(r'data-csrf-token="[A-Za-z0-9]{32,}"', text)
    assert "/static/web/push.js" in text
    assert "Turn on notifications on this device" in text
    assert "needs JavaScript" in text  # what a browser without scripts keeps saying


def test_push_missing_from_the_channels_is_offered_and_added(client, member, vapid) -> None:
    assert "push" not in member.profile.channels

    before = page_text(client.get(PAGE))
    response = client.post("/notifications/push-channel/", follow=True)

    assert "Push is not among the ways your reminders reach you yet" in before
    assert 'href="/reminders/"' in before
    member.profile.refresh_from_db()
    assert member.profile.channels == ["email", "in_app", "push"]
    text = page_text(response)
    assert "Push is now one of the ways your reminders reach you" in text
    assert "Push is one of the ways your reminders reach you." in text


def test_adding_push_twice_keeps_one(client, member) -> None:
    client.post("/notifications/push-channel/")
    client.post("/notifications/push-channel/", {"channels": "fax"})

    member.profile.refresh_from_db()
    assert member.profile.channels.count("push") == 1
    assert "fax" not in member.profile.channels


def test_the_inbox_lists_the_members_recent_nudges_newest_first_in_their_zone(client, member):
    # 16:30 UTC is 11:30 in New York (EST, before the March change)
    make_nudge(member=member, due_at=datetime(2026, 3, 4, 16, 30, tzinfo=UTC), kind="hydration")
    make_nudge(member=member, due_at=datetime(2026, 3, 3, 14, 0, tzinfo=UTC), kind="stretch")
    make_nudge(member=member, due_at=NOW - timedelta(days=8), kind="warmup")  # too old
    make_nudge(member=member, due_at=NOW - timedelta(hours=1), kind="movement", status="suppressed")
    make_nudge(member=make_member(), due_at=NOW, kind="mindfulness")  # someone else's

    with time_machine.travel(NOW + timedelta(hours=5), tick=False):
        response = client.get(PAGE)

    text = page_text(response)
    water, stretch = text.index("A glass of water"), text.index("<strong>Stretch</strong>")
    assert water < stretch
    assert "Wed 4 Mar, 11:30" in text
    assert "Warm up" not in text
    assert "Get up and walk" not in text
    assert "10 minutes of mindfulness" not in text
    assert "America/New_York" in text


def test_each_open_nudge_has_done_snooze_and_skip_forms_for_the_today_page(client, member):
    sent = make_nudge(member=member, due_at=NOW, status="sent")
    done = make_nudge(member=member, due_at=NOW - timedelta(hours=1), status="done")
    tired = make_nudge(member=member, due_at=NOW - timedelta(hours=2), status="snoozed")
    tired.snooze_count = 3
    tired.save(update_fields=["snooze_count"])

    with time_machine.travel(NOW, tick=False):
        text = page_text(client.get(PAGE))

    for action in ("done", "snooze", "skip"):
        assert f'action="/today/nudges/{sent.pk}/{action}/"' in text
        assert f'action="/today/nudges/{done.pk}/{action}/"' not in text
    assert f'action="/today/nudges/{tired.pk}/done/"' in text
    assert f'action="/today/nudges/{tired.pk}/snooze/"' not in text
    assert text.count('name="csrfmiddlewaretoken"') >= 5


def test_done_from_the_inbox_marks_the_nudge_done_and_logs_the_habit(client, member) -> None:
    nudge = make_nudge(member=member, due_at=timezone.now(), kind="hydration")
    page = page_text(client.get(PAGE))
    action = re.search(rf'action="(/today/nudges/{nudge.pk}/done/)"', page).group(1)

    response = client.post(action, follow=True)

    nudge.refresh_from_db()
    assert nudge.status == "done"
    assert member.activities.filter(kind="hydration").count() == 1
    assert "glass of water" in page_text(response)
    assert f"/today/nudges/{nudge.pk}/done/" not in page_text(client.get(PAGE))


def test_the_inbox_holds_the_fifty_newest(client, member) -> None:
    for minutes in range(55):
        make_nudge(member=member, due_at=NOW - timedelta(minutes=minutes))

    with time_machine.travel(NOW, tick=False):
        response = client.get(PAGE)

    assert len(response.context["inbox"]) == 50
    assert response.context["inbox"][0]["nudge"].due_at == NOW


def test_an_empty_inbox_says_so(client, member) -> None:
    assert "No reminders in the last 7 days" in page_text(client.get(PAGE))


def test_the_page_only_reads(client, member) -> None:
    assert client.post(PAGE).status_code == 405
