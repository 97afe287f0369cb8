"""The therapist's admin: only consented, active clients, only shared categories, a list in
a bounded number of queries, a client page, notes, stretches and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import User
from apps.careteam.models import AccessLogEntry, CareLink, PrescribedStretch, TherapistNote
from apps.careteam.services import care_link_revoke, prescribed_stretch_create
from apps.reminders.models import Nudge
from apps.tracking.models import CheckIn
from tests.factories import make_checkin, make_link, make_member, make_nudge, make_therapist

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"
CLIENTS = "/admin/progress/client/"


def page_of(link: CareLink) -> str:
    return f"{CLIENTS}{link.pk}/change/"


@pytest.fixture
def practice():
    """A therapist with three clients (one sharing adherence only), a revoked ex-client,
    and another therapist's client."""
    therapist = make_therapist()
    other_therapist = make_therapist()
    anna = make_member(email="anna@example.org")
    anna.display_name = "Anna Active"
    anna.save()
    ben = make_member(email="ben@example.org")
    cleo = make_member(email="cleo@example.org")
    gone = make_member(email="gone@example.org")
    stranger = make_member(email="stranger@example.org")
    links = {
        "anna": make_link(member=anna, therapist=therapist, notes=True),
        "ben": make_link(member=ben, therapist=therapist, checkins=False),
        "cleo": make_link(member=cleo, therapist=therapist),
        "gone": make_link(member=gone, therapist=therapist),
        "stranger": make_link(member=stranger, therapist=other_therapist),
    }
    care_link_revoke(link=links["gone"])
    now = timezone.now()
    make_checkin(member=anna, pain=8, stress=6, note="ANNA-NOTE", recorded_at=now)
    make_checkin(member=ben, pain=9, note="BEN-NOTE", recorded_at=now)
    make_checkin(member=cleo, pain=1, recorded_at=now - timedelta(days=3))
    for member in (anna, ben, cleo):
        make_nudge(member=member, due_at=now - timedelta(hours=2), status="done", acted_at=now)
    for _ in range(2):  # Ben: 1 of 3 done
        make_nudge(member=ben, due_at=now - timedelta(hours=1), status="sent")
    return {"therapist": therapist, "other": other_therapist, "links": links}


def test_a_therapist_lists_only_their_consented_active_clients(client, practice) -> None:
    client.force_login(practice["therapist"])

    response = client.get(CLIENTS)

    assert response.status_code == 200
    text = response.content.decode()
    for shown in ("Anna Active", "ben@example.org", "cleo@example.org"):
        assert shown in text
    assert "gone@example.org" not in text
    assert "stranger@example.org" not in text


def test_guessing_another_therapists_client_or_a_revoked_one_finds_nothing(
    client, practice
) -> None:
    client.force_login(practice["therapist"])
    links = practice["links"]

    for guessed in (links["stranger"], links["gone"]):
        response = client.get(page_of(guessed))
        assert response.status_code == 404
        assert guessed.member.email not in response.content.decode()
    assert client.get(f"{CLIENTS}99999999/change/").status_code == 404
    assert client.get(f"{CLIENTS}not-a-number/change/").status_code == 404


def test_a_therapist_sees_nothing_else_in_the_admin(client, practice) -> None:
    client.force_login(practice["therapist"])

    index = client.get(ADMIN).content.decode()

    assert "/admin/progress/client/" in index
    assert "/admin/careteam/prescribedstretch/" in index
    for elsewhere in ("accounts/user", "profiles/profile", "operations/workerheartbeat"):
        assert f"/admin/{elsewhere}/" not in index
        assert client.get(f"/admin/{elsewhere}/").status_code == 403
    stranger = practice["links"]["stranger"].member
    assert client.get(f"/admin/accounts/user/{stranger.pk}/change/").status_code == 403


def test_members_and_superusers_do_not_see_the_clients_of_therapists(client, practice) -> None:
    member = practice["links"]["anna"].member
    member.is_staff = True  # even a staff member who is not a therapist
    member.save()
    client.force_login(member)
    assert client.get(CLIENTS).status_code == 403

    root = User.objects.create_superuser(email="root@example.org", password="x-long-pass-2026")
    client.force_login(root)
    assert client.get(CLIENTS).status_code == 403
    assert client.get(page_of(practice["links"]["anna"])).status_code == 404


