"""The care team page: entering a therapist's code with the chosen shares, changing them,
stopping, and the access log, through Django's test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.careteam.models import CareLink
from apps.careteam.services import (
    EXPIRED_CODE_MESSAGE,
    INVALID_CODE_MESSAGE,
    USED_CODE_MESSAGE,
    Shares,
    access_log_record,
    care_link_accept,
    invitation_create,
)
from tests.factories import make_link, make_member, make_therapist

pytestmark = pytest.mark.django_db

PAGE = "/care-team/"


@pytest.fixture
def member(client):
    member = make_member(timezone="Asia/Kathmandu")
    client.force_login(member)
    return member


@pytest.fixture
def therapist():
    therapist = make_therapist()
    therapist.display_name = "Dr Ana Ruiz"
    therapist.save(update_fields=["display_name"])
    return therapist


def ticked(*names: str) -> dict[str, list[str]]:
    """The three share fields as a browser sends the page's form: a hidden "false" for
    each, then "on" for each ticked box."""
    fields = ("share_adherence", "share_checkins", "share_notes")
    return {name: ["false", "on"] if name in names else ["false"] for name in fields}


def page_text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", PAGE), ("post", PAGE),
     ("post", "/care-team/1/shares/"), ("post", "/care-team/1/revoke/")],
)  # fmt: skip
def test_every_care_team_address_needs_a_login(client, method, path) -> None:
    response = getattr(client, method)(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_form_explains_each_choice_and_ticks_adherence_and_check_ins_only(client, member):
    response = client.get(PAGE)

    text = page_text(response)
    assert response.status_code == 200
    assert "Invitation code" in text
    assert re.search(r'name="share_adherence"[^>]*checked', text)
    assert re.search(r'name="share_checkins"[^>]*checked', text)
    assert not re.search(r'name="share_notes"[^>]*checked', text)
    assert "words you type in a check-in" in text
    # an unticked box must still say "no": a hidden "false" comes before each box
    for name in ("share_adherence", "share_checkins", "share_notes"):
        assert re.search(
            rf'<input type="hidden" name="{name}" value="false"><input type="checkbox" '
            rf'name="{name}"',
            text,
        )
    assert "You do not share with anyone" in text
    assert "No therapist has looked at your data yet." in text


def test_entering_a_code_shares_what_was_ticked_and_lists_the_therapist(
    client, member, therapist
) -> None:
    _, code = invitation_create(therapist=therapist)

    response = client.post(
        PAGE, {"code": code.lower(), **ticked("share_adherence", "share_checkins")}, follow=True
    )

    link = CareLink.objects.get(member=member)
    assert (link.therapist, link.share_adherence, link.share_checkins, link.share_notes) == (
        therapist,
        True,
        True,
        False,
    )
    text = page_text(response)
    assert "You now share with Dr Ana Ruiz" in text
    assert re.search(r"<h3[^>]*>Dr Ana Ruiz</h3>", text)
    assert "They can see your reminders and habits and check-ins." in text


def test_a_code_with_every_box_unticked_links_but_shares_nothing(client, member, therapist):
    _, code = invitation_create(therapist=therapist)

    response = client.post(PAGE, {"code": code, **ticked()}, follow=True)

    link = CareLink.objects.get(member=member)
    assert (link.share_adherence, link.share_checkins, link.share_notes) == (False, False, False)
    assert "sharing nothing for now" in page_text(response)


def _used_code(therapist) -> str:
    _, code = invitation_create(therapist=therapist)
    care_link_accept(member=make_member(), code=code, shares=Shares())
    return code


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"code": "ZZZZ-ZZZZ"}, "code", INVALID_CODE_MESSAGE),
        ({"code": ""}, "code", "may not be blank"),
        ({}, "code", "This field is required."),
        ({"code": "A" * 33}, "code", "no more than 32 characters"),
        ({"code": "K7QX-M2PD", "share_notes": "perhaps"}, "share_notes", "valid boolean"),
    ],
)
def test_a_refused_code_names_the_field_and_stores_nothing(client, member, data, field, words):
    response = client.post(PAGE, data)

    assert response.status_code == 400
    assert words in " ".join(response.context["accept_form"].errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not CareLink.objects.exists()


def test_a_used_code_says_so(client, member, therapist) -> None:
    code = _used_code(therapist)

    response = client.post(PAGE, {"code": code, "share_adherence": "on"})

    assert response.context["accept_form"].errors["code"] == [USED_CODE_MESSAGE]
    assert not CareLink.objects.filter(member=member).exists()


def test_an_expired_code_says_so(client, member, therapist) -> None:
    _, code = invitation_create(therapist=therapist)

    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=1), tick=False):
        response = client.post(PAGE, {"code": code, "share_adherence": "on"})

    assert response.context["accept_form"].errors["code"] == [EXPIRED_CODE_MESSAGE]
    assert not CareLink.objects.exists()


def test_the_page_counts_code_tries_with_the_api_and_stops_the_eleventh(
    client, member, therapist, api_as
) -> None:
    for _ in range(9):
        client.post(PAGE, {"code": "ZZZZ-ZZZZ"})
    api_as(member).post("/api/v1/care-team/", {"code": "ZZZZ-ZZZZ"}, format="json")
    _, code = invitation_create(therapist=therapist)

    response = client.post(PAGE, {"code": code, "share_adherence": "on"})

    assert response.status_code == 429
    assert "wait about" in response.context["accept_form"].errors["code"][0]
    assert not CareLink.objects.exists()


def test_changing_the_shares_takes_effect_for_the_therapist_at_once(
    client, member, therapist, api_as
) -> None:
    link = make_link(member=member, therapist=therapist, adherence=True, checkins=True)
    assert api_as(therapist).get(f"/api/v1/clients/{member.pk}/checkins/").status_code == 200

    response = client.post(f"/care-team/{link.pk}/shares/", ticked("share_adherence"), follow=True)

    link.refresh_from_db()
    assert (link.share_adherence, link.share_checkins, link.share_notes) == (True, False, False)
    assert "From now on Dr Ana Ruiz can see your reminders and habits." in page_text(response)
    assert api_as(therapist).get(f"/api/v1/clients/{member.pk}/checkins/").status_code == 403


def test_a_change_that_mentions_no_share_keeps_them_as_the_api_does(client, member, therapist):
    link = make_link(member=member, therapist=therapist, notes=True)

    client.post(f"/care-team/{link.pk}/shares/", {"share_adherence": "false"})

    link.refresh_from_db()
    assert (link.share_adherence, link.share_checkins, link.share_notes) == (False, True, True)


def test_an_odd_share_value_names_the_field_and_changes_nothing(client, member, therapist):
    link = make_link(member=member, therapist=therapist)

    response = client.post(f"/care-team/{link.pk}/shares/", {"share_checkins": "x" * 5000})

    assert response.status_code == 400
    assert f'id="id_link{link.pk}_share_checkins_error"' in response.content.decode()
    link.refresh_from_db()
    assert (link.share_adherence, link.share_checkins) == (True, True)


def test_revoking_stops_the_therapists_access_at_once(client, member, therapist, api_as):
    link = make_link(member=member, therapist=therapist)

    response = client.post(f"/care-team/{link.pk}/revoke/", follow=True)

    link.refresh_from_db()
    assert link.revoked_at is not None
    text = page_text(response)
    assert "You stopped sharing with Dr Ana Ruiz" in text
    assert "You do not share with anyone" in text
    assert api_as(therapist).get(f"/api/v1/clients/{member.pk}/checkins/").status_code == 404


@pytest.mark.parametrize("action", ["shares", "revoke"])
def test_another_members_or_a_revoked_link_is_not_found(client, member, therapist, action):
    others = make_link(member=make_member(), therapist=therapist)
    revoked = make_link(member=member, therapist=make_therapist())
    client.post(f"/care-team/{revoked.pk}/revoke/")

    for link_id in (others.pk, revoked.pk, 999_999_999, "12abc", "9" * 30):
        response = client.post(f"/care-team/{link_id}/{action}/", {"share_notes": "on"})
        assert response.status_code == 404, link_id
    others.refresh_from_db()
    assert others.revoked_at is None
    assert not others.share_notes


def test_the_action_addresses_take_only_post(client, member, therapist) -> None:
    link = make_link(member=member, therapist=therapist)

    assert client.get(f"/care-team/{link.pk}/revoke/").status_code == 405
    assert client.get(f"/care-team/{link.pk}/shares/").status_code == 405
    assert client.put(PAGE).status_code == 405
    link.refresh_from_db()
    assert link.revoked_at is None


def test_the_access_log_shows_who_read_what_newest_first_in_the_members_time_zone(
    client, member, therapist
) -> None:
    link = make_link(member=member, therapist=therapist, notes=True)
    # 10:00 UTC is 15:45 in Kathmandu (+05:45)
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False):
        access_log_record(link=link, categories=["adherence"], what="client page")
    with time_machine.travel(datetime(2026, 3, 3, 18, 30, tzinfo=UTC), tick=False):
        access_log_record(link=link, categories=["checkins", "notes"], what="check-ins")
    make_link(member=make_member(), therapist=therapist)  # another client's log stays theirs

    text = page_text(client.get(PAGE))

    newer = text.index("Wed 4 Mar 2026, 00:15")
    older = text.index("Mon 2 Mar 2026, 15:45")
    assert newer < older
    assert "Dr Ana Ruiz looked at your check-ins and check-in notes" in text
    assert "Dr Ana Ruiz looked at your reminders and habits" in text
    assert "Asia/Kathmandu" in text


def test_the_access_log_lists_the_fifty_newest_and_says_where_the_rest_are(
    client, member, therapist
) -> None:
    link = make_link(member=member, therapist=therapist)
    for number in range(51):
        access_log_record(link=link, categories=["adherence"], what=f"read {number}")

    response = client.get(PAGE)

    assert len(response.context["access_log"]) == 50
    text = page_text(response)
    assert "(read 50)" in text
    assert "(read 0)" not in text
    assert "50 most recent" in text
