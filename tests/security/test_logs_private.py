"""No personal data or secrets in the logs: a member's whole journey (sign-up, a check-in
with a note, wrong passwords, a password reset, a refused email link, a delivery the mail
server refuses) with every logger at DEBUG, and none of what they typed or were sent shows
up in what the logs received."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.delivery import links
from apps.delivery.services import nudges_deliver
from apps.reminders.models import Nudge, NudgeKind, NudgeStatus
from tests.delivery.smtp_sink import SmtpSink
from tests.factories import make_member

pytestmark = pytest.mark.django_db

EMAIL = "leaky.person@example.org"
PASSWORD = "Sup3r-secret-Pass-phrase"
WRONG_PASSWORD = "Wr0ng-guess-phrase-77"
NEW_PASSWORD = "New-secret-phrase-2026"
NOTE = "knot under my left shoulder blade since the divorce hearing ZX42"


# The test's local SMTP server (aiosmtpd) logs what it receives, as a real mail server's
# own log would: not the service's logs.
STAND_IN_LOGGERS = ("mail.log",)


class _Everything(logging.Handler):
    """Keeps every record it is handed, formatted as an operator's log would show it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(STAND_IN_LOGGERS):
            return
        text = self.format(record)  # message, arguments and any traceback
        self.lines.append(f"{text} {record.__dict__.get('status_code', '')}")


@pytest.fixture
def log_output() -> Iterator[_Everything]:
    """Every logger at DEBUG; the handler on the root and on each logger that does not
    propagate (LOGGING's "django"), so nothing goes round it."""
    handler = _Everything()
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    levels = {logger: logger.level for logger in loggers}
    attached = [logger for logger in loggers if logger is logging.root or not logger.propagate]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    for logger in attached:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in attached:
            logger.removeHandler(handler)
        for logger, level in levels.items():
            logger.setLevel(level)


def test_a_members_journey_leaves_no_personal_data_or_secret_in_the_logs(
    log_output: _Everything, mail_to_sink: SmtpSink
) -> None:
    secrets_seen: list[str] = [EMAIL, PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, NOTE]
    browser = Client()
    api = APIClient()

    # sign up on the page, then a token through the API
    signed_up = browser.post("/signup/", {"email": EMAIL, "password": PASSWORD, "timezone": "UTC"})
    assert signed_up.status_code == 302
    token = api.post("/api/v1/auth/token/", {"email": EMAIL, "password": PASSWORD}).json()["token"]
    secrets_seen.append(token)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    # a check-in with a note, and one refused (its note too long: a 400 with the body)
    recorded = api.post("/api/v1/checkins/", {"stress": 7, "pain": 6, "note": NOTE}, format="json")
    assert recorded.status_code == 201, recorded.content
    refused = api.post(
        "/api/v1/checkins/", {"stress": 99, "pain": 6, "note": NOTE * 40}, format="json"
    )
    assert refused.status_code == 400

    # the member's pages, logged in, the note on one (missing template variables log at DEBUG)
    for page in ("/today/", "/account/", "/history/", "/progress/"):
        assert browser.get(page).status_code == 200, page

    # wrong passwords: API, log-in page, admin; a wrong current password on a change
    assert (
        Client()
        .post("/api/v1/auth/token/", {"email": EMAIL, "password": WRONG_PASSWORD})
        .status_code
        == 400
    )
    assert (
        Client()
        .post("/accounts/login/", {"username": EMAIL, "password": WRONG_PASSWORD})
        .status_code
        == 200
    )
    Client().post("/admin/login/", {"username": EMAIL, "password": WRONG_PASSWORD})
    assert (
        api.post(
            "/api/v1/auth/password/change/",
            {"old_password": WRONG_PASSWORD, "new_password": NEW_PASSWORD},
            format="json",
        ).status_code
        == 400
    )

    # a password reset: the emailed link, its page, the new password through the API
    assert Client().post("/api/v1/auth/password/reset/", {"email": EMAIL}).status_code == 202
    email_text = mail_to_sink.accepted[-1].parsed.get_body(("plain",)).get_content()
    link = re.search(r"/accounts/reset/([^/\s]+)/([^/\s]+)/", email_text)
    assert link, email_text
    uid, reset_token = link.groups()
    secrets_seen.append(reset_token)
    Client().get(link.group(0), follow=True)
    assert (
        Client()
        .post(
            "/api/v1/auth/password/reset/confirm/",
            {"uid": uid, "token": reset_token + "x", "new_password": NEW_PASSWORD},
        )
        .status_code
        == 400
    )  # a mistyped token: a 400 the request log reports
    assert (
        Client()
        .post(
            "/api/v1/auth/password/reset/confirm/",
            {"uid": uid, "token": reset_token, "new_password": NEW_PASSWORD},
        )
        .status_code
        == 204
    )

    # an emailed action link that stays valid after a refused form (400)
    member = User.objects.get(email=EMAIL)
    nudge = Nudge.objects.create(member=member, kind=NudgeKind.STRETCH, due_at=timezone.now())
    Nudge.objects.filter(pk=nudge.pk).update(status=NudgeStatus.SENT)
    action = links.action_token(nudge_id=nudge.pk, member_id=member.pk, action="snooze")
    secrets_seen.append(action)
    assert Client().post(f"/n/{action}/", {"minutes": "-5"}).status_code == 400

    # a delivery the mail server refuses for good
    member.profile.channels = ["email"]
    member.profile.save(update_fields=["channels"])
    failing = Nudge.objects.create(
        member=member, kind=NudgeKind.HYDRATION, due_at=timezone.now() - timedelta(minutes=1)
    )
    mail_to_sink.answer_next("550 5.1.1 No such mailbox here")
    nudges_deliver(nudge_ids=[failing.pk])
    failing.refresh_from_db()
    assert failing.status == NudgeStatus.FAILED

    secrets_seen.append(settings.SECRET_KEY)
    output = "\n".join(log_output.lines)
    # The flow did log: the request log's 4xx lines and the delivery failure are there.
    assert "Bad Request" in output
    assert "failed" in output
    leaked = [secret for secret in secrets_seen if secret in output]
    assert leaked == [], output
    assert "leaky.person" not in output.lower()
    assert not mail.outbox  # everything went to the real SMTP sink, none to memory


def test_a_missing_template_variable_logs_its_name_but_not_the_context(
    log_output: _Everything,
) -> None:
    from django.template import Context, Template

    member = make_member(email=EMAIL)

    Template("Hello {{ nobody_set_this }}").render(Context({"user": member, "note": NOTE}))

    output = "\n".join(log_output.lines)
    assert "nobody_set_this" in output  # the DEBUG line is there, for a template's author
    assert EMAIL not in output
    assert NOTE not in output
