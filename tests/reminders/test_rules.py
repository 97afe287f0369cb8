"""When schedules fire, in the member's wall-clock time, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.reminders.rules import (
    Rule,
    in_local_window,
    local_to_utc,
    next_occurrence,
    occurrences_between,
    occurrences_on,
)

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # shifts by 30 minutes
KATHMANDU = ZoneInfo("Asia/Kathmandu")  # +05:45, no daylight saving


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_daily_time_fires_at_that_local_time() -> None:
    rule = Rule(times=(time(7, 30),))

    assert next_occurrence(rule, KATHMANDU, after=utc(2026, 6, 1, 0, 0)) == utc(2026, 6, 1, 1, 45)


def test_a_time_in_the_spring_forward_gap_fires_at_the_first_valid_minute_after_it() -> None:
    # New York, 8 March 2026: 02:00 jumps to 03:00, so 02:30 does not exist
    rule = Rule(times=(time(2, 30),))

    fired = next_occurrence(rule, NEW_YORK, after=utc(2026, 3, 8, 0, 0))

    assert fired == utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    assert fired.astimezone(NEW_YORK).time() == time(3, 0)


def test_a_time_that_occurs_twice_on_fall_back_day_fires_once_the_first_time() -> None:
    # New York, 1 November 2026: 01:00-02:00 happens twice
    rule = Rule(times=(time(1, 30),))

    day = list(occurrences_between(rule, NEW_YORK, utc(2026, 11, 1, 0, 0), utc(2026, 11, 2, 0, 0)))

    assert day == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT, not 01:30 EST (06:30 UTC)


def test_after_the_first_of_two_1_30s_the_next_firing_is_the_next_day() -> None:
    rule = Rule(times=(time(1, 30),))

    after_first = next_occurrence(rule, NEW_YORK, after=utc(2026, 11, 1, 5, 30))

    assert after_first == utc(2026, 11, 2, 6, 30)  # 01:30 EST on 2 November


def test_london_spring_forward_gap() -> None:
    # London, 29 March 2026: 01:00 jumps to 02:00
    assert local_to_utc(date(2026, 3, 29), time(1, 15), LONDON) == utc(2026, 3, 29, 1, 0)


def test_lord_howe_half_hour_gap_moves_a_time_by_at_most_thirty_minutes() -> None:
    # Lord Howe, 4 October 2026: 02:00 jumps to 02:30
    fired = local_to_utc(date(2026, 10, 4), time(2, 10), LORD_HOWE)

    assert fired.astimezone(LORD_HOWE).time() == time(2, 30)


def test_lord_howe_half_hour_fold_fires_once() -> None:
    # Lord Howe, 5 April 2026: 01:30-02:00 happens twice
    rule = Rule(times=(time(1, 45),))

    day = list(occurrences_between(rule, LORD_HOWE, utc(2026, 4, 4, 12, 0), utc(2026, 4, 5, 12, 0)))

    assert len(day) == 1


def test_interval_slots_follow_wall_clock_time_and_collapse_in_the_gap() -> None:
    rule = Rule(every_minutes=30, window_start=time(1, 0), window_end=time(4, 0))

    slots = occurrences_on(rule, date(2026, 3, 8), NEW_YORK)
    local = [slot.astimezone(NEW_YORK).strftime("%H:%M") for slot in slots]

    # 02:00 and 02:30 do not exist: both collapse onto 03:00, fired once
    assert local == ["01:00", "01:30", "03:00", "03:30", "04:00"]


def test_interval_slots_stay_inside_their_window_every_day() -> None:
    rule = Rule(every_minutes=90, window_start=time(8, 0), window_end=time(21, 0))
    start = utc(2026, 10, 20, 0, 0)

    fired = list(occurrences_between(rule, LONDON, start, start + timedelta(days=14)))

    assert fired
    assert all(time(8, 0) <= f.astimezone(LONDON).time() <= time(21, 0) for f in fired)
    assert len(fired) == 14 * 9  # 08:00, 09:30, ... 20:00


def test_weekdays_limit_the_days_a_rule_fires() -> None:
    workdays = Rule(times=(time(12, 0),), weekdays=(0, 1, 2, 3, 4))
    friday_evening = utc(2026, 11, 27, 18, 0)

    assert next_occurrence(workdays, UTC_ZONE, after=friday_evening) == utc(2026, 11, 30, 12, 0)


def test_a_rule_without_days_never_fires() -> None:
    assert next_occurrence(Rule(times=(time(9, 0),), weekdays=()), LONDON, utc(2026, 1, 1)) is None


UTC_ZONE = ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (utc(2026, 6, 1, 22, 30), True),
        (utc(2026, 6, 1, 6, 59), True),
        (utc(2026, 6, 1, 7, 0), False),
        (utc(2026, 6, 1, 12, 0), False),
    ],
)
def test_quiet_hours_may_cross_midnight(moment: datetime, inside: bool) -> None:
    assert in_local_window(moment, UTC_ZONE, time(22, 0), time(7, 0)) is inside
