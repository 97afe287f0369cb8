"""Web Push: a nudge as an encrypted push message to every browser a member subscribed.

The protocol is RFC 8030 (one POST per subscription to the push service), authenticated
with VAPID (RFC 8292) and encrypted end to end with aes128gcm (RFC 8291/8188) by
pywebpush, which POSTs through transports.http_session() (urllib3 pools, or a requests
session behind a proxy). The push service never sees the text; the browser's service worker decrypts
it and shows a notification with "Done" and "Snooze" buttons.

Guarantees of `WebPushTransport.send`:
- every active subscription of the member gets one request, with `TTL` > 0, `Urgency` and a
  `Topic` derived from the nudge ids (a redelivery replaces a message still queued at the
  push service instead of adding a second one);
- the decrypted payload is JSON under PAYLOAD_LIMIT_BYTES;
- a 404/410 disables that subscription for good (it is never sent to again); a 429 or 5xx
  or a network error asks for a retry; nothing else is retried.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import functools
import hashlib
import json
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.utils import timezone
from py_vapid import Vapid, VapidException
from pywebpush import WebPusher, WebPushException

from apps.delivery.content import Message
from apps.delivery.links import action_url
from apps.delivery.models import PushSubscription
from apps.delivery.transports import (
    PooledHttp,
    SendResult,
    batch_loaded,
    http_session,
    register,
    shared_http_session,
)

if TYPE_CHECKING:
    from apps.accounts.models import User

# A reminder that could not reach an offline device within an hour is stale: the next
# occurrence of the schedule will come anyway. (RFC 8030: TTL 0 would drop it at once.)
PUSH_TTL_SECONDS = 3600
# RFC 8030 urgencies: very-low, low, normal, high. "normal" wakes a device that is not
# on battery saver; "high" is meant for calls and messages, not habits.
PUSH_URGENCY = "normal"
# RFC 8030 section 5.4: a Topic is at most 32 characters of the URL-safe base64 alphabet.
TOPIC_LENGTH = 32
# Push services accept about 4 KB of ciphertext (4096 minus 86 bytes of aes128gcm header
# and padding); 3 KB of plaintext leaves room for every service's framing.
PAYLOAD_LIMIT_BYTES = 3072
# Seconds to connect and to wait for an answer: a stuck push service must not hold a
# worker; the attempt is retried instead.
REQUEST_TIMEOUT = (5.0, 15.0)
NO_SUBSCRIPTION = "no push subscription"
# What the service worker shows as buttons (Notification.actions); `action` is what it
# gets back in the notificationclick event.
ACTIONS = (
    {"action": "done", "title": "Done"},
    {"action": "snooze", "title": "Snooze 10 min"},
)
# The key sizes a browser's PushSubscription.getKey() gives (RFC 8291 section 3).
P256DH_LENGTH = 65  # an uncompressed P-256 point: 0x04, x, y
AUTH_SECRET_LENGTH = 16


class WebPushTransport:
    """Channel "push": one encrypted message to each of the member's active subscriptions."""

    channel: ClassVar[str] = "push"

    def send(self, *, member: User, message: Message) -> SendResult:
        """Sent if at least one browser got it; failed (retry) if none did but one may
        later; rejected if every subscription is gone for good; skipped without keys or
        subscriptions. Never holds a database transaction across the network."""
        signer = vapid_signer()
        if isinstance(signer, str):
            return SendResult.skipped(signer)
        batch = batch_loaded("push_subscriptions", _active_subscriptions)
        if batch is not None:
            subscriptions = batch.get(member.pk, [])
        else:
            subscriptions = _active_subscriptions((member.pk,)).get(member.pk, [])
        if not subscriptions:
            return SendResult.skipped(NO_SUBSCRIPTION)
        topic = push_topic(message)
        payload = push_payload(message, topic=topic, member_id=member.pk)
        headers = {"Urgency": PUSH_URGENCY, "Topic": topic}
        # One session: several subscriptions often share a push service (one connection);
        # in a delivery batch, the batch's session, kept alive across members.
        shared = shared_http_session()
        with nullcontext(shared) if shared is not None else http_session() as session:
            outcomes = [
                _push_to(subscription, payload, headers=headers, signer=signer, session=session)
                for subscription in subscriptions
            ]
        return _combined(outcomes)


