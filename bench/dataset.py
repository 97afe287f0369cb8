"""Bulk data for the dispatcher benchmarks: members, profiles and schedules written with
PostgreSQL COPY (psycopg's `cursor.copy`), ~10x faster than bulk_create at 300,000 rows.

Every member has one enabled fixed-time schedule. `burst` of them fire at one minute (set
with `burst_schedules_due`); the others fire at other minutes later in the day, so
nothing else is due before or at that minute.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from apps.reminders.rules import Rule, next_occurrence

# Several zones, so the dispatcher converts wall times for real (UTC alone is a fast path).
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")
KINDS = ("stretch", "mindfulness", "warmup")


def _local_hhmm(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def members_load(*, members: int, burst: int, due_at: datetime) -> None:
    """Members 1..`members` with a profile and one schedule each; members 1..`burst` fire at
    `due_at` (a whole minute), the rest at minutes 10..1430 after it in their own zone."""
    now = datetime.now(UTC)
    next_due_cache: dict[tuple[str, str], datetime | None] = {}
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor under Django's wrapper
        with raw.copy(
            "COPY accounts_user (id, password, is_superuser, email, display_name, is_staff, "
            "is_active, date_joined) FROM STDIN"
        ) as copy:
            for member_id in range(1, members + 1):
                copy.write_row(
                    (member_id, "!", False, f"member{member_id}@bench.example", "", False, True,
                     now)
                )  # fmt: skip
        with raw.copy(
            "COPY profiles_profile (id, user_id, timezone, created_at, updated_at, channels, "
            "hot_environment, water_goal_ml, work_start, work_end, workdays, glass_ml, "
            "show_streaks, weekly_digest_email, weekly_progress_email) FROM STDIN"
        ) as copy:
            for member_id in range(1, members + 1):
                copy.write_row(
                    (member_id, member_id, ZONES[member_id % len(ZONES)], now, now,
                     '["email", "in_app"]', False, 2000, "09:00", "17:00", "[0, 1, 2, 3, 4]",
                     250, True, True, False)
                )  # fmt: skip
        with raw.copy(
            "COPY reminders_schedule (id, member_id, kind, times, weekdays, channels, enabled, "
            "next_due_at, created_at, updated_at) FROM STDIN"
        ) as copy:
            for member_id in range(1, members + 1):
                zone = ZONES[member_id % len(ZONES)]
                if member_id <= burst:
                    moment = due_at
                else:
                    moment = due_at + timedelta(minutes=10 + member_id % 1420)
                hhmm = _local_hhmm(moment, zone)
                key = (zone, hhmm)
                if key not in next_due_cache:
                    rule = Rule(times=(datetime.strptime(hhmm, "%H:%M").time(),))
                    next_due_cache[key] = next_occurrence(
                        rule, ZoneInfo(zone), after=due_at - timedelta(seconds=1)
                    )
                copy.write_row(
                    (member_id, member_id, KINDS[member_id % len(KINDS)], json.dumps([hhmm]),
                     "[0, 1, 2, 3, 4, 5, 6]", "[]", True, next_due_cache[key], now, now)
                )  # fmt: skip
        # Rows came with their ids: move each identity past them for later inserts.
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s), "
            "setval(pg_get_serial_sequence('profiles_profile', 'id'), %s), "
            "setval(pg_get_serial_sequence('reminders_schedule', 'id'), %s)",
            [members, members, members],
        )
        cursor.execute("ANALYZE accounts_user, profiles_profile, reminders_schedule")


def burst_schedules_due(*, burst: int, due_at: datetime) -> None:
    """Re-arm the burst: members 1..`burst` fire at `due_at` again (a fresh minute), their
    earlier nudges are gone, and the table statistics are fresh."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reminders_nudge")
        for zone_index, zone in enumerate(ZONES):
            cursor.execute(
                "UPDATE reminders_schedule SET times = %s, next_due_at = %s "
                "WHERE member_id <= %s AND member_id %% %s = %s",
                [json.dumps([_local_hhmm(due_at, zone)]), due_at, burst, len(ZONES), zone_index],
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE reminders_schedule")
        cursor.execute("VACUUM ANALYZE reminders_nudge")
