"""The Progress page: the member's figures from the one progress selector, two charts drawn
on the server, a period of 7, 30 or 90 days, and streaks the member can hide."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import make_activity, make_checkin, make_member, make_nudge

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # a Tuesday
PARIS = ZoneInfo("Europe/Paris")


def days_ago(days: int, hour: int = 10) -> datetime:
    day = NOW.astimezone(PARIS).date() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


@pytest.fixture
def member():
    return make_member(timezone="Europe/Paris")


@pytest.fixture
def page(client):
    def get(user, query: str = "") -> str:
        client.force_login(user)
        with time_machine.travel(NOW, tick=False):
            response = client.get(f"/progress/{query}")
        assert response.status_code == 200
        return response.content.decode()

    return get


def figure(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, f"no #{element_id} on the page"
    return found.group(1).strip()


def a_week_of_habits(member) -> None:
    """Two of three reminders the member could act on were done (one more was held back on
    purpose); 25 minutes of mindfulness, the water goal met once, 3 walks on a Monday;
    stress went from 6 to 3 between the two weeks, pain stayed at 2."""
    make_nudge(
        member=member, kind="stretch", due_at=days_ago(1), status="done", acted_at=days_ago(1)
    )
    make_nudge(member=member, kind="stretch", due_at=days_ago(1, hour=15), status="sent")
    make_nudge(member=member, kind="hydration", due_at=days_ago(1), status="suppressed")
    make_nudge(
        member=member, kind="mindfulness", due_at=days_ago(0), status="done", acted_at=days_ago(0)
    )
    make_activity(member=member, kind="mindfulness", minutes=10, recorded_at=days_ago(0))
    make_activity(member=member, kind="mindfulness", minutes=15, recorded_at=days_ago(1))
    make_activity(member=member, kind="hydration", amount_ml=2000, recorded_at=days_ago(1))
    for hour in (10, 11, 12):
        make_activity(member=member, kind="movement", minutes=5, recorded_at=days_ago(1, hour=hour))
    make_checkin(member=member, stress=6, pain=2, recorded_at=days_ago(9))
    make_checkin(member=member, stress=3, pain=2, recorded_at=days_ago(2))  # fmt: skip


def test_the_progress_page_needs_a_log_in(client) -> None:
    response = client.get("/progress/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_new_member_sees_zeros_and_a_friendly_word_not_an_error(page, member) -> None:
    html = page(member)

    assert "Nothing here yet, and that is fine." in html
    assert figure(html, "overall-adherence") == "0 %"
    assert figure(html, "habit-score") == "0"
    assert figure(html, "mindfulness-minutes") == "0"
    assert figure(html, "water-days") == "0"
    assert "No check-ins in the last 7 days" in html
    # each chart twice: one for wide screens, one for phones
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    assert "No data yet" in html


def test_the_figures_and_both_charts_show_what_the_member_did(page, member) -> None:
    a_week_of_habits(member)

    html = page(member, "?days=7")

    assert "Nothing here yet" not in html
    assert figure(html, "overall-adherence") == "67 %"
    assert "done: 2 of the 3 reminders you could act on" in html
    assert figure(html, "mindfulness-minutes") == "25"
    assert figure(html, "water-days") == "1"
    assert "of 7 days you drank your 2000 ml" in html
    assert figure(html, "movement-breaks") == "0.6"  # 3 walks over 5 workdays
    assert figure(html, "stress-week") == "3.0"
    assert figure(html, "stress-trend") == "Lower than the week before (down 3.0 points)."
    assert figure(html, "pain-trend") == "About the same as the week before."
    stretching = re.search(r"Stretching</th>(.*?)</tr>", html, re.S).group(1)
    assert "<td>1 / 2</td>" in stretching
    assert "<td>50 %</td>" in stretching
    assert '<td data-streak>1 day <span class="best">(best 1)</span></td>' in stretching
    assert "Reminders acted on each day, last 7 days" in html
    assert html.count('class="bar"') >= 2  # yesterday's and today's bars are drawn
    assert "Stress, 22 Nov: 3.0" in html  # a point of the line chart, with its tooltip


def test_the_last_check_in_is_shown_in_the_members_own_time(page, member) -> None:
    make_checkin(member=member, pain=4, recorded_at=datetime(2026, 11, 24, 16, 5, tzinfo=UTC))

    html = page(member)

    assert "pain at your last check-in (Tue 24 Nov, 17:05)" in html  # Paris is UTC+1


@pytest.mark.parametrize("days", [7, 30, 90])
def test_the_period_links_choose_7_30_or_90_local_days(page, member, days) -> None:
    html = page(member, f"?days={days}")

    assert f'<a href="?days={days}" aria-current="true">' in html
    assert html.count('aria-current="true"') == 1
    assert f"By habit, last {days} days" in html
    assert "We can show 7, 30 or 90 days" not in html


@pytest.mark.parametrize(
    "query", ["?days=abc", "?days=14", "?days=", "?days=99999999999999999999", "?days=-7",
              "?days=7.0", "?days=%00"],
)  # fmt: skip
def test_an_unknown_period_falls_back_to_30_days_and_says_so(page, member, query) -> None:
    html = page(member, query)

    assert "We can show 7, 30 or 90 days; here are the last 30." in html
    assert "By habit, last 30 days" in html


def test_persistent_pain_brings_the_advice_to_see_a_therapist(page, member) -> None:
    for day in range(15, -1, -1):
        make_checkin(member=member, pain=5, recorded_at=days_ago(day))

    html = page(member)

    assert "Your pain has lasted two weeks or more" in html
    assert "soft-tissue therapist" in html
    assert "You have reported pain since 9 November." in html


def test_no_pain_advice_without_persistent_pain(page, member) -> None:
    make_checkin(member=member, pain=5, recorded_at=days_ago(1))

    assert "Your pain has lasted two weeks or more" not in page(member)


def test_hiding_streaks_removes_every_streak_and_showing_brings_them_back(
    client, page, member
) -> None:
    a_week_of_habits(member)
    client.force_login(member)

    hidden = client.post("/progress/streaks/", {"show_streaks": "false", "days": "7"})

    assert hidden["Location"] == "/progress/?days=7"
    member.profile.refresh_from_db()
    assert member.profile.show_streaks is False
    html = page(member, "?days=7")
    assert "data-streak" not in html
    assert ">Streak</th>" not in html
    assert "(best " not in html
    assert "Show them again" in html

    client.post("/progress/streaks/", {"show_streaks": "true"})

    member.profile.refresh_from_db()
    assert member.profile.show_streaks is True
    assert ">Streak</th>" in page(member)


@pytest.mark.parametrize("data", [{"show_streaks": "perhaps"}, {}, {"show_streaks": "9" * 30}])
def test_an_odd_streak_setting_changes_nothing(client, member, data) -> None:
    client.force_login(member)

    response = client.post("/progress/streaks/", data, follow=True)

    assert response.status_code == 200
    assert "That setting was not understood, so nothing changed." in response.content.decode()
    member.profile.refresh_from_db()
    assert member.profile.show_streaks is True


def test_the_streak_setting_needs_a_log_in_and_a_post(client, member) -> None:
    anonymous = client.post("/progress/streaks/", {"show_streaks": "false"})
    client.force_login(member)
    fetched = client.get("/progress/streaks/")

    assert anonymous["Location"].startswith("/accounts/login/")
    assert fetched.status_code == 405
    assert client.post("/progress/").status_code == 405
    member.profile.refresh_from_db()
    assert member.profile.show_streaks is True
