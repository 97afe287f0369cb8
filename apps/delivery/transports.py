"""One transport per channel behind a small registry. A transport sends one message to
one member and says how it went; it never touches nudge state (services.py does).

Within `connections_shared()` (one delivery batch of up to 50 members), the transports
reuse their connections instead of opening one per message: every email goes over one SMTP
connection, every push over one HTTP client (keep-alive pools), and the push transport loads the
subscriptions of all the batch's members in one query. Measured in-process on the loaded
2-core reference machine (bench 5's data, 200 deliveries, half email, half push): a new
SMTP connection cost ~8 ms of connect + EHLO + QUIT per email and a new push session one
TCP connect per push; see bench/b5_delivery.py and docs/PERFORMANCE.md for the figures.
"""

from __future__ import annotations

import functools
import os
import smtplib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email._policybase import Compat32
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.template.loader import render_to_string

from apps.delivery import links
from apps.delivery.content import Message

if TYPE_CHECKING:
    from apps.accounts.models import User


@dataclass(frozen=True)
class SendResult:
    outcome: str  # a DeliveryAttempt.Outcome value
    error: str = ""
    retry_after: float | None = None  # seconds the far side asked us to wait

    @classmethod
    def sent(cls) -> SendResult:
        return cls("sent")

    @classmethod
    def failed(cls, error: str, retry_after: float | None = None) -> SendResult:
        return cls("failed", error[:1000], retry_after)

    @classmethod
    def rejected(cls, error: str) -> SendResult:
        return cls("rejected", error[:1000])

    @classmethod
    def skipped(cls, error: str) -> SendResult:
        return cls("skipped", error[:1000])


class Transport(Protocol):
    channel: ClassVar[str]

    def send(self, *, member: User, message: Message) -> SendResult: ...


TRANSPORTS: dict[str, Transport] = {}


def register(transport: Transport) -> Transport:
    TRANSPORTS[transport.channel] = transport
    return transport


# --- Connections shared by one delivery batch --------------------------------------------------
T = TypeVar("T")


class _SharedConnections(threading.local):
    """Per thread: a Celery prefork process runs one task at a time, a thread pool many."""

    active = False
    member_ids: tuple[int, ...] = ()
    smtp: BaseEmailBackend | None = None
    http: PooledHttp | requests.Session | None = None

    def __init__(self) -> None:
        self.loaded: dict[str, Any] = {}


_shared = _SharedConnections()


@contextmanager
def connections_shared(*, member_ids: Sequence[int]) -> Iterator[None]:
    """Within this block, transports reuse one SMTP connection and one HTTP session (both
    opened at first use, closed at the end) and may load per-member data for all of
    `member_ids` at once (`batch_loaded`). Nested blocks share the outer one."""
    if _shared.active:
        yield
        return
    _shared.active, _shared.member_ids, _shared.loaded = True, tuple(member_ids), {}
    try:
        yield
    finally:
        _drop_smtp_connection()
        if _shared.http is not None:
            _shared.http.close()
        _shared.active, _shared.member_ids, _shared.loaded, _shared.http = False, (), {}, None


def batch_loaded(key: str, load: Callable[[tuple[int, ...]], T]) -> T | None:
    """`load(member_ids)` of the current batch, run once per batch and `key`; None outside
    a batch (the caller then loads for its one member)."""
    if not _shared.active:
        return None
    if key not in _shared.loaded:
        _shared.loaded[key] = load(_shared.member_ids)
    return _shared.loaded[key]


def batch_member_ids() -> tuple[int, ...]:
    """The members of the current delivery batch; empty outside one."""
    return _shared.member_ids if _shared.active else ()


def shared_http_session() -> PooledHttp | requests.Session | None:
    """The batch's HTTP session (keep-alive to each push service), or None outside one."""
    if not _shared.active:
        return None
    if _shared.http is None:
        _shared.http = http_session()
    return _shared.http


def http_session() -> PooledHttp | requests.Session:
    """What the push transport POSTs with: `post(url, data=, headers=, timeout=)` answering a
    response with `status_code`, `reason` and `headers`, raising requests' exceptions.

    A PooledHttp (urllib3 directly, one keep-alive pool per push service), unless a proxy
    variable is set: then a requests session with `trust_env`, which knows proxies.
    """
    if any(name.lower() in PROXY_VARIABLES for name in os.environ):
        return requests.Session()
    return PooledHttp()


