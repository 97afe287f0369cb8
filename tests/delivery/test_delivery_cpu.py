"""The CPU savings of a delivery keep what a delivery says: links resolved once per route
are the links reverse() makes, and a batch that reads every member's prescribed stretches
in one query still gives each member exactly their own."""

from __future__ import annotations

import os
import random
import string

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.delivery import links
from apps.delivery.services import nudge_groups_deliver
from apps.reminders.models import NudgeKind
from tests.careteam.test_prescribed_stretches import emailed_member, pending_nudge, prescribe
from tests.factories import make_link, make_therapist

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("action", links.ACTIONS)
def test_an_action_url_is_the_one_reverse_makes_and_still_verifies(action: str) -> None:
    url = links.action_url(nudge_id=7, member_id=3, action=action)

    token = url.rstrip("/").rsplit("/", 1)[1]
    assert url == links.absolute_url(reverse("delivery:action", kwargs={"token": token}))
    assert links._verified(token, salt=links.ACTION_SALT, max_age=links.ACTION_LINK_MAX_AGE)


def test_an_unsubscribe_url_is_the_one_reverse_makes() -> None:
    url = links.unsubscribe_url(member_id=3)

    token = url.rstrip("/").rsplit("/", 1)[1]
    assert url.endswith(reverse("delivery:unsubscribe", kwargs={"token": token}))


@pytest.mark.parametrize("token", ["a b", "é", "%2F", "a?b"])
def test_a_token_no_signer_makes_is_quoted_by_reverse(token: str) -> None:
    assert links._token_path("delivery:action", token) == reverse(
        "delivery:action", kwargs={"token": token}
    )


def test_a_script_prefix_is_honoured(settings) -> None:
    from django.urls import set_script_prefix

    set_script_prefix("/app/")
    try:
        path = links._token_path("delivery:unsubscribe", "abc:def")
        assert path == reverse("delivery:unsubscribe", kwargs={"token": "abc:def"})
        assert path.startswith("/app/")
    finally:
        set_script_prefix("/")


def test_a_batch_reads_the_stretches_of_all_its_members_in_one_query_each_gets_their_own(
    mailoutbox,
) -> None:
    # given three members nudged to stretch by email: two with their own therapist's
    # prescriptions, one with none
    therapist_a, therapist_b = make_therapist(), make_therapist()
    members = [emailed_member() for _ in range(3)]
    make_link(member=members[0], therapist=therapist_a)
    make_link(member=members[1], therapist=therapist_b)
    prescribe(therapist_a, members[0], name="Neck roll")
    prescribe(therapist_b, members[1], name="Doorway chest stretch")
    prescribe(therapist_b, members[1], name="Cat-cow")
    nudges = [pending_nudge(member) for member in members]

    # when one batch delivers them
    with CaptureQueriesContext(connection) as queries:
        outcomes = nudge_groups_deliver(groups=[[nudge.pk] for nudge in nudges])

    # then every member got one email, the stretches were read once for the batch
    assert [outcome.delivered for outcome in outcomes] == [1, 1, 1]
    stretch_queries = [q for q in queries if "careteam_prescribedstretch" in q["sql"]]
    assert len(stretch_queries) == 1
    # and each email lists only its recipient's stretches
    bodies = {email.to[0]: email.body for email in mail.outbox}
    assert "Neck roll" in bodies[members[0].email]
    assert "Doorway chest stretch" not in bodies[members[0].email]
    assert "Doorway chest stretch" in bodies[members[1].email]
    assert "Cat-cow" in bodies[members[1].email]
    assert "Neck roll" not in bodies[members[1].email]
    assert "From your therapist" not in bodies[members[2].email]


def test_a_batch_without_stretch_nudges_reads_no_stretches() -> None:
    nudges = [pending_nudge(emailed_member(), NudgeKind.HYDRATION) for _ in range(3)]

    with CaptureQueriesContext(connection) as queries:
        nudge_groups_deliver(groups=[[nudge.pk] for nudge in nudges])

    assert not [q for q in queries if "careteam_prescribedstretch" in q["sql"]]


