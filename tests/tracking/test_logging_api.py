"""`checkins/` and `activities/`: what members log, validated at the edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.tracking.models import Activity, CheckIn
from tests.factories import make_checkin, make_member

pytestmark = pytest.mark.django_db

VALID_CHECKIN = {
    "stress": 6,
    "pain": 4,
    "symptoms": ["tightness", "headache"],
    "body_areas": ["neck", "shoulders"],
    "note": "Two hours at the laptop.",
}


def test_a_member_logs_a_check_in_and_reads_it_back(api_as) -> None:
    client = api_as(make_member())

    created = client.post("/api/v1/checkins/", VALID_CHECKIN, format="json")

    assert created.status_code == 201, created.json()
    listed = client.get("/api/v1/checkins/").json()
    assert listed["count"] == 1
    assert listed["results"][0]["symptoms"] == ["tightness", "headache"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stress": 11}, "stress"),
        ({"pain": -1}, "pain"),
        ({"symptoms": ["itching"]}, "symptoms"),
        ({"body_areas": ["tail"]}, "body_areas"),
        ({"note": "x" * 2001}, "note"),
        ({"recorded_at": "2999-01-01T00:00:00Z"}, "recorded_at"),
        ({"recorded_at": "yesterday"}, "recorded_at"),
        ({"recorded_at": "0001-01-01T00:00:00Z"}, "recorded_at"),
        ({"stress": 10**30}, "stress"),
        ({"symptoms": "tightness"}, "symptoms"),
    ],
    ids=["stress-11", "pain-negative", "unknown-symptom", "unknown-area", "long-note",
         "future", "not-a-date", "year-1", "huge-int", "string-not-list"],
)  # fmt: skip
def test_an_invalid_check_in_names_the_field_and_is_not_stored(
    api_as,
    change: dict,
    field: str,
) -> None:
    response = api_as(make_member()).post(
        "/api/v1/checkins/", {**VALID_CHECKIN, **change}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not CheckIn.objects.exists()


def test_a_check_in_a_few_minutes_ahead_is_accepted_for_clock_drift(api_as) -> None:
    ahead = (timezone.now() + timedelta(minutes=4)).isoformat()

    response = api_as(make_member()).post(
        "/api/v1/checkins/", {**VALID_CHECKIN, "recorded_at": ahead}, format="json"
    )

    assert response.status_code == 201


def test_malformed_json_is_a_400_not_a_500(api_as) -> None:
    response = api_as(make_member()).post(
        "/api/v1/checkins/", data='{"stress": 3,', content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_an_oversized_body_is_refused_before_parsing(api_as) -> None:
    response = api_as(make_member()).post(
        "/api/v1/checkins/",
        data='{"note": "' + "x" * 70_000 + '"}',
        content_type="application/json",
    )

    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert not CheckIn.objects.exists()


def test_check_ins_filter_by_the_members_local_days(api_as) -> None:
    member = make_member(timezone="America/Los_Angeles")  # UTC-8 in winter
    # 07:00 UTC on 10 Jan is 23:00 on 9 Jan in Los Angeles
    make_checkin(member=member, recorded_at=datetime(2026, 1, 10, 7, 0, tzinfo=UTC))
    make_checkin(member=member, recorded_at=datetime(2026, 1, 10, 9, 0, tzinfo=UTC))
    client = api_as(member)

    ninth = client.get("/api/v1/checkins/?from=2026-01-09&to=2026-01-09").json()
    tenth = client.get("/api/v1/checkins/?from=2026-01-10").json()
    bad = client.get("/api/v1/checkins/?from=2026-02-30")
    far = client.get("/api/v1/checkins/?to=9999-12-31")
    backwards = client.get("/api/v1/checkins/?from=2026-01-10&to=2026-01-09")

    assert [row["recorded_at"] for row in ninth["results"]] == ["2026-01-10T07:00:00Z"]
    assert [row["recorded_at"] for row in tenth["results"]] == ["2026-01-10T09:00:00Z"]
    assert bad.status_code == 400
    assert "from" in bad.json()
    assert backwards.status_code == 400
    assert "to" in backwards.json()
    assert far.status_code == 400
    assert "to" in far.json()


def test_json_nested_too_deep_is_a_400(api_as) -> None:
    body = "[" * 30_000 + "]" * 30_000

    response = api_as(make_member()).post(
        "/api/v1/checkins/", data=body, content_type="application/json"
    )

    assert response.status_code == 400


def test_an_id_too_long_to_be_a_row_is_a_404(api_as) -> None:
    response = api_as(make_member()).get("/api/v1/checkins/100000000000000000000000/")

    assert response.status_code == 404


def test_lists_are_paginated(api_as) -> None:
    member = make_member()
    for _ in range(3):
        make_checkin(member=member)

    page = api_as(member).get("/api/v1/checkins/?page_size=2").json()

    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"] is not None


def test_a_member_edits_and_deletes_their_own_check_in(api_as) -> None:
    member = make_member()
    checkin = make_checkin(member=member, pain=3)
    client = api_as(member)

    edited = client.patch(f"/api/v1/checkins/{checkin.pk}/", {"pain": 2}, format="json")
    refused = client.patch(f"/api/v1/checkins/{checkin.pk}/", {"pain": 12}, format="json")
    deleted = client.delete(f"/api/v1/checkins/{checkin.pk}/")

    assert edited.json()["pain"] == 2
    assert refused.status_code == 400
    assert deleted.status_code == 204
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize(
    "activity",
    [
        {"kind": "mindfulness", "minutes": 10},
        {"kind": "hydration", "amount_ml": 250},
        {"kind": "stretch"},
        {"kind": "movement", "minutes": 5},
        {"kind": "warmup", "minutes": 10},
        {"kind": "heat", "minutes": 20},
    ],
    ids=lambda activity: activity["kind"],
)
def test_each_habit_can_be_logged(api_as, activity: dict) -> None:
    response = api_as(make_member()).post("/api/v1/activities/", activity, format="json")

    assert response.status_code == 201, response.json()
    assert Activity.objects.get().kind == activity["kind"]


def test_heat_longer_than_twenty_minutes_is_refused_with_the_burn_risk(api_as) -> None:
    response = api_as(make_member()).post(
        "/api/v1/activities/", {"kind": "heat", "minutes": 45}, format="json"
    )

    assert response.status_code == 400
    assert "superficial burns" in response.json()["minutes"][0]
    assert not Activity.objects.exists()


def test_an_edit_cannot_stretch_a_heat_session_past_twenty_minutes(api_as) -> None:
    client = api_as(make_member())
    heat = client.post("/api/v1/activities/", {"kind": "heat", "minutes": 15}, format="json")

    response = client.patch(
        f"/api/v1/activities/{heat.json()['id']}/", {"minutes": 25}, format="json"
    )

    assert response.status_code == 400
    assert Activity.objects.get().minutes == 15


@pytest.mark.parametrize(
    ("activity", "field"),
    [
        ({"kind": "hydration", "amount_ml": -250}, "amount_ml"),
        ({"kind": "hydration"}, "amount_ml"),
        ({"kind": "hydration", "amount_ml": 250, "minutes": 5}, "minutes"),
        ({"kind": "mindfulness"}, "minutes"),
        ({"kind": "stretch", "amount_ml": 100}, "amount_ml"),
        ({"kind": "yoga", "minutes": 10}, "kind"),
    ],
    ids=["negative-water", "water-without-ml", "water-with-minutes", "mindfulness-no-minutes",
         "stretch-in-ml", "unknown-kind"],
)  # fmt: skip
def test_an_invalid_activity_names_the_field(api_as, activity: dict, field: str) -> None:
    response = api_as(make_member()).post("/api/v1/activities/", activity, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Activity.objects.exists()


def test_the_persistent_pain_flag_shows_on_the_members_profile(api_as) -> None:
    member = make_member()
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    for offset in (0, 7, 14):
        make_checkin(member=member, pain=5, recorded_at=start + timedelta(days=offset))

    with time_machine.travel(start + timedelta(days=14, hours=1), tick=False):
        flag = api_as(member).get("/api/v1/me/").json()["persistent_pain"]

    assert flag["persistent"] is True
    assert flag["episode_start"] == "2026-03-02"
    assert "soft-tissue therapist" in flag["message"]
