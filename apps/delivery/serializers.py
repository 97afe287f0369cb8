"""Validation at the edge for `push-subscriptions/`: every error names its field.

A subscription is what a browser's `PushSubscription.toJSON()` gives: an endpoint URL at
the browser vendor's push service and the two RFC 8291 keys. Checking them here means the
transport never meets a subscription it cannot encrypt for.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from rest_framework import serializers

from apps.delivery.models import PushSubscription
from apps.delivery.webpush import AUTH_SECRET_LENGTH, P256DH_LENGTH

ENDPOINT_MAX_LENGTH = PushSubscription._meta.get_field("endpoint").max_length
# Plain http is only ever a test or development receiver on this machine.
INSECURE_HOSTS = ("127.0.0.1", "localhost")
URL_SAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def insecure_endpoints_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "WEBPUSH_ALLOW_INSECURE_ENDPOINTS", False))


def decoded_url_safe_base64(value: str, *, length: int, what: str) -> bytes:
    """The bytes of `value` (url-safe base64, padding optional), exactly `length` long."""
    if not URL_SAFE_BASE64.fullmatch(value):
        raise serializers.ValidationError(
            f"Must be url-safe base64 (A-Z, a-z, 0-9, '-', '_') of {what}."
        )
    try:
        raw = base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as error:
        raise serializers.ValidationError(f"Not valid base64: {error}.") from error
    if len(raw) != length:
        raise serializers.ValidationError(
            f"Must decode to {length} bytes ({what}); this decodes to {len(raw)}."
        )
    return raw


def unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)

    def validate_p256dh(self, value: str) -> str:
        what = "an uncompressed P-256 public key"
        raw = decoded_url_safe_base64(value, length=P256DH_LENGTH, what=what)
        try:
            # Also rejects 65 bytes that are not a point on the curve: encryption would fail.
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError as error:
            raise serializers.ValidationError(f"Not {what}.") from error
        return unpadded(raw)

    def validate_auth(self, value: str) -> str:
        what = "the subscription's auth secret"
        return unpadded(decoded_url_safe_base64(value, length=AUTH_SECRET_LENGTH, what=what))


class PushSubscriptionSerializer(serializers.Serializer):
    """POST body: `{endpoint, keys: {p256dh, auth}}`; keys come back normalised (unpadded)."""

    endpoint = serializers.URLField(max_length=ENDPOINT_MAX_LENGTH)
    keys = PushKeysSerializer()

    def validate_endpoint(self, value: str) -> str:
        parts = urlsplit(value)
        if parts.username or parts.password:
            raise serializers.ValidationError("A push endpoint carries no user name or password.")
        if parts.scheme == "https" and parts.hostname:
            # Only browsers' push services: otherwise a member could make the server
            # POST to any host it can reach (server-side request forgery).
            host = parts.hostname.lower()
            allowed = settings.WEBPUSH_ALLOWED_HOST_SUFFIXES
            if any(host == suffix or host.endswith("." + suffix) for suffix in allowed):
                return value
            raise serializers.ValidationError(
                "This is not a known browser push service; supported: " + ", ".join(allowed)
            )
        if (
            parts.scheme == "http"
            and parts.hostname in INSECURE_HOSTS
            and insecure_endpoints_allowed()
        ):
            return value
        raise serializers.ValidationError(
            "A push endpoint must be an https:// URL (the browser's push service)."
        )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        keys = values.pop("keys")
        return {**values, "p256dh": keys["p256dh"], "auth": keys["auth"]}


class PushSubscriptionRemovalSerializer(serializers.Serializer):
    """DELETE body: `{endpoint}`, exactly as it was registered."""

    endpoint = serializers.CharField(max_length=ENDPOINT_MAX_LENGTH)


class PushSubscriptionReadSerializer(serializers.ModelSerializer):
    """What the member gets back: never the keys (only their browser needs those)."""

    class Meta:
        model = PushSubscription
        fields = ("endpoint", "created_at")
        read_only_fields = fields
