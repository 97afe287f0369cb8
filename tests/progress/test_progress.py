"""progress/ and the one selector behind it: definitions, local days, query bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.progress import figures
from apps.progress.figures import Tally
from apps.progress.selectors import progress_for_member
from apps.reminders.models import Nudge
from apps.tracking.models import CheckIn
from tests.factories import make_activity, make_checkin, make_member, make_nudge

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # a Tuesday


def at(day_offset: int, hour: int = 9, zone: str = "UTC") -> datetime:
    """`day_offset` days before NOW's local day, at `hour` local time."""
    local_today = NOW.astimezone(ZoneInfo(zone)).date()
    day = local_today - timedelta(days=day_offset)
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone))


def get_progress(api_as, member, **query: object) -> dict:
    with time_machine.travel(NOW, tick=False):
        response = api_as(member).get("/api/v1/progress/", query)
    assert response.status_code == 200, response.json()
    return response.json()


# --- Definitions --------------------------------------------------------------------------
def test_a_member_with_no_data_gets_zeros_not_errors(api_as) -> None:
    body = get_progress(api_as, make_member(), days=7)

    overall = body["adherence"]["overall"]
    assert (overall["sent"], overall["done"], overall["adherence"]) == (0, 0, 0.0)
    assert overall["habit_score"] == 0.0
    assert body["adherence"]["kinds"]["mindfulness"]["current_streak"] == 0
    assert len(overall["daily"]) == 7
    assert body["habits"]["mindfulness_minutes"] == 0
    assert body["stress"]["trend"] == "unknown"
    assert body["pain"]["latest"] is None
    assert body["pain"]["persistent"] is False
    assert body["last_activity_at"] is None


def test_adherence_is_done_over_sent_minus_suppressed_and_outages_do_not_count() -> None:
    member = make_member()
    for status in ["done", "done", "sent", "skipped", "snoozed", "suppressed", "missed", "failed"]:
        make_nudge(member=member, kind="stretch", due_at=at(1), status=status)
    make_nudge(member=member, kind="stretch", due_at=at(0, hour=17), status="pending")

    stretch = progress_for_member(member=member, now=NOW, days=7).kinds["stretch"]

    # sent: 2 done + sent + skipped + snoozed + suppressed = 6; expected = 6 - 1 = 5
    assert (stretch.tally.sent, stretch.tally.suppressed, stretch.tally.expected) == (6, 1, 5)
    assert (stretch.tally.missed, stretch.tally.failed) == (1, 1)
    assert stretch.adherence == pytest.approx(2 / 5)


