"""Writes about schedules: defaults at sign-up, edits, and keeping `next_due_at` right.

Every change that can move a firing (the rule, `enabled`, the member's time zone)
recomputes `next_due_at` at once, in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from apps.reminders.models import NudgeKind, Schedule
from apps.reminders.rules import next_occurrence

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.profiles.models import Profile

# Defaults (DOMAIN.md): water through waking hours, more often in the heat; a walk after
# 30 minutes at a desk; stretches twice a workday; a daily 10-minute mindfulness pause.
HYDRATION_EVERY = 90
HYDRATION_EVERY_HOT = 60
WAKING_HOURS = (time(8, 0), time(20, 0))
MOVEMENT_EVERY = 30
MINDFULNESS_AT = "12:30"
STRETCH_AT = ["11:00", "15:00"]


def schedule_recompute(*, schedule: Schedule, now: datetime | None = None) -> Schedule:
    """Set `next_due_at` to the rule's first firing after `now` (None when disabled)."""
    now = now or timezone.now()
    zone = ZoneInfo(schedule.member.profile.timezone)
    schedule.next_due_at = (
        next_occurrence(schedule.rule(), zone, after=now) if schedule.enabled else None
    )
    schedule.save(update_fields=["next_due_at", "updated_at"])
    return schedule


@transaction.atomic
def schedule_save(
    *, member: User, changes: dict[str, Any], schedule: Schedule | None = None
) -> Schedule:
    """Create or edit a schedule from validated fields; `next_due_at` follows at once."""
    schedule = schedule or Schedule(member=member)
    for field, value in changes.items():
        setattr(schedule, field, value)
    if schedule.every_minutes:
        schedule.times = []
    else:
        schedule.window_start = schedule.window_end = None
    schedule.save()
    return schedule_recompute(schedule=schedule)


def default_schedules_create(*, member: User, now: datetime | None = None) -> list[Schedule]:
    """The schedules a new member starts with; every one is theirs to edit or disable."""
    profile = member.profile
    movement_start, movement_end = movement_window(profile.work_start, profile.work_end)
    defaults = [
        Schedule(member=member, kind=NudgeKind.MINDFULNESS, times=[MINDFULNESS_AT]),
        Schedule(
            member=member,
            kind=NudgeKind.HYDRATION,
            every_minutes=HYDRATION_EVERY_HOT if profile.hot_environment else HYDRATION_EVERY,
            window_start=WAKING_HOURS[0],
            window_end=WAKING_HOURS[1],
        ),
        Schedule(
            member=member,
            kind=NudgeKind.MOVEMENT,
            every_minutes=MOVEMENT_EVERY,
            window_start=movement_start,
            window_end=movement_end,
            weekdays=list(profile.workdays),
        ),
        Schedule(
            member=member,
            kind=NudgeKind.STRETCH,
            times=list(STRETCH_AT),
            weekdays=list(profile.workdays),
        ),
    ]
    created = Schedule.objects.bulk_create(defaults)
    for schedule in created:
        schedule.member = member  # bulk_create does not cache the relation for recompute
        schedule_recompute(schedule=schedule, now=now)
    return created


def schedules_follow_profile(*, profile: Profile, before: dict[str, Any]) -> None:
    """After a profile change: re-time every schedule when the time zone changed; move
    default hydration between 90 and 60 minutes when `hot_environment` changed; keep the
    movement window on the work hours when it still matched the old ones."""
    schedules = list(Schedule.objects.filter(member=profile.user).select_related("member__profile"))
    changed: list[Schedule] = []
    if before["hot_environment"] != profile.hot_environment:
        old, new = (
            (HYDRATION_EVERY, HYDRATION_EVERY_HOT)
            if profile.hot_environment
            else (HYDRATION_EVERY_HOT, HYDRATION_EVERY)
        )
        for schedule in schedules:
            if schedule.kind == NudgeKind.HYDRATION and schedule.every_minutes == old:
                schedule.every_minutes = new
                changed.append(schedule)
    old_window = movement_window(before["work_start"], before["work_end"])
    if (before["work_start"], before["work_end"]) != (profile.work_start, profile.work_end):
        for schedule in schedules:
            if (
                schedule.kind == NudgeKind.MOVEMENT
                and (schedule.window_start, schedule.window_end) == old_window
            ):
                schedule.window_start, schedule.window_end = movement_window(
                    profile.work_start, profile.work_end
                )
                changed.append(schedule)
    for schedule in _unique(changed):
        schedule.save()
    if changed or before["timezone"] != profile.timezone:
        for schedule in schedules:
            schedule.member.profile = profile
            schedule_recompute(schedule=schedule)


def movement_window(work_start: time, work_end: time) -> tuple[time, time]:
    """The first walk is due after 30 minutes of work; short days start at work start."""
    first = _add_minutes(work_start, MOVEMENT_EVERY)
    return (first if first < work_end else work_start), work_end


def _add_minutes(moment: time, minutes: int) -> time:
    total = min(moment.hour * 60 + moment.minute + minutes, 23 * 60 + 59)
    return time(total // 60, total % 60)


def _unique(schedules: Iterable[Schedule]) -> list[Schedule]:
    return list({schedule.pk: schedule for schedule in schedules}.values())


def schedule_delete(*, schedule: Schedule) -> None:
    """Delete a member's schedule. The nudges it already sent stay in the member's history
    and adherence (their schedule becomes empty), so deleting never rewrites the past."""
    schedule.delete()