def _active_subscriptions(member_ids: tuple[int, ...]) -> dict[int, list[PushSubscription]]:
    """The members' subscriptions not disabled, oldest first: one query for a batch."""
    found: dict[int, list[PushSubscription]] = {}
    for subscription in PushSubscription.objects.filter(
        member_id__in=member_ids, disabled_at__isnull=True
    ).order_by("id"):
        found.setdefault(subscription.member_id, []).append(subscription)
    return found


@dataclass(frozen=True)
class VapidSigner:
    """A checked VAPID configuration: the signing key and the `sub` claim."""

    key: Vapid
    subject: str
    public_key: str = ""  # the settings text: names the key in the token cache


def vapid_signer() -> VapidSigner | str:
    """The VAPID key and subject from settings, or a message saying what is missing.
    Checked once per process and configuration (parsing the key and a test signature cost
    ~1 ms, once per push before).

    Checks that the private key parses, that the public key is the one derived from it
    (browsers subscribed with the public key; a mismatch makes every push a 403), and that
    the subject is a mailto: or https: URL the push services accept.
    """
    return _checked_signer(
        getattr(settings, "VAPID_PUBLIC_KEY", "") or "",
        getattr(settings, "VAPID_PRIVATE_KEY", "") or "",
        vapid_subject(),
    )


@functools.lru_cache(maxsize=4)
def _checked_signer(public_key: str, private_key: str, subject: str) -> VapidSigner | str:
    if not public_key or not private_key:
        return (
            "Web Push is not configured: set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY "
            "(`python manage.py generate_vapid_keys` prints a pair)"
        )
    try:
        key = Vapid.from_string(private_key)
    except (ValueError, TypeError, binascii.Error, VapidException):
        return "VAPID_PRIVATE_KEY is not a P-256 private key (raw url-safe base64 or DER)"
    if _public_key_text(key.private_key) != public_key.rstrip("="):
        return "VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY"
    try:
        # The push services' own check of `sub`, run once here instead of per request.
        key.sign({"sub": subject, "aud": "https://push.example"})
    except VapidException:
        return f"VAPID_SUBJECT must be a mailto: or https: URL, not {subject!r}"
    return VapidSigner(key=key, subject=subject, public_key=public_key.rstrip("="))


def vapid_subject() -> str:
    """VAPID_SUBJECT, else a mailto: for the sender address of the nudge emails."""
    subject = getattr(settings, "VAPID_SUBJECT", "") or ""
    if subject:
        return subject
    _, address = email.utils.parseaddr(getattr(settings, "DEFAULT_FROM_EMAIL", ""))
    return f"mailto:{address}" if address else ""


def vapid_key_pair() -> tuple[str, str]:
    """A new (public, private) VAPID key pair as settings text.

    Public: url-safe base64, no padding, of the 65-byte uncompressed P-256 point (what a
    browser's `applicationServerKey` takes). Private: url-safe base64, no padding, of the
    raw 32-byte scalar (what pywebpush's `Vapid.from_string` takes).
    """
    private_key = ec.generate_private_key(ec.SECP256R1())
    scalar = private_key.private_numbers().private_value.to_bytes(32, "big")
    return _public_key_text(private_key), _unpadded(scalar)


def push_topic(message: Message) -> str:
    """The same 32-character Topic for the same set of nudges, whatever the order."""
    identity = "nudges:" + ",".join(str(nudge_id) for nudge_id in sorted(message.nudge_ids))
    digest = hashlib.sha256(identity.encode()).digest()
    # 32 bytes give 43 base64 characters; the first 32 keep 192 bits, plenty to be unique.
    return _unpadded(digest)[:TOPIC_LENGTH]


