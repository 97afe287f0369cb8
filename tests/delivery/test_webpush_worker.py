"""Web Push end to end with real parts: the dispatcher ticks, the real broker carries the
task, a real Celery worker process encrypts and POSTs the nudge to the local push service
(tests/delivery/push_receiver.py), which decrypts it with keys only the test (the browser)
holds. The worker reads its settings from the environment it is started with."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import User
from apps.delivery.content import compose
from apps.delivery.models import DeliveryAttempt, PushSubscription
from apps.delivery.webpush import PUSH_TTL_SECONDS, PUSH_URGENCY, push_topic
from apps.reminders.dispatch import dispatch_tick
from apps.reminders.models import Nudge, NudgeKind, NudgeStatus, Schedule
from tests.conftest import WorkerProcess, wait_until
from tests.delivery.push_receiver import BrowserSubscription, PushReceiver, running_push_receiver
from tests.delivery.test_webpush import signed_actions
from tests.factories import make_member
from worker.tasks import enqueue_deliveries

pytestmark = pytest.mark.slow

SITE = "https://stressrelief.example"
API = "/api/v1/push-subscriptions/"
SUBJECT = "mailto:operator@stressrelief.example"
# Celery's log line when a task returns (a retry logs "... retry: Retry in 30s" instead).
TASK_SUCCEEDED = re.compile(r"Task worker\.tasks\.deliver_nudge(s|_batch)\[[^\]]+\] succeeded")


# --- Fixtures and helpers ------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    with running_push_receiver() as receiver:
        yield receiver


@pytest.fixture
def vapid_keys() -> dict[str, str]:
    """A pair from the operator command, as an operator would put in the environment."""
    output = StringIO()
    call_command("generate_vapid_keys", stdout=output)
    return dict(line.split("=", 1) for line in output.getvalue().splitlines())


@pytest.fixture
def worker_pushing_to_the_receiver(
    transactional_db: None,
    receiver: PushReceiver,
    vapid_keys: dict[str, str],
    settings,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> WorkerProcess:
    """A Celery worker process configured for Web Push to the loopback receiver. The
    environment is set before the worker fixture starts, and the worker stops before the
    receiver does. `transactional_db` is requested here, not only through the worker
    fixture: asked for lazily, pytest-django would leave this process on the development
    database. This process accepts the receiver's plain-http loopback endpoint too, so the
    API registers it."""
    settings.WEBPUSH_ALLOW_INSECURE_ENDPOINTS = True
    monkeypatch.setenv("VAPID_PUBLIC_KEY", vapid_keys["VAPID_PUBLIC_KEY"])
    monkeypatch.setenv("VAPID_PRIVATE_KEY", vapid_keys["VAPID_PRIVATE_KEY"])
    monkeypatch.setenv("VAPID_SUBJECT", SUBJECT)
    monkeypatch.setenv("WEBPUSH_ALLOW_INSECURE_ENDPOINTS", "true")
    monkeypatch.setenv("SITE_URL", SITE)
    return request.getfixturevalue("celery_worker_process")


def member_pushed_and_in_app() -> User:
    """A member nudged by push and in the app only (no email), with no quiet hours
    (whatever the hour the suite runs at) and none of the default schedules enabled."""
    member = make_member()
    member.schedules.update(enabled=False)
    profile = member.profile
    profile.channels = ["push", "in_app"]
    profile.quiet_start = profile.quiet_end = None
    profile.save(update_fields=["channels", "quiet_start", "quiet_end"])
    return member


def registered_browser(api_as, member: User, receiver: PushReceiver) -> BrowserSubscription:
    """The browser subscribes at the receiver and the page POSTs it to the API."""
    browser = receiver.subscribe()
    response = api_as(member).post(API, browser.to_json(), format="json")
    assert response.status_code == 201, response.content
    return browser


def schedule_due_now(member: User, now: datetime) -> Schedule:
    """A schedule of the member that fired at the start of this minute, on the member's
    own channels."""
    due = now.replace(second=0, microsecond=0)
    return Schedule.objects.create(
        member=member, kind=NudgeKind.MOVEMENT, times=[due.strftime("%H:%M")], next_due_at=due
    )


def dispatched(schedule: Schedule, now: datetime) -> Nudge:
    report = dispatch_tick(enqueue=enqueue_deliveries, now=now)
    assert report.enqueued == 1, report
    return Nudge.objects.get(schedule=schedule)


def settled(nudge: Nudge, worker: WorkerProcess) -> Nudge:
    """The nudge once the worker's task has finished with it (no longer pending/sending)."""
    assert wait_until(
        lambda: (
            Nudge.objects.get(pk=nudge.pk).status not in (NudgeStatus.PENDING, NudgeStatus.SENDING)
            and TASK_SUCCEEDED.search("".join(worker.lines))
        ),
        timeout=60,
    ), f"the worker did not finish the nudge within 60 s; worker output:\n{worker.output}"
    return Nudge.objects.get(pk=nudge.pk)


