"""A member can take all their data with them, and erase every row about them."""

from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models

from apps.accounts.export import EXPORT_SECTIONS
from apps.accounts.models import User
from apps.careteam.models import Invitation
from tests.factories import (
    DEFAULT_PASSWORD,
    make_activity,
    make_checkin,
    make_link,
    make_member,
    make_therapist,
)

pytestmark = pytest.mark.django_db


def models_pointing_at_users() -> list[tuple[type[models.Model], models.Field]]:
    """Every (model, field) in every installed app with a relation to the user model,
    found independently of the app code under test."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    found = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and field.related_model is user_model:
                found.append((model, field))
    return found


@pytest.fixture
def member_with_everything(api_as):
    """A member with a record of every kind, shared with a therapist who read it."""
    member = make_member(email="everything@example.org")
    therapist = make_therapist()
    make_checkin(member=member, note="private words")
    make_activity(member=member, kind="hydration")
    make_link(member=member, therapist=therapist, notes=True)
    api_as(therapist).get(f"/api/v1/clients/{member.pk}/checkins/")  # an access-log row
    api_as(member).get("/api/v1/me/")  # an API token
    return member, therapist


def test_the_export_holds_every_kind_of_record(api_as, member_with_everything) -> None:
    member, _ = member_with_everything

    response = api_as(member).get("/api/v1/me/export/")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    export = json.loads(response.content)
    assert export["account"]["email"] == "everything@example.org"
    assert export["checkins"][0]["note"] == "private words"
    assert export["activities"][0]["amount_ml"] == 250
    assert export["care_team"][0]["share_notes"] is True
    assert export["access_log"][0]["categories"] == ["checkins", "notes"]
    assert len(export["api_tokens"]) == 1
    assert "key" not in json.dumps(export["api_tokens"])


def test_every_relation_to_a_user_is_covered_by_the_export() -> None:
    relations = {
        f"{model._meta.label_lower}.{field.name}" for model, field in models_pointing_at_users()
    }

    missing = relations - set(EXPORT_SECTIONS) - {"accounts.user.id"}
    assert missing == set(), f"add these to apps/accounts/export.py: {sorted(missing)}"


def test_erasing_needs_the_password_and_a_wrong_one_erases_nothing(
    api_as,
    member_with_everything,
) -> None:
    member, _ = member_with_everything

    response = api_as(member).delete("/api/v1/me/", {"password": "wrong"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()
    assert User.objects.filter(pk=member.pk).exists()


def test_erasing_leaves_no_row_anywhere_that_references_the_member(
    api_as,
    member_with_everything,
) -> None:
    member, therapist = member_with_everything
    client = api_as(member)

    response = client.delete("/api/v1/me/", {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 204
    leftovers = [
        f"{model._meta.label}.{field.name}"
        for model, field in models_pointing_at_users()
        if model._default_manager.filter(**{field.attname: member.pk}).exists()
    ]
    assert leftovers == []
    # the therapist lost access, and the invitation the member used no longer names them
    assert api_as(therapist).get(f"/api/v1/clients/{member.pk}/checkins/").status_code == 404
    assert Invitation.objects.get().accepted_by_id is None
    # and the old token no longer works
    assert client.get("/api/v1/me/").status_code == 401


def test_erasing_ends_every_browser_session_and_admin_history_about_the_member(
    client,
) -> None:
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.contrib.sessions.models import Session

    from apps.accounts.services import member_erase

    # given a member logged in from a browser, and an admin who edited their profile
    member = make_member(email="leaving@example.org")
    assert client.login(email="leaving@example.org", password=DEFAULT_PASSWORD)
    admin = User.objects.create_superuser(email="root@example.org", password=DEFAULT_PASSWORD)
    LogEntry.objects.log_actions(
        user_id=admin.pk,
        queryset=[member.profile],
        action_flag=CHANGE,
        change_message="Changed timezone.",
        single_object=True,
    )
    assert Session.objects.count() == 1

    # when the member is erased
    member_erase(member=member)

    # then no session and no admin history about any of their rows is left
    assert Session.objects.count() == 0
    assert not LogEntry.objects.filter(
        content_type=ContentType.objects.get(app_label="profiles", model="profile")
    ).exists()
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_a_therapist_who_erases_their_account_leaves_no_name_in_client_logs(api_as) -> None:
    from apps.accounts.services import ERASED_THERAPIST_NAME, member_erase
    from apps.careteam.models import AccessLogEntry

    member, therapist = make_member(), make_therapist(email="dr.gone@example.org")
    make_link(member=member, therapist=therapist)
    api_as(therapist).get(f"/api/v1/clients/{member.pk}/checkins/")

    member_erase(member=therapist)

    entry = AccessLogEntry.objects.get(member=member)
    assert entry.therapist_name == ERASED_THERAPIST_NAME
    assert entry.therapist_id is None


def test_the_export_lists_invitations_the_member_accepted(api_as) -> None:
    member, therapist = make_member(), make_therapist()
    make_link(member=member, therapist=therapist)

    export = api_as(member).get("/api/v1/me/export/").json()

    assert len(export["invitations_accepted"]) == 1
