"""Acting on a nudge through the API: done logs the habit, snooze comes back, skip ends it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.reminders.models import Nudge, NudgeStatus, Schedule
from apps.tracking.models import Activity
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def sent_nudge(member, kind: str = "mindfulness") -> Nudge:
    return Nudge.objects.create(
        member=member,
        schedule=Schedule.objects.filter(member=member, kind=kind).first(),
        kind=kind,
        due_at=timezone.now() - timedelta(minutes=1),
        status=NudgeStatus.SENT,
    )


def act(api_as, member, nudge: Nudge, action: str, body: dict | None = None):
    return api_as(member).post(f"/api/v1/nudges/{nudge.pk}/{action}/", body or {}, format="json")


def test_done_on_the_mindfulness_nudge_logs_ten_minutes(api_as) -> None:
    member = make_member()
    nudge = sent_nudge(member, "mindfulness")

    response = act(api_as, member, nudge, "done")

    assert response.status_code == 200
    assert response.json()["status"] == "done"
    assert response.json()["acted_at"] is not None
    logged = Activity.objects.get(member=member)
    assert (logged.kind, logged.minutes) == ("mindfulness", 10)


def test_done_on_a_hydration_nudge_logs_a_glass(api_as) -> None:
    member = make_member()

    act(api_as, member, sent_nudge(member, "hydration"), "done")

    assert Activity.objects.get(member=member).amount_ml == 250


def test_done_twice_logs_once(api_as) -> None:
    member = make_member()
    nudge = sent_nudge(member, "stretch")

    act(api_as, member, nudge, "done")
    again = act(api_as, member, nudge, "done")

    assert again.status_code == 200
    assert Activity.objects.filter(member=member).count() == 1


def test_snooze_defaults_to_ten_minutes_and_stops_after_three(api_as) -> None:
    member = make_member()
    nudge = sent_nudge(member)

    first = act(api_as, member, nudge, "snooze")
    act(api_as, member, nudge, "snooze", {"minutes": 5})
    act(api_as, member, nudge, "snooze", {"minutes": 5})
    fourth = act(api_as, member, nudge, "snooze")

    snoozed_until = first.json()["snoozed_until"]
    assert first.json()["status"] == "snoozed"
    assert snoozed_until is not None
    assert fourth.status_code == 400
    assert "3 times" in fourth.json()["minutes"][0]


@pytest.mark.parametrize("minutes", [0, -5, 241, "soon"])
def test_snooze_minutes_are_validated(api_as, minutes: object) -> None:
    member = make_member()

    response = act(api_as, member, sent_nudge(member), "snooze", {"minutes": minutes})

    assert response.status_code == 400
    assert "minutes" in response.json()


def test_a_done_nudge_cannot_be_skipped(api_as) -> None:
    member = make_member()
    nudge = sent_nudge(member)
    act(api_as, member, nudge, "done")

    response = act(api_as, member, nudge, "skip")

    assert response.status_code == 400
    assert "done already" in response.json()["status"][0]
    nudge.refresh_from_db()
    assert nudge.status == NudgeStatus.DONE


def test_nudges_are_listed_newest_first(api_as) -> None:
    member = make_member()
    older = sent_nudge(member)
    newer = Nudge.objects.create(
        member=member, kind="stretch", due_at=timezone.now(), status=NudgeStatus.SENT
    )

    listed = api_as(member).get("/api/v1/nudges/").json()["results"]

    assert [row["id"] for row in listed] == [newer.pk, older.pk]
    assert set(listed[0]) >= {"kind", "due_at", "status", "acted_at"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "mindfulness"}, "times"),
        ({"kind": "mindfulness", "times": ["12:00"], "every_minutes": 30}, "times"),
        ({"kind": "hydration", "every_minutes": 30}, "window_start"),
        ({"kind": "hydration", "every_minutes": 3, "window_start": "09:00", "window_end": "17:00"},
         "every_minutes"),
        ({"kind": "hydration", "every_minutes": 30, "window_start": "17:00", "window_end": "09:00"},
         "window_end"),
        ({"kind": "yoga", "times": ["12:00"]}, "kind"),
        ({"kind": "stretch", "times": ["25:00"]}, "times"),
        ({"kind": "stretch", "times": ["12:00"], "weekdays": [7]}, "weekdays"),
        ({"kind": "stretch", "times": ["12:00"], "channels": ["sms"]}, "channels"),
    ],
    ids=["no-rule", "both-rules", "no-window", "too-often", "window-backwards", "unknown-kind",
         "bad-time", "bad-weekday", "bad-channel"],
)  # fmt: skip
def test_an_invalid_schedule_names_the_field_and_is_not_stored(
    api_as,
    body: dict,
    field: str,
) -> None:
    member = make_member()
    before = Schedule.objects.filter(member=member).count()

    response = api_as(member).post("/api/v1/schedules/", body, format="json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Schedule.objects.filter(member=member).count() == before


def test_editing_a_schedule_re_times_its_next_nudge_at_once(api_as) -> None:
    member = make_member(timezone="Europe/Paris")
    client = api_as(member)
    created = client.post(
        "/api/v1/schedules/", {"kind": "warmup", "times": ["06:45"]}, format="json"
    ).json()

    edited = client.patch(
        f"/api/v1/schedules/{created['id']}/", {"times": ["18:30"]}, format="json"
    ).json()
    disabled = client.patch(
        f"/api/v1/schedules/{created['id']}/", {"enabled": False}, format="json"
    ).json()

    assert created["next_due_at"] != edited["next_due_at"]
    assert edited["times"] == ["18:30"]
    assert disabled["next_due_at"] is None


def test_a_suppressed_nudge_cannot_be_snoozed_back_to_life(api_as) -> None:
    member = make_member()
    nudge = sent_nudge(member)
    Nudge.objects.filter(pk=nudge.pk).update(status=NudgeStatus.SUPPRESSED)

    response = act(api_as, member, nudge, "snooze")

    assert response.status_code == 400
    assert "nothing to snooze" in response.json()["status"][0]


def test_done_on_water_logs_the_members_own_glass_size(api_as) -> None:
    member = make_member()
    api_as(member).patch("/api/v1/me/", {"glass_ml": 400}, format="json")

    act(api_as, member, sent_nudge(member, "hydration"), "done")

    assert Activity.objects.get(member=member).amount_ml == 400