def outcomes(nudge: Nudge) -> list[tuple[str, str]]:
    return list(nudge.attempts.order_by("id").values_list("channel", "outcome"))


# --- End to end ----------------------------------------------------------------------------
def test_a_due_schedule_is_dispatched_and_a_worker_process_pushes_it_to_the_browser(
    worker_pushing_to_the_receiver: WorkerProcess,
    receiver: PushReceiver,
    vapid_keys: dict[str, str],
    api_as,
) -> None:
    # given a member whose browser is registered through the API, and whose one enabled
    # schedule fired at the start of this minute
    worker = worker_pushing_to_the_receiver
    member = member_pushed_and_in_app()
    browser = registered_browser(api_as, member, receiver)
    now = timezone.now()
    schedule = schedule_due_now(member, now)

    # when the dispatcher ticks and hands the nudge to the broker
    nudge = dispatched(schedule, now)

    # then the worker process pushes it to the browser, once, and records it as sent
    assert wait_until(lambda: receiver.received, timeout=60), (
        f"no push at the receiver within 60 s; worker output:\n{worker.output}"
    )
    nudge = settled(nudge, worker)
    [delivery] = receiver.received
    assert delivery.delivered, delivery.problem
    assert delivery.endpoint == browser.endpoint
    # what the service worker decrypts and shows
    message = compose([nudge])
    shown = delivery.payload
    assert (shown["title"], shown["body"]) == (message.title, message.body)
    assert shown["nudge_ids"] == [nudge.pk]
    assert shown["actions"] == [
        {"action": "done", "title": "Done"},
        {"action": "snooze", "title": "Snooze 10 min"},
    ]
    assert signed_actions(shown["action_urls"]) == {
        "done": [{"a": "done", "n": nudge.pk}],
        "snooze": [{"a": "snooze", "n": nudge.pk}],
    }
    # the RFC 8030 headers, and the VAPID identity the worker signed with
    assert delivery.headers["ttl"] == str(PUSH_TTL_SECONDS)
    assert delivery.headers["urgency"] == PUSH_URGENCY == "normal"
    assert delivery.headers["topic"] == push_topic(message)
    assert shown["tag"] == delivery.headers["topic"]
    assert delivery.vapid_key == vapid_keys["VAPID_PUBLIC_KEY"]
    assert delivery.vapid_claims["sub"] == SUBJECT
    # the nudge is sent on both channels, with no email involved
    assert nudge.status == NudgeStatus.SENT
    assert nudge.retry_at is None
    assert outcomes(nudge) == [("push", "sent"), ("in_app", "sent")]


def test_a_browser_gone_for_good_is_disabled_and_the_worker_does_not_retry_the_push(
    worker_pushing_to_the_receiver: WorkerProcess, receiver: PushReceiver, api_as
) -> None:
    # given a registered browser whose push service will answer 410 Gone
    worker = worker_pushing_to_the_receiver
    member = member_pushed_and_in_app()
    browser = registered_browser(api_as, member, receiver)
    receiver.answer_next(410)
    now = timezone.now()
    schedule = schedule_due_now(member, now)

    # when the dispatcher ticks and the worker tries to push the nudge
    nudge = dispatched(schedule, now)
    nudge = settled(nudge, worker)

    # then the subscription is disabled and the push attempt is recorded as rejected
    [refused] = receiver.received
    assert refused.status == 410
    assert refused.endpoint == browser.endpoint
    subscription = PushSubscription.objects.get(endpoint=browser.endpoint)
    assert subscription.member == member
    assert subscription.disabled_at is not None
    [attempt] = DeliveryAttempt.objects.filter(nudge=nudge, channel="push")
    assert attempt.outcome == DeliveryAttempt.Outcome.REJECTED
    assert "HTTP 410" in attempt.error
    assert "subscription disabled" in attempt.error
    # and no retry is scheduled: in-app delivered it, the push is not tried again
    assert outcomes(nudge) == [("push", "rejected"), ("in_app", "sent")]
    assert nudge.status == NudgeStatus.SENT
    assert nudge.retry_at is None
    assert nudge.delivery_tries == 1
    log = "".join(worker.lines)
    assert " retry: " not in log, worker.output
    # nor republished on its own, as a batch does for a member that needs a retry
    assert "worker.tasks.deliver_nudges[" not in log, worker.output
    assert len(TASK_SUCCEEDED.findall(log)) == 1, worker.output
