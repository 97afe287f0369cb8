"""The persistent-pain rule at its edges (apps/tracking/pain.py documents it)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.tracking.pain import pain_status_for_member, pain_status_from_days
from tests.factories import make_checkin, make_member

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)


def at_noon(day: date, zone: str = "UTC") -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=ZoneInfo(zone))


def report_pain_on(member, *days: date, pain: int = 4, zone: str = "UTC") -> None:
    for day in days:
        make_checkin(member=member, pain=pain, recorded_at=at_noon(day, zone))


def day(offset: int) -> date:
    return START + timedelta(days=offset)


def test_pain_on_day_13_of_an_episode_is_not_yet_persistent() -> None:
    member = make_member()
    report_pain_on(member, day(0), day(6), day(13))

    status = pain_status_for_member(member=member, now=at_noon(day(13)))

    assert status.persistent is False
    assert status.episode_start == day(0)
    assert status.days_in_episode == 13


def test_pain_still_reported_on_day_14_flags_persistent_pain() -> None:
    member = make_member()
    report_pain_on(member, day(0), day(7), day(14))

    status = pain_status_for_member(member=member, now=at_noon(day(14)))

    assert status.persistent is True
    assert status.episode_start == day(0)
    assert "soft-tissue therapist" in status.message


def test_six_pain_free_days_between_pain_days_keep_one_episode() -> None:
    member = make_member()
    # pain on day 0 and day 7: days 1..6 are 6 pain-free days
    report_pain_on(member, day(0), day(7), day(14))

    assert pain_status_for_member(member=member, now=at_noon(day(14))).episode_start == day(0)


def test_seven_pain_free_days_end_the_episode_and_the_next_pain_starts_a_new_one() -> None:
    member = make_member()
    # pain on day 0 and day 8: days 1..7 are 7 pain-free days
    report_pain_on(member, day(0), day(8), day(14), day(21))

    status = pain_status_for_member(member=member, now=at_noon(day(21)))

    assert status.episode_start == day(8)
    assert status.days_in_episode == 13
    assert status.persistent is False


def test_the_flag_clears_after_seven_pain_free_days() -> None:
    member = make_member()
    report_pain_on(member, day(0), day(7), day(14))

    assert pain_status_for_member(member=member, now=at_noon(day(20))).persistent is True
    cleared = pain_status_for_member(member=member, now=at_noon(day(21)))
    assert cleared.persistent is False
    assert cleared.episode_start is None


def test_check_ins_without_pain_do_not_extend_an_episode() -> None:
    member = make_member()
    report_pain_on(member, day(0))
    report_pain_on(member, day(14), pain=0)

    assert pain_status_for_member(member=member, now=at_noon(day(14))).persistent is False


def test_a_member_with_no_check_ins_has_no_episode() -> None:
    status = pain_status_for_member(member=make_member(), now=at_noon(day(0)))

    assert status.persistent is False
    assert status.episode_start is None


def test_days_are_the_members_local_days_at_midnight() -> None:
    # given a member in Tokyo (UTC+9) whose first pain is at 23:30 local on day 0
    zone = "Asia/Tokyo"
    member = make_member(timezone=zone)
    tokyo = ZoneInfo(zone)
    make_checkin(member=member, pain=5, recorded_at=datetime.combine(day(0), time(23, 30), tokyo))
    # and the latest at 00:30 local on day 14 (still day 13 in UTC: 15:30 UTC)
    latest = datetime.combine(day(14), time(0, 30), tokyo)
    report_pain_on(member, day(7), zone=zone)
    make_checkin(member=member, pain=5, recorded_at=latest)

    status = pain_status_for_member(member=member, now=latest + timedelta(minutes=1))

    # then in Tokyo days the episode runs day 0 .. day 14: persistent
    assert status.episode_start == day(0)
    assert status.persistent is True
    # while the same instants read as UTC days would span only 13 days
    assert (latest.astimezone(ZoneInfo("UTC")).date() - day(0)).days == 13


def test_the_database_finds_the_same_episode_as_the_day_by_day_walk() -> None:
    # pain_status_for_member asks the database for the episode's first day; the walk over
    # every local pain day (pain_status_from_days, used by the admin's windowed list) is
    # the oracle. Random histories in a zone far from UTC: several check-ins a day, late
    # evenings that are the next day in UTC, painless check-ins, gaps around 7 days.
    zone = "Pacific/Auckland"
    local = ZoneInfo(zone)
    generator = random.Random(7)
    member = make_member(timezone=zone)
    moments: list[tuple[datetime, int]] = []
    offset = 0
    while offset < 120:
        for _ in range(generator.choice([1, 1, 2, 3])):
            at = datetime.combine(day(offset), time(generator.choice([0, 7, 12, 23]), 30), local)
            pain = generator.choice([0, 1, 3, 6])
            make_checkin(member=member, pain=pain, recorded_at=at)
            moments.append((at, pain))
        offset += generator.choice([1, 1, 2, 3, 6, 7, 8, 9])
    compared = 0
    for offset in range(0, 130, 3):
        now = datetime.combine(day(offset), time(18, 0), local)
        pain_days = sorted(
            {at.astimezone(local).date() for at, pain in moments if pain >= 1 and at <= now},
            reverse=True,
        )
        expected = pain_status_from_days(pain_days, today=now.astimezone(local).date())
        assert pain_status_for_member(member=member, now=now) == expected, now
        compared += expected.episode_start is not None
    assert compared >= 10  # the comparison met ongoing episodes, not only empty verdicts
