"""Web Push end to end: pywebpush talks to a local push service that decrypts what it gets
with keys only the test (the browser) holds, so each test reads what a browser would show."""

from __future__ import annotations

import base64
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from apps.accounts.models import User
from apps.delivery.content import Message, compose
from apps.delivery.models import PushSubscription
from apps.delivery.transports import TRANSPORTS, SendResult
from apps.delivery.webpush import (
    PAYLOAD_LIMIT_BYTES,
    push_subscription_save,
    push_topic,
    retry_after_seconds,
)
from apps.reminders.models import Nudge, NudgeKind
from tests.delivery.push_receiver import (
    BrowserSubscription,
    PushReceiver,
    b64url_decode,
    running_push_receiver,
    verified_vapid,
)
from tests.factories import make_member

pytestmark = pytest.mark.django_db

SITE = "https://stressrelief.example"
API = "/api/v1/push-subscriptions/"
TOPIC_ALPHABET = re.compile(r"[A-Za-z0-9_-]{1,32}")
# A real browser key, as Chrome sends it (url-safe base64, no padding).
P256DH = "BLtpb9cA11Y5KbPNsL8UJ18eLyviwlsdunyL2Yu2TBdIdGyajrPWj_bUGmUMFc6lCB9cq1b3b_TUZP6Boz2KDN0"


# --- Fixtures and helpers ------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    with running_push_receiver() as receiver:
        yield receiver


def generated_keys() -> dict[str, str]:
    """The lines `manage.py generate_vapid_keys` prints, as a dict."""
    output = StringIO()
    call_command("generate_vapid_keys", stdout=output)
    return dict(line.split("=", 1) for line in output.getvalue().splitlines())


@pytest.fixture
def vapid(settings) -> dict[str, str]:
    """Web Push configured with a pair from the operator command."""
    keys = generated_keys()
    settings.VAPID_PUBLIC_KEY = keys["VAPID_PUBLIC_KEY"]
    settings.VAPID_PRIVATE_KEY = keys["VAPID_PRIVATE_KEY"]
    settings.VAPID_SUBJECT = "mailto:operator@stressrelief.example"
    settings.SITE_URL = SITE
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True  # the receiver is plain http on loopback
    return keys


def subscribed(member: User, browser: BrowserSubscription) -> PushSubscription:
    return push_subscription_save(
        member=member, endpoint=browser.endpoint, p256dh=browser.p256dh, auth=browser.auth
    )


def nudge_message(*nudges: tuple[int, str]) -> Message:
    """The message the dispatcher composes for these (id, kind) nudges."""
    return compose([Nudge(pk=nudge_id, kind=kind) for nudge_id, kind in nudges])


HYDRATION = nudge_message((41, NudgeKind.HYDRATION))


def push(member: User, message: Message = HYDRATION) -> SendResult:
    return TRANSPORTS["push"].send(member=member, message=message)


def unused_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- The transport, through the local push service ----------------------------------------
def test_a_nudge_arrives_decrypted_with_its_text_actions_and_links(
    vapid: dict[str, str], receiver: PushReceiver
) -> None:
    # given
    member = make_member()
    subscribed(member, receiver.subscribe())

    # when
    result = push(member)

    # then
    assert result == SendResult.sent()
    [delivery] = receiver.delivered
    shown = delivery.payload
    assert (shown["title"], shown["body"]) == (HYDRATION.title, HYDRATION.body)
    assert shown["nudge_ids"] == [41]
    assert shown["actions"] == [
        {"action": "done", "title": "Done"},
        {"action": "snooze", "title": "Snooze 10 min"},
    ]
    assert signed_actions(shown["action_urls"]) == {
        "done": [{"a": "done", "n": 41}],
        "snooze": [{"a": "snooze", "n": 41}],
    }
    assert delivery.vapid_key == vapid["VAPID_PUBLIC_KEY"]
    assert delivery.vapid_claims["sub"] == "mailto:operator@stressrelief.example"


def test_a_push_carries_a_ttl_an_urgency_and_a_topic(
    vapid: dict[str, str], receiver: PushReceiver
) -> None:
    member = make_member()
    subscribed(member, receiver.subscribe())

    push(member)

    [delivery] = receiver.delivered
    assert int(delivery.headers["ttl"]) > 0
    assert delivery.headers["urgency"] == "normal"
    assert TOPIC_ALPHABET.fullmatch(delivery.headers["topic"])


