"""The Today page: today's nudges and acting on them, quick logs, the check-in, the
persistent-pain notice, the summary of the day and the prescribed stretches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.careteam.services import prescribed_stretch_create
from apps.profiles.services import profile_pause, profile_update
from apps.reminders.models import Nudge
from apps.tracking.models import Activity, CheckIn
from tests.factories import (
    make_activity,
    make_checkin,
    make_link,
    make_member,
    make_nudge,
    make_therapist,
)

pytestmark = pytest.mark.django_db

# Tuesday 10 March 2026, 09:00 UTC: 10:00 in Paris (UTC+1 until the end of March), so the
# member's local day runs from 9 March 23:00 UTC to 10 March 23:00 UTC.
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
PARIS = "Europe/Paris"


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def member():
    return make_member(timezone=PARIS)


@pytest.fixture
def logged_in(client, member):
    client.force_login(member)
    return client


def page_text(client) -> str:
    response = client.get("/today/")
    assert response.status_code == 200
    return response.content.decode()


# --- access ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/today/"), ("post", "/today/log/"), ("post", "/today/checkin/"),
     ("post", "/today/nudges/1/done/")],
)  # fmt: skip
def test_every_part_of_today_needs_a_login(client, method, path) -> None:
    response = getattr(client, method)(path, {"kind": "stretch", "stress": 1, "pain": 1})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Activity.objects.exists()
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("path", ["/today/log/", "/today/checkin/", "/today/nudges/1/done/"])
def test_the_actions_only_answer_a_post(logged_in, path) -> None:
    assert logged_in.get(path).status_code == 405


def test_the_page_loads_nothing_inline(logged_in) -> None:
    text = page_text(logged_in)

    assert "<style" not in text
    assert "<script>" not in text
    assert " style=" not in text
    assert " onclick=" not in text
    assert "/static/web/today.js" in text


# --- today's nudges -------------------------------------------------------------------------
def test_only_the_nudges_due_on_the_members_local_today_are_listed_oldest_first(
    logged_in, member
) -> None:
    # given: Paris midnight is 23:00 UTC the day before
    make_nudge(member=member, kind="stretch", due_at=datetime(2026, 3, 9, 22, 30, tzinfo=UTC))
    make_nudge(member=member, kind="warmup", due_at=datetime(2026, 3, 10, 14, 0, tzinfo=UTC))
    make_nudge(member=member, kind="hydration", due_at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC))
    make_nudge(member=member, kind="movement", due_at=datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    other = make_member(timezone=PARIS)
    make_nudge(member=other, kind="mindfulness", due_at=NOW)

    # when
    response = logged_in.get("/today/")

    # then: 00:30 and 15:00 local, in that order; yesterday's, tomorrow's and the other
    # member's are not there
    rows = response.context["nudges"]
    assert [(row.label, row.time) for row in rows] == [
        ("A glass of water", "00:30"),
        ("Warm up", "15:00"),
    ]
    text = response.content.decode()
    assert "10 minutes of mindfulness" not in text
    assert "Get up and walk" not in text


@pytest.mark.parametrize(
    ("status", "extra", "words"),
    [
        ("pending", {}, "on its way"),
        ("sent", {}, "sent"),
        ("done", {}, "done"),
        ("skipped", {}, "skipped"),
        ("snoozed", {"snoozed_until": datetime(2026, 3, 10, 9, 20, tzinfo=UTC)},
         "snoozed until 10:20"),
        ("suppressed", {"suppressed_reason": "quiet_hours"},
         "not sent: inside the member's quiet hours"),
        ("missed", {}, "missed: it was too late to send"),
        ("failed", {}, "could not be delivered"),
    ],
)  # fmt: skip
def test_each_nudge_says_its_state_in_words(logged_in, member, status, extra, words) -> None:
    nudge = make_nudge(member=member, due_at=NOW - timedelta(minutes=30), status=status)
    Nudge.objects.filter(pk=nudge.pk).update(**extra)

    text = page_text(logged_in)

    assert f'id="nudge-{nudge.pk}-state">{words}</span>'.replace("'", "&#x27;") in text


@pytest.mark.parametrize(
    ("status", "snoozes", "buttons"),
    [
        ("sent", 0, {"done", "snooze", "skip"}),
        ("pending", 2, {"done", "snooze", "skip"}),
        ("snoozed", 3, {"done", "skip"}),  # three snoozes is the limit
        ("suppressed", 0, {"done", "skip"}),  # never resurrected past quiet hours
        ("missed", 0, {"done", "skip"}),
        ("done", 0, set()),
        ("skipped", 0, set()),
    ],
)
def test_only_the_actions_a_nudge_allows_are_offered(
    logged_in, member, status, snoozes, buttons
) -> None:
    nudge = make_nudge(member=member, due_at=NOW, status=status)
    Nudge.objects.filter(pk=nudge.pk).update(snooze_count=snoozes)

    text = page_text(logged_in)

    offered = {
        action for action in ("done", "snooze", "skip")
        if f'action="/today/nudges/{nudge.pk}/{action}/"' in text
    }  # fmt: skip
    assert offered == buttons


def test_done_on_a_water_nudge_logs_the_members_glass_and_the_water_line_grows(
    logged_in, member
) -> None:
    profile_update(profile=member.profile, changes={"glass_ml": 330})
    nudge = make_nudge(member=member, kind="hydration", due_at=NOW)
    assert "0 ml</span> of water" in page_text(logged_in)

    response = logged_in.post(f"/today/nudges/{nudge.pk}/done/")

    assert response.status_code == 302
    assert response["Location"] == "/today/"
    nudge.refresh_from_db()
    assert nudge.status == "done"
    text = page_text(logged_in)
    assert "330 ml</span> of water, goal 2,000 ml" in text
    assert "330 ml) logged" in text  # the message
    assert f'id="nudge-{nudge.pk}-state">done</span>' in text


def test_done_twice_logs_once(logged_in, member) -> None:
    nudge = make_nudge(member=member, kind="stretch", due_at=NOW)

    logged_in.post(f"/today/nudges/{nudge.pk}/done/")
    second = logged_in.post(f"/today/nudges/{nudge.pk}/done/", follow=True)

    assert Activity.objects.filter(member=member, kind="stretch").count() == 1
    assert "Stretch was done already." in second.content.decode()


def test_snooze_for_half_an_hour_says_when_it_comes_back_on_the_members_clock(
    logged_in, member
) -> None:
    nudge = make_nudge(member=member, kind="stretch", due_at=NOW)

    response = logged_in.post(f"/today/nudges/{nudge.pk}/snooze/", {"minutes": "30"})

    assert response.status_code == 302
    nudge.refresh_from_db()
    assert (nudge.status, nudge.snoozed_until) == ("snoozed", NOW + timedelta(minutes=30))
    text = page_text(logged_in)
    assert "snoozed until 10:30" in text
    assert "comes back at 10:30" in text


def test_snooze_without_minutes_takes_ten(logged_in, member) -> None:
    nudge = make_nudge(member=member, due_at=NOW)

    logged_in.post(f"/today/nudges/{nudge.pk}/snooze/")

    nudge.refresh_from_db()
    assert nudge.snoozed_until == NOW + timedelta(minutes=10)


@pytest.mark.parametrize("minutes", ["4", "121", "abc", "9" * 40, "-5", "1e3"])
def test_a_snooze_length_out_of_range_is_refused_beside_the_nudge(
    logged_in, member, minutes
) -> None:
    nudge = make_nudge(member=member, due_at=NOW)

    response = logged_in.post(f"/today/nudges/{nudge.pk}/snooze/", {"minutes": minutes})

    assert response.status_code == 400
    text = response.content.decode()
    assert f'id="nudge-{nudge.pk}-error"' in text
    assert 'aria-invalid="true" aria-describedby="nudge-' in text
    nudge.refresh_from_db()
    assert (nudge.status, nudge.snooze_count) == ("sent", 0)


def test_an_action_the_nudge_refuses_is_said_plainly_and_changes_nothing(logged_in, member) -> None:
    nudge = make_nudge(member=member, kind="stretch", due_at=NOW, status="done", acted_at=NOW)

    response = logged_in.post(f"/today/nudges/{nudge.pk}/skip/")

    assert response.status_code == 409
    assert "This nudge is done already; it cannot be skipped." in response.content.decode()
    nudge.refresh_from_db()
    assert nudge.status == "done"


def test_a_fourth_snooze_is_refused(logged_in, member) -> None:
    nudge = make_nudge(member=member, due_at=NOW, status="snoozed")
    Nudge.objects.filter(pk=nudge.pk).update(snooze_count=3)

    response = logged_in.post(f"/today/nudges/{nudge.pk}/snooze/", {"minutes": "10"})

    assert response.status_code == 409
    assert "snoozed 3 times at most" in response.content.decode()


def test_a_refusal_on_a_nudge_of_another_day_is_said_above_the_list(logged_in, member) -> None:
    old = make_nudge(member=member, due_at=NOW - timedelta(days=3), status="skipped")

    response = logged_in.post(f"/today/nudges/{old.pk}/done/")

    assert response.status_code == 409
    assert response.context["nudge_problems"] == [
        "This nudge is skipped already; it cannot be done."
    ]


@pytest.mark.parametrize("action", ["done", "snooze", "skip"])
def test_another_members_nudge_is_not_found_and_stays_as_it_was(logged_in, action) -> None:
    theirs = make_nudge(member=make_member(), kind="hydration", due_at=NOW)

    response = logged_in.post(f"/today/nudges/{theirs.pk}/{action}/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "sent"
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    "path",
    ["/today/nudges/{id}/dance/", "/today/nudges/abc/done/", "/today/nudges/-1/done/",
     "/today/nudges/9999999999999999999999/done/", "/today/nudges/999999999999999999/done/"],
)  # fmt: skip
def test_odd_nudge_addresses_are_not_found(logged_in, member, path) -> None:
    nudge = make_nudge(member=member, due_at=NOW)

    response = logged_in.post(path.format(id=nudge.pk))

    assert response.status_code == 404
    nudge.refresh_from_db()
    assert nudge.status == "sent"


# --- quick logs -----------------------------------------------------------------------------
def test_a_glass_of_water_logs_the_members_glass_size(logged_in, member) -> None:
    profile_update(profile=member.profile, changes={"glass_ml": 400, "water_goal_ml": 1500})

    response = logged_in.post("/today/log/", {"kind": "hydration"})

    assert response.status_code == 302
    logged = Activity.objects.get(member=member)
    assert (logged.kind, logged.amount_ml, logged.minutes) == ("hydration", 400, None)
    text = page_text(logged_in)
    assert "Logged a glass of water (400 ml)." in text
    assert "400 ml</span> of water, goal 1,500 ml" in text


@pytest.mark.parametrize("kind", ["stretch", "movement", "warmup"])
def test_a_quick_habit_log_records_the_habit_without_minutes(logged_in, member, kind) -> None:
    logged_in.post("/today/log/", {"kind": kind})

    logged = Activity.objects.get(member=member)
    assert (logged.kind, logged.minutes, logged.amount_ml) == (kind, None, None)


@pytest.mark.parametrize("data", [{}, {"kind": "heat"}, {"kind": "mindfulness"},
                                  {"kind": "banana"}, {"kind": "x" * 10_000}])  # fmt: skip
def test_a_quick_log_of_an_unknown_kind_is_refused_and_stores_nothing(logged_in, data) -> None:
    response = logged_in.post("/today/log/", data)

    assert response.status_code == 400
    assert response.context["quick_log_errors"] == [
        "Choose water, a stretch, a movement break or a warm-up."
    ]
    assert 'id="quick-log-error"' in response.content.decode()
    assert not Activity.objects.exists()


# --- the check-in ---------------------------------------------------------------------------
def test_a_check_in_is_recorded_and_appears_in_todays_list_and_summary(logged_in, member) -> None:
    assert '<span class="figure">0</span> check-ins' in page_text(logged_in)

    response = logged_in.post(
        "/today/checkin/",
        {"stress": "6", "pain": "3", "symptoms": ["tightness", "knots"],
         "body_areas": ["neck", "shoulders"], "note": "Long day at the desk."},
    )  # fmt: skip

    assert response.status_code == 302
    saved = CheckIn.objects.get(member=member)
    assert (saved.stress, saved.pain) == (6, 3)
    assert saved.symptoms == ["tightness", "knots"]
    assert saved.body_areas == ["neck", "shoulders"]
    assert saved.note == "Long day at the desk."
    text = page_text(logged_in)
    assert "Check-in saved: stress 6, pain 3." in text
    assert '<span class="figure">1</span> check-in<' in text
    assert "<strong>10:00</strong>: stress 6, pain 3; tightness, knots; neck, shoulders" in text


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"stress": "11", "pain": "2"}, "stress", "less than or equal to 10"),
        ({"stress": "3", "pain": "-1"}, "pain", "greater than or equal to 0"),
        ({"stress": "3"}, "pain", "required"),
        ({"stress": "9" * 40, "pain": "2"}, "stress", "less than or equal to 10"),
        ({"stress": "three", "pain": "2"}, "stress", "valid integer"),
        ({"stress": "3", "pain": "2", "symptoms": ["tightness", "itching"]}, "symptoms",
         '"itching" is not a known symptom.'),
        ({"stress": "3", "pain": "2", "body_areas": ["elbow"]}, "body_areas",
         '"elbow" is not a known body area.'),
        ({"stress": "3", "pain": "2", "note": "x" * 2001}, "note", "no more than 2000"),
        ({"stress": "3", "pain": "2", "note": "a\x00b"}, "note", "null characters"),
    ],
)  # fmt: skip
def test_a_bad_check_in_names_the_field_and_stores_nothing(logged_in, data, field, words) -> None:
    response = logged_in.post("/today/checkin/", data)

    assert response.status_code == 400
    errors = response.context["checkin"].errors
    assert words.lower() in " ".join(errors[field]).lower()
    assert f'id="{field}_error"' in response.content.decode()
    assert not CheckIn.objects.exists()


def test_a_refused_check_in_keeps_what_was_entered(logged_in) -> None:
    response = logged_in.post(
        "/today/checkin/",
        {"stress": "7", "pain": "99", "symptoms": ["knots", "headache"], "note": "after work"},
    )

    entered = response.context["checkin"]
    assert (entered.stress, entered.pain) == (7, 0)  # 99 is no slider position
    assert entered.symptoms == ["knots", "headache"]
    text = response.content.decode()
    assert 'value="knots" checked' in text
    assert ">after work</textarea>" in text


def test_a_check_in_from_the_future_is_refused(logged_in) -> None:
    later = (NOW + timedelta(hours=2)).isoformat()

    response = logged_in.post("/today/checkin/", {"stress": 1, "pain": 1, "recorded_at": later})

    assert response.status_code == 400
    assert "Cannot be more than 5 minutes in the future." in response.content.decode()
    assert not CheckIn.objects.exists()


# --- the summary, the pain notice, stretches ------------------------------------------------
def test_the_summary_counts_only_the_members_local_today(logged_in, member) -> None:
    # 22:30 UTC yesterday is 23:30 yesterday in Paris; 23:30 UTC is already today there
    make_activity(member=member, kind="mindfulness", minutes=15,
                  recorded_at=datetime(2026, 3, 9, 22, 30, tzinfo=UTC))  # fmt: skip
    make_activity(member=member, kind="mindfulness", minutes=10,
                  recorded_at=datetime(2026, 3, 9, 23, 30, tzinfo=UTC))  # fmt: skip
    make_activity(member=member, kind="hydration", amount_ml=500, recorded_at=NOW)
    make_checkin(member=member, recorded_at=datetime(2026, 3, 9, 22, 0, tzinfo=UTC))
    make_activity(member=make_member(), kind="hydration", amount_ml=900, recorded_at=NOW)

    response = logged_in.get("/today/")

    context = response.context
    assert (context["mindfulness_minutes"], context["water_ml"]) == (10, 500)
    assert context["checkins_today"] == []
    assert '<span class="figure">10 min</span> of mindfulness' in response.content.decode()


def test_reaching_the_water_goal_is_said(logged_in, member) -> None:
    make_activity(member=member, kind="hydration", amount_ml=2000, recorded_at=NOW)

    assert "goal 2,000 ml: goal reached" in page_text(logged_in)


def test_pain_for_two_weeks_shows_the_notice_with_what_to_do(logged_in, member) -> None:
    # pain days 14, 8 and 2 days ago and today: one episode of 14 days
    for days_ago in (14, 8, 2, 0):
        make_checkin(member=member, pain=4, recorded_at=NOW - timedelta(days=days_ago))

    text = page_text(logged_in)

    assert "Pain for two weeks or more" in text
    assert "soft-tissue therapist" in text
    assert "15 to 20 minutes at most" in text
    assert "Skip ice" in text
    assert 'href="/care-team/"' in text


def test_no_pain_notice_before_two_weeks(logged_in, member) -> None:
    for days_ago in (13, 7, 0):
        make_checkin(member=member, pain=4, recorded_at=NOW - timedelta(days=days_ago))

    assert "Pain for two weeks or more" not in page_text(logged_in)


def test_the_prescribed_stretches_are_listed_while_the_therapist_is_linked(
    logged_in, member
) -> None:
    therapist = make_therapist()
    make_link(member=member, therapist=therapist)
    prescribed_stretch_create(
        therapist=therapist, member=member, name="Doorway chest stretch",
        instructions="Forearms on the frame, step through gently.", hold_seconds=30,
        repetitions=3,
    )  # fmt: skip

    text = page_text(logged_in)

    assert "Doorway chest stretch</strong>: hold 30 seconds, 3 times" in text
    assert "Forearms on the frame" in text


def test_no_stretches_section_without_a_prescription(logged_in) -> None:
    assert "Your stretches" not in page_text(logged_in)


def test_a_pause_is_mentioned_with_its_end_on_the_members_clock(logged_in, member) -> None:
    profile_pause(profile=member.profile, until=NOW + timedelta(hours=3))

    assert "Your nudges are paused until 13:00." in page_text(logged_in)
