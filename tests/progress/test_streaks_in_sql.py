"""Streaks are counted by the database (selectors._streaks_of_kinds) for speed; they must
equal figures.streaks, the definition, on any history: random ones here, in two zones."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.progress import figures
from apps.progress.selectors import NUDGE_KINDS, progress_for_member
from apps.reminders.models import Nudge
from apps.tracking.models import Activity
from tests.factories import make_member

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
STATUSES = ["done", "sent", "skipped", "snoozed", "suppressed", "missed", "failed", "pending"]


def expected_streaks(
    nudges: list[Nudge], activities: list[Activity], zone: ZoneInfo, today: date
) -> dict[str, figures.Streaks]:
    """figures.streaks from the rows, the way the definition reads."""
    kept: dict[str, set[date]] = defaultdict(set)
    expected: dict[str, set[date]] = defaultdict(set)
    for nudge in nudges:
        day = nudge.due_at.astimezone(zone).date()
        if nudge.status == "done":
            kept[nudge.kind].add(day)
        if nudge.status in ("sent", "done", "snoozed", "skipped"):
            expected[nudge.kind].add(day)
    for activity in activities:
        kept[activity.kind].add(activity.recorded_at.astimezone(zone).date())
    return {
        kind: figures.streaks(kept=kept[kind], expected=expected[kind], today=today)
        for kind in NUDGE_KINDS
    }


@pytest.mark.parametrize("seed", range(6))
def test_streaks_counted_in_sql_equal_the_definition_on_random_histories(seed: int) -> None:
    rng = random.Random(seed)
    zone_name = ["Europe/Berlin", "Pacific/Auckland", "America/Los_Angeles"][seed % 3]
    member = make_member(timezone=zone_name)
    zone = ZoneInfo(zone_name)
    today = NOW.astimezone(zone).date()
    nudges, activities = [], []
    for days_ago in range(rng.randint(20, 120), -1, -1):
        day = today - timedelta(days=days_ago)
        for kind in NUDGE_KINDS:
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                due = datetime.combine(day, time(rng.randint(0, 23)), tzinfo=zone)
                status = rng.choice(STATUSES)
                acted = due + timedelta(minutes=10) if status == "done" else None
                if due < NOW and (acted is None or acted < NOW):
                    nudges.append(
                        Nudge(member=member, kind=kind, due_at=due, status=status, acted_at=acted)
                    )
            if rng.random() < 0.15:
                moment = datetime.combine(day, time(rng.randint(0, 23), 30), tzinfo=zone)
                if moment < NOW:
                    hydration = kind == "hydration"
                    activities.append(
                        Activity(member=member, kind=kind, recorded_at=moment,
                                 minutes=None if hydration or kind == "movement" else 5,
                                 amount_ml=250 if hydration else None)
                    )  # fmt: skip
    Nudge.objects.bulk_create(nudges)
    Activity.objects.bulk_create(activities)

    progress = progress_for_member(member=member, now=NOW, days=7)

    assert progress.kinds is not None
    counted = {kind: figures_of_kind.streaks for kind, figures_of_kind in progress.kinds.items()}
    assert counted == expected_streaks(nudges, activities, zone, today)
    latest = max([n.acted_at for n in nudges if n.acted_at] + [a.recorded_at for a in activities])
    assert progress.last_activity_at == latest