def test_a_redelivery_has_the_same_topic_so_it_replaces_the_first_message(
    vapid: dict[str, str], receiver: PushReceiver
) -> None:
    member = make_member()
    subscribed(member, receiver.subscribe())
    other = nudge_message((42, NudgeKind.STRETCH))

    push(member)
    push(member)
    push(member, other)

    first, again, different = (delivery.headers["topic"] for delivery in receiver.delivered)
    assert first == again
    assert different != first


def test_the_topic_does_not_depend_on_the_order_of_a_bundles_nudges() -> None:
    bundle = nudge_message((7, NudgeKind.HYDRATION), (9, NudgeKind.MOVEMENT))
    reordered = nudge_message((9, NudgeKind.MOVEMENT), (7, NudgeKind.HYDRATION))

    assert push_topic(bundle) == push_topic(reordered)
    assert TOPIC_ALPHABET.fullmatch(push_topic(bundle))


def test_a_long_bundled_message_is_shortened_to_a_payload_under_3_kb(
    vapid: dict[str, str], receiver: PushReceiver
) -> None:
    member = make_member()
    subscribed(member, receiver.subscribe())
    ids = tuple(range(1000, 1012))
    long_message = Message(
        nudge_ids=ids, title="Water and a stretch", body="Détendez vos épaules. " * 400, lines=()
    )

    result = push(member, long_message)

    assert result.outcome == "sent"
    [delivery] = receiver.delivered
    assert len(delivery.payload_bytes) < PAYLOAD_LIMIT_BYTES
    shown = delivery.payload
    assert shown["title"] == "Water and a stretch"
    assert shown["body"].startswith("Détendez vos épaules.")
    assert shown["body"].endswith("…")
    assert shown["nudge_ids"] == list(ids)
    assert [action["action"] for action in shown["actions"]] == ["done", "snooze"]


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_disabled_and_the_next_send_skips_it(
    vapid: dict[str, str], receiver: PushReceiver, status: int
) -> None:
    # given
    member = make_member()
    subscription = subscribed(member, receiver.subscribe())
    receiver.answer_next(status)

    # when
    first = push(member)
    second = push(member)

    # then
    assert first.outcome == "rejected"
    assert f"HTTP {status}" in first.error
    subscription.refresh_from_db()
    assert subscription.disabled_at is not None
    assert second == SendResult.skipped("no push subscription")
    assert len(receiver.received) == 1, "the disabled endpoint was contacted again"


def test_one_working_browser_is_enough_for_the_push_to_count_as_sent(
    vapid: dict[str, str], receiver: PushReceiver
) -> None:
    member = make_member()
    old_browser, phone = receiver.subscribe(), receiver.subscribe()
    old = subscribed(member, old_browser)
    subscribed(member, phone)
    receiver.unsubscribe(old_browser)

    result = push(member)

    assert result == SendResult.sent()
    assert [delivery.endpoint for delivery in receiver.delivered] == [phone.endpoint]
    old.refresh_from_db()
    assert old.disabled_at is not None


def test_a_throttled_push_fails_with_the_wait_the_push_service_asked_for(
    vapid: dict[str, str], receiver: PushReceiver
) -> None:
    member = make_member()
    subscription = subscribed(member, receiver.subscribe())
    receiver.answer_next(429, headers={"Retry-After": "120"})

    result = push(member)

    assert (result.outcome, result.retry_after) == ("failed", 120.0)
    assert "HTTP 429" in result.error
    subscription.refresh_from_db()
    assert subscription.disabled_at is None


def test_a_server_error_is_transient_and_the_retry_is_delivered(
    vapid: dict[str, str], receiver: PushReceiver
) -> None:
    member = make_member()
    subscribed(member, receiver.subscribe())
    receiver.answer_next(500)

    failed = push(member)
    retried = push(member)

    assert (failed.outcome, failed.retry_after) == ("failed", None)
    assert retried == SendResult.sent()
    assert len(receiver.delivered) == 1


def test_an_unreachable_push_service_is_a_transient_failure(vapid: dict[str, str]) -> None:
    member = make_member()
    PushSubscription.objects.create(
        member=member,
        endpoint=f"http://127.0.0.1:{unused_loopback_port()}/push/nobody-listens",
        p256dh=P256DH,
        auth="bw0nWTcQrZz_aZgZwDlNAw",
    )

    result = push(member)

    assert result.outcome == "failed"
    assert "ConnectionError" in result.error
    assert "nobody-listens" not in result.error, "the endpoint is a secret; only its host shows"


def test_a_member_without_a_browser_subscription_is_skipped(vapid: dict[str, str]) -> None:
    assert push(make_member()) == SendResult.skipped("no push subscription")