def test_the_list_shows_figures_only_for_shared_categories(client, practice) -> None:
    client.force_login(practice["therapist"])

    response = client.get(CLIENTS)

    rows = {
        row.member.email: row for row in response.context["cl"].result_list
    }  # the rendered rows' data
    assert rows["ben@example.org"].overview.shares_checkins is False
    text = response.content.decode()
    assert "not shared" in text  # Ben's pain column
    assert "9/10" not in text  # Ben's pain score never reaches the page
    assert "8/10" in text  # Anna's does
    assert "Pain 8/10 at a check-in this week" in text


@pytest.mark.parametrize(
    ("attention", "expected"),
    [
        ("any", {"anna@example.org", "ben@example.org"}),
        ("pain_high", {"anna@example.org"}),
        ("low_adherence", {"ben@example.org"}),
        ("no_activity", set()),
        ("persistent_pain", set()),
    ],
)
def test_the_attention_filter(client, practice, attention: str, expected: set[str]) -> None:
    client.force_login(practice["therapist"])

    response = client.get(CLIENTS, {"attention": attention})

    assert {row.member.email for row in response.context["cl"].result_list} == expected


def test_the_list_sorts_by_adherence(client, practice) -> None:
    client.force_login(practice["therapist"])

    ascending = client.get(CLIENTS, {"o": "3"}).context["cl"].result_list
    descending = client.get(CLIENTS, {"o": "-3"}).context["cl"].result_list

    assert ascending[0].member.email == "ben@example.org"  # 1 of 3 done
    assert descending[len(descending) - 1].member.email == "ben@example.org"


def test_the_list_sorts_by_30_day_adherence_apart_from_the_7_day_one(client, practice) -> None:
    # given: Anna missed three nudges three weeks ago (1 of 4 in 30 days, 1 of 1 in 7)
    anna = practice["links"]["anna"].member
    for _ in range(3):
        make_nudge(member=anna, due_at=timezone.now() - timedelta(days=20), status="sent")
    client.force_login(practice["therapist"])

    # when: sorted by the 7-day column (3), then by the 30-day one (4)
    by_week = client.get(CLIENTS, {"o": "3"}).context["cl"].result_list
    by_month = client.get(CLIENTS, {"o": "4"}).context["cl"].result_list

    # then
    assert by_week[0].member.email == "ben@example.org"  # 1 of 3
    assert by_month[0].member.email == "anna@example.org"  # 1 of 4
    assert by_month[0].overview.adherence_30d == 0.25


def test_search_by_name_or_email(client, practice) -> None:
    client.force_login(practice["therapist"])

    found = client.get(CLIENTS, {"q": "anna act"}).context["cl"].result_list

    assert [row.member.email for row in found] == ["anna@example.org"]


