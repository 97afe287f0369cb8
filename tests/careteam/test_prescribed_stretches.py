"""Prescribed stretches: a therapist attaches named stretches to a client (API and admin),
the client's stretch nudges list them, and revoking or retiring takes them away at once."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.careteam.models import PrescribedStretch
from apps.careteam.services import (
    care_link_revoke,
    prescribed_stretch_create,
    prescribed_stretch_retire,
)
from apps.delivery.content import compose
from apps.delivery.services import nudges_deliver
from apps.delivery.webpush import PAYLOAD_LIMIT_BYTES, push_payload, push_topic
from apps.reminders.models import Nudge, NudgeKind
from tests.factories import make_link, make_member, make_therapist

pytestmark = pytest.mark.django_db

API = "/api/v1/"
TRAPEZIUS = {
    "name": "Upper trapezius stretch",
    "instructions": "Sit tall and tilt your left ear towards your left shoulder.",
    "hold_seconds": 30,
    "repetitions": 3,
}


# --- Helpers -------------------------------------------------------------------------------
def prescribe(therapist: User, member: User, **fields: object) -> PrescribedStretch:
    return prescribed_stretch_create(
        therapist=therapist,
        member=member,
        **(TRAPEZIUS | fields),  # type: ignore[arg-type]
    )


def emailed_member() -> User:
    member = make_member()
    member.profile.channels = ["email"]
    member.profile.save(update_fields=["channels"])
    return member


def pending_nudge(member: User, kind: str = NudgeKind.STRETCH) -> Nudge:
    return Nudge.objects.create(member=member, kind=kind, due_at=timezone.now())


def delivered_email(member: User, *kinds: str) -> mail.EmailMultiAlternatives:
    """Deliver one nudge of each kind to `member` as one email; return that email."""
    nudges = [pending_nudge(member, kind) for kind in kinds or (NudgeKind.STRETCH,)]
    outcome = nudges_deliver(nudge_ids=[nudge.pk for nudge in nudges])
    assert outcome.delivered == len(nudges)
    [email] = [sent for sent in mail.outbox if sent.to == [member.email]]
    return email


def html_of(email: mail.EmailMultiAlternatives) -> str:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return html


def names_listed(api: object, path: str) -> list[str]:
    response = api.get(path)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


@pytest.fixture(autouse=True)
def _mail_in_memory(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


# --- The therapist's API -------------------------------------------------------------------
def test_a_linked_therapist_prescribes_a_stretch_and_finds_it_in_the_clients_list(
    api_as,
) -> None:
    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist, checkins=False)  # no check-ins needed

    created = api_as(therapist).post(
        f"{API}clients/{member.pk}/stretches/", TRAPEZIUS, format="json"
    )

    assert created.status_code == 201, created.content
    assert {key: created.json()[key] for key in TRAPEZIUS} == TRAPEZIUS
    stretch = PrescribedStretch.objects.get()
    assert (stretch.therapist, stretch.member) == (therapist, member)
    listed = names_listed(api_as(therapist), f"{API}clients/{member.pk}/stretches/")
    assert listed == ["Upper trapezius stretch"]


def test_a_therapist_edits_their_stretch_and_the_member_sees_the_new_hold_time(api_as) -> None:
    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    stretch = prescribe(therapist, member)

    edited = api_as(therapist).patch(
        f"{API}clients/{member.pk}/stretches/{stretch.pk}/",
        {"hold_seconds": 45, "repetitions": None},
        format="json",
    )

    assert edited.status_code == 200, edited.content
    [seen] = api_as(member).get(f"{API}stretches/").json()["results"]
    assert (seen["hold_seconds"], seen["repetitions"]) == (45, None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hold_seconds": 301}, "hold_seconds"),
        ({"hold_seconds": 4}, "hold_seconds"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"instructions": "y" * 1001}, "instructions"),
        ({"repetitions": 21}, "repetitions"),
        ({"repetitions": 0}, "repetitions"),
    ],
    ids=lambda value: json.dumps(value)[:30],
)
def test_an_out_of_bounds_stretch_is_refused_with_an_error_naming_the_field(
    api_as, change: dict[str, object], field: str
) -> None:
    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    stretch = prescribe(therapist, member)
    api = api_as(therapist)

    created = api.post(f"{API}clients/{member.pk}/stretches/", TRAPEZIUS | change, format="json")
    edited = api.patch(f"{API}clients/{member.pk}/stretches/{stretch.pk}/", change, format="json")

    for response in (created, edited):
        assert response.status_code == 400, response.content
        assert list(response.json()) == [field]
    stretch.refresh_from_db()
    assert (stretch.name, stretch.hold_seconds, PrescribedStretch.objects.count()) == (
        TRAPEZIUS["name"],
        30,
        1,
    )


def test_the_service_refuses_a_hold_time_out_of_bounds_naming_the_field() -> None:
    from django.core.exceptions import ValidationError

    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist)

    with pytest.raises(ValidationError) as refused:
        prescribe(therapist, member, hold_seconds=301)

    assert list(refused.value.message_dict) == ["hold_seconds"]
    assert not PrescribedStretch.objects.exists()


def test_the_service_refuses_to_prescribe_to_somebody_who_does_not_share_with_the_therapist() -> (
    None
):
    from django.core.exceptions import ValidationError

    therapist, stranger = make_therapist(), make_member()

    with pytest.raises(ValidationError) as refused:
        prescribe(therapist, stranger)

    assert list(refused.value.message_dict) == ["member"]


def test_a_therapist_cannot_see_or_change_another_therapists_stretch_for_a_shared_client(
    api_as,
) -> None:
    author, colleague, member = make_therapist(), make_therapist(), make_member()
    make_link(member=member, therapist=author)
    make_link(member=member, therapist=colleague)
    stretch = prescribe(author, member)
    api = api_as(colleague)
    path = f"{API}clients/{member.pk}/stretches/{stretch.pk}/"

    assert names_listed(api, f"{API}clients/{member.pk}/stretches/") == []
    assert api.patch(path, {"hold_seconds": 60}, format="json").status_code == 404
    assert api.delete(path).status_code == 404
    stretch.refresh_from_db()
    assert (stretch.hold_seconds, stretch.retired_at) == (30, None)


# --- Retiring and revoking -----------------------------------------------------------------
def test_retiring_a_stretch_hides_it_from_the_lists_and_the_next_stretch_nudge(api_as) -> None:
    therapist, member = make_therapist(), emailed_member()
    make_link(member=member, therapist=therapist)
    kept = prescribe(therapist, member, name="Doorway chest stretch")
    retired = prescribe(therapist, member, name="Seated hamstring stretch")

    response = api_as(therapist).delete(f"{API}clients/{member.pk}/stretches/{retired.pk}/")

    assert response.status_code == 204
    retired.refresh_from_db()
    assert retired.retired_at is not None  # kept for the member's export, not deleted
    assert names_listed(api_as(therapist), f"{API}clients/{member.pk}/stretches/") == [kept.name]
    assert names_listed(api_as(member), f"{API}stretches/") == [kept.name]
    email = delivered_email(member)
    assert "Doorway chest stretch" in email.body
    assert "Seated hamstring stretch" not in email.body
    again = api_as(therapist).delete(f"{API}clients/{member.pk}/stretches/{retired.pk}/")
    assert again.status_code == 404


def test_revoking_a_link_hides_that_therapists_stretches_from_nudges_and_the_members_list(
    api_as,
) -> None:
    revoked_therapist, kept_therapist, member = make_therapist(), make_therapist(), make_member()
    member.profile.channels = ["email"]
    member.profile.save(update_fields=["channels"])
    link = make_link(member=member, therapist=revoked_therapist)
    make_link(member=member, therapist=kept_therapist)
    prescribe(revoked_therapist, member, name="Levator scapulae stretch")
    prescribe(kept_therapist, member, name="Cat and cow")
    assert len(names_listed(api_as(member), f"{API}stretches/")) == 2

    care_link_revoke(link=link)

    assert names_listed(api_as(member), f"{API}stretches/") == ["Cat and cow"]
    email = delivered_email(member)
    assert "Cat and cow" in email.body
    assert "Levator scapulae" not in email.body
    assert "Levator scapulae" not in html_of(email)
    # and the revoked therapist cannot reach the client's stretches any more
    revoked_api = api_as(revoked_therapist)
    assert revoked_api.get(f"{API}clients/{member.pk}/stretches/").status_code == 404
    assert (
        revoked_api.post(f"{API}clients/{member.pk}/stretches/", {}, format="json").status_code
        == 404
    )


# --- What a stretch nudge says -------------------------------------------------------------
def test_a_stretch_nudge_email_lists_the_prescribed_stretch_with_hold_time_and_repetitions() -> (
    None
):
    therapist, member = make_therapist(), emailed_member()
    make_link(member=member, therapist=therapist)
    prescribe(therapist, member)

    email = delivered_email(member)

    expected = (
        "Upper trapezius stretch: hold 30 seconds, 3 times. "
        "Sit tall and tilt your left ear towards your left shoulder."
    )
    assert expected in email.body
    assert expected in html_of(email)


def test_a_stretch_nudge_without_prescriptions_and_other_nudges_say_nothing_of_a_therapist() -> (
    None
):
    therapist, member, other = make_therapist(), emailed_member(), emailed_member()
    make_link(member=member, therapist=therapist)
    prescribe(therapist, member)

    unprescribed = delivered_email(other)
    water = delivered_email(member, NudgeKind.HYDRATION)

    assert "therapist" not in unprescribed.body
    assert "therapist" not in water.body
    assert "Upper trapezius" not in water.body


def test_a_bundle_reads_the_prescriptions_in_one_query_and_lists_them_once(
    django_assert_num_queries,
) -> None:
    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    prescribe(therapist, member, name="Doorway chest stretch")
    prescribe(therapist, member, name="Child's pose", repetitions=None, hold_seconds=60)
    nudges = [
        pending_nudge(member, NudgeKind.HYDRATION),
        pending_nudge(member),
        pending_nudge(member),
    ]

    with django_assert_num_queries(1):
        message = compose(nudges)

    water, first_stretch, second_stretch = (text for _, text in message.lines)
    assert "Doorway chest stretch: hold 30 seconds, 3 times." in first_stretch
    assert "Child's pose: hold 60 seconds. " in first_stretch
    assert "From your therapist" not in water + second_stretch
    assert message.body.count("Doorway chest stretch") == 1


def test_many_long_prescriptions_keep_the_push_message_whole_and_under_its_size_limit() -> None:
    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    for number in range(8):
        prescribe(therapist, member, name=f"Stretch {number} " + "n" * 70, instructions="w " * 500)
    message = compose([pending_nudge(member)])

    payload = push_payload(message, topic=push_topic(message), member_id=member.pk)

    assert len(payload.encode()) <= PAYLOAD_LIMIT_BYTES
    shown = json.loads(payload)
    # Nothing dropped or cut: the message itself stays short enough.
    assert shown["body"] == message.body
    assert "action_urls" in shown
    assert "and 3 more your therapist prescribed." in shown["body"]
    assert all(f"Stretch {number} " in shown["body"] for number in range(5))


# --- The member's own list and export ------------------------------------------------------
def test_a_member_lists_only_their_own_active_stretches_with_the_therapists_name(api_as) -> None:
    therapist, member, other = make_therapist(), make_member(), make_member()
    therapist.display_name = "Dr. Rowan Hale"
    therapist.save(update_fields=["display_name"])
    make_link(member=member, therapist=therapist)
    make_link(member=other, therapist=therapist)
    prescribe(therapist, member)
    prescribe(therapist, other, name="Calf stretch against a wall")

    response = api_as(member).get(f"{API}stretches/")

    [row] = response.json()["results"]
    assert row == {"id": row["id"], **TRAPEZIUS, "therapist_name": "Dr. Rowan Hale"}


def test_the_export_holds_every_stretch_prescribed_to_the_member_retired_ones_too(api_as) -> None:
    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    prescribe(therapist, member)
    prescribed_stretch_retire(stretch=prescribe(therapist, member, name="Old stretch"))

    export = api_as(member).get(f"{API}me/export/").json()

    rows = export["prescribed_stretches"]
    assert {row["name"]: row["retired_at"] is not None for row in rows} == {
        "Upper trapezius stretch": False,
        "Old stretch": True,
    }


# --- The therapist's admin -----------------------------------------------------------------
ADMIN = "/admin/careteam/prescribedstretch/"


def admin_as(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_therapists_admin_list_shows_only_their_own_prescriptions() -> None:
    therapist, colleague, member = make_therapist(), make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    make_link(member=member, therapist=colleague)
    prescribe(therapist, member, name="Mine: doorway chest stretch")
    prescribe(colleague, member, name="Theirs: seated twist")

    page = admin_as(therapist).get(ADMIN)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Mine: doorway chest stretch" in html
    assert "Theirs: seated twist" not in html


def test_guessing_another_therapists_prescription_in_the_admin_url_does_not_show_it() -> None:
    therapist, colleague, member = make_therapist(), make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    make_link(member=member, therapist=colleague)
    theirs = prescribe(colleague, member, name="Theirs: seated twist")
    client = admin_as(therapist)

    for page in ("change", "delete", "history"):
        response = client.get(f"{ADMIN}{theirs.pk}/{page}/")
        assert response.status_code in (302, 404), page
        assert "Theirs: seated twist" not in response.content.decode()
    posted = client.post(f"{ADMIN}{theirs.pk}/change/", {"name": "Hijacked", "hold_seconds": 9})

    assert posted.status_code in (302, 404)
    theirs.refresh_from_db()
    assert theirs.name == "Theirs: seated twist"


def test_a_therapist_adds_a_stretch_in_the_admin_only_for_a_current_client() -> None:
    therapist, client_member, stranger = make_therapist(), make_member(), make_member()
    make_link(member=client_member, therapist=therapist)
    admin = admin_as(therapist)
    form = {"name": "Doorway chest stretch", "instructions": "Lean in.", "hold_seconds": "30"}

    refused = admin.post(f"{ADMIN}add/", form | {"member": stranger.pk})
    added = admin.post(f"{ADMIN}add/", form | {"member": client_member.pk})

    assert refused.status_code == 200  # the form again, with an error on `member`
    assert "Select a valid choice" in refused.content.decode()
    assert added.status_code == 302
    stretch = PrescribedStretch.objects.get()
    assert (stretch.therapist, stretch.member, stretch.repetitions) == (
        therapist,
        client_member,
        None,
    )


def test_a_revoked_clients_prescriptions_leave_the_therapists_admin() -> None:
    therapist, member = make_therapist(), make_member()
    link = make_link(member=member, therapist=therapist)
    stretch = prescribe(therapist, member, name="Doorway chest stretch")

    care_link_revoke(link=link)

    admin = admin_as(therapist)
    assert "Doorway chest stretch" not in admin.get(ADMIN).content.decode()
    assert admin.get(f"{ADMIN}{stretch.pk}/change/").status_code in (302, 404)


def test_a_member_without_staff_rights_cannot_open_the_stretch_admin() -> None:
    member = make_member()

    response = admin_as(member).get(ADMIN)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_therapist_without_model_permissions_finds_prescribed_stretches_on_the_admin_index() -> (
    None
):
    therapist = make_therapist()
    assert not therapist.user_permissions.exists()

    index = admin_as(therapist).get("/admin/")

    assert index.status_code == 200
    assert ADMIN in index.content.decode()
    assert admin_as(therapist).get(f"{ADMIN}add/").status_code == 200


def test_a_superuser_sees_no_therapists_prescriptions_in_the_admin() -> None:
    """Administrators run accounts, not therapy: clients' prescriptions stay with their
    therapists."""
    therapist, colleague, member = make_therapist(), make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    make_link(member=member, therapist=colleague)
    prescribe(therapist, member, name="Mine: doorway chest stretch")
    prescribe(colleague, member, name="Theirs: seated twist")
    root = User.objects.create_superuser(email="root@example.org", password="x-long-pass-123")

    html = admin_as(root).get(ADMIN).content.decode()

    assert "Mine: doorway chest stretch" not in html
    assert "Theirs: seated twist" not in html
    assert member.email not in html


def test_a_therapist_edits_and_retires_their_own_stretch_in_the_admin() -> None:
    therapist, member = make_therapist(), make_member()
    make_link(member=member, therapist=therapist)
    stretch = prescribe(therapist, member)
    admin = admin_as(therapist)
    assert admin.get(f"{ADMIN}{stretch.pk}/change/").status_code == 200

    edited = admin.post(
        f"{ADMIN}{stretch.pk}/change/",
        {"name": "Neck side stretch", "instructions": "Slowly.", "hold_seconds": "40"},
    )
    retired = admin.post(ADMIN, {"action": "retire", "_selected_action": [stretch.pk]})

    assert (edited.status_code, retired.status_code) == (302, 302)
    stretch.refresh_from_db()
    assert (stretch.name, stretch.hold_seconds, stretch.member) == ("Neck side stretch", 40, member)
    assert stretch.retired_at is not None
