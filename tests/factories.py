"""Test data builders: real accounts made through the services, unique per call."""

from __future__ import annotations

import itertools

from apps.accounts.models import User
from apps.accounts.services import member_create, therapist_create

DEFAULT_PASSWORD = "calm-shoulders-2026"
_sequence = itertools.count(1)


def make_member(
    *, email: str | None = None, password: str = DEFAULT_PASSWORD, timezone: str = "UTC"
) -> User:
    return member_create(
        email=email or f"member{next(_sequence)}@example.org", password=password, timezone=timezone
    )


def make_therapist(*, email: str | None = None, password: str = DEFAULT_PASSWORD) -> User:
    return therapist_create(
        email=email or f"therapist{next(_sequence)}@example.org", password=password
    )
