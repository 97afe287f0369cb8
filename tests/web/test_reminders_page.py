"""The Reminders page: schedules (add, edit, delete), the settings nudges follow, and
pausing. Validation is the API's own, so a value `schedules/`, `me/` or `me/pause/`
refuses is refused here with the same message, next to the field, and nothing is stored."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.reminders.models import Nudge, Schedule
from tests.factories import make_member

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Paris

STRETCH = {
    "kind": "stretch",
    "times": "15:00, 10:30",
    "every_minutes": "",
    "window_start": "",
    "window_end": "",
    "weekdays": ["0", "1", "2", "3", "4"],
    "enabled": "on",
}
SETTINGS = {
    "timezone": "Europe/Paris",
    "work_start": "08:30",
    "work_end": "17:00",
    "workdays": ["0", "1", "2", "3", "4"],
    "quiet_start": "22:30",
    "quiet_end": "06:30",
    "water_goal_ml": "2500",
    "glass_ml": "300",
    "channels": ["email", "in_app"],
}


@pytest.fixture
def member():
    return make_member(timezone="Europe/Paris")


@pytest.fixture
def browser_of(client):
    def logged_in(user):
        client.force_login(user)
        return client

    return logged_in


def field_errors(response, form: str, field: str) -> str:
    return " ".join(response.context[form].errors.get(field, []))


def local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(PARIS) if moment else None


# --- Access -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/reminders/"),
        ("post", "/reminders/new/"),
        ("post", "/reminders/1/"),
        ("post", "/reminders/1/delete/"),
        ("post", "/reminders/settings/"),
        ("post", "/reminders/pause/"),
        ("post", "/reminders/resume/"),
    ],
)
def test_every_reminders_address_needs_a_log_in(client, method, path) -> None:
    response = getattr(client, method)(path, STRETCH if method == "post" else None)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Schedule.objects.exists()


def test_the_page_lists_each_reminder_with_its_next_firing_in_the_members_time(
    browser_of, member
) -> None:
    with time_machine.travel(NOW, tick=False):
        member.schedules.all().delete()
        browser_of(member).post("/reminders/new/", {**STRETCH, "times": "12:30"})
        response = browser_of(member).get("/reminders/")

    text = response.content.decode()
    assert response.status_code == 200
    assert "At 12:30, Monday to Friday" in text
    # 12:30 in Paris (11:30 UTC) today, not 12:30 UTC
    assert "Next: <time" in text
    assert "Tue 24 Nov, 12:30" in text


# --- Adding -------------------------------------------------------------------------------
def test_adding_a_stretch_at_two_times_on_weekdays_stores_it_and_times_its_next_nudge(
    browser_of, member
) -> None:
    before = member.schedules.count()

    with time_machine.travel(NOW, tick=False):
        response = browser_of(member).post("/reminders/new/", STRETCH, follow=True)

    added = member.schedules.order_by("-id").first()
    assert member.schedules.count() == before + 1
    assert (added.kind, added.times, added.weekdays) == (
        "stretch",
        ["10:30", "15:00"],
        [0, 1, 2, 3, 4],
    )
    assert added.enabled is True
    assert added.channels == []  # the member's own channels
    assert local(added.next_due_at) == datetime(2026, 11, 24, 10, 30, tzinfo=PARIS)
    assert response.redirect_chain[-1][0] == f"/reminders/#schedule-{added.pk}"
    assert "Added: Stretch, at 10:30 and 15:00, Monday to Friday. Next one: Tue 24 Nov, 10:30." in (
        response.content.decode()
    )


def test_adding_water_every_45_minutes_in_a_window_by_push(browser_of, member) -> None:
    data = {
        **STRETCH,
        "kind": "hydration",
        "times": "",
        "every_minutes": "45",
        "window_start": "09:15",
        "window_end": "12:00",
        "weekdays": ["5", "6"],
        "channels": ["push"],
    }

    with time_machine.travel(NOW, tick=False):
        browser_of(member).post("/reminders/new/", data)

    added = member.schedules.order_by("-id").first()
    assert (added.every_minutes, added.window_start, added.window_end) == (
        45, time(9, 15), time(12, 0)
    )  # fmt: skip
    assert added.channels == ["push"]
    assert local(added.next_due_at) == datetime(2026, 11, 28, 9, 15, tzinfo=PARIS)  # Saturday


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"times": "10.30"}, "times", "“10.30”: Time has wrong format"),
        ({"times": "25:00 10:30"}, "times", "“25:00”"),
        ({"times": ""}, "times", "Give either times"),
        ({"every_minutes": "30"}, "times", "Give either times"),
        ({"times": "", "every_minutes": "30"}, "window_start", "needs window_start"),
        ({"times": "", "every_minutes": "30", "window_start": "17:00", "window_end": "09:00"},
         "window_end", "after window_start"),
        ({"times": "", "every_minutes": "99999999999999999999", "window_start": "09:00",
          "window_end": "17:00"}, "every_minutes", "less than or equal to 720"),
        ({"times": "", "every_minutes": "often", "window_start": "09:00", "window_end": "17:00"},
         "every_minutes", "valid integer"),
        ({"kind": "cold_plunge"}, "kind", "not a valid choice"),
        ({"kind": ""}, "kind", "not a valid choice"),
        ({"weekdays": ["9"]}, "weekdays", "“9”: Ensure this value is less than or equal to 6"),
        ({"weekdays": ["monday"]}, "weekdays", "valid integer"),
        ({"channels": ["fax"]}, "channels", "“fax”"),
        ({"times": " ".join(f"{hour:02}:00" for hour in range(24)) + " 00:30"}, "times",
         "no more than 24"),
    ],
    ids=lambda value: str(value)[:40],
)  # fmt: skip
def test_a_schedule_the_api_refuses_is_refused_on_its_field_and_nothing_is_stored(
    browser_of, member, change, field, words
) -> None:
    before = list(member.schedules.values_list("id", "times", "next_due_at"))

    response = browser_of(member).post("/reminders/new/", {**STRETCH, **change})

    assert response.status_code == 400
    assert words in field_errors(response, "add_form", field)
    assert list(member.schedules.values_list("id", "times", "next_due_at")) == before
    text = response.content.decode()
    assert 'aria-invalid="true"' in text
    assert "The reminder was not added" in text
    assert '<details class="card" open>' in text  # the form with the error is open


def test_a_post_with_no_fields_at_all_is_refused_not_a_crash(browser_of, member) -> None:
    before = member.schedules.count()

    response = browser_of(member).post("/reminders/new/", {})

    assert response.status_code == 400
    assert field_errors(response, "add_form", "kind")
    assert member.schedules.count() == before


# --- Editing and deleting -----------------------------------------------------------------
def test_editing_a_reminder_changes_it_and_re_times_its_next_nudge(browser_of, member) -> None:
    stretch = member.schedules.get(kind="stretch")

    with time_machine.travel(NOW, tick=False):
        response = browser_of(member).post(
            f"/reminders/{stretch.pk}/",
            {**STRETCH, "times": "", "every_minutes": "120", "window_start": "13:00",
             "window_end": "17:00", "weekdays": ["1"], "channels": ["email"]},
        )  # fmt: skip

    assert response.status_code == 302
    stretch.refresh_from_db()
    assert stretch.times == []
    assert (stretch.every_minutes, stretch.window_start, stretch.weekdays) == (120, time(13), [1])
    assert stretch.channels == ["email"]
    assert local(stretch.next_due_at) == datetime(2026, 11, 24, 13, 0, tzinfo=PARIS)


def test_turning_a_reminder_off_leaves_it_listed_with_no_next_firing(browser_of, member) -> None:
    stretch = member.schedules.get(kind="stretch")
    data = {key: value for key, value in STRETCH.items() if key != "enabled"}

    browser_of(member).post(f"/reminders/{stretch.pk}/", data)
    page = browser_of(member).get("/reminders/").content.decode()

    stretch.refresh_from_db()
    assert stretch.enabled is False
    assert stretch.next_due_at is None
    assert "Off: it sends nothing until you turn it on." in page


def test_an_edit_the_api_refuses_changes_nothing_and_opens_that_form(browser_of, member) -> None:
    stretch = member.schedules.get(kind="stretch")
    before = (stretch.times, stretch.next_due_at)

    response = browser_of(member).post(f"/reminders/{stretch.pk}/", {**STRETCH, "times": "noon"})

    stretch.refresh_from_db()
    assert (stretch.times, stretch.next_due_at) == before
    assert response.status_code == 400
    assert "“noon”: Time has wrong format" in response.content.decode()
    assert f'id="schedule-{stretch.pk}-times_error"' in response.content.decode()


def test_deleting_a_reminder_removes_it_and_keeps_what_it_sent(browser_of, member) -> None:
    stretch = member.schedules.get(kind="stretch")
    sent = Nudge.objects.create(
        member=member, schedule=stretch, kind="stretch", due_at=NOW, status="done"
    )

    response = browser_of(member).post(f"/reminders/{stretch.pk}/delete/", follow=True)

    assert not Schedule.objects.filter(pk=stretch.pk).exists()
    sent.refresh_from_db()
    assert sent.schedule is None  # the history stays
    assert "Deleted the reminder “Stretch”" in response.content.decode()


@pytest.mark.parametrize("action", ["", "delete/"])
def test_another_members_reminder_is_a_404_and_stays_as_it_was(browser_of, member, action) -> None:
    other = make_member().schedules.get(kind="stretch")
    before = (other.times, other.weekdays)

    response = browser_of(member).post(
        f"/reminders/{other.pk}/{action}", {**STRETCH, "times": "06:00"}
    )

    assert response.status_code == 404
    other.refresh_from_db()
    assert (other.times, other.weekdays) == before


@pytest.mark.parametrize("schedule_id", ["abc", "-1", "1.5", "9" * 19, "999999999999"])
def test_odd_or_unknown_ids_are_404s(browser_of, member, schedule_id) -> None:
    client = browser_of(member)

    assert client.post(f"/reminders/{schedule_id}/", STRETCH).status_code == 404
    assert client.post(f"/reminders/{schedule_id}/delete/").status_code == 404


def test_forms_only_accept_posts(browser_of, member) -> None:
    stretch = member.schedules.get(kind="stretch")
    client = browser_of(member)

    assert client.get(f"/reminders/{stretch.pk}/delete/").status_code == 405
    assert client.get("/reminders/pause/").status_code == 405
    assert client.post("/reminders/").status_code == 405
    assert Schedule.objects.filter(pk=stretch.pk).exists()


# --- Settings -----------------------------------------------------------------------------
def test_saving_settings_sets_quiet_hours_and_work_hours_and_re_times_reminders(
    browser_of,
) -> None:
    member = make_member(timezone="UTC")
    mindfulness = member.schedules.get(kind="mindfulness")

    with time_machine.travel(NOW, tick=False):
        response = browser_of(member).post(
            "/reminders/settings/", {**SETTINGS, "hot_environment": "on"}
        )

    assert response.status_code == 302
    profile = member.profile
    profile.refresh_from_db()
    assert profile.timezone == "Europe/Paris"
    assert (profile.quiet_start, profile.quiet_end) == (time(22, 30), time(6, 30))
    assert (profile.work_start, profile.work_end) == (time(8, 30), time(17, 0))
    assert (profile.water_goal_ml, profile.glass_ml, profile.hot_environment) == (2500, 300, True)
    assert profile.channels == ["email", "in_app"]
    mindfulness.refresh_from_db()  # 12:30 is now Paris time
    assert local(mindfulness.next_due_at) == datetime(2026, 11, 24, 12, 30, tzinfo=PARIS)
    assert member.schedules.get(kind="hydration").every_minutes == 60  # follows the heat


def test_empty_quiet_hours_mean_none(browser_of, member) -> None:
    browser_of(member).post(
        "/reminders/settings/", {**SETTINGS, "quiet_start": "", "quiet_end": ""}
    )

    member.profile.refresh_from_db()
    assert (member.profile.quiet_start, member.profile.quiet_end) == (None, None)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"quiet_end": ""}, "quiet_end", "Give both quiet_start and quiet_end"),
        ({"quiet_start": ""}, "quiet_start", "Give both quiet_start and quiet_end"),
        ({"quiet_start": "07:00", "quiet_end": "07:00"}, "quiet_end", "Must differ"),
        ({"quiet_start": "25:00"}, "quiet_start", "wrong format"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "time zone"),
        ({"timezone": ""}, "timezone", "may not be blank"),
        ({"work_start": "18:00", "work_end": "09:00"}, "work_end", "Must be after work_start"),
        ({"work_start": ""}, "work_start", "wrong format"),
        ({"workdays": ["0", "7"]}, "workdays", "“7”: Ensure this value is less than or equal to 6"),
        ({"water_goal_ml": "99999999999999999999"}, "water_goal_ml", "less than or equal to 10000"),
        ({"water_goal_ml": "lots"}, "water_goal_ml", "valid integer"),
        ({"glass_ml": "10"}, "glass_ml", "greater than or equal to 50"),
        ({"channels": ["sms"]}, "channels", "“sms”"),
    ],
    ids=lambda value: str(value)[:40],
)  # fmt: skip
def test_settings_the_api_refuses_are_refused_on_their_field_and_nothing_is_stored(
    browser_of, member, change, field, words
) -> None:
    before = member.profile.__class__.objects.filter(pk=member.profile.pk).values().get()

    response = browser_of(member).post("/reminders/settings/", {**SETTINGS, **change})

    assert response.status_code == 400
    assert words in field_errors(response, "settings_form", field)
    after = member.profile.__class__.objects.filter(pk=member.profile.pk).values().get()
    assert after == before
    assert "Your settings were not saved" in response.content.decode()


def test_the_time_zone_field_asks_the_browser_only_while_it_is_still_the_default(
    browser_of,
) -> None:
    new_member = make_member(timezone="UTC")
    settled = make_member(timezone="Asia/Kathmandu")

    fresh_page = browser_of(new_member).get("/reminders/").content.decode()
    settled_page = browser_of(settled).get("/reminders/").content.decode()

    assert 'data-browser-timezone data-default="UTC"' in fresh_page.replace('=""', "")
    assert "data-browser-timezone" not in settled_page
    assert 'value="Asia/Kathmandu"' in settled_page


# --- Pausing ------------------------------------------------------------------------------
def test_pausing_for_an_hour_says_until_when_in_local_time_and_resuming_ends_it(
    browser_of, member
) -> None:
    client = browser_of(member)

    with time_machine.travel(NOW, tick=False):
        paused = client.post("/reminders/pause/", {"minutes": "60"}, follow=True)
        member.profile.refresh_from_db()
        assert member.profile.paused_until == NOW + timedelta(hours=1)
        page = paused.content.decode()
        assert "All reminders are paused until Tue 24 Nov, 10:00" in page  # Paris time
        assert 'id="paused-notice"' in page

        resumed = client.post("/reminders/resume/", follow=True)

    member.profile.refresh_from_db()
    assert member.profile.paused_until is None
    assert 'id="paused-notice"' not in resumed.content.decode()
    assert "Reminders are back on." in resumed.content.decode()


def test_pausing_until_tomorrow_morning_ends_when_the_work_day_starts(browser_of, member) -> None:
    with time_machine.travel(NOW, tick=False):
        browser_of(member).post("/reminders/pause/", {"tomorrow_morning": "true"})

    member.profile.refresh_from_db()
    assert local(member.profile.paused_until) == datetime(2026, 11, 25, 9, 0, tzinfo=PARIS)


def test_pausing_until_a_date_ends_at_the_start_of_that_day_in_the_members_zone(
    browser_of, member
) -> None:
    with time_machine.travel(NOW, tick=False):
        browser_of(member).post("/reminders/pause/", {"until": "2026-12-27"})

    member.profile.refresh_from_db()
    assert local(member.profile.paused_until) == datetime(2026, 12, 27, 0, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"until": "2026-11-24"}, "until", "Must be in the future."),  # today began already
        ({"until": "2031-01-01"}, "until", "a year at most"),
        ({"until": "someday"}, "until", "wrong format"),
        ({"until": "0001-01-01"}, "until", "Must be in the future."),
        ({"until": "9999-12-31"}, "until", "a year at most"),
        ({}, "__all__", "Give exactly one of minutes, until or tomorrow_morning."),
        ({"minutes": "60", "tomorrow_morning": "true"}, "__all__", "Give exactly one"),
        ({"minutes": "an hour"}, "__all__", "valid integer"),
        ({"minutes": "99999999999999999999"}, "__all__", "less than or equal to"),
        ({"tomorrow_morning": "perhaps"}, "__all__", "valid boolean"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_a_pause_the_api_refuses_is_refused_and_nothing_is_paused(
    browser_of, member, data, field, words
) -> None:
    with time_machine.travel(NOW, tick=False):
        response = browser_of(member).post("/reminders/pause/", data)

    assert response.status_code == 400
    assert words in field_errors(response, "pause_form", field)
    member.profile.refresh_from_db()
    assert member.profile.paused_until is None