# --- The email's bytes: short headers written as they are ----------------------------------
def test_the_short_header_shortcut_folds_every_header_as_compat32_does() -> None:
    # given random headers: short and long, spaces, tabs, punctuation, empty values
    from email._policybase import compat32

    from apps.delivery.transports import SHORT_HEADERS_AS_THEY_ARE

    rng = random.Random(8058)
    # with the characters compat32 breaks lines at, and one that is not ASCII
    alphabet = string.ascii_letters + string.digits + '  \t<>@.:;,="()-_/\v\f\x1c\x1e\x00é'
    for _ in range(20_000):
        name = rng.choice(["Subject", "To", "From", "Message-ID", "List-Unsubscribe", "X-A"])
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90)))
        for linesep in ("\n", "\r\n"):
            # then the shortcut gives compat32's bytes (or its refusal) for each
            expected = _folded(compat32.clone(linesep=linesep), name, value)
            got = _folded(SHORT_HEADERS_AS_THEY_ARE.clone(linesep=linesep), name, value)
            assert got == expected, (name, value)


def _folded(policy, name: str, value: str) -> bytes | str:
    from email.errors import HeaderParseError

    try:
        return policy.fold_binary(name, value)
    except HeaderParseError as error:  # a line break followed by "name:" in the value
        return f"refused: {error}"


def test_a_nudge_email_is_the_same_bytes_as_with_djangos_own_policy(mailoutbox, settings) -> None:
    # given a member nudged by email, with a non-ASCII name in the sender
    settings.DEFAULT_FROM_EMAIL = "Stréss relief <nudges@stressrelief.example>"
    nudge = pending_nudge(emailed_member(), NudgeKind.HYDRATION)

    # when it is delivered
    nudge_groups_deliver(groups=[[nudge.pk]])

    # then the message serialises to exactly what compat32 makes of it
    from email._policybase import compat32

    from apps.delivery.transports import SHORT_HEADERS_AS_THEY_ARE

    (email,) = mailoutbox
    built = email.message()
    assert built.policy is SHORT_HEADERS_AS_THEY_ARE
    fast = built.as_bytes(linesep="\r\n")
    built.policy = compat32
    assert fast == built.as_bytes(linesep="\r\n")
    assert f"Message-ID: <nudge-{nudge.pk}@".encode() in fast
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in fast


# --- The push transport's HTTP client -----------------------------------------------------
def test_without_a_proxy_pushes_go_over_urllib3_pools_checking_the_ca_bundle_requests_would(
    monkeypatch,
) -> None:
    from apps.delivery.transports import PROXY_VARIABLES, PooledHttp, http_session

    for name in list(os.environ):
        if name.lower() in PROXY_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/bundle.pem")

    client = http_session()

    assert isinstance(client, PooledHttp)
    pool = client._pools.connection_from_url("https://push.example")
    assert pool.ca_certs == "/etc/ssl/certs/bundle.pem"
    assert pool.cert_reqs == "CERT_REQUIRED"


def test_a_proxy_variable_keeps_pushes_on_a_requests_session_reading_the_environment(
    monkeypatch,
) -> None:
    import requests

    from apps.delivery.transports import http_session

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")

    client = http_session()

    assert isinstance(client, requests.Session)
    assert client.trust_env is True


def test_a_push_service_that_answers_slowly_is_a_read_timeout_as_with_requests() -> None:
    # given a push service that accepts the connection and never answers
    import socket

    import requests

    from apps.delivery.transports import PooledHttp

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}/push/x"

        # when a push is posted with a short read timeout
        with PooledHttp() as client, pytest.raises(requests.ReadTimeout):
            client.post(url, data=b"x", headers={"TTL": "60"}, timeout=(1.0, 0.2))
