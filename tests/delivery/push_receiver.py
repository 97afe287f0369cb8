"""A local stand-in for a browser vendor's push service, speaking the real protocol.

It listens on 127.0.0.1 and, for each POST to a subscription it issued:
- checks the VAPID `Authorization: vapid t=<JWT>,k=<key>` header (RFC 8292): an ES256
  signature made by the key in `k`, `aud` equal to this receiver's origin, an `exp` within
  24 hours, a `sub`;
- decrypts the aes128gcm body (RFC 8291/8188) with the subscription's private key and auth
  secret, which only the test (the "browser") holds;
- records the decrypted JSON and the `TTL`, `Urgency` and `Topic` headers;
- answers 201 Created, or whatever status the test asked for next (410, 429, 500, ...).

A request that fails a check is answered like a push service would (400/401/404/410) and
recorded with the reason, so a test sees why nothing was delivered.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

# RFC 8292 section 2: a push service rejects tokens that expire more than 24 hours ahead.
MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class BrowserSubscription:
    """What a browser keeps after `pushManager.subscribe()`: the private half stays here."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url_encode(point)

    @property
    def auth(self) -> str:
        return b64url_encode(self.auth_secret)

    @classmethod
    def create(cls, endpoint: str) -> BrowserSubscription:
        """Fresh keys for `endpoint`, as `pushManager.subscribe()` makes them."""
        return cls(
            endpoint=endpoint,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
        )

    def to_json(self) -> dict[str, Any]:
        """The body a page POSTs to `push-subscriptions/` (PushSubscription.toJSON())."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass(frozen=True)
class ReceivedPush:
    """One request the receiver got, and what it made of it."""

    endpoint: str
    status: int
    headers: dict[str, str]  # lower-case names
    problem: str = ""  # why it was refused before delivery, if it was
    vapid_key: str = ""  # the `k` of the Authorization header
    vapid_claims: dict[str, Any] = field(default_factory=dict)
    payload_bytes: bytes = b""  # the decrypted body, exactly as the service worker reads it
    # time.monotonic() when the request arrived: a retry's wait is measured from the answer
    received_at: float = field(default_factory=time.monotonic)

    @property
    def delivered(self) -> bool:
        return self.status == HTTPStatus.CREATED

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.payload_bytes)


class PushReceiver:
    """The push service; start it with `running_push_receiver()`."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.receiver = self  # type: ignore[attr-defined]
        # A short poll: shutdown() waits for the serving loop to notice, up to this long.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._lock = threading.Lock()
        self._subscriptions: dict[str, BrowserSubscription] = {}
        self._gone: set[str] = set()
        self._scripted: deque[tuple[int, dict[str, str]]] = deque()
        self._received: list[ReceivedPush] = []

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def subscribe(self) -> BrowserSubscription:
        """A new subscription with fresh keys, as a browser would create."""
        subscription = BrowserSubscription.create(f"{self.origin}/push/{secrets.token_urlsafe(24)}")
        with self._lock:
            self._subscriptions[subscription.endpoint] = subscription
        return subscription

    def unsubscribe(self, subscription: BrowserSubscription) -> None:
        """The browser dropped it: from now on its endpoint answers 410 Gone."""
        with self._lock:
            self._gone.add(subscription.endpoint)

    def answer_next(
        self, status: int, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next `times` valid requests with `status` (and `headers`), undelivered."""
        with self._lock:
            self._scripted.extend([(status, dict(headers or {}))] * times)

    @property
    def received(self) -> list[ReceivedPush]:
        with self._lock:
            return list(self._received)

    @property
    def delivered(self) -> list[ReceivedPush]:
        return [push for push in self.received if push.delivered]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    # --- called by the handler thread ---
    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        endpoint = f"{self.origin}{path}"
        with self._lock:
            subscription = self._subscriptions.get(endpoint)
            gone = endpoint in self._gone

        def record(status: int, **details: Any) -> tuple[int, dict]:
            answer_headers = details.pop("answer_headers", {})
            with self._lock:
                self._received.append(ReceivedPush(endpoint, status, headers, **details))
            return status, answer_headers

        if subscription is None:
            return record(HTTPStatus.NOT_FOUND, problem="no such subscription")
        if gone:
            return record(HTTPStatus.GONE, problem="unsubscribed")
        try:
            vapid_key, claims = verified_vapid(headers.get("authorization", ""), self.origin)
        except ValueError as error:
            return record(HTTPStatus.UNAUTHORIZED, problem=f"VAPID: {error}")
        problem = header_problem(headers)
        if problem:
            return record(HTTPStatus.BAD_REQUEST, problem=problem)
        try:
            plaintext = http_ece.decrypt(
                body,
                private_key=subscription.private_key,
                auth_secret=subscription.auth_secret,
                version="aes128gcm",
            )
        except Exception as error:
            return record(HTTPStatus.BAD_REQUEST, problem=f"cannot decrypt: {error!r}")
        with self._lock:
            scripted = self._scripted.popleft() if self._scripted else None
        status, answer_headers = scripted or (HTTPStatus.CREATED, {"Location": endpoint})
        return record(
            status,
            vapid_key=vapid_key,
            vapid_claims=claims,
            payload_bytes=plaintext,
            answer_headers=answer_headers,
        )


# (token, k) pairs whose ES256 signature verified. A sender reuses one token for an hour
# (RFC 8292 allows it), so the same bytes come with every push: verifying a signature is a
# pure function of them, and remembering the answer saves an ECDSA verification per push
# (bench 5: the sink's CPU). Every other check (audience, expiry, subject) runs each time.
_VERIFIED_SIGNATURES: set[tuple[str, str]] = set()


def verified_vapid(authorization: str, origin: str) -> tuple[str, dict[str, Any]]:
    """(`k`, claims) of a valid RFC 8292 header for `origin`; ValueError says what is wrong."""
    scheme, _, parameters = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError(f"scheme {scheme!r}, expected 'vapid'")
    values = dict(
        part.strip().split("=", 1) for part in parameters.split(",") if "=" in part.strip()
    )
    token, key = values.get("t", ""), values.get("k", "")
    try:
        header_text, claims_text, signature_text = token.split(".")
        header = json.loads(b64url_decode(header_text))
        claims = json.loads(b64url_decode(claims_text))
        signature = b64url_decode(signature_text)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64url_decode(key)
        )
    except (ValueError, binascii.Error) as error:
        raise ValueError(f"malformed token or key: {error}") from error
    if header.get("alg") != "ES256" or len(signature) != 64:
        raise ValueError(f"not an ES256 JWS: {header}")
    if (token, key) not in _VERIFIED_SIGNATURES:
        der_signature = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            public_key.verify(
                der_signature, f"{header_text}.{claims_text}".encode(), ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature as error:
            raise ValueError("signature does not match the key in k") from error
        if len(_VERIFIED_SIGNATURES) >= 1024:
            _VERIFIED_SIGNATURES.clear()
        _VERIFIED_SIGNATURES.add((token, key))
    if claims.get("aud") != origin:
        raise ValueError(f"aud {claims.get('aud')!r} is not {origin!r}")
    expires_in = int(claims.get("exp", 0)) - time.time()
    if not 0 < expires_in <= MAX_TOKEN_LIFETIME_SECONDS:
        raise ValueError(f"exp is {expires_in:.0f} s away; must be within 24 hours")
    if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
        raise ValueError(f"sub {claims.get('sub')!r} is not a mailto: or https: URL")
    return key, claims


def header_problem(headers: dict[str, str]) -> str:
    """Why the RFC 8030/8291 headers are unacceptable, or ""."""
    if headers.get("content-encoding") != "aes128gcm":
        return f"Content-Encoding {headers.get('content-encoding')!r}, expected aes128gcm"
    if not headers.get("ttl", "").isdigit():
        return f"TTL {headers.get('ttl')!r} is not a number of seconds"
    return ""


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as a real push service: the sender may reuse one connection.
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        receiver: PushReceiver = self.server.receiver  # type: ignore[attr-defined]
        status, answer_headers = receiver._handle(self.path, headers, body)
        self.send_response(status)
        for name, value in answer_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads `received`, not stderr."""


@contextmanager
def running_push_receiver() -> Iterator[PushReceiver]:
    """A push receiver on a free loopback port, stopped when the block ends."""
    receiver = PushReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
