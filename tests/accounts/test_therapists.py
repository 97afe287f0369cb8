"""Making therapists: the create_therapist command, the admin's actions, admin-added users."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from apps.accounts.models import THERAPISTS_GROUP, User
from apps.accounts.selectors import user_is_therapist
from apps.accounts.services import therapist_grant, therapist_revoke
from apps.profiles.models import Profile
from apps.reminders.models import Schedule
from tests.conftest import REPOSITORY, project_environment
from tests.factories import DEFAULT_PASSWORD, make_member, make_therapist

pytestmark = pytest.mark.django_db

USERS_CHANGELIST = "/admin/accounts/user/"


def create_therapist(*arguments: str) -> str:
    """Run the command as a script would (no terminal, so no prompt); return its output."""
    output = StringIO()
    call_command("create_therapist", *arguments, stdout=output, stderr=StringIO())
    return output.getvalue()


def printed_password(output: str) -> str:
    match = re.search(r"^Password: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


@pytest.fixture
def superuser_client(client: Client) -> Client:
    admin = User.objects.create_superuser(email="root@example.org", password=DEFAULT_PASSWORD)
    client.force_login(admin)
    return client


# --- The services ----------------------------------------------------------------------


def test_granting_the_role_twice_changes_nothing_the_second_time() -> None:
    member = make_member()

    assert therapist_grant(user=member) is True
    assert therapist_grant(user=member) is False
    assert user_is_therapist(user=member)


def test_revoking_the_role_ends_admin_access_of_a_plain_therapist() -> None:
    therapist = make_therapist()

    assert therapist_revoke(user=therapist) is True

    therapist.refresh_from_db()
    assert not therapist.is_staff
    assert not therapist.groups.filter(name=THERAPISTS_GROUP).exists()
    assert therapist_revoke(user=therapist) is False


def test_a_superuser_keeps_the_admin_when_the_therapist_role_is_revoked() -> None:
    admin = User.objects.create_superuser(email="root@example.org", password=DEFAULT_PASSWORD)
    therapist_grant(user=admin)

    therapist_revoke(user=admin)

    admin.refresh_from_db()
    assert admin.is_staff
    assert not user_is_therapist(user=admin)


def test_revoking_leaves_a_staff_user_who_was_never_a_therapist_alone() -> None:
    operator = make_member()
    operator.is_staff = True
    operator.save(update_fields=["is_staff"])

    assert therapist_revoke(user=operator) is False

    operator.refresh_from_db()
    assert operator.is_staff


# --- The command -------------------------------------------------------------------------


def test_the_command_creates_a_staff_therapist_in_their_time_zone_with_a_usable_password() -> None:
    output = create_therapist(
        "--email", "Ann.Lee@Example.org", "--name", "Ann Lee", "--timezone", "Europe/London"
    )

    therapist = User.objects.get(email="ann.lee@example.org")
    password = printed_password(output)
    assert therapist.check_password(password)
    assert therapist.is_staff
    assert therapist.groups.filter(name=THERAPISTS_GROUP).exists()
    assert user_is_therapist(user=therapist)
    assert therapist.display_name == "Ann Lee"
    assert therapist.profile.timezone == "Europe/London"
    assert "change it after their first login" in output
    assert output.count(password) == 1


def test_the_command_defaults_the_time_zone_to_utc() -> None:
    create_therapist("--email", "bo@example.org", "--no-input")

    assert User.objects.get(email="bo@example.org").profile.timezone == "UTC"


def test_the_command_never_writes_the_password_to_a_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        output = create_therapist("--email", "cy@example.org", "--no-input")

    assert printed_password(output) not in caplog.text


def test_the_command_makes_an_existing_member_a_therapist_without_touching_their_password() -> None:
    member = make_member(email="dee@example.org", timezone="Asia/Kathmandu")
    password_hash = member.password

    output = create_therapist("--email", "DEE@example.org", "--timezone", "Europe/London")

    member.refresh_from_db()
    assert user_is_therapist(user=member)
    assert member.password == password_hash
    assert member.check_password(DEFAULT_PASSWORD)
    assert member.profile.timezone == "Asia/Kathmandu"
    assert "it is now a therapist" in output
    assert "Its password is unchanged." in output
    assert "Password:" not in output
    assert User.objects.filter(email="dee@example.org").count() == 1


def test_the_command_says_so_when_the_account_is_a_therapist_already() -> None:
    make_therapist(email="eve@example.org")

    output = create_therapist("--email", "eve@example.org")

    assert "is a therapist already; nothing changed" in output


def test_a_bad_email_is_refused_naming_the_option_and_nothing_is_stored() -> None:
    users_before = User.objects.count()

    with pytest.raises(CommandError, match=r"^--email: Enter a valid email address\.$"):
        create_therapist("--email", "not-an-email", "--no-input")

    assert User.objects.count() == users_before


def test_an_unknown_time_zone_is_refused_naming_the_option_and_nothing_is_stored() -> None:
    with pytest.raises(CommandError, match=r"^--timezone: Mars/Olympus is not a known IANA"):
        create_therapist("--email", "fay@example.org", "--timezone", "Mars/Olympus")

    assert not User.objects.filter(email="fay@example.org").exists()
    assert not Profile.objects.filter(user__email="fay@example.org").exists()


@pytest.mark.slow
def test_a_refused_option_makes_manage_py_exit_non_zero(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "create_therapist", "--email", "nope", "--no-input"],
        cwd=REPOSITORY,
        env=project_environment(
            DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            STRESSRELIEF_VAR_DIR=str(tmp_path),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: --email: Enter a valid email address."


def test_at_a_terminal_the_command_asks_twice_and_asks_again_when_the_entries_differ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a terminal where the first pair of entries differs and the second pair matches
    entries = iter(
        ["first-Choice-2026", "typo-Choice-2026", "steady-Hands-2026", "steady-Hands-2026"]
    )
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(
        "apps.accounts.management.commands.create_therapist.getpass", lambda prompt: next(entries)
    )
    errors = StringIO()

    output = StringIO()
    call_command("create_therapist", "--email", "gus@example.org", stdout=output, stderr=errors)

    therapist = User.objects.get(email="gus@example.org")
    assert therapist.check_password("steady-Hands-2026")
    assert "differ" in errors.getvalue()
    assert "steady-Hands-2026" not in output.getvalue()


def test_at_a_terminal_a_password_the_validators_refuse_is_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entries = iter(["12345678", "12345678", "steady-Hands-2026", "steady-Hands-2026"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(
        "apps.accounts.management.commands.create_therapist.getpass", lambda prompt: next(entries)
    )
    errors = StringIO()

    call_command("create_therapist", "--email", "hal@example.org", stdout=StringIO(), stderr=errors)

    assert User.objects.get(email="hal@example.org").check_password("steady-Hands-2026")
    assert "too common" in errors.getvalue()


def test_a_therapist_created_by_the_command_can_open_the_admin(client: Client) -> None:
    create_therapist("--email", "ivy@example.org", "--no-input")
    therapist = User.objects.get(email="ivy@example.org")

    client.force_login(therapist)
    response = client.get("/admin/")

    assert response.status_code == 200
    assert b"Prescribed stretches" in response.content


# --- The admin -------------------------------------------------------------------------


def post_action(client: Client, action: str, users: list[User]) -> str:
    response = client.post(
        USERS_CHANGELIST,
        {"action": action, "_selected_action": [user.pk for user in users]},
        follow=True,
    )
    assert response.status_code == 200
    return " ".join(str(message) for message in response.context["messages"])


def test_the_admin_action_makes_the_selected_users_therapists(superuser_client: Client) -> None:
    first, second = make_member(), make_member()
    already = make_therapist()

    message = post_action(superuser_client, "make_therapists", [first, second, already])

    for user in (first, second, already):
        user.refresh_from_db()
        assert user_is_therapist(user=user)
    assert message == "Made 2 users therapists. 1 user was a therapist already."


def test_the_admin_action_removes_the_therapist_role(superuser_client: Client) -> None:
    therapist = make_therapist()
    member = make_member()

    message = post_action(superuser_client, "remove_therapist_role", [therapist, member])

    therapist.refresh_from_db()
    assert not user_is_therapist(user=therapist)
    assert not therapist.is_staff
    assert message == "Removed the therapist role from 1 user. 1 user was not a therapist."


def test_a_therapist_cannot_use_the_admin_actions_on_users(client: Client) -> None:
    therapist = make_therapist()
    member = make_member()
    client.force_login(therapist)

    response = client.post(
        USERS_CHANGELIST, {"action": "make_therapists", "_selected_action": [member.pk]}
    )

    assert response.status_code == 403
    assert not user_is_therapist(user=member)


def test_a_user_added_in_the_admin_has_a_profile_and_default_schedules(
    superuser_client: Client,
) -> None:
    response = superuser_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "Jo@Example.org",
            "display_name": "Jo",
            "timezone": "America/New_York",
            "password1": "steady-Hands-2026",
            "password2": "steady-Hands-2026",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="jo@example.org")
    assert user.profile.timezone == "America/New_York"
    assert Schedule.objects.filter(member=user).exists()
    assert user.check_password("steady-Hands-2026")


def test_adding_a_user_in_the_admin_with_an_unknown_time_zone_stores_nothing(
    superuser_client: Client,
) -> None:
    response = superuser_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "kim@example.org",
            "timezone": "Mars/Olympus",
            "password1": "steady-Hands-2026",
            "password2": "steady-Hands-2026",
        },
    )

    assert response.status_code == 200
    assert b"Mars/Olympus is not a known IANA time zone" in response.content
    assert not User.objects.filter(email="kim@example.org").exists()


def test_the_therapists_group_is_recreated_if_someone_deleted_it() -> None:
    Group.objects.filter(name=THERAPISTS_GROUP).delete()
    member = make_member()

    therapist_grant(user=member)

    assert user_is_therapist(user=member)