@pytest.mark.parametrize(
    ("public_key", "private_key", "explanation"),
    [
        ("", "", "set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY"),
        ("other", None, "VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY"),
        (None, "not-a-key", "VAPID_PRIVATE_KEY is not a P-256 private key"),
    ],
    ids=["missing", "mismatched", "malformed"],
)
def test_without_a_usable_vapid_key_pair_the_push_is_skipped_with_the_reason(
    settings,
    vapid: dict[str, str],
    receiver: PushReceiver,
    public_key: str | None,
    private_key: str | None,
    explanation: str,
) -> None:
    member = make_member()
    subscribed(member, receiver.subscribe())
    if public_key is not None:
        settings.VAPID_PUBLIC_KEY = public_key
    if private_key is not None:
        settings.VAPID_PRIVATE_KEY = private_key

    result = push(member)

    assert result.outcome == "skipped"
    assert explanation in result.error
    assert receiver.received == []


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 10, 21, 7, 26, tzinfo=UTC)

    assert retry_after_seconds("120", now=now) == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now=now) == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2026 07:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


# --- The stand-in push service is strict, like the real ones ------------------------------
def test_the_push_service_refuses_a_token_made_for_another_push_service(
    vapid: dict[str, str], receiver: PushReceiver
) -> None:
    browser = receiver.subscribe()

    with pytest.raises(WebPushException) as refusal:
        webpush(
            subscription_info=browser.to_json(),
            data="{}",
            vapid_private_key=vapid["VAPID_PRIVATE_KEY"],
            vapid_claims={"sub": "mailto:a@b.example", "aud": "https://elsewhere.example"},
            ttl=60,
        )

    assert refusal.value.status_code == 401
    assert "aud" in receiver.received[0].problem
    assert receiver.delivered == []


def test_the_push_service_refuses_a_token_not_signed_by_the_key_it_names(
    vapid: dict[str, str], receiver: PushReceiver
) -> None:
    signed = Vapid.from_string(vapid["VAPID_PRIVATE_KEY"]).sign(
        {"sub": "mailto:a@b.example", "aud": receiver.origin}
    )["Authorization"]
    someone_else = generated_keys()["VAPID_PUBLIC_KEY"]
    forged = re.sub(r"k=[A-Za-z0-9_-]+", f"k={someone_else}", signed)

    with pytest.raises(ValueError, match="signature"):
        verified_vapid(forged, receiver.origin)


# --- generate_vapid_keys -------------------------------------------------------------------
def test_generate_vapid_keys_prints_a_pair_browsers_and_pywebpush_accept() -> None:
    keys = generated_keys()

    assert set(keys) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"}
    assert "=" not in keys["VAPID_PUBLIC_KEY"] + keys["VAPID_PRIVATE_KEY"], "no padding"
    public_point = b64url_decode(keys["VAPID_PUBLIC_KEY"])
    assert (len(public_point), public_point[0]) == (65, 0x04)  # applicationServerKey
    assert len(b64url_decode(keys["VAPID_PRIVATE_KEY"])) == 32
    origin = "https://push.example.net"
    signed = Vapid.from_string(keys["VAPID_PRIVATE_KEY"]).sign(
        {"sub": "mailto:operator@stressrelief.example", "aud": origin}
    )
    signer_key, claims = verified_vapid(signed["Authorization"], origin)
    assert signer_key == keys["VAPID_PUBLIC_KEY"]
    assert claims["aud"] == origin


def test_generate_vapid_keys_prints_a_new_pair_each_time() -> None:
    assert generated_keys() != generated_keys()


