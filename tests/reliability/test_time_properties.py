"""Time correctness over every IANA zone and every UTC-offset change in 2026-2028 (issue 8).

Two kinds of test, both against the rule functions the dispatcher uses (`occurrences_on`,
`occurrences_between`, `next_occurrence`, `in_local_window`) and the dispatcher's own
quiet-hours decision (`MemberContext.suppression`):

- exhaustive loops: for each of the ~600 zones of `zoneinfo.available_timezones()` and each
  of its ~1,200 offset changes in 2026-2028 (found by scanning, below), the local day
  before, of and after the change, at wall times placed on the change's edges (just before,
  inside and just after a gap or a repeated hour) and at 00:00 / 23:59;
- hypothesis properties with derandomize=True (the same examples on every run, so CI is
  reproducible): 300 examples each for daily times and interval windows, drawn either
  anywhere in 2026-2028 or within three hours of one of the zone's changes, and 400 for
  quiet hours. About 1,000 examples in all; the module takes ~15 s on an idle 2-core
  machine (~80 s when it is shared and loaded);
- one dispatcher test with the database: a firing bundled forward must not be handed over
  inside quiet hours (a bug the first run of these properties found, now fixed).

The expected answers come from an oracle written independently of rules.py: a wall time
that exists once is that wall time at the zone's one valid offset; one that exists twice
is the first (fold=0); one inside a gap is the instant of the change itself (the first
valid minute after it, DOMAIN gap rule), taken from the scan below, not from the code
under test. A firing belongs to the local day it was scheduled for: a time lost in a gap
that runs to midnight (America/Nuuk, 23:00 -> 00:00) fires at 00:00 the next morning, once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import User
from apps.profiles.models import Profile
from apps.reminders.dispatch import MemberContext, dispatch_tick
from apps.reminders.models import Nudge, NudgeKind, Schedule, SuppressionReason
from apps.reminders.rules import (
    Rule,
    in_local_window,
    next_occurrence,
    occurrences_between,
    occurrences_on,
)
from apps.reminders.services import schedule_save
from tests.factories import make_member

ZONES = tuple(sorted(available_timezones()))
FIRST_DAY, LAST_DAY = date(2026, 1, 2), date(2028, 12, 30)
PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ONE_MINUTE = timedelta(minutes=1)


# --- the oracle: offset changes found by scanning, and what a wall time means -------------


@cache
def transitions(zone_name: str) -> tuple[tuple[datetime, timedelta, timedelta], ...]:
    """Every (instant, offset before, offset after) of the zone in 2026-2028, to the minute.

    Scans every 6 hours (no zone changes offset twice within 6 hours), then bisects.
    """
    zone = ZoneInfo(zone_name)
    moment, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)
    step = timedelta(hours=6)
    offset = moment.astimezone(zone).utcoffset()
    found = []
    while moment < end:
        later = moment + step
        later_offset = later.astimezone(zone).utcoffset()
        if later_offset != offset:
            low, high = moment, later  # offset(low) == offset, offset(high) != offset
            while high - low > ONE_MINUTE:
                middle = low + (high - low) // 2
                middle = middle.replace(second=0, microsecond=0)
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            assert offset is not None
            assert later_offset is not None
            found.append((high, offset, later_offset))
            offset = later_offset
        moment = later
    return tuple(found)


def all_transitions() -> list[tuple[str, datetime, timedelta, timedelta]]:
    return [(name, *change) for name in ZONES for change in transitions(name)]


def offsets_near(zone_name: str, naive: datetime) -> set[timedelta]:
    zone = ZoneInfo(zone_name)
    around = naive.replace(tzinfo=UTC)
    return {
        offset
        for probe in (around - timedelta(days=2), around, around + timedelta(days=2))
        if (offset := probe.astimezone(zone).utcoffset()) is not None
    } | {
        offset
        for instant, before, after in transitions(zone_name)
        if abs(instant - around) < timedelta(days=2)
        for offset in (before, after)
    }


def expected_instant(zone_name: str, naive: datetime) -> datetime:
    """The UTC instant a local wall time fires at, by the DOMAIN rules, independently."""
    zone = ZoneInfo(zone_name)
    valid = [
        instant
        for offset in offsets_near(zone_name, naive)
        if (instant := (naive - offset).replace(tzinfo=UTC)).astimezone(zone).replace(tzinfo=None)
        == naive
    ]
    if valid:
        return min(valid)  # exists twice: the first of the two
    for instant, before, after in transitions(zone_name):
        gap_start = (instant + before).replace(tzinfo=None)
        gap_end = (instant + after).replace(tzinfo=None)
        if gap_start <= naive < gap_end:
            return instant  # the first valid minute after the gap is the change itself
    raise AssertionError(f"{naive} in {zone_name} is neither valid nor in a known gap")


def edge_wall_times(instant: datetime, before: timedelta, after: timedelta) -> set[datetime]:
    """Naive local moments on and around one change: its edges, inside it, the day ends."""
    old_wall = (instant + before).replace(tzinfo=None)
    new_wall = (instant + after).replace(tzinfo=None)
    low, high = min(old_wall, new_wall), max(old_wall, new_wall)
    middle = low + (high - low) // 2
    moments = {
        low - ONE_MINUTE,
        low,
        low + ONE_MINUTE,
        middle,
        high - ONE_MINUTE,
        high,
        high + ONE_MINUTE,
    }
    for moment in list(moments):
        moments.add(datetime.combine(moment.date(), time(0, 0)))
        moments.add(datetime.combine(moment.date(), time(23, 59)))
    return {moment.replace(second=0, microsecond=0) for moment in moments}


def local_wall(instant: datetime, zone_name: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone_name)).replace(tzinfo=None)


# --- daily times fire once per local day ---------------------------------------------------


def check_daily_time(zone_name: str, day: date, wall_time: time) -> None:
    zone = ZoneInfo(zone_name)
    rule = Rule(times=(wall_time,))
    expected = expected_instant(zone_name, datetime.combine(day, wall_time))

    assert occurrences_on(rule, day, zone) == [expected], (zone_name, day, wall_time)
    # the dispatcher advances with next_occurrence: from just before, it lands on it, once
    assert next_occurrence(rule, zone, after=expected - timedelta(microseconds=1)) == expected
    following = next_occurrence(rule, zone, after=expected)
    assert following == expected_instant(
        zone_name, datetime.combine(day + timedelta(days=1), wall_time)
    ), (zone_name, day, wall_time)


def test_a_daily_time_fires_once_on_each_day_around_every_offset_change_of_every_zone() -> None:
    checked = 0
    for zone_name, instant, before, after in all_transitions():
        for moment in edge_wall_times(instant, before, after):
            for day in (
                moment.date() - timedelta(days=1),
                moment.date(),
                moment.date() + timedelta(days=1),
            ):
                check_daily_time(zone_name, day, moment.time())
                checked += 1
    # ~1,200 changes x ~10 wall times x 3 days
    assert checked > 20_000


def test_every_zone_fires_a_daily_time_once_a_day_for_a_fortnight_across_each_change() -> None:
    """occurrences_between (what the dispatcher records) agrees with stepping
    next_occurrence (what it stores), has no instant twice, and one per scheduled day."""
    for zone_name, instant, before, after in all_transitions():
        zone = ZoneInfo(zone_name)
        times = tuple(sorted({moment.time() for moment in edge_wall_times(instant, before, after)}))
        rule = Rule(times=times)
        start = instant - timedelta(days=3)
        until = instant + timedelta(days=3)

        recorded = list(occurrences_between(rule, zone, after=start, until=until))

        assert recorded == sorted(set(recorded)), (zone_name, instant, "an instant twice")
        stepped, moment = [], start
        while (moment := next_occurrence(rule, zone, after=moment)) and moment <= until:
            stepped.append(moment)
        assert stepped == recorded, (zone_name, instant)
        first_day = local_wall(start, zone_name).date()
        expected = {
            expected_instant(zone_name, datetime.combine(first_day + timedelta(days=d), t))
            for d in range(-1, 8)
            for t in times
        }
        assert recorded == sorted(e for e in expected if start < e <= until), (zone_name, instant)


@st.composite
def zone_and_local_moment(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and a naive local minute: anywhere in 2026-2028, or near one of its changes."""
    zone_name = draw(st.sampled_from(ZONES))
    changes = transitions(zone_name)
    if changes and draw(st.booleans()):
        instant, before, _ = draw(st.sampled_from(changes))
        centre = (instant + before).replace(tzinfo=None)
        minutes = draw(st.integers(min_value=-180, max_value=180))
        return zone_name, centre + timedelta(minutes=minutes)
    day = draw(st.dates(min_value=FIRST_DAY, max_value=LAST_DAY))
    minute = draw(st.integers(min_value=0, max_value=24 * 60 - 1))
    return zone_name, datetime.combine(day, time(minute // 60, minute % 60))


@PROPERTY_SETTINGS
@given(zone_and_local_moment())
def test_a_daily_time_fires_once_a_day_at_its_wall_time_or_just_after_a_gap(
    zone_moment: tuple[str, datetime],
) -> None:
    zone_name, moment = zone_moment
    check_daily_time(zone_name, moment.date(), moment.time())
    fired = expected_instant(zone_name, moment)
    # the documented answer: the wall time itself, or in a gap the first valid minute after
    wall = local_wall(fired, zone_name)
    assert wall >= moment
    assert wall == moment or all(
        expected_instant(zone_name, moment + timedelta(minutes=m)) == fired
        for m in range(int((wall - moment) / ONE_MINUTE))
    )


# --- interval windows ----------------------------------------------------------------------


def check_interval_window(zone_name: str, day: date, rule: Rule) -> None:
    assert rule.window_start is not None
    assert rule.window_end is not None
    zone = ZoneInfo(zone_name)
    fired = occurrences_on(rule, day, zone)
    opens = datetime.combine(day, rule.window_start)
    closes = datetime.combine(day, rule.window_end)
    for instant in fired:
        assert opens <= local_wall(instant, zone_name) <= closes, (zone_name, day, rule, instant)
    assert fired == sorted(set(fired))
    # every slot that exists (not lost in a gap) fires, at its wall time
    for slot in rule.wall_times():
        naive = datetime.combine(day, slot)
        instant = expected_instant(zone_name, naive)
        if local_wall(instant, zone_name) == naive:
            assert instant in fired, (zone_name, day, rule, slot)


def test_interval_slots_stay_inside_their_window_around_every_offset_change_of_every_zone() -> None:
    """Windows opening and closing on the edges of each change (before, inside, after a gap
    or a repeated hour); long windows are the hypothesis property's job (this loop must
    stay fast over ~1,200 changes)."""
    checked = 0
    for zone_name, instant, before, after in all_transitions():
        old_wall = (instant + before).replace(tzinfo=None)
        new_wall = (instant + after).replace(tzinfo=None)
        low, high = min(old_wall, new_wall), max(old_wall, new_wall)
        edges = sorted(
            {
                low - timedelta(minutes=31),
                low,
                low + (high - low) // 2,
                high,
                high + timedelta(minutes=31),
            }
        )
        for every in (5, 30):
            for opens in edges:
                for closes in edges:
                    if opens.date() != closes.date() or opens.time() >= closes.time():
                        continue
                    rule = Rule(
                        every_minutes=every, window_start=opens.time(), window_end=closes.time()
                    )
                    check_interval_window(zone_name, opens.date(), rule)
                    checked += 1
    assert checked > 10_000


@PROPERTY_SETTINGS
@given(
    zone_and_local_moment(),
    st.integers(min_value=5, max_value=720),
    st.integers(min_value=1, max_value=24 * 60 - 1),
)
def test_interval_slots_never_fire_outside_their_window(
    zone_moment: tuple[str, datetime], every: int, length: int
) -> None:
    zone_name, opens = zone_moment
    closes_minute = min(opens.hour * 60 + opens.minute + length, 24 * 60 - 1)
    if closes_minute <= opens.hour * 60 + opens.minute:
        closes_minute = 24 * 60 - 1
        opens = opens.replace(hour=0, minute=0)
    rule = Rule(
        every_minutes=every,
        window_start=opens.time(),
        window_end=time(closes_minute // 60, closes_minute % 60),
    )
    check_interval_window(zone_name, opens.date(), rule)


# --- quiet hours ---------------------------------------------------------------------------


def member_with_quiet_hours(zone_name: str, start: time, end: time) -> MemberContext:
    """The dispatcher's context for one unsaved member: suppression needs no database."""
    member = User(id=1, email="quiet@example.com", is_active=True)
    Profile(user=member, timezone=zone_name, quiet_start=start, quiet_end=end)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return MemberContext(
        now=now, members={1: member}, activities=defaultdict(list), last_message_at={}
    )


def inside_quiet_hours(wall: datetime, start: time, end: time) -> bool:
    """Independently of in_local_window: minutes since midnight on the local clock."""
    minute = wall.hour * 60 + wall.minute + wall.second / 60
    first, last = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    if first < last:
        return first <= minute < last
    return minute >= first or minute < last  # across midnight (22:00-07:00)


def check_quiet_hours(zone_name: str, instant: datetime, start: time, end: time) -> None:
    context = member_with_quiet_hours(zone_name, start, end)
    inside = inside_quiet_hours(local_wall(instant, zone_name), start, end)

    reason = context.suppression(1, NudgeKind.WARMUP, instant)

    assert (reason == SuppressionReason.QUIET_HOURS) is inside, (zone_name, instant, start, end)
    assert in_local_window(instant, ZoneInfo(zone_name), start, end) is inside


def test_quiet_hours_hold_on_every_minute_around_every_offset_change_of_every_zone() -> None:
    """Quiet hours that start or end inside a gap or a repeated hour, or cross midnight."""
    for zone_name, instant, before, after in all_transitions():
        edges = sorted({moment.time() for moment in edge_wall_times(instant, before, after)})
        windows = [(a, b) for a in edges for b in edges if a != b][::9]
        for minutes in range(-150, 151, 30):
            moment = instant + timedelta(minutes=minutes)
            for start, end in windows:
                check_quiet_hours(zone_name, moment, start, end)


@settings(PROPERTY_SETTINGS, max_examples=400)
@given(
    zone_and_local_moment(),
    st.integers(min_value=-240, max_value=240),
    st.times(),
    st.times(),
)
def test_a_firing_inside_quiet_hours_is_always_suppressed(
    zone_moment: tuple[str, datetime], shift: int, start: time, end: time
) -> None:
    zone_name, moment = zone_moment
    start, end = start.replace(second=0, microsecond=0), end.replace(second=0, microsecond=0)
    if start == end:  # the profile forbids an empty window
        return
    instant = expected_instant(zone_name, moment) + timedelta(minutes=shift, seconds=shift % 60)
    check_quiet_hours(zone_name, instant, start, end)


# --- the examples the properties found (regressions) ---------------------------------------


def test_a_time_lost_in_a_gap_at_midnight_and_the_next_days_midnight_fire_once() -> None:
    # America/Nuuk, 28 March 2026: 23:00 jumps to 00:00 on the 29th; 23:30 fires at 00:00,
    # the same instant as the 29th's own 00:00 (occurrences_between yielded it twice)
    nuuk = ZoneInfo("America/Nuuk")
    rule = Rule(times=(time(0, 0), time(23, 30)))
    start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)

    until = datetime(2026, 3, 30, 0, 45, tzinfo=UTC)  # 23:45 on the 29th in Nuuk

    fired = list(occurrences_between(rule, nuuk, after=start, until=until))

    assert [local_wall(instant, "America/Nuuk") for instant in fired] == [
        datetime(2026, 3, 29, 0, 0),
        datetime(2026, 3, 29, 23, 30),
    ]


def test_an_interval_window_closing_inside_the_gap_does_not_fire_after_it_closes() -> None:
    # New York, 8 March 2026: 02:00 jumps to 03:00; a 01:00-02:30 window used to fire at 03:00
    new_york = ZoneInfo("America/New_York")
    rule = Rule(every_minutes=30, window_start=time(1, 0), window_end=time(2, 30))

    fired = occurrences_on(rule, date(2026, 3, 8), new_york)

    assert [instant.astimezone(new_york).strftime("%H:%M") for instant in fired] == [
        "01:00",
        "01:30",
    ]


def test_an_interval_window_lying_wholly_in_the_gap_does_not_fire_that_day() -> None:
    # Africa/Cairo, 24 April 2026: 00:00 jumps to 01:00
    rule = Rule(every_minutes=5, window_start=time(0, 0), window_end=time(0, 30))

    assert occurrences_on(rule, date(2026, 4, 24), ZoneInfo("Africa/Cairo")) == []
    assert len(occurrences_on(rule, date(2026, 4, 25), ZoneInfo("Africa/Cairo"))) == 7


# --- quiet hours at the dispatcher: the moment a nudge is handed over ------------------------


@pytest.mark.django_db
def test_a_nudge_bundled_forward_is_never_handed_over_inside_quiet_hours(
    django_capture_on_commit_callbacks,
) -> None:
    # given quiet hours 22:00-07:00 in New York, a schedule at 06:58 and one at 07:02
    new_york = ZoneInfo("America/New_York")
    member = make_member(timezone="America/New_York")
    Schedule.objects.filter(member=member).delete()
    Profile.objects.filter(user=member).update(quiet_start=time(22, 0), quiet_end=time(7, 0))
    member.refresh_from_db()
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, tzinfo=new_york), tick=False):
        schedule_save(member=member, changes={"kind": "warmup", "times": ["06:58"]})
        schedule_save(member=member, changes={"kind": "stretch", "times": ["07:02"]})

    # when the dispatcher ticks at 06:58:30, and again when the 07:02 firing is due
    handed_over: list[tuple[datetime, list[int]]] = []
    for moment in (datetime(2026, 6, 2, 6, 58, 30), datetime(2026, 6, 2, 7, 2, 10)):
        with django_capture_on_commit_callbacks(execute=True):
            dispatch_tick(
                enqueue=lambda groups, at=moment: handed_over.append(
                    (at, [nudge_id for group in groups for nudge_id in group])
                ),
                now=moment.replace(tzinfo=new_york),
            )

    # then nothing was handed over while the quiet hours lasted: the 07:02 firing went out
    # once, at its own time, instead of being bundled into the quiet 06:58 one
    stretch = Nudge.objects.get(kind="stretch")
    assert handed_over == [(datetime(2026, 6, 2, 7, 2, 10), [stretch.pk])]
    assert Nudge.objects.get(kind="warmup").suppressed_reason == SuppressionReason.QUIET_HOURS