def test_a_nudge_counts_on_the_members_local_day_not_the_utc_one() -> None:
    member = make_member(timezone="America/New_York")
    # 23:30 in New York on the 22nd is 04:30 UTC on the 23rd.
    late_evening = datetime(2026, 11, 22, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    make_nudge(member=member, kind="mindfulness", due_at=late_evening, status="done")

    daily = progress_for_member(member=member, now=NOW, days=7).kinds["mindfulness"].daily

    done_days = [day for day, tally in daily if tally.done]
    assert done_days == [date(2026, 11, 22)]


def test_the_period_is_7_30_or_90_days_and_anything_else_names_the_field(api_as) -> None:
    member = make_member()
    for days in (7, 30, 90):
        body = get_progress(api_as, member, days=days)
        assert len(body["adherence"]["overall"]["daily"]) == days
        assert body["date_to"] == "2026-11-24"

    with time_machine.travel(NOW, tick=False):
        refused = api_as(member).get("/api/v1/progress/", {"days": 14})
    assert refused.status_code == 400
    assert "days" in refused.json()


def test_one_missed_day_among_a_month_of_good_ones_keeps_the_habit_score_high() -> None:
    member = make_member()
    for offset in range(30):
        status = "sent" if offset == 0 else "done"  # today's nudge ignored: the worst day
        make_nudge(member=member, kind="mindfulness", due_at=at(offset), status=status)

    mindfulness = progress_for_member(member=member, now=NOW, days=30).kinds["mindfulness"]

    assert mindfulness.adherence == pytest.approx(29 / 30)
    # Today weighs most; still one day of thirty cannot pull the score below 85 %.
    assert 0.85 < mindfulness.habit_score < 0.95


def test_the_habit_score_ignores_days_without_nudges_instead_of_counting_zeros() -> None:
    member = make_member()
    for offset in (0, 1, 2, 10, 11):  # a week without any movement nudge in between
        make_nudge(member=member, kind="movement", due_at=at(offset), status="done")

    movement = progress_for_member(member=member, now=NOW, days=30).kinds["movement"]

    assert movement.habit_score == pytest.approx(1.0)


def test_streaks_skip_rest_days_and_today_does_not_break_them_before_it_ends() -> None:
    member = make_member()
    # Done 5 days ago through yesterday, except 3 days ago when nothing was expected.
    for offset in (5, 4, 2, 1):
        make_nudge(member=member, kind="stretch", due_at=at(offset), status="done")
    make_nudge(member=member, kind="stretch", due_at=at(0), status="sent")  # not yet done
    # An older run of two, broken by an ignored nudge 8 days ago.
    make_nudge(member=member, kind="stretch", due_at=at(10), status="done")
    make_nudge(member=member, kind="stretch", due_at=at(9), status="done")
    make_nudge(member=member, kind="stretch", due_at=at(8), status="sent")

    stretch = progress_for_member(member=member, now=NOW, days=30).kinds["stretch"]

    assert (stretch.streaks.current, stretch.streaks.longest) == (4, 4)


def test_a_logged_habit_keeps_the_streak_without_a_nudge() -> None:
    member = make_member()
    make_nudge(member=member, kind="warmup", due_at=at(2), status="done")
    make_nudge(member=member, kind="warmup", due_at=at(1), status="sent")
    make_activity(member=member, kind="warmup", minutes=5, recorded_at=at(1, hour=18))

    warmup = progress_for_member(member=member, now=NOW, days=7).kinds["warmup"]

    assert warmup.streaks.current == 2


def test_a_member_who_hides_streaks_gets_none(api_as) -> None:
    member = make_member()
    member.profile.show_streaks = False
    member.profile.save()
    make_nudge(member=member, kind="stretch", due_at=at(1), status="done")

    body = get_progress(api_as, member, days=7)

    assert body["streaks_hidden"] is True
    assert body["adherence"]["kinds"]["stretch"]["current_streak"] is None
    assert body["adherence"]["kinds"]["stretch"]["longest_streak"] is None


def test_minutes_water_against_the_goal_and_movement_breaks_per_workday(api_as) -> None:
    member = make_member()  # Mon-Fri workdays, 2000 ml goal
    make_activity(member=member, kind="mindfulness", minutes=10, recorded_at=at(1))
    make_activity(member=member, kind="mindfulness", minutes=12, recorded_at=at(3))
    for _ in range(8):
        make_activity(member=member, kind="hydration", amount_ml=250, recorded_at=at(1))
    make_activity(member=member, kind="hydration", amount_ml=500, recorded_at=at(2))
    # Monday 23rd: 3 breaks; Sunday 22nd: 1 break (not a workday).
    for _ in range(3):
        make_activity(member=member, kind="movement", minutes=None, recorded_at=at(1))
    make_activity(member=member, kind="movement", minutes=None, recorded_at=at(2))

    habits = get_progress(api_as, member, days=7)["habits"]

    assert habits["mindfulness_minutes"] == 22
    water = {day["date"]: day for day in habits["water_daily"]}
    assert water["2026-11-23"] == {"date": "2026-11-23", "amount_ml": 2000, "goal_met": True}
    assert water["2026-11-22"]["goal_met"] is False
    assert habits["water_days_goal_met"] == 1
    # 7 days ending Tuesday 24th: Wed..Fri, Mon, Tue = 5 workdays; 3 breaks on them.
    assert habits["workdays_in_period"] == 5
    assert habits["movement_breaks_on_workdays"] == 3
    assert habits["movement_breaks_per_workday"] == 0.6


def test_stress_and_pain_compare_the_last_week_with_the_one_before(api_as) -> None:
    member = make_member()
    for offset in range(7, 14):
        make_checkin(member=member, stress=3, pain=2, recorded_at=at(offset))
    for offset in range(0, 7):
        make_checkin(member=member, stress=6, pain=5, recorded_at=at(offset, hour=8))
    make_checkin(member=member, stress=8, pain=6, recorded_at=at(0, hour=9))  # same day

    body = get_progress(api_as, member, days=7)

    # Today's mean is (6 + 8) / 2 = 7; the week's mean of daily means: (6*6 + 7) / 7.
    assert body["stress"]["daily"][-1] == {"date": "2026-11-24", "mean": 7.0}
    assert body["stress"]["last_7_days"] == round((6 * 6 + 7) / 7, 2)
    assert body["stress"]["previous_7_days"] == 3.0
    assert body["stress"]["trend"] == "rising"
    assert body["pain"]["change"] == round((5 * 6 + 5.5) / 7 - 2, 2)
    assert body["pain"]["latest"] == 6


def test_pain_every_day_for_two_weeks_raises_the_persistent_pain_flag(api_as) -> None:
    member = make_member()
    for offset in range(15):
        make_checkin(member=member, pain=4, recorded_at=at(offset))

    pain = get_progress(api_as, member, days=30)["pain"]

    assert pain["persistent"] is True
    assert pain["episode_start"] == "2026-11-10"
    assert "soft-tissue therapist" in pain["message"]


# --- Query bounds -------------------------------------------------------------------------
def history(member, *, days: int) -> None:
    """`days` days of a busy member: 6 nudges, 4 logs and 2 check-ins a day."""
    nudges, checkins = [], []
    statuses = ["done", "sent", "skipped", "suppressed", "done", "snoozed"]
    kinds = ["mindfulness", "hydration", "stretch", "movement", "warmup", "hydration"]
    for offset in range(days):
        for index, (kind, status) in enumerate(zip(kinds, statuses, strict=True)):
            nudges.append(
                Nudge(member=member, kind=kind, status=status, due_at=at(offset, hour=8 + index))
            )
        for hour in (9, 20):
            checkins.append(
                CheckIn(member=member, stress=offset % 10, pain=3, recorded_at=at(offset, hour))
            )
        make_activity(member=member, kind="hydration", recorded_at=at(offset, hour=10))
        make_activity(member=member, kind="mindfulness", minutes=10, recorded_at=at(offset, 7))
        make_activity(member=member, kind="movement", minutes=None, recorded_at=at(offset, 11))
        make_activity(member=member, kind="stretch", minutes=3, recorded_at=at(offset, hour=12))
    Nudge.objects.bulk_create(nudges)
    CheckIn.objects.bulk_create(checkins)


def count_queries(api_as, member) -> int:
    client = api_as(member)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/progress/", {"days": 90})
    assert response.status_code == 200
    return len(queries)


def test_progress_costs_the_same_few_queries_for_a_week_and_a_year_of_history(api_as) -> None:
    week, year = make_member(), make_member()
    history(week, days=7)
    history(year, days=365)

    queries_for_a_week = count_queries(api_as, week)
    queries_for_a_year = count_queries(api_as, year)

    assert queries_for_a_year == queries_for_a_week
    # Token lookup + user, profile, nudges, activities, check-ins, latest, pain walk.
    assert queries_for_a_year <= 8
    body = get_progress(api_as, year, days=90)
    assert body["adherence"]["kinds"]["mindfulness"]["longest_streak"] == 365


# --- Pure figures -------------------------------------------------------------------------
def test_a_tally_counts_a_done_nudge_as_sent_and_done() -> None:
    tally = Tally()
    tally.count("done", 2)
    tally.count("pending", 5)

    assert (tally.sent, tally.done, tally.expected) == (2, 2, 2)


def test_week_over_week_needs_both_weeks_for_a_trend() -> None:
    today = date(2026, 11, 24)
    only_this_week = {today: 5.0}

    assert figures.week_over_week(only_this_week, today=today).trend == "unknown"
    both = {today: 5.0, today - timedelta(days=8): 5.5}
    assert figures.week_over_week(both, today=today).trend == "steady"
