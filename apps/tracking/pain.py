"""The persistent-pain rule (DOMAIN.md: spasm pain for more than two weeks is not acute).

Days are the member's local calendar days (their profile's time zone decides where a
day starts). A day is a *pain day* when at least one check-in that day reports pain >= 1;
every other day, including a day without any check-in, is *pain-free* (people log when
it hurts; requiring explicit zeros would keep a recovered member flagged forever).

- An **episode** starts on the first pain day after at least 7 pain-free days (or ever).
  Pain days with 6 or fewer pain-free days between them belong to one episode.
- The member is **flagged** ("persistent pain: see a soft-tissue therapist") when a pain
  day falls 14 or more days after the episode's first day (day 13: not yet; day 14: yes).
- The flag **clears** once 7 pain-free days have passed since the last pain day (today,
  still without pain, counts as one of them); the episode is then over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import connection

from apps.tracking.models import CheckIn

if TYPE_CHECKING:
    from apps.accounts.models import User

PAIN_FREE_DAYS_TO_END_EPISODE = 7
DAYS_UNTIL_PERSISTENT = 14

PERSISTENT_PAIN_MESSAGE = (
    "You have reported pain for two weeks or more. Pain that keeps coming back for more "
    "than two weeks is no longer a passing cramp: an assessment by a soft-tissue therapist "
    "can find the cause and the stretches and treatment that help."
)


@dataclass(frozen=True)
class PainStatus:
    persistent: bool
    episode_start: date | None  # first day of the ongoing episode, None when none
    last_pain_day: date | None
    days_in_episode: int  # from the first to the last pain day, 0 when none

    @property
    def message(self) -> str:
        return PERSISTENT_PAIN_MESSAGE if self.persistent else ""


NO_EPISODE = PainStatus(persistent=False, episode_start=None, last_pain_day=None, days_in_episode=0)


def pain_status_for_member(*, member: User, now: datetime) -> PainStatus:
    """Apply the rule above to `member`'s check-ins up to `now`, in one one-row query.

    Why not walk the check-ins in Python (as pain_status_from_days does for a window of
    days): a member in pain most days has one episode as long as their history, and the
    walk read all of it on every GET of me/, progress/ and the Today page. With a year of
    check-ins (231 pain days, issue 7's benchmark 6 data) that was 231 rows fetched through
    a server-side cursor and converted to local days. Measured back to back in one process
    (the machine loaded): the walk 2.90 ms of the web process's CPU per call, this query
    0.18 ms. The same query built with the ORM (Window, filter on the window) cost more
    than the walk (1.83 ms against 1.64 in a quieter run), nearly all of it compiling the
    SQL: hence raw SQL, one string per database.
    """
    zone_name = member.profile.timezone
    vendor_sql = _EPISODE_SQL[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(
            vendor_sql.format(table=CheckIn._meta.db_table),
            {
                "zone": zone_name,
                "member": member.pk,
                "now": connection.ops.adapt_datetimefield_value(now),
                "gap": PAIN_FREE_DAYS_TO_END_EPISODE + 1,
            },
        )
        last_pain_day, episode_start = cursor.fetchone()
    if last_pain_day is None:
        return NO_EPISODE
    if isinstance(last_pain_day, str):  # SQLite's dates are ISO text
        last_pain_day, episode_start = map(date.fromisoformat, (last_pain_day, episode_start))
    return _status(
        today=now.astimezone(ZoneInfo(zone_name)).date(),
        last_pain_day=last_pain_day,
        episode_start=episode_start,
        start_known=True,
    )


# The newest local pain day, and the episode's first: the newest pain day whose previous
# pain day (the next older check-in's; none: the first ever) lies `gap` or more days before
# it, i.e. PAIN_FREE_DAYS_TO_END_EPISODE or more pain-free days between them. Check-ins
# of one day repeat the day, which changes neither. Index: checkin_member_recent.
_EPISODE_SQL = {
    "postgresql": """
        SELECT max(day), max(day) FILTER (WHERE previous IS NULL OR previous <= day - %(gap)s)
        FROM (
            SELECT (recorded_at AT TIME ZONE %(zone)s)::date AS day,
                   lead((recorded_at AT TIME ZONE %(zone)s)::date)
                       OVER (ORDER BY recorded_at DESC, id DESC) AS previous
            FROM {table}
            WHERE member_id = %(member)s AND pain >= 1 AND recorded_at <= %(now)s
        ) AS pain_days
    """,
    "sqlite": """
        SELECT max(day),
               max(day) FILTER (
                   WHERE previous IS NULL OR previous <= date(day, '-' || %(gap)s || ' days')
               )
        FROM (
            SELECT django_datetime_cast_date(recorded_at, %(zone)s, 'UTC') AS day,
                   lead(django_datetime_cast_date(recorded_at, %(zone)s, 'UTC'))
                       OVER (ORDER BY recorded_at DESC, id DESC) AS previous
            FROM {table}
            WHERE member_id = %(member)s AND pain >= 1 AND recorded_at <= %(now)s
        ) AS pain_days
    """,
}


# Enough days back to decide the flag exactly: the last pain day is at most 6 days old, and
# an episode reaching 14 days before it links to it through gaps of at most 6 pain-free
# days, so its day at or before the 14-day mark is at most 21 days before the last pain day.
DAYS_TO_DECIDE_PERSISTENCE = 28


def pain_status_from_days(
    pain_days_newest_first: Iterable[date], *, today: date, window_start: date | None = None
) -> PainStatus:
    """The rule over local pain days, newest first (repeats allowed). The walk stops at
    the first gap of 7 pain-free days, so it reads only the current episode.

    `window_start`: the oldest day the caller fetched, when it did not fetch everything
    (a list of many clients fetches DAYS_TO_DECIDE_PERSISTENCE days). The flag stays exact;
    an episode that may reach further back has `episode_start` None, as it is not known.
    """
    last_pain_day: date | None = None
    episode_start: date | None = None
    ended_by_a_gap = False
    for day in pain_days_newest_first:
        if last_pain_day is None:
            last_pain_day = episode_start = day
            continue
        assert episode_start is not None
        pain_free_days_between = (episode_start - day).days - 1
        if pain_free_days_between >= PAIN_FREE_DAYS_TO_END_EPISODE:
            ended_by_a_gap = True
            break  # an earlier episode; the current one started at episode_start
        episode_start = day
    if last_pain_day is None or episode_start is None:
        return NO_EPISODE
    start_known = (
        window_start is None
        or ended_by_a_gap
        or (episode_start - window_start).days >= PAIN_FREE_DAYS_TO_END_EPISODE
    )
    return _status(
        today=today,
        last_pain_day=last_pain_day,
        episode_start=episode_start,
        start_known=start_known,
    )


def _status(
    *, today: date, last_pain_day: date, episode_start: date, start_known: bool
) -> PainStatus:
    """The verdict on the current episode, from its first and last pain days."""
    if (today - last_pain_day).days >= PAIN_FREE_DAYS_TO_END_EPISODE:
        return NO_EPISODE
    days_in_episode = (last_pain_day - episode_start).days
    return PainStatus(
        persistent=days_in_episode >= DAYS_UNTIL_PERSISTENT,
        episode_start=episode_start if start_known else None,
        last_pain_day=last_pain_day,
        days_in_episode=days_in_episode,
    )
