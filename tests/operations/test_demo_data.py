"""`make run` creates the demo member and therapist once, with random passwords."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

from apps.accounts.selectors import user_is_therapist
from apps.operations.services import demo_accounts_create

pytestmark = pytest.mark.django_db


def test_demo_accounts_are_created_once_with_working_random_passwords() -> None:
    first = demo_accounts_create()
    second = demo_accounts_create()

    assert [account.role for account in first] == ["member", "therapist"]
    assert second == []
    member, therapist = (authenticate(email=a.email, password=a.password) for a in first)
    assert member is not None
    assert therapist is not None
    assert not user_is_therapist(user=member)
    assert user_is_therapist(user=therapist)
    assert first[0].password != first[1].password


def test_the_demo_therapist_has_clients_tripping_each_attention_rule() -> None:
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.operations.services import DEMO_THERAPIST_EMAIL
    from apps.progress.attention import REASON_CODES
    from apps.progress.overview import client_overviews

    demo_accounts_create()
    therapist = User.objects.get(email=DEMO_THERAPIST_EMAIL)

    clients = client_overviews(therapist=therapist, now=timezone.now())

    assert len(clients) == 7
    tripped = {reason.code for client in clients for reason in client.reasons}
    assert tripped == set(REASON_CODES)
    assert any(not client.reasons for client in clients), "somebody is doing fine"