class PooledHttp:
    """POSTs over urllib3 connection pools, without requests' per-request work (merging
    session settings, reading the environment, cookies, hooks, redirects): per push
    397 -> 157 us of CPU (2,000 POSTs of 1.5 KB on loopback, in-process).

    Kept from requests: no retry, no redirect followed (a push service answers 201 or an
    error), certificates checked against the CA bundle requests would use (REQUESTS_CA_BUNDLE,
    then CURL_CA_BUNDLE, then certifi's), a (connect, read) timeout, and requests' exception
    types, so callers and the audit trail read the same errors (a refused connection is a
    requests ConnectionError, a slow answer a ReadTimeout).
    """

    def __init__(self) -> None:
        bundle = (
            os.environ.get("REQUESTS_CA_BUNDLE")
            or os.environ.get("CURL_CA_BUNDLE")
            or requests.utils.DEFAULT_CA_BUNDLE_PATH
        )
        location = {"ca_cert_dir" if os.path.isdir(bundle) else "ca_certs": bundle}
        self._pools = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", retries=False, **location)
        self._by_origin: dict[str, urllib3.connectionpool.HTTPConnectionPool] = {}

    def post(
        self,
        url: str,
        *,
        data: bytes | None,
        headers: Mapping[str, str],
        timeout: tuple[float, float],
    ) -> PooledResponse:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        pool = self._by_origin.get(origin)
        if pool is None:
            pool = self._by_origin[origin] = self._pools.connection_from_url(origin)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            answer = pool.urlopen(
                "POST", path, body=data, headers=dict(headers), retries=False, redirect=False,
                timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
            )  # fmt: skip
        except urllib3.exceptions.NewConnectionError as error:  # before ConnectTimeoutError
            raise requests.ConnectionError(error) from error
        except urllib3.exceptions.ConnectTimeoutError as error:
            raise requests.ConnectTimeout(error) from error
        except urllib3.exceptions.ReadTimeoutError as error:
            raise requests.ReadTimeout(error) from error
        except urllib3.exceptions.SSLError as error:
            raise requests.exceptions.SSLError(error) from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise requests.ConnectionError(error) from error
        return PooledResponse(answer.status, answer.reason or "", answer.headers, answer.data)

    def close(self) -> None:
        self._pools.clear()
        self._by_origin.clear()

    def __enter__(self) -> PooledHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class PooledResponse:
    """The parts of a response the push transport and pywebpush read."""

    status_code: int
    reason: str
    headers: Mapping[str, str]  # urllib3's: case-insensitive
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


# What requests' trust_env would read per request that a session cannot hold: proxies.
PROXY_VARIABLES = frozenset(("http_proxy", "https_proxy", "all_proxy", "no_proxy"))


def _smtp_connection() -> BaseEmailBackend | None:
    """The batch's open email connection, opened now if needed; None outside a batch."""
    if not _shared.active:
        return None
    if _shared.smtp is None:
        connection = get_connection(fail_silently=False)
        # Opened here, not by send_messages(), which would close what it opened itself.
        connection.open()
        _shared.smtp = connection
    return _shared.smtp


def _drop_smtp_connection() -> None:
    """Close the batch's SMTP connection; after an error the next email opens a new one
    rather than reuse a connection in an unknown state."""
    connection, _shared.smtp = _shared.smtp, None
    if connection is not None:
        with suppress(smtplib.SMTPException, OSError):  # already gone: closing is courtesy
            connection.close()


class InAppTransport:
    """The nudge row itself is the in-app message (listed by `nudges/`): always sent."""

    channel: ClassVar[str] = "in_app"

    def send(self, *, member: User, message: Message) -> SendResult:
        return SendResult.sent()


