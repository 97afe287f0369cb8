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
