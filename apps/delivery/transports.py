"""One transport per channel behind a small registry. A transport sends one message to
one member and says how it went; it never touches nudge state (services.py does)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
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
        email = EmailMultiAlternatives(
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


def email_send(email: EmailMessage) -> SendResult:
    """Send one built email and classify the outcome, for nudges and the weekly emails
    alike: `sent`; `rejected` for an SMTP 5xx (permanent: bad address, policy); `failed`
    for a 4xx, a dropped connection or any other SMTP or network error (try again later).
    The error text never holds the recipient's address."""
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        # Not str(error): it lists the refused addresses, personal data for the log.
        return _smtp_result(
            f"recipient refused: {_first_reply(error.recipients)}",
            code=_first_code(error.recipients),
        )
    except smtplib.SMTPResponseException as error:
        return _smtp_result(str(error), code=error.smtp_code)
    except (smtplib.SMTPException, OSError) as error:
        return SendResult.failed(f"{type(error).__name__}: {error}")
    return SendResult.sent()


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
