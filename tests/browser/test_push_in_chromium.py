"""Web Push on the Notifications page in a real browser: the service worker is served from
the root and registers, "Turn on notifications" either subscribes or says plainly why it
could not (headless Chromium here has no network to reach a push service), and the page's
script registers a subscription with the API and removes it again."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from apps.delivery.content import compose
from apps.delivery.models import PushSubscription
from apps.delivery.webpush import push_payload, push_topic, vapid_key_pair
from apps.reminders.models import Nudge
from tests.browser.conftest import accessibility_problems, screenshot
from tests.browser.test_care_team_and_account_in_chromium import (
    csp_violations,
    fits_a_phone,
    log_in,
    submit_and_wait,
)
from tests.factories import make_member, make_nudge

pytestmark = pytest.mark.django_db(transaction=True)

SETTLED = (
    "Notifications are on for this device.",
    "Your browser could not reach its push service",
)


def unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def fake_subscription() -> dict[str, object]:
    """What PushSubscription.toJSON() gives, with real key material (the API checks that
    p256dh is a point on P-256) and an endpoint at a known push service."""
    browser_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = browser_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {
        "endpoint": f"https://fcm.googleapis.com/fcm/send/{secrets.token_urlsafe(24)}",
        "expirationTime": None,
        "keys": {"p256dh": unpadded(point), "auth": unpadded(secrets.token_bytes(16))},
    }


def run_async(browser, script: str, *arguments: object) -> object:
    """Run `script` (which ends by calling done(value)) in the page; returns the value."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];" + script, *arguments
    )


@pytest.fixture
def vapid(settings) -> str:
    public_key, private_key = vapid_key_pair()
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = public_key, private_key
    return public_key


def test_push_turns_on_or_says_why_and_the_page_registers_subscriptions(
    live_server, browser, vapid
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    member = make_member()
    now = timezone.now()
    water = make_nudge(member=member, due_at=now - timedelta(minutes=5), kind="hydration")
    make_nudge(member=member, due_at=now - timedelta(hours=3), kind="stretch", status="done")
    browser.set_script_timeout(20)
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": live_server.url, "permissions": ["notifications"]}
    )
    log_in(browser, live_server, email=member.email, next_path="/notifications/")
    status = browser.find_element(By.ID, "push-status")

    # given: the service worker registered from the root, for the whole site
    WebDriverWait(browser, 15).until(
        lambda b: status.text == "Notifications are off for this device."
    )
    worker = run_async(
        browser,
        "navigator.serviceWorker.ready.then(r => done([r.scope, r.active.scriptURL]));",
    )
    assert worker == [f"{live_server.url}/", f"{live_server.url}/sw.js"]
    assert (
        browser.find_element(By.CSS_SELECTOR, ".push-controls").get_attribute(
            "data-vapid-public-key"
        )
        == vapid
    )

    # and: push added to the member's channels from the page
    submit_and_wait(
        browser, browser.find_element(By.XPATH, "//button[.='Send my reminders by push too']")
    )
    member.profile.refresh_from_db()
    assert "push" in member.profile.channels

    # when: "Turn on notifications on this device" (with no network, Chromium's subscribe()
    # never settles: the page gives up after data-subscribe-timeout, shortened here)
    browser.execute_script(
        "document.querySelector('[data-push]').setAttribute('data-subscribe-timeout', '3000')"
    )
    browser.find_element(By.ID, "push-on").click()
    status = browser.find_element(By.ID, "push-status")
    WebDriverWait(browser, 30).until(lambda b: status.text.startswith(SETTLED))

    # then: subscribed and registered, or a plain sentence saying the push service was
    # out of reach (no network here), with the button still offered
    if status.text.startswith(SETTLED[0]):
        assert PushSubscription.objects.filter(member=member).exists()
        assert browser.find_element(By.ID, "push-off").is_displayed()
    else:
        assert "email and the list below still work" in status.text
        assert browser.find_element(By.ID, "push-on").is_displayed()
        assert not browser.find_element(By.ID, "push-off").is_displayed()
    assert status.get_attribute("role") == "status"

    assert accessibility_problems(browser) == []
    assert csp_violations(browser) == []
    assert fits_a_phone(browser), "the notifications page scrolls sideways on a phone"
    screenshot(browser, "notifications")

    # when: the page's own code registers a well-formed subscription, then removes it
    subscription = fake_subscription()
    saved = run_async(
        browser,
        "window.stressreliefPush.save(arguments[0]).then(r => done(r), e => done('' + e));",
        subscription,
    )
    assert saved["endpoint"] == subscription["endpoint"], saved
    row = PushSubscription.objects.get(endpoint=subscription["endpoint"])
    assert (row.member_id, row.p256dh, row.auth) == (
        member.pk,
        subscription["keys"]["p256dh"],
        subscription["keys"]["auth"],
    )
    removed = run_async(
        browser,
        "window.stressreliefPush.remove(arguments[0]).then(() => done('ok'), e => done('' + e));",
        subscription["endpoint"],
    )
    assert removed == "ok"
    assert not PushSubscription.objects.filter(endpoint=subscription["endpoint"]).exists()

    # when: "Done" on the water reminder in the inbox (the Today page's action)
    submit_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".inbox button[type=submit]"))

    # then: done, a glass logged, and the Today page says so
    assert browser.current_url == f"{live_server.url}/today/"
    assert "glass of water" in browser.find_element(By.CSS_SELECTOR, ".messages").text
    assert Nudge.objects.get(pk=water.pk).status == "done"


