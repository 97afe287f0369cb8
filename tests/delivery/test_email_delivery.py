"""Email delivery through a real SMTP server on loopback (aiosmtpd): what arrives, its
headers and links, and what happens when the server answers 451 or 550. The last test
runs the whole path: the dispatcher, the real broker, a real Celery worker process, SMTP."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from apps.accounts.models import User
from apps.delivery import links
from apps.delivery.content import compose
from apps.delivery.services import nudges_deliver
from apps.reminders.dispatch import dispatch_tick
from apps.reminders.models import Nudge, NudgeKind, NudgeStatus, Schedule
from apps.tracking.models import Activity
from tests.conftest import WorkerProcess, wait_until
from tests.delivery.smtp_sink import ReceivedMail, SmtpSink
from tests.factories import make_member
from worker.tasks import enqueue_deliveries

SITE = "https://stressrelief.example"
ACTION_LINE = re.compile(r"^\s*(Done|Snooze|Skip):\s+(\S+)$", re.MULTILINE)
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- Fixtures and helpers ------------------------------------------------------------------
@pytest.fixture
def mail_to_sink(mail_to_sink: SmtpSink, settings) -> SmtpSink:
    """The shared fixture (tests/conftest.py), with links on SITE."""
    settings.SITE_URL = SITE
    return mail_to_sink


def member_emailed_only(**fields: object) -> User:
    member = make_member(**fields)  # type: ignore[arg-type]
    member.profile.channels = ["email"]
    member.profile.save(update_fields=["channels"])
    return member


def pending_nudge(member: User, kind: str = NudgeKind.STRETCH, minutes_ago: int = 0) -> Nudge:
    return Nudge.objects.create(
        member=member, kind=kind, due_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def expected_message_id(*nudges: Nudge) -> str:
    return f"<nudge-{'-'.join(str(nudge.pk) for nudge in nudges)}@stressrelief.example>"


def action_links(mail: ReceivedMail) -> list[tuple[str, str]]:
    """(label, url) for every action link in the plain-text part, in order."""
    return ACTION_LINE.findall(mail.text)


def outcomes(nudge: Nudge) -> list[tuple[str, str]]:
    return list(nudge.attempts.order_by("id").values_list("channel", "outcome"))


# --- Through the SMTP sink, in this process ------------------------------------------------
@pytest.mark.django_db
def test_a_nudge_arrives_as_one_email_with_text_html_and_one_click_unsubscribe_headers(
    mail_to_sink: SmtpSink,
) -> None:
    member = member_emailed_only()
    nudge = pending_nudge(member)

    outcome = nudges_deliver(nudge_ids=[nudge.pk])

    assert outcome.delivered == 1
    [mail] = mail_to_sink.accepted
    assert mail.recipients == (member.email,)
    assert mail.message_id == expected_message_id(nudge)
    assert mail.parsed.get_content_type() == "multipart/alternative"
    # the stretch phrase its id picks (not a word that only some phrases contain)
    assert compose([nudge]).title in mail.text
    assert "<h2" in mail.html
    # RFC 8058: an https URI in angle brackets, and the one-click POST body.
    unsubscribe = mail.header("List-Unsubscribe")
    assert unsubscribe is not None
    assert re.fullmatch(rf"<{re.escape(SITE)}/n/unsubscribe/[^/>\s]+/>", unsubscribe)
    assert mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    url = unsubscribe.strip("<>")
    assert url in mail.text
    assert url in mail.html
    assert resolve(urlsplit(url).path).url_name == "unsubscribe"
    assert links.unsubscribe_link_read(token=urlsplit(url).path.split("/")[-2]) == member
    assert Nudge.objects.get(pk=nudge.pk).status == NudgeStatus.SENT
    assert outcomes(nudge) == [("email", "sent")]


@pytest.mark.django_db
def test_a_bundled_email_has_done_snooze_and_skip_links_for_each_of_its_nudges(
    mail_to_sink: SmtpSink,
) -> None:
    member = member_emailed_only()
    water = pending_nudge(member, NudgeKind.HYDRATION, minutes_ago=2)
    walk = pending_nudge(member, NudgeKind.MOVEMENT)

    nudges_deliver(nudge_ids=[water.pk, walk.pk])

    [mail] = mail_to_sink.accepted
    assert mail.message_id == expected_message_id(water, walk)
    found = action_links(mail)
    assert [label for label, _ in found] == ["Done", "Snooze", "Skip"] * 2
    read = [links.action_link_read(token=urlsplit(url).path.split("/")[-2]) for _, url in found]
    assert [(link.nudge.pk, link.action) for link in read] == [
        (water.pk, "done"), (water.pk, "snooze"), (water.pk, "skip"),
        (walk.pk, "done"), (walk.pk, "snooze"), (walk.pk, "skip"),
    ]  # fmt: skip
    for _, url in found:
        assert url.startswith(f"{SITE}/n/")
        assert f'href="{url}"' in mail.html


@pytest.mark.django_db
def test_the_done_link_in_the_email_asks_first_then_marks_the_nudge_done(
    mail_to_sink: SmtpSink,
) -> None:
    member = member_emailed_only()
    nudge = pending_nudge(member, NudgeKind.HYDRATION)
    nudges_deliver(nudge_ids=[nudge.pk])
    [mail] = mail_to_sink.accepted
    done_path = urlsplit(dict(action_links(mail))["Done"]).path
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(done_path)
    assert page.status_code == 200
    assert Nudge.objects.get(pk=nudge.pk).status == NudgeStatus.SENT

    csrf = CSRF_INPUT.search(page.content.decode())
    assert csrf is not None
    response = browser.post(done_path, {"csrfmiddlewaretoken": csrf.group(1)})

    assert response.status_code == 200
    assert Nudge.objects.get(pk=nudge.pk).status == NudgeStatus.DONE
    assert Activity.objects.get(member=member).amount_ml == 250


@pytest.mark.django_db
def test_a_451_answer_keeps_the_nudge_pending_and_the_retry_sends_it_once_with_the_same_id(
    mail_to_sink: SmtpSink,
) -> None:
    member = member_emailed_only()
    nudge = pending_nudge(member)
    mail_to_sink.answer_next("451 4.3.0 Mailbox busy, try again later")

    # when the server answers 451
    first = nudges_deliver(nudge_ids=[nudge.pk])

    # then the nudge waits for a retry, with a failed attempt on record
    nudge.refresh_from_db()
    assert first.retry_in is not None
    assert nudge.status == NudgeStatus.PENDING
    assert nudge.retry_at is not None
    assert outcomes(nudge) == [("email", "failed")]
    assert "451" in nudge.attempts.get().error
    assert mail_to_sink.accepted == []

    # when the server has recovered and the retry is due
    second = nudges_deliver(nudge_ids=[nudge.pk], now=nudge.retry_at)

    # then the mailbox holds exactly one copy, with the Message-ID the refused try had
    nudge.refresh_from_db()
    assert second.delivered == 1
    assert nudge.status == NudgeStatus.SENT
    assert outcomes(nudge) == [("email", "failed"), ("email", "sent")]
    [refused] = [mail for mail in mail_to_sink.received if not mail.accepted]
    assert refused.message_id == expected_message_id(nudge)
    assert len(mail_to_sink.accepted_with_id(expected_message_id(nudge))) == 1
    assert len(mail_to_sink.accepted) == 1


@pytest.mark.django_db
def test_a_retry_before_its_time_sends_nothing(mail_to_sink: SmtpSink) -> None:
    member = member_emailed_only()
    nudge = pending_nudge(member)
    mail_to_sink.answer_next("451 4.3.0 Try again later")
    nudges_deliver(nudge_ids=[nudge.pk])
    nudge.refresh_from_db()

    early = nudges_deliver(nudge_ids=[nudge.pk], now=nudge.retry_at - timedelta(seconds=1))

    assert early.delivered == 0
    assert mail_to_sink.accepted == []
    assert Nudge.objects.get(pk=nudge.pk).status == NudgeStatus.PENDING


@pytest.mark.django_db
@pytest.mark.parametrize("stage", ["data", "rcpt"])
def test_a_550_answer_is_a_rejected_attempt_and_fails_a_nudge_emailed_only(
    mail_to_sink: SmtpSink, stage: str
) -> None:
    member = member_emailed_only()
    nudge = pending_nudge(member)
    mail_to_sink.answer_next("550 5.1.1 No such mailbox here", at=stage)

    outcome = nudges_deliver(nudge_ids=[nudge.pk])

    nudge.refresh_from_db()
    assert outcome.retry_in is None
    assert nudge.status == NudgeStatus.FAILED
    assert nudge.retry_at is None
    assert outcomes(nudge) == [("email", "rejected")]
    assert "550" in nudge.attempts.get().error
    assert mail_to_sink.accepted == []


@pytest.mark.django_db
def test_a_message_sent_again_after_its_record_was_lost_keeps_its_message_id(
    mail_to_sink: SmtpSink,
) -> None:
    # given an email the server accepted, whose record the worker lost (killed after SMTP
    # said 250, before it could write the outcome)
    member = member_emailed_only()
    nudge = pending_nudge(member)
    nudges_deliver(nudge_ids=[nudge.pk])
    nudge.attempts.all().delete()
    Nudge.objects.filter(pk=nudge.pk).update(status=NudgeStatus.PENDING, sent_at=None)

    # when it is delivered again
    nudges_deliver(nudge_ids=[nudge.pk])

    # then both copies carry one Message-ID: a mailbox, or a count, sees one message twice
    copies = mail_to_sink.accepted_with_id(expected_message_id(nudge))
    assert len(copies) == 2
    assert len(mail_to_sink.accepted) == 2


# --- End to end: dispatcher, broker, a real worker process, SMTP ----------------------------
@pytest.fixture
def worker_mailing_the_sink(
    transactional_db: None,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> WorkerProcess:
    """A Celery worker process whose settings send email to the sink. The worker reads
    its settings from the environment it is started with, so the environment is set
    before the worker fixture starts (and the worker stops before the sink does).
    `transactional_db` is requested here, not only through the worker fixture: asked for
    lazily, pytest-django would leave this process on the development database."""
    monkeypatch.setenv("EMAIL_URL", smtp_sink.url)
    monkeypatch.setenv("SITE_URL", SITE)
    return request.getfixturevalue("celery_worker_process")


@pytest.mark.slow
def test_a_due_schedule_is_dispatched_and_a_worker_process_emails_it_to_the_smtp_server(
    worker_mailing_the_sink: WorkerProcess, smtp_sink: SmtpSink
) -> None:
    # given a member whose one enabled schedule fired at the start of this minute
    member = make_member()
    member.schedules.update(enabled=False)
    profile = member.profile
    profile.quiet_start = profile.quiet_end = None  # whatever the hour the suite runs at
    profile.save(update_fields=["quiet_start", "quiet_end"])
    now = timezone.now()
    due = now.replace(second=0, microsecond=0)
    schedule = Schedule.objects.create(
        member=member,
        kind=NudgeKind.MOVEMENT,
        times=[due.strftime("%H:%M")],
        channels=["email"],
        next_due_at=due,
    )

    # when the dispatcher ticks and hands the nudge to the broker
    report = dispatch_tick(enqueue=enqueue_deliveries, now=now)

    # then the worker process sends it to the SMTP server, once, and records it as sent
    assert report.enqueued == 1, report
    nudge = Nudge.objects.get(schedule=schedule)
    assert wait_until(lambda: smtp_sink.accepted, timeout=60), (
        "no email at the SMTP sink within 60 s; worker output:\n" + worker_mailing_the_sink.output
    )
    assert wait_until(
        lambda: Nudge.objects.get(pk=nudge.pk).status == NudgeStatus.SENT, timeout=30
    ), worker_mailing_the_sink.output
    [mail] = smtp_sink.accepted
    assert mail.recipients == (member.email,)
    assert mail.message_id == expected_message_id(nudge)
    assert mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert (mail.header("List-Unsubscribe") or "").startswith(f"<{SITE}/n/unsubscribe/")
    assert [label for label, _ in action_links(mail)] == ["Done", "Snooze", "Skip"]
    assert outcomes(nudge) == [("email", "sent")]
