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

from apps.tracking.models import CheckIn

if TYPE_CHECKING:
    from apps.accounts.models import User

PAIN_FREE_DAYS_TO_END_EPISODE = 7
DAYS_UNTIL_PERSISTENT = 14
# Rows per fetch while walking back through pain check-ins; the walk stops at the first
# 7-day gap, so a typical member needs one fetch.
FETCH_SIZE = 500

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
    """Apply the rule above to `member`'s check-ins up to `now`."""
    zone = ZoneInfo(member.profile.timezone)
    recorded_times = (
        CheckIn.objects.filter(member=member, pain__gte=1, recorded_at__lte=now)
        .order_by("-recorded_at")
        .values_list("recorded_at", flat=True)
        .iterator(chunk_size=FETCH_SIZE)
    )
    pain_days = (recorded_at.astimezone(zone).date() for recorded_at in recorded_times)
    return pain_status_from_days(pain_days, today=now.astimezone(zone).date())


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
    if (today - last_pain_day).days >= PAIN_FREE_DAYS_TO_END_EPISODE:
        return NO_EPISODE
    days_in_episode = (last_pain_day - episode_start).days
    start_known = (
        window_start is None
        or ended_by_a_gap
        or (episode_start - window_start).days >= PAIN_FREE_DAYS_TO_END_EPISODE
    )
    return PainStatus(
        persistent=days_in_episode >= DAYS_UNTIL_PERSISTENT,
        episode_start=episode_start if start_known else None,
        last_pain_day=last_pain_day,
        days_in_episode=days_in_episode,
    )
