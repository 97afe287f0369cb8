"""A batch of members' deliveries shares its connections and its database work: one SMTP
connection, one keep-alive HTTP session and one VAPID token for the whole batch, a claim
for all, one write per member; a batch that runs out of time hands the rest back unsent."""

from __future__ import annotations

import re
import smtplib
import threading
from datetime import timedelta

import pytest
import urllib3.connection
from django.core.mail.backends.smtp import EmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import User
from apps.delivery.content import compose
from apps.delivery.models import DeliveryAttempt
from apps.delivery.services import nudge_groups_deliver
from apps.delivery.transports import TRANSPORTS, connections_shared
from apps.reminders.models import Nudge, NudgeStatus
from tests.delivery.push_receiver import PushReceiver
from tests.delivery.smtp_sink import SmtpSink
from tests.delivery.test_webpush import receiver, subscribed, vapid  # noqa: F401 - fixtures
from tests.factories import make_member, make_pending_nudge

pytestmark = pytest.mark.django_db


def member_on(channel: str) -> User:
    member = make_member()
    member.profile.channels = [channel]
    member.profile.save(update_fields=["channels"])
    return member


class Counted:
    """Counts calls of a method (connections opened), calling through to it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: type, name: str) -> None:
        self.calls = 0
        original = getattr(owner, name)

        def counting(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, counting)


def test_the_emails_of_a_batch_go_over_one_smtp_connection(
    mail_to_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given five members nudged by email
    nudges = [make_pending_nudge(member_on("email")) for _ in range(5)]
    connects = Counted(monkeypatch, smtplib.SMTP, "connect")

    # when one batch delivers them
    outcomes = nudge_groups_deliver(groups=[[nudge.pk] for nudge in nudges])

    # then each gets its own email, all over one connection
    assert [outcome.delivered for outcome in outcomes] == [1] * 5
    assert sorted(mail.recipients[0] for mail in mail_to_sink.accepted) == sorted(
        nudge.member.email for nudge in nudges
    )
    assert connects.calls == 1


def test_after_an_smtp_error_the_next_email_of_the_batch_opens_a_new_connection(
    mail_to_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given three members, and a server that refuses the first message with a 421
    # (it closes the connection, as RFC 5321 says a 421 does)
    nudges = [make_pending_nudge(member_on("email")) for _ in range(3)]
    mail_to_sink.answer_next("421 4.3.2 Service not available, closing channel")
    connects = Counted(monkeypatch, smtplib.SMTP, "connect")

    # when one batch delivers them
    outcomes = nudge_groups_deliver(groups=[[nudge.pk] for nudge in nudges])

    # then the first is retried later and the two others arrive over a fresh connection
    assert outcomes[0].retry_in is not None
    assert [outcome.delivered for outcome in outcomes[1:]] == [1, 1]
    assert len(mail_to_sink.accepted) == 2
    assert connects.calls == 2


def test_an_email_sent_over_the_batch_connection_is_what_djangos_smtp_backend_sends(
    mail_to_sink: SmtpSink, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member nudged by email, from a sender with a name that is not ASCII
    settings.DEFAULT_FROM_EMAIL = "Stress Relief Ärzte <nudges@stressrelief.example>"
    nudge = make_pending_nudge(member_on("email"), kind="stretch")
    message = compose([nudge])
    backend_sends = Counted(monkeypatch, EmailBackend, "send_messages")

    # when the same message goes once through Django's backend (outside a batch) and once
    # over a batch's shared connection, without the backend
    outside = TRANSPORTS["email"].send(member=nudge.member, message=message)
    with connections_shared(member_ids=[nudge.member_id]):
        inside = TRANSPORTS["email"].send(member=nudge.member, message=message)

    # then the server gets the same envelope and the same bytes (but for the Date header and
    # the random MIME boundary)
    assert (outside.outcome, inside.outcome) == ("sent", "sent")
    assert backend_sends.calls == 1
    first, second = mail_to_sink.accepted
    assert (first.sender, first.recipients) == (second.sender, second.recipients)
    assert first.sender == "nudges@stressrelief.example"
    assert _comparable(first.raw) == _comparable(second.raw)


def _comparable(raw: bytes) -> bytes:
    boundary = re.search(rb'boundary="([^"]+)"', raw).group(1)  # type: ignore[union-attr]
    return re.sub(rb"(?m)^Date: .*$", b"Date: -", raw.replace(boundary, b"BOUNDARY"))


def test_the_pushes_of_a_batch_share_one_connection_and_one_vapid_token(
    vapid: dict[str, str],  # noqa: F811 - the fixture
    receiver: PushReceiver,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given four members, each with a browser subscribed at the same push service
    members = [member_on("push") for _ in range(4)]
    for member in members:
        subscribed(member, receiver.subscribe())
    nudges = [make_pending_nudge(member) for member in members]
    connects = Counted(monkeypatch, urllib3.connection.HTTPConnection, "connect")

    # when one batch delivers them
    outcomes = nudge_groups_deliver(groups=[[nudge.pk] for nudge in nudges])

    # then every browser gets its message (the receiver checked the token and decrypted
    # it), over one kept-alive connection, all signed with one token
    assert [outcome.delivered for outcome in outcomes] == [1] * 4
    assert len(receiver.delivered) == 4
    assert {push.payload["nudge_ids"][0] for push in receiver.delivered} == {
        nudge.pk for nudge in nudges
    }
    assert connects.calls == 1
    assert len({push.headers["authorization"] for push in receiver.delivered}) == 1


@pytest.mark.postgresql
def test_a_batch_costs_two_queries_plus_one_per_member(mail_to_sink: SmtpSink) -> None:
    # given 5 and then 10 members with a first try pending
    small = [[make_pending_nudge(member_on("email")).pk] for _ in range(5)]
    large = [[make_pending_nudge(member_on("email")).pk] for _ in range(10)]

    # when a batch delivers each
    with CaptureQueriesContext(connection) as five:
        nudge_groups_deliver(groups=small)
    with CaptureQueriesContext(connection) as ten:
        nudge_groups_deliver(groups=large)

    # then one claim, one load, and one write (attempt and state together) per member
    assert (len(five), len(ten)) == (2 + 5, 2 + 10)
    assert Nudge.objects.filter(status=NudgeStatus.SENT).count() == 15
    assert DeliveryAttempt.objects.filter(outcome="sent").count() == 15


@pytest.mark.postgresql
def test_a_batch_of_stretch_emails_and_pushes_reads_nothing_more_per_member(
    mail_to_sink: SmtpSink,
    vapid: dict[str, str],  # noqa: F811 - the fixture
    receiver: PushReceiver,  # noqa: F811 - the fixture
) -> None:
    # given three members emailed a stretch nudge and three with a browser subscribed
    emailed = [make_pending_nudge(member_on("email"), kind="stretch") for _ in range(3)]
    pushed = [make_pending_nudge(member_on("push")) for _ in range(3)]
    for nudge in pushed:
        subscribed(nudge.member, receiver.subscribe())

    # when a batch delivers them
    with CaptureQueriesContext(connection) as queries:
        outcomes = nudge_groups_deliver(groups=[[nudge.pk] for nudge in emailed + pushed])

    # then all are sent, for the claim, the load, the subscriptions, the prescribed stretches
    # and one write per member: nothing the claim's SELECT left out is read member by member
    assert [outcome.delivered for outcome in outcomes] == [1] * 6
    assert (len(mail_to_sink.accepted), len(receiver.delivered)) == (3, 3)
    assert len(queries) == 4 + 6, [query["sql"][:60] for query in queries]


def test_a_batch_that_runs_out_of_time_hands_its_remaining_members_back_unsent(
    mail_to_sink: SmtpSink, settings
) -> None:
    # given a batch of three members, and no time at all before the sweep would reclaim
    settings.DISPATCH_RECLAIM_AFTER = timedelta(0)
    nudges = [make_pending_nudge(member_on("email")) for _ in range(3)]

    # when the batch runs
    outcomes = nudge_groups_deliver(groups=[[nudge.pk] for nudge in nudges])

    # then the first member is sent (a batch always makes progress), the others are
    # handed back pending, their try not counted, to be enqueued again
    assert [(o.delivered, o.released) for o in outcomes] == [(1, False), (0, True), (0, True)]
    assert len(mail_to_sink.accepted) == 1
    rest = Nudge.objects.filter(pk__in=[nudge.pk for nudge in nudges[1:]])
    assert {(n.status, n.delivery_tries, n.claim_token) for n in rest} == {
        (NudgeStatus.PENDING, 0, None)
    }


@pytest.mark.postgresql
def test_a_write_cut_off_by_a_database_restart_is_written_again_and_nothing_is_sent_twice(
    transactional_db: None, mail_to_sink: SmtpSink
) -> None:
    # given three members nudged by email, and an SMTP server that takes the first and then
    # stalls, so the batch is caught between the first member's write and the second's
    nudges = [make_pending_nudge(member_on("email")) for _ in range(3)]
    mail_to_sink.hold_after(1)
    outcomes: list[object] = []

    def deliver() -> None:
        try:
            outcomes.extend(nudge_groups_deliver(groups=[[nudge.pk] for nudge in nudges]))
        finally:
            connection.close()

    batch = threading.Thread(target=deliver)
    batch.start()
    assert mail_to_sink.holding.wait(30)

    # when the database ends the batch's connection (a restart, a failover) meanwhile
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchall() == [(True,)]
    mail_to_sink.release()
    batch.join(60)

    # then every member's attempt and state are recorded once: the first member sent, the
    # held one refused (421, to retry), the last sent, and no message accepted twice
    assert not batch.is_alive()
    assert [outcome.delivered for outcome in outcomes] == [1, 0, 1]  # type: ignore[attr-defined]
    statuses = dict(Nudge.objects.values_list("pk", "status"))
    assert [statuses[nudge.pk] for nudge in nudges] == ["sent", "pending", "sent"]
    attempts = DeliveryAttempt.objects.values_list("nudge_id", "outcome")
    assert sorted(attempts) == sorted(
        [(nudges[0].pk, "sent"), (nudges[1].pk, "failed"), (nudges[2].pk, "sent")]
    )
    accepted = [mail.message_id for mail in mail_to_sink.accepted]
    assert len(accepted) == len(set(accepted)) == 2