# --- push-subscriptions/ -------------------------------------------------------------------
def test_a_member_registers_a_browser_and_its_nudges_arrive_there(
    vapid: dict[str, str], receiver: PushReceiver, api_as
) -> None:
    member = make_member()
    browser = receiver.subscribe()

    response = api_as(member).post(API, browser.to_json(), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["endpoint"] == browser.endpoint
    assert "keys" not in response.json()
    assert push(member) == SendResult.sent()
    assert receiver.delivered[0].payload["title"] == HYDRATION.title


def test_registering_a_gone_browser_again_reactivates_it(
    vapid: dict[str, str], receiver: PushReceiver, api_as
) -> None:
    member = make_member()
    browser = receiver.subscribe()
    subscription = subscribed(member, browser)
    PushSubscription.objects.filter(pk=subscription.pk).update(disabled_at=datetime.now(UTC))

    response = api_as(member).post(API, browser.to_json(), format="json")

    assert response.status_code == 201, response.content
    subscription.refresh_from_db()
    assert subscription.disabled_at is None
    assert PushSubscription.objects.filter(endpoint=browser.endpoint).count() == 1


def test_padded_keys_are_accepted_and_stored_without_padding(settings, api_as) -> None:
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False
    body = browser_json()
    body["keys"]["auth"] += "=="

    response = api_as(make_member()).post(API, body, format="json")

    assert response.status_code == 201, response.content
    assert PushSubscription.objects.get().auth == body["keys"]["auth"].rstrip("=")


def browser_json(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc123") -> dict:
    """A well-formed subscription body for an endpoint nobody will call."""
    return BrowserSubscription.create(endpoint).to_json()


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8443/push/abc",
        "http://push.example.net/push/abc",
        "ftp://push.example.net/push/abc",
        "https://user:secret@fcm.googleapis.com/push/abc",
        "not a url",
        # https, but not a browser push service: the server must not POST anywhere
        "https://internal-admin.example.org/push/abc",
        "https://fcm.googleapis.com.attacker.example/push/abc",
    ],
)
def test_an_endpoint_that_is_not_a_https_push_service_is_refused_naming_the_field(
    settings, api_as, endpoint: str
) -> None:
    settings.DEBUG = False
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = False

    response = api_as(make_member()).post(API, browser_json(endpoint), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"endpoint"}
    assert not PushSubscription.objects.exists()


def test_plain_http_to_a_remote_host_stays_refused_when_loopback_is_allowed(
    settings, api_as
) -> None:
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True
    member = make_member()

    remote = api_as(member).post(API, browser_json("http://push.example.net/p/1"), format="json")
    loopback = api_as(member).post(API, browser_json("http://localhost:9/p/1"), format="json")

    assert remote.status_code == 400
    assert set(remote.json()) == {"endpoint"}
    assert loopback.status_code == 201, loopback.content


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("p256dh", _b64(b"\x04" + b"\x11" * 63)),  # 64 bytes: one short
        ("p256dh", _b64(b"\x04" + b"\x00" * 64)),  # 65 bytes, but not a point on P-256
        ("p256dh", P256DH.replace("_", "/")),  # the standard alphabet, not the url-safe one
        ("auth", _b64(b"\x01" * 15)),
        ("auth", _b64(b"\x01" * 17)),
        ("auth", "not base64!"),
        ("auth", ""),
    ],
    ids=[
        "p256dh-64-bytes",
        "p256dh-off-curve",
        "p256dh-standard-alphabet",
        "auth-15-bytes",
        "auth-17-bytes",
        "auth-not-base64",
        "auth-empty",
    ],
)
def test_keys_of_the_wrong_form_are_refused_naming_the_key(api_as, field: str, value: str) -> None:
    body = browser_json()
    body["keys"][field] = value

    response = api_as(make_member()).post(API, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"keys": {field: response.json()["keys"][field]}}
    assert not PushSubscription.objects.exists()


def test_a_member_removes_their_browser(api_as) -> None:
    member = make_member()
    client = api_as(member)
    body = browser_json()
    assert client.post(API, body, format="json").status_code == 201

    response = client.delete(API, {"endpoint": body["endpoint"]}, format="json")

    assert response.status_code == 204
    assert not PushSubscription.objects.exists()


def test_another_member_cannot_remove_a_members_browser(api_as) -> None:
    owner, other = make_member(), make_member()
    body = browser_json()
    assert api_as(owner).post(API, body, format="json").status_code == 201

    response = api_as(other).delete(API, {"endpoint": body["endpoint"]}, format="json")

    assert response.status_code == 404
    assert PushSubscription.objects.get().member == owner


def test_removing_an_endpoint_nobody_registered_is_a_404(api_as) -> None:
    response = api_as(make_member()).delete(
        API, {"endpoint": "https://push.example.net/send/never"}, format="json"
    )

    assert response.status_code == 404


def test_registering_needs_an_account(api_as) -> None:
    response = api_as(None).post(API, browser_json(), format="json")

    assert response.status_code == 401
    assert not PushSubscription.objects.exists()


def signed_actions(action_urls: dict[str, list[str]]) -> dict[str, list[dict[str, object]]]:
    """What each button's link would do: the same signed one-click links as in emails."""
    from django.core import signing

    from apps.delivery import links

    decoded: dict[str, list[dict[str, object]]] = {}
    for action, urls in action_urls.items():
        for url in urls:
            assert url.startswith(f"{SITE}/n/")
            payload = signing.loads(url.rstrip("/").rsplit("/", 1)[-1], salt=links.ACTION_SALT)
            decoded.setdefault(action, []).append({"a": payload["a"], "n": payload["n"]})
    return decoded
