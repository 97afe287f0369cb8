"""When a schedule fires, in the member's own wall-clock time. Pure functions, no I/O.

A rule is either fixed local times ("07:30", "12:00") or every N minutes inside a local
window (09:00-17:00, every 30 minutes: 09:00, 09:30, ... 17:00), on chosen weekdays
(0 = Monday). Times are wall-clock times in the member's IANA zone; the answers are UTC.

Daylight-saving days have one documented answer each:
- A local time that does not exist (spring forward, e.g. 02:30 in New York on the March
  change) fires at the first valid minute after it (03:00). Where the gap runs to
  midnight (America/Nuuk: 23:00 jumps to 00:00) that is 00:00 the next morning; if the
  next day's own times include 00:00, the two are one firing.
- A local time that exists twice (fall back, e.g. 01:30 in New York in November) fires
  once, at the first of the two (fold=0).
- Interval windows follow wall-clock time: on those days the slots keep their wall
  times; slots that fall in the gap collapse onto its first valid minute (one firing)
  when that minute is still inside the window. A window that closes inside the gap does
  not fire after it closes (a window lying wholly in the gap does not fire that day).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# How far ahead to look for the next firing: a rule with at least one weekday fires
# within 7 days; 8 covers a firing later on the same weekday a week on.
SEARCH_DAYS = 8
ALL_WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Rule:
    times: tuple[time, ...] = ()
    every_minutes: int | None = None
    window_start: time | None = None
    window_end: time | None = None
    weekdays: tuple[int, ...] = ALL_WEEKDAYS

    def wall_times(self) -> list[time]:
        """The local wall-clock times this rule fires at on an allowed day, sorted."""
        if self.every_minutes:
            if self.window_start is None or self.window_end is None:
                raise ValueError("an interval rule needs window_start and window_end")
            slots = []
            minute = _minutes(self.window_start)
            while minute <= _minutes(self.window_end):
                slots.append(time(minute // 60, minute % 60))
                minute += self.every_minutes
            return slots
        return sorted(set(self.times))


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def local_to_utc(day: date, wall_time: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time, with the gap and fold rules above."""
    candidate = datetime.combine(day, wall_time, tzinfo=zone)  # fold=0: the first of two
    round_trip = candidate.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) == candidate.replace(tzinfo=None):
        return candidate.astimezone(UTC)
    # In a gap: walk forward minute by minute (gaps are at most 2 hours anywhere) to
    # the first wall time that exists.
    probe = candidate.replace(tzinfo=None)
    for _ in range(24 * 60):
        probe += timedelta(minutes=1)
        aware = probe.replace(tzinfo=zone)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == probe:
            return aware.astimezone(UTC)
    raise ValueError(f"no valid local time after {candidate} in {zone}")  # pragma: no cover


def occurrences_on(rule: Rule, day: date, zone: ZoneInfo) -> list[datetime]:
    """Every UTC instant the rule fires at on local `day` (none on other weekdays)."""
    if day.weekday() not in rule.weekdays:
        return []
    instants = {local_to_utc(day, wall_time, zone) for wall_time in rule.wall_times()}
    if rule.every_minutes:
        # A slot lost in a gap moves to the gap's end, which may be after the window closes
        # (a window ending at 02:30 on New York's spring-forward day): never fire outside it.
        assert rule.window_start is not None
        assert rule.window_end is not None
        opens = datetime.combine(day, rule.window_start)
        closes = datetime.combine(day, rule.window_end)
        instants = {
            instant
            for instant in instants
            if opens <= instant.astimezone(zone).replace(tzinfo=None) <= closes
        }
    return sorted(instants)


def occurrences_between(
    rule: Rule, zone: ZoneInfo, after: datetime, until: datetime
) -> Iterator[datetime]:
    """Instants strictly after `after` and at or before `until`, in order."""
    day = after.astimezone(zone).date() - timedelta(days=1)  # a fold may start "yesterday"
    last_day = until.astimezone(zone).date() + timedelta(days=1)
    # A time lost in a gap that runs to midnight fires at 00:00 the next day, which may
    # also be that day's own first firing: one instant, yielded once.
    yielded_yesterday: set[datetime] = set()
    while day <= last_day:
        today = occurrences_on(rule, day, zone)
        for instant in today:
            if after < instant <= until and instant not in yielded_yesterday:
                yield instant
        yielded_yesterday = set(today)
        day += timedelta(days=1)


def next_occurrence(rule: Rule, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first instant strictly after `after` at which the rule fires; None if never."""
    if not rule.weekdays or not rule.wall_times():
        return None
    start = after.astimezone(zone).date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS + 1):
        for instant in occurrences_on(rule, start + timedelta(days=offset), zone):
            if instant > after:
                return instant
    return None


def in_local_window(moment: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    """Is `moment` inside the local window [start, end)? The window may cross midnight
    (22:00-07:00)."""
    local = moment.astimezone(zone).time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end