class EmailTransport:
    """HTML + plain text from templates/delivery/, with per-nudge action links (done,
    snooze, skip) and RFC 8058 one-click unsubscribe headers.

    The Message-ID depends only on the nudges the message covers, so a redelivered email
    carries the same one and can be recognised (and counted) as the same message.
    """

    channel: ClassVar[str] = "email"

    def send(self, *, member: User, message: Message) -> SendResult:
        unsubscribe = links.unsubscribe_url(member_id=member.pk)
        context = {
            "member": member,
            "message": message,
            "site_url": settings.SITE_URL,
            "nudges": [
                {
                    "title": title,
                    "text": text,
                    **{
                        f"{action}_url": links.action_url(
                            nudge_id=nudge_id, member_id=member.pk, action=action
                        )
                        for action in links.ACTIONS
                    },
                }
                for nudge_id, (title, text) in zip(message.nudge_ids, message.lines, strict=True)
            ],
            "unsubscribe_url": unsubscribe,
        }
        email = _NudgeEmail(
            subject=message.title,
            body=render_to_string("delivery/nudge_email.txt", context),
            to=[member.email],
            headers={
                "Message-ID": message_id(message),
                # RFC 8058: one https URI, and the POST body a provider sends to it.
                "List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        email.attach_alternative(
            render_to_string("delivery/nudge_email.html", context), "text/html"
        )
        return email_send(email)


class _ShortHeadersAsTheyAre(Compat32):
    """Django's email policy (compat32) with a shortcut for a header that needs no folding.

    compat32 runs every header through email.header.Header's folding algorithm, even a
    short ASCII one it then leaves as it was: 18 headers an email (the parts have their own),
    half of as_bytes()'s 185 us of CPU. A short header of printable ASCII is written as is;
    every other header (long, non-ASCII, with a control character) still goes through
    compat32. The bytes
    are the same: tests/delivery/test_delivery_cpu.py compares both on 200,000 random
    headers and on a whole nudge email. as_bytes() 185 -> 90 us an email (in-process).
    """

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if (
            isinstance(value, str)
            and self.max_line_length
            and len(name) + 2 + len(value) <= self.max_line_length
            and value.isascii()
            # No control character: compat32 splits lines at \v, \f and \x1c-\x1e too.
            and value.isprintable()
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


SHORT_HEADERS_AS_THEY_ARE = _ShortHeadersAsTheyAre()


class _NudgeEmail(EmailMultiAlternatives):
    """A nudge email, serialised with the policy above (the parts follow their parent's)."""

    def message(self) -> Any:
        built = super().message()
        built.policy = SHORT_HEADERS_AS_THEY_ARE
        return built


def email_send(email: EmailMessage) -> SendResult:
    """Send one built email and classify the outcome, for nudges and the weekly emails
    alike: `sent`; `rejected` for an SMTP 5xx (permanent: bad address, policy); `failed`
    for a 4xx, a dropped connection or any other SMTP or network error (try again later).
    The error text never holds the recipient's address. Inside `connections_shared()` the
    email goes over the batch's SMTP connection."""
    try:
        connection = _smtp_connection()
        if isinstance(connection, SmtpBackend) and connection.connection is not None:
            _send_over(connection.connection, email)
        else:
            if connection is not None:
                email.connection = connection
            email.send()
    except smtplib.SMTPRecipientsRefused as error:
        _drop_smtp_connection()
        # Not str(error): it lists the refused addresses, personal data for the log.
        return _smtp_result(
            f"recipient refused: {_first_reply(error.recipients)}",
            code=_first_code(error.recipients),
        )
    except smtplib.SMTPResponseException as error:
        _drop_smtp_connection()
        return _smtp_result(str(error), code=error.smtp_code)
    except (smtplib.SMTPException, OSError) as error:
        _drop_smtp_connection()
        return SendResult.failed(f"{type(error).__name__}: {error}")
    return SendResult.sent()


def _send_over(smtp: smtplib.SMTP, email: EmailMessage) -> None:
    """What Django's SMTP backend does for one message on its open connection (`_send`):
    the same envelope and bytes, without the per-message work whose answer never changes
    in a batch (the lock, the open check, parsing and encoding the sender's address).
    CPU per nudge email 1,037 -> 930 us (best of 6 rounds of 200, in-process, to the SMTP
    sink; the medians 1,077 -> 1,021 us)."""
    recipients = email.recipients()
    if not recipients:
        return
    encoding = email.encoding or settings.DEFAULT_CHARSET
    smtp.sendmail(
        _sanitized_sender(email.from_email, encoding),
        [sanitize_address(address, encoding) for address in recipients],
        email.message().as_bytes(linesep="\r\n"),
    )


@functools.lru_cache(maxsize=8)
def _sanitized_sender(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


def message_id_domain() -> str:
    """The right-hand side of every Message-ID the service makes: SITE_URL's host."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id(message: Message) -> str:
    """`<nudge-<id>[-<id>...][-s<n>]@<SITE_URL host>>`: a retry of the same message keeps
    its Message-ID; the sending after the n-th snooze gets its own."""
    ids = "-".join(str(i) for i in message.nudge_ids)
    snooze = f"-s{message.round}" if message.round else ""
    return f"<nudge-{ids}{snooze}@{message_id_domain()}>"


def _first_code(recipients: dict[str, tuple[int, bytes]]) -> int:
    return next(iter(recipients.values()))[0] if recipients else 0


def _first_reply(recipients: dict[str, tuple[int, bytes]]) -> str:
    if not recipients:
        return ""
    return next(iter(recipients.values()))[1].decode(errors="replace")


def _smtp_result(error: str, *, code: int) -> SendResult:
    # 5xx: permanent (bad address, policy); 4xx and anything else: try again later.
    text = f"SMTP {code}: {error}"
    return SendResult.rejected(text) if 500 <= code < 600 else SendResult.failed(text)


register(InAppTransport())
register(EmailTransport())
