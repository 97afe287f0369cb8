"""Sharing is owned by the member: invite, accept, choose, change, revoke; every read logged."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.careteam.models import AccessLogEntry, CareLink, Invitation
from tests.factories import make_checkin, make_link, make_member, make_therapist

pytestmark = pytest.mark.django_db


def invite(api_as, therapist) -> str:
    response = api_as(therapist).post("/api/v1/invitations/")
    assert response.status_code == 201
    return response.json()["code"]


def test_a_member_accepts_a_code_and_the_therapist_sees_them_as_a_client(api_as) -> None:
    therapist, member = make_therapist(), make_member()
    code = invite(api_as, therapist)

    accepted = api_as(member).post(
        "/api/v1/care-team/",
        {"code": code.lower().replace("-", " "), "share_notes": True},
        format="json",
    )

    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["share_notes"] is True
    clients = api_as(therapist).get("/api/v1/clients/").json()["results"]
    assert [client["id"] for client in clients] == [member.pk]


def test_the_clear_code_is_never_stored(api_as) -> None:
    code = invite(api_as, make_therapist())

    stored = Invitation.objects.get()
    assert code.replace("-", "") not in stored.code_digest


def test_a_code_works_once(api_as) -> None:
    code = invite(api_as, make_therapist())
    api_as(make_member()).post("/api/v1/care-team/", {"code": code}, format="json")

    reused = api_as(make_member()).post("/api/v1/care-team/", {"code": code}, format="json")

    assert reused.status_code == 400
    assert "used already" in reused.json()["code"][0]
    assert CareLink.objects.count() == 1


def test_a_code_expires_after_seven_days(api_as) -> None:
    code = invite(api_as, make_therapist())

    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        expired = api_as(make_member()).post("/api/v1/care-team/", {"code": code}, format="json")

    assert expired.status_code == 400
    assert "expired" in expired.json()["code"][0]
    assert not CareLink.objects.exists()


def test_a_made_up_code_is_refused(api_as) -> None:
    response = api_as(make_member()).post(
        "/api/v1/care-team/", {"code": "AAAA-BBBB"}, format="json"
    )

    assert response.status_code == 400
    assert "not valid" in response.json()["code"][0]


def test_guessing_codes_is_throttled(api_as) -> None:
    client = api_as(make_member())
    statuses = [
        client.post("/api/v1/care-team/", {"code": f"AAAA-{n:04d}"}, format="json").status_code
        for n in range(11)
    ]

    assert statuses[-1] == 429


def test_revoking_ends_the_therapists_access_at_once(api_as) -> None:
    therapist, member = make_therapist(), make_member()
    link = make_link(member=member, therapist=therapist)
    make_checkin(member=member)
    therapist_client = api_as(therapist)
    assert therapist_client.get(f"/api/v1/clients/{member.pk}/checkins/").status_code == 200

    revoked = api_as(member).delete("/api/v1/care-team/", {"id": link.pk}, format="json")

    assert revoked.status_code == 204
    assert therapist_client.get(f"/api/v1/clients/{member.pk}/checkins/").status_code == 404
    assert therapist_client.get("/api/v1/clients/").json()["results"] == []


def test_narrowing_what_is_shared_takes_effect_at_once(api_as) -> None:
    therapist, member = make_therapist(), make_member()
    link = make_link(member=member, therapist=therapist, checkins=True, notes=True)
    make_checkin(member=member, note="Slept badly.")
    therapist_client = api_as(therapist)
    assert (
        therapist_client.get(f"/api/v1/clients/{member.pk}/checkins/").json()["results"][0]["note"]
        == "Slept badly."
    )

    api_as(member).patch(f"/api/v1/care-team/{link.pk}/", {"share_notes": False}, format="json")
    without_notes = therapist_client.get(f"/api/v1/clients/{member.pk}/checkins/").json()
    api_as(member).patch(f"/api/v1/care-team/{link.pk}/", {"share_checkins": False}, format="json")
    refused = therapist_client.get(f"/api/v1/clients/{member.pk}/checkins/")

    assert "note" not in without_notes["results"][0]
    assert refused.status_code == 403
    assert "does not share" in refused.json()["detail"]


def test_every_therapist_read_is_in_the_members_access_log(api_as) -> None:
    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    api_as(therapist).get(f"/api/v1/clients/{member.pk}/checkins/")
    api_as(therapist).get(f"/api/v1/clients/{member.pk}/checkins/")

    log = api_as(member).get("/api/v1/care-team/access-log/").json()["results"]

    assert len(log) == 2
    assert log[0]["categories"] == ["checkins"]
    assert log[0]["therapist_name"] == therapist.email


def test_a_member_cannot_share_twice_with_the_same_therapist(api_as) -> None:
    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist)

    again = api_as(member).post(
        "/api/v1/care-team/", {"code": invite(api_as, therapist)}, format="json"
    )

    assert again.status_code == 400
    assert CareLink.objects.count() == 1


def test_after_revoking_a_member_can_share_again_with_a_new_code(api_as) -> None:
    therapist, member = make_therapist(), make_member()
    link = make_link(member=member, therapist=therapist)
    api_as(member).delete(f"/api/v1/care-team/{link.pk}/")

    again = api_as(member).post(
        "/api/v1/care-team/", {"code": invite(api_as, therapist)}, format="json"
    )

    assert again.status_code == 201
    assert AccessLogEntry.objects.count() == 0
