"""Progress figures from per-day tallies: pure functions, no database, no clock.

The selectors (selectors.py) count rows per local day; everything a member, a therapist
or an email shows is derived here, so the API, the admin and the weekly emails cannot
disagree. Definitions, repeated for people in the README ("Progress"):

- A nudge counts on the member's local calendar day of its due time.
- **sent**: nudges that fired for the member: delivered (acted on or not) or held back on
  purpose (suppressed: quiet hours, a pause, the water goal already met ...). **missed**
  (the service was down too long to send it on time) and **failed** (no channel could
  deliver it) are counted apart and never lower adherence: they are the service's
  failures, not the member's. Nudges not sent yet are not counted.
- **adherence** = done / (sent - suppressed), 0 when nothing was expected.
- **habit score**: the exponentially weighted mean of daily adherence over the last
  30 days, a day weighing half as much as the same day a week later (half-life 7 days).
  Days without an expected nudge are left out rather than counted as zeros, so a weekend
  without movement breaks or a paused week changes nothing, and one missed day among
  thirty good ones moves the score by a few points, not to zero.
- **streak**: consecutive local days on which the habit was done (a nudge done, or the
  habit logged). A day without an expected nudge of that kind and without a log neither
  breaks nor extends it; today breaks nothing until it is over.
- Stress and pain: the mean of each day's mean (a day with five check-ins weighs as much
  as a day with one); the change compares the last 7 days with the 7 before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
HABIT_SCORE_HALF_LIFE_DAYS = 7
HABIT_SCORE_LOOKBACK_DAYS = 30
# A week-over-week change of at least one point (of 10) is a trend; less is noise.
TREND_STEP = 1.0

# How each nudge status counts. Pending and sending nudges are not final: not counted.
COUNTED_AS: dict[str, tuple[str, ...]] = {
    "sent": ("sent",),
    "done": ("sent", "done"),
    "snoozed": ("sent", "snoozed"),
    "skipped": ("sent", "skipped"),
    "suppressed": ("sent", "suppressed"),
    "missed": ("missed",),
    "failed": ("failed",),
}
COUNTED_STATUSES = tuple(COUNTED_AS)


@dataclass
class Tally:
    """Nudge counts for one kind (or all kinds) over one day (or a period)."""

    sent: int = 0
    done: int = 0
    snoozed: int = 0
    skipped: int = 0
    suppressed: int = 0
    missed: int = 0
    failed: int = 0

    def count(self, status: str, number: int = 1) -> None:
        for name in COUNTED_AS.get(status, ()):
            setattr(self, name, getattr(self, name) + number)

    def add(self, other: Tally) -> None:
        # Spelled out, not a getattr/setattr loop over the fields: a progress request adds
        # ~300 tallies, and the loop was a tenth of its Python time (issue 7, benchmark 6).
        # test_tally_add_covers_every_field holds this to the field list.
        self.sent += other.sent
        self.done += other.done
        self.snoozed += other.snoozed
        self.skipped += other.skipped
        self.suppressed += other.suppressed
        self.missed += other.missed
        self.failed += other.failed

    @property
    def expected(self) -> int:
        """Nudges the member could act on: adherence divides by this."""
        return self.sent - self.suppressed

    @property
    def adherence(self) -> float:
        return self.done / self.expected if self.expected > 0 else 0.0


def tally_sum(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.add(tally)
    return total


def days_ending(today: date, count: int) -> list[date]:
    """The `count` local days up to and including `today`, oldest first."""
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def habit_score(daily: Mapping[date, Tally], *, today: date) -> float:
    """The exponentially weighted mean of daily adherence (see the module docstring)."""
    weighted_sum = weight_total = 0.0
    for day in days_ending(today, HABIT_SCORE_LOOKBACK_DAYS):
        tally = daily.get(day)
        if tally is None or tally.expected <= 0:
            continue
        weight = 0.5 ** ((today - day).days / HABIT_SCORE_HALF_LIFE_DAYS)
        weighted_sum += weight * tally.adherence
        weight_total += weight
    return weighted_sum / weight_total if weight_total else 0.0


@dataclass(frozen=True)
class Streaks:
    current: int
    longest: int


def streaks(*, kept: set[date], expected: set[date], today: date) -> Streaks:
    """Current and longest runs of kept days; days neither kept nor expected are rests.

    `kept`: days the habit was done; `expected`: days a nudge of the kind was expected.
    """
    relevant = sorted(day for day in kept | expected if day <= today)
    longest = run = 0
    for day in relevant:
        if day in kept:
            run += 1
            longest = max(longest, run)
        elif day != today:  # today, not yet kept, does not break anything yet
            run = 0
    return Streaks(current=run, longest=longest)


def mean(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


@dataclass(frozen=True)
class WeekOverWeek:
    last_7_days: float | None
    previous_7_days: float | None

    @property
    def change(self) -> float | None:
        if self.last_7_days is None or self.previous_7_days is None:
            return None
        return self.last_7_days - self.previous_7_days

    @property
    def trend(self) -> str:
        """ "rising", "falling", "steady", or "unknown" without both weeks of data."""
        change = self.change
        if change is None:
            return "unknown"
        if change >= TREND_STEP:
            return "rising"
        if change <= -TREND_STEP:
            return "falling"
        return "steady"


TRENDS = ("rising", "falling", "steady", "unknown")
TREND_ARROWS = {"rising": "↑", "falling": "↓", "steady": "→", "unknown": "?"}


def week_over_week(daily_means: Mapping[date, float], *, today: date) -> WeekOverWeek:
    last = days_ending(today, 7)
    previous = days_ending(today - timedelta(days=7), 7)
    return WeekOverWeek(
        last_7_days=mean(daily_means.get(day) for day in last),
        previous_7_days=mean(daily_means.get(day) for day in previous),
    )


@dataclass
class KindFigures:
    """One nudge kind (or all of them) over the requested period."""

    tally: Tally
    habit_score: float
    streaks: Streaks | None  # None for the all-kinds figures
    daily: list[tuple[date, Tally]] = field(default_factory=list)

    @property
    def adherence(self) -> float:
        return self.tally.adherence


def kind_figures(
    daily: Mapping[date, Tally],
    *,
    period: list[date],
    today: date,
    kept: set[date] | None = None,
) -> KindFigures:
    """Figures for one kind from its per-day tallies; `kept` (the days the habit was done)
    gives streaks, left None for the all-kinds total."""
    per_day = [(day, daily.get(day) or Tally()) for day in period]
    run = None
    if kept is not None:
        expected_days = {day for day, tally in daily.items() if tally.expected > 0}
        run = streaks(kept=kept, expected=expected_days, today=today)
    return KindFigures(
        tally=tally_sum(tally for _, tally in per_day),
        habit_score=habit_score(daily, today=today),
        streaks=run,
        daily=per_day,
    )


def merge_kinds(by_kind: Mapping[str, Mapping[date, Tally]]) -> dict[date, Tally]:
    """Per-day tallies of all kinds together."""
    merged: dict[date, Tally] = {}
    for daily in by_kind.values():
        for day, tally in daily.items():
            merged.setdefault(day, Tally()).add(tally)
    return merged