def push_payload(message: Message, *, topic: str, member_id: int) -> str:
    """The JSON the service worker decrypts, always under PAYLOAD_LIMIT_BYTES in UTF-8.

    Holds `title`, `body`, `nudge_ids`, `tag` (so the device replaces rather than stacks),
    `url` (opened on a click), `actions` and `action_urls` (one POST URL per nudge per
    action: the same signed, single-use links as in emails, so the service worker needs no
    session or token to act). When it does not fit, the per-nudge URLs are dropped first
    (the service worker falls back to `url`), then the body is shortened with an ellipsis.
    """
    site = settings.SITE_URL.rstrip("/")
    ids = list(message.nudge_ids)
    payload: dict[str, Any] = {
        "title": message.title,
        "body": message.body,
        "nudge_ids": ids,
        "tag": topic,
        "url": f"{site}/",
        "actions": [dict(action) for action in ACTIONS],
        "action_urls": {
            action["action"]: [
                action_url(nudge_id=i, member_id=member_id, action=action["action"]) for i in ids
            ]
            for action in ACTIONS
        },
    }
    text = _json(payload)
    if _fits(text):
        return text
    # The words matter more than the buttons' links (each ~110 characters): drop those
    # first; the service worker then opens `url` for an action.
    del payload["action_urls"]
    # A bundle is a handful of nudges; this cap only matters for a malformed message.
    payload["nudge_ids"] = ids[:50]
    payload["body"] = _shortened(payload, "body")
    if _fits(text := _json(payload)):
        return text
    payload["title"] = _shortened(payload, "title")
    return _json(payload)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), or None
    when absent or unreadable. A date in the past means "now": 0."""
    if not value or not (value := value.strip()):
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP dates are GMT by definition
    return max(0.0, (when - (now or timezone.now())).total_seconds())


# --- Subscriptions (the `push-subscriptions/` endpoint's writes) -----------------------------
def push_subscription_save(
    *, member: User, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    """Guarantees one active subscription for `endpoint`, owned by `member`, with these keys.

    Subscribing again re-activates a disabled row. The endpoint identifies a browser, not a
    person: when another member signs in on the same browser and subscribes, the endpoint
    moves to them, so the previous member's nudges stop appearing there.
    """
    subscription, _ = PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={"member": member, "p256dh": p256dh, "auth": auth, "disabled_at": None},
    )
    return subscription


def push_subscription_delete(*, member: User, endpoint: str) -> bool:
    """Deletes `member`'s subscription for `endpoint`; False when they have none there."""
    deleted, _ = PushSubscription.objects.filter(member=member, endpoint=endpoint).delete()
    return deleted > 0


# --- One request per subscription ----------------------------------------------------------
# The VAPID token (an ES256 JWT, RFC 8292) names the push service's origin and an expiry,
# nothing about the subscription: one per origin serves every push there. Signing cost
# ~0.5 ms per push when pywebpush made a new one each time; now once an hour per origin and
# process. The token says 12 hours (RFC 8292 allows up to 24) and is used for at most one,
# so a cached token never nears its expiry.
VAPID_TOKEN_LIFETIME_SECONDS = 12 * 60 * 60
VAPID_TOKEN_REUSE_SECONDS = 60 * 60
_vapid_tokens: dict[tuple[str, str, str], tuple[float, dict[str, str]]] = {}


def vapid_headers(signer: VapidSigner, endpoint: str) -> dict[str, str]:
    """The `Authorization: vapid t=...,k=...` header for `endpoint`'s push service."""
    parts = urlsplit(endpoint)
    origin = f"{parts.scheme}://{parts.netloc}"
    key = (signer.public_key, signer.subject, origin)
    now = time.time()
    cached = _vapid_tokens.get(key)
    if cached is not None and now - cached[0] < VAPID_TOKEN_REUSE_SECONDS:
        return cached[1]
    claims = {"sub": signer.subject, "aud": origin, "exp": int(now) + VAPID_TOKEN_LIFETIME_SECONDS}
    signed = signer.key.sign(claims)
    _vapid_tokens[key] = (now, signed)
    return signed


@dataclass(frozen=True)
class _Outcome:
    # sent; gone (404/410, now disabled); refused (this message will never be accepted);
    # transient (worth another try later).
    kind: Literal["sent", "gone", "refused", "transient"]
    error: str = ""
    retry_after: float | None = None


