"""`me/`: the member's profile, validated field by field; pausing nudges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.factories import make_member

pytestmark = pytest.mark.django_db


def test_a_member_reads_and_changes_their_profile(api_as) -> None:
    member = make_member()
    client = api_as(member)

    response = client.patch(
        "/api/v1/me/",
        {
            "timezone": "America/New_York",
            "work_start": "08:30",
            "work_end": "17:00",
            "workdays": [4, 0, 2],
            "quiet_start": "22:30",
            "quiet_end": "06:30",
            "hot_environment": True,
            "water_goal_ml": 2500,
            "channels": ["email", "push"],
            "display_name": "Kim",
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    profile = client.get("/api/v1/me/").json()
    assert profile["timezone"] == "America/New_York"
    assert profile["workdays"] == [0, 2, 4]
    assert (profile["quiet_start"], profile["quiet_end"]) == ("22:30", "06:30")
    assert profile["display_name"] == "Kim"
    assert profile["persistent_pain"]["persistent"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"quiet_start": "25:00"}, "quiet_start"),
        ({"quiet_start": None}, "quiet_start"),
        ({"quiet_start": "07:00", "quiet_end": "07:00"}, "quiet_end"),
        ({"work_start": "18:00", "work_end": "09:00"}, "work_end"),
        ({"workdays": [0, 7]}, "workdays"),
        ({"workdays": [1, 1]}, "workdays"),
        ({"channels": ["sms"]}, "channels"),
        ({"water_goal_ml": -500}, "water_goal_ml"),
        ({"hot_environment": "very"}, "hot_environment"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_an_invalid_profile_change_names_the_field_and_changes_nothing(
    api_as,
    change: dict,
    field: str,
) -> None:
    member = make_member(timezone="Europe/Paris")
    client = api_as(member)
    before = client.get("/api/v1/me/").json()

    response = client.patch("/api/v1/me/", {"water_goal_ml": 3000, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert client.get("/api/v1/me/").json() == before


def test_a_pause_for_an_hour_resumes_by_itself(api_as) -> None:
    member = make_member()
    client = api_as(member)

    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False):
        paused = client.post("/api/v1/me/pause/", {"minutes": 60}, format="json").json()
        assert paused["is_paused"] is True
        assert paused["paused_until"] == "2026-06-01T10:00:00Z"
    with time_machine.travel(datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC), tick=False):
        assert client.get("/api/v1/me/").json()["is_paused"] is False


def test_until_tomorrow_morning_means_the_members_next_work_start(api_as) -> None:
    member = make_member(timezone="Asia/Kathmandu")  # UTC+05:45
    client = api_as(member)

    # 20:00 UTC on 1 June is 01:45 on 2 June in Kathmandu: "tomorrow" is 3 June there
    with time_machine.travel(datetime(2026, 6, 1, 20, 0, tzinfo=UTC), tick=False):
        paused = client.post("/api/v1/me/pause/", {"tomorrow_morning": True}, format="json")

    assert paused.json()["paused_until"] == "2026-06-03T03:15:00Z"  # 09:00 local


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"minutes": 0},
        {"until": "2020-01-01T00:00:00Z"},
        {"minutes": 5, "tomorrow_morning": True},
    ],
    ids=["nothing", "zero-minutes", "past", "two-at-once"],
)
def test_a_pause_must_say_exactly_one_future_end(api_as, body: dict) -> None:
    response = api_as(make_member()).post("/api/v1/me/pause/", body, format="json")

    assert response.status_code == 400


def test_a_pause_until_a_time_without_offset_means_the_members_wall_clock(api_as) -> None:
    client = api_as(make_member(timezone="Europe/Berlin"))

    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False):
        paused = client.post("/api/v1/me/pause/", {"until": "2026-06-02T08:00"}, format="json")

    assert paused.json()["paused_until"] == "2026-06-02T06:00:00Z"  # 08:00 in Berlin (CEST)


def test_until_tomorrow_morning_on_a_spring_forward_morning(api_as) -> None:
    member = make_member(timezone="America/New_York")
    client = api_as(member)
    client.patch("/api/v1/me/", {"work_start": "02:30", "work_end": "10:00"}, format="json")

    # 7 March, evening: tomorrow (8 March) 02:30 does not exist; 03:00 is the first valid
    with time_machine.travel(datetime(2026, 3, 8, 1, 0, tzinfo=UTC), tick=False):
        paused = client.post("/api/v1/me/pause/", {"tomorrow_morning": True}, format="json")

    assert paused.json()["paused_until"] == "2026-03-08T07:00:00Z"


def test_a_failed_profile_change_keeps_the_old_display_name_too(api_as) -> None:
    member = make_member()
    client = api_as(member)

    response = client.patch(
        "/api/v1/me/", {"display_name": "New", "work_start": "18:00"}, format="json"
    )

    assert response.status_code == 400
    member.refresh_from_db()
    assert member.display_name == ""


def test_resuming_ends_the_pause_now(api_as) -> None:
    client = api_as(make_member())
    client.post("/api/v1/me/pause/", {"minutes": 600}, format="json")

    assert client.delete("/api/v1/me/pause/").json()["is_paused"] is False


@pytest.mark.parametrize(
    ("zone", "until"),
    [("Europe/Paris", "0001-01-01T00:00"), ("America/New_York", "9999-12-31T23:59")],
)
def test_a_pause_until_a_moment_no_zone_can_hold_is_a_400(api_as, zone: str, until: str) -> None:
    member = make_member(timezone=zone)

    response = api_as(member).post("/api/v1/me/pause/", {"until": until}, format="json")

    assert response.status_code == 400
    assert "until" in response.json()