def test_a_subscription_the_api_refuses_is_explained(live_server, browser, vapid) -> None:
    member = make_member()
    log_in(browser, live_server, email=member.email, next_path="/notifications/")

    refused = run_async(
        browser,
        "window.stressreliefPush.save(arguments[0]).then(() => done('saved'),"
        " e => done(e.name + ': ' + e.message));",
        {"endpoint": "https://evil.example/collect", "keys": {"p256dh": "x", "auth": "y"}},
    )

    assert refused.startswith("SaveError: endpoint: This is not a known browser push service")
    assert "p256dh" in refused
    assert not PushSubscription.objects.exists()


def test_without_a_vapid_key_the_page_says_push_is_unavailable(
    live_server, browser, settings
) -> None:
    from selenium.webdriver.common.by import By

    settings.VAPID_PUBLIC_KEY = ""
    member = make_member()
    log_in(browser, live_server, email=member.email, next_path="/notifications/")

    assert "not available yet" in browser.find_element(By.ID, "push-status").text
    assert not browser.find_elements(By.ID, "push-on")
    assert accessibility_problems(browser) == []
    assert csp_violations(browser) == []


def test_a_pushed_nudge_shows_done_and_snooze_whose_links_act_without_a_session(
    live_server, browser, vapid, settings
) -> None:
    """The service worker's `push` handler with the payload the server really sends; then
    the Done link POSTed as the worker does it: no cookies, no CSRF token."""
    import json

    from selenium.webdriver.support.ui import WebDriverWait

    settings.SITE_URL = live_server.url
    member = make_member()
    nudge = make_nudge(member=member, due_at=timezone.now(), kind="stretch")
    message = compose([nudge])
    payload = push_payload(message, topic=push_topic(message), member_id=member.pk)
    browser.set_script_timeout(20)
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": live_server.url, "permissions": ["notifications"]}
    )
    log_in(browser, live_server, email=member.email, next_path="/notifications/")
    run_async(browser, "navigator.serviceWorker.ready.then(() => done(true));")

    # when: the push service delivers the message to the worker. DevTools stands in for
    # it; it answers before the worker has the message, and drops a message sent before
    # it knows the registration, so deliver (again: the tag makes it replace, not stack)
    # until the notification is there. A fresh profile numbers registrations from 0.
    browser.execute_cdp_cmd("ServiceWorker.enable", {})

    def notifications_after_a_push(browser) -> list[dict[str, object]]:
        for registration_id in ("0", "1"):
            browser.execute_cdp_cmd(
                "ServiceWorker.deliverPushMessage",
                {"origin": live_server.url, "registrationId": registration_id, "data": payload},
            )
        return run_async(
            browser,
            "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(list =>"
            " done(list.map(n => ({title: n.title, body: n.body, tag: n.tag,"
            " actions: n.actions.map(a => a.title), data: n.data}))));",
        )

    shown = WebDriverWait(browser, 15, poll_frequency=0.5).until(notifications_after_a_push)

    # then: one notification with the message's words and the two buttons
    sent = json.loads(payload)
    assert len(shown) == 1
    assert (shown[0]["title"], shown[0]["body"], shown[0]["tag"]) == (
        sent["title"],
        sent["body"],
        sent["tag"],
    )
    assert shown[0]["actions"] == ["Done", "Snooze 10 min"]
    done_links = shown[0]["data"]["actionUrls"]["done"]
    assert done_links == sent["action_urls"]["done"]

    # when: "Done" is POSTed the way sw.js does it
    status = run_async(
        browser,
        "fetch(arguments[0], {method: 'POST', credentials: 'omit'}).then(r => done(r.status));",
        done_links[0],
    )

    assert status == 200
    assert Nudge.objects.get(pk=nudge.pk).status == "done"
    assert csp_violations(browser) == []