def _push_to(
    subscription: PushSubscription,
    payload: str,
    *,
    headers: dict[str, str],
    signer: VapidSigner,
    session: PooledHttp | requests.Session,
) -> _Outcome:
    # Errors name the subscription and the push service's host, never the endpoint path:
    # it is a bearer capability for the member's browser and the audit trail is shared.
    where = f"subscription {subscription.pk} at {urlsplit(subscription.endpoint).netloc}"
    try:
        response = WebPusher(
            {
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            requests_session=session,
        ).send(
            payload,
            {**headers, **vapid_headers(signer, subscription.endpoint)},
            ttl=PUSH_TTL_SECONDS,
            content_encoding="aes128gcm",
            timeout=REQUEST_TIMEOUT,
        )
        if response.status_code > 202:  # what pywebpush's webpush() raises for
            raise WebPushException(
                f"Push failed: {response.status_code} {response.reason}", response=response
            )
    except WebPushException as error:
        return _outcome_of_refusal(subscription, error, where=where)
    except requests.RequestException as error:
        return _Outcome("transient", f"{where}: {type(error).__name__}")
    except (ValueError, TypeError, binascii.Error) as error:
        # The stored keys cannot encrypt (not a P-256 point): no retry will change that.
        return _Outcome("refused", f"{where}: cannot encrypt ({error})")
    return _Outcome("sent")


def _outcome_of_refusal(
    subscription: PushSubscription, error: WebPushException, *, where: str
) -> _Outcome:
    status = error.status_code
    if status is None:
        return _Outcome("refused", f"{where}: {error.message}")
    reason = getattr(error.response, "reason", "") or ""
    text = f"{where}: HTTP {status} {reason}".rstrip()
    if 200 <= status < 300:
        # pywebpush only expects 200-202; RFC 8030 success is any 2xx (201 in practice).
        return _Outcome("sent")
    if status in (404, 410):
        # The browser unsubscribed or the subscription expired: it will never come back.
        PushSubscription.objects.filter(pk=subscription.pk, disabled_at__isnull=True).update(
            disabled_at=timezone.now()
        )
        return _Outcome("gone", f"{text} (subscription disabled)")
    if status == 429:
        return _Outcome("transient", text, retry_after_seconds(error.retry_after))
    if status >= 500:
        return _Outcome("transient", text)
    # 400/401/403/413: the push service refuses this request itself (a VAPID key the
    # subscription was not made with, a malformed request); sending it again will not help.
    return _Outcome("refused", text)


def _combined(outcomes: list[_Outcome]) -> SendResult:
    errors = "; ".join(outcome.error for outcome in outcomes if outcome.error)
    if any(outcome.kind == "sent" for outcome in outcomes):
        return SendResult.sent()
    transient = [outcome for outcome in outcomes if outcome.kind == "transient"]
    if transient:
        waits = [o.retry_after for o in transient if o.retry_after is not None]
        # The longest wait asked for: retrying earlier would only meet another 429.
        return SendResult.failed(errors, retry_after=max(waits) if waits else None)
    return SendResult.rejected(errors)


# --- Encoding helpers -------------------------------------------------------------------------
def _public_key_text(private_key: ec.EllipticCurvePrivateKey) -> str:
    point = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _unpadded(point)


def _unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _fits(text: str) -> bool:
    return len(text.encode()) < PAYLOAD_LIMIT_BYTES


def _shortened(payload: dict[str, Any], field: str) -> str:
    """`payload[field]` cut (with an ellipsis) just enough for the payload to fit, or ""."""
    value: str = payload[field]
    overflow = len(_json(payload).encode()) - PAYLOAD_LIMIT_BYTES + 1
    while value and overflow > 0:
        # Cut by the byte overflow (a character is at least one byte), then re-measure:
        # JSON escapes and multi-byte characters make the first cut an estimate.
        value = value[: max(0, len(value) - overflow - 1)].rstrip()
        value = f"{value}…" if value else ""
        overflow = len(_json({**payload, field: value}).encode()) - PAYLOAD_LIMIT_BYTES + 1
    return value


register(WebPushTransport())
