"""Members and therapists log in with their email; every account has a profile."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from apps.accounts.models import THERAPISTS_GROUP, User
from apps.accounts.selectors import user_is_therapist
from apps.accounts.services import member_create
from tests.factories import DEFAULT_PASSWORD, make_member, make_therapist

pytestmark = pytest.mark.django_db


def test_a_member_logs_in_with_their_email_in_any_letter_case() -> None:
    make_member(email="Ann.Lee@Example.org")

    user = authenticate(email="ANN.LEE@example.ORG", password=DEFAULT_PASSWORD)

    assert user is not None
    assert user.email == "ann.lee@example.org"


def test_the_same_email_cannot_register_twice_whatever_its_case() -> None:
    make_member(email="sam@example.org")

    with pytest.raises(ValidationError) as error:
        make_member(email="SAM@example.org")

    assert error.value.message_dict == {"email": ["An account with this email exists already."]}


def test_a_new_member_gets_a_profile_in_their_time_zone() -> None:
    member = make_member(timezone="Europe/Berlin")

    assert member.profile.timezone == "Europe/Berlin"


def test_an_invalid_time_zone_creates_no_half_account() -> None:
    with pytest.raises(ValidationError) as error:
        member_create(email="kai@example.org", password=DEFAULT_PASSWORD, timezone="Mars/Olympus")

    assert "timezone" in error.value.message_dict
    assert not User.objects.filter(email="kai@example.org").exists()


def test_a_therapist_is_a_staff_user_in_the_therapists_group() -> None:
    therapist = make_therapist()
    member = make_member()

    assert therapist.is_staff
    assert therapist.groups.filter(name=THERAPISTS_GROUP).exists()
    assert user_is_therapist(user=therapist)
    assert not user_is_therapist(user=member)


def test_the_therapists_group_exists_after_migrating() -> None:
    assert Group.objects.filter(name=THERAPISTS_GROUP).exists()


def test_the_admin_login_page_is_served(client) -> None:
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert b"Email address" in response.content
    assert b"stressrelief admin" in response.content


def test_a_superuser_made_by_createsuperuser_has_a_profile_too() -> None:
    admin = User.objects.create_superuser(email="root@example.org", password=DEFAULT_PASSWORD)

    assert admin.profile.timezone == "UTC"