def test_the_list_of_500_clients_takes_at_most_10_queries(client, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    therapist = make_therapist()
    now = timezone.now()
    zones = ["Europe/London", "America/New_York", "Asia/Kathmandu", "UTC"]
    for index in range(500):
        member = User.objects.create_user(
            email=f"c{index}@example.org", password="x", timezone=zones[index % 4]
        )
        CareLink.objects.create(member=member, therapist=therapist)
        Nudge.objects.create(member=member, kind="stretch", status="done", due_at=now)
        CheckIn.objects.create(member=member, stress=4, pain=7, recorded_at=now)
    client.force_login(therapist)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(CLIENTS, {"all": ""})

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 500
    # The access-log write is one INSERT on PostgreSQL; SQLite's driver splits it into
    # batches of 999 parameters, which are counted as the one statement they are.
    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    statements = [q["sql"] for q in queries if not q["sql"].startswith("INSERT")] + inserts[:1]
    # Session, user, is-therapist, the rows (filtered, sorted, paged in Python), nudges
    # per day, check-ins per day, the admin's two permission lookups, the access log.
    assert len(statements) <= 9, "\n".join(sql[:150] for sql in statements)

    # An attention filter first computes every client's reasons: one statement more.
    with CaptureQueriesContext(connection) as queries:
        filtered = client.get(CLIENTS, {"all": "", "attention": "any", "q": "c", "o": "-3"})
    assert filtered.status_code == 200
    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    statements = [q["sql"] for q in queries if not q["sql"].startswith("INSERT")] + inserts[:1]
    assert len(statements) <= 10, "\n".join(sql[:150] for sql in statements)


def test_the_client_page_shows_charts_and_only_what_is_shared(client, practice) -> None:
    client.force_login(practice["therapist"])
    anna, ben = practice["links"]["anna"], practice["links"]["ben"]

    full = client.get(page_of(anna)).content.decode()
    narrow = client.get(page_of(ben)).content.decode()

    assert full.count('class="chart"') == 2  # adherence per week and stress/pain per day
    assert "ANNA-NOTE" in full  # Anna shares notes
    assert "Pain 8/10 at a check-in this week" in full
    assert "This client does not share check-ins." in narrow
    assert "BEN-NOTE" not in narrow
    assert narrow.count('class="chart"') == 1
    logged = AccessLogEntry.objects.filter(what="client page")
    assert sorted(entry.categories for entry in logged) == [
        ["adherence"],
        ["adherence", "checkins", "notes"],
    ]


def test_private_notes_are_the_therapists_own(client, practice) -> None:
    anna = practice["links"]["anna"]
    client.force_login(practice["therapist"])

    saved = client.post(page_of(anna), {"note": "Tight left trapezius; review in 2 weeks."})
    refused = client.post(page_of(anna), {"note": "   "})

    assert saved.status_code == 302
    assert refused.status_code == 302
    assert list(TherapistNote.objects.values_list("text", flat=True)) == [
        "Tight left trapezius; review in 2 weeks."
    ]
    colleague = practice["other"]
    make_link(member=anna.member, therapist=colleague)
    client.force_login(colleague)
    colleague_link = CareLink.objects.get(therapist=colleague, member=anna.member)
    assert "Tight left trapezius" not in client.get(page_of(colleague_link)).content.decode()


def test_a_stretch_is_retired_from_the_client_page(client, practice) -> None:
    anna = practice["links"]["anna"]
    stretch = prescribed_stretch_create(
        therapist=practice["therapist"], member=anna.member, name="Chin tuck",
        instructions="Draw the chin back.", hold_seconds=10,
    )  # fmt: skip
    theirs = prescribed_stretch_create(
        therapist=practice["other"], member=practice["links"]["stranger"].member,
        name="Other", instructions="x", hold_seconds=10,
    )  # fmt: skip
    client.force_login(practice["therapist"])

    assert "Chin tuck" in client.get(page_of(anna)).content.decode()
    client.post(page_of(anna), {"retire": stretch.pk})
    guessed = client.post(page_of(anna), {"retire": theirs.pk})

    assert PrescribedStretch.objects.get(pk=stretch.pk).retired_at is not None
    assert guessed.status_code == 404
    assert PrescribedStretch.objects.get(pk=theirs.pk).retired_at is None


def test_the_csv_holds_every_client_not_only_the_first_page(client, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    therapist = make_therapist()
    for index in range(101):  # list_per_page is 100
        member = User.objects.create_user(email=f"p{index}@example.org", password="x")
        CareLink.objects.create(member=member, therapist=therapist)
    client.force_login(therapist)

    response = client.get(f"{CLIENTS}export.csv")

    assert response.status_code == 200
    assert len(list(csv.reader(io.StringIO(response.content.decode())))) == 1 + 101


def test_an_id_of_unicode_digits_is_a_404(client, practice) -> None:
    client.force_login(practice["therapist"])

    assert client.get(f"{CLIENTS}%C2%B2/change/").status_code == 404
    anna = practice["links"]["anna"]
    assert client.post(page_of(anna), {"retire": "²"}).status_code == 404


def test_the_csv_export_follows_the_filter_and_defuses_formulas(client, practice) -> None:
    anna = practice["links"]["anna"].member
    anna.display_name = '=HYPERLINK("http://evil.example")'
    anna.save()
    client.force_login(practice["therapist"])

    response = client.get(f"{CLIENTS}export.csv", {"attention": "pain_high"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "client"
    assert len(rows) == 2
    assert rows[1][0].startswith("'=HYPERLINK")
    assert rows[1][8] == "8"
    assert not rows[1][9].startswith("'")  # a signed figure stays a number
