"""A therapist's clients at a glance: the same figures as each client's own progress, in a
fixed number of queries, with the attention rules at their thresholds."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.services import member_create
from apps.careteam.models import AccessLogEntry, CareLink
from apps.progress.attention import attention_reasons
from apps.progress.figures import WeekOverWeek
from apps.progress.overview import client_overviews
from apps.progress.selectors import progress_for_member
from apps.reminders.models import Nudge
from apps.tracking.models import CheckIn
from tests.factories import (
    make_activity,
    make_checkin,
    make_link,
    make_member,
    make_nudge,
    make_therapist,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
ZONES = ["Europe/London", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "UTC"]
STATUSES = ["done", "done", "sent", "skipped", "snoozed", "suppressed", "missed", "failed"]


def random_history(member, *, seed: int, days: int = 40) -> None:
    """Nudges at awkward hours (near local midnight) and check-ins with varying pain."""
    rng = random.Random(seed)
    nudges, checkins = [], []
    for offset in range(days):
        for _ in range(rng.randint(0, 5)):
            due = NOW - timedelta(days=offset, minutes=rng.randint(0, 24 * 60))
            nudges.append(
                Nudge(member=member, kind=rng.choice(["stretch", "hydration"]),
                      status=rng.choice(STATUSES), due_at=due)
            )  # fmt: skip
        if rng.random() < 0.7:
            moment = NOW - timedelta(days=offset, minutes=rng.randint(0, 24 * 60))
            checkins.append(
                CheckIn(member=member, stress=rng.randint(0, 10), pain=rng.choice([0, 2, 5, 8]),
                        recorded_at=moment)
            )  # fmt: skip
    # Sent up to 5 minutes early by the dispatcher: due after now, already acted on.
    nudges.append(Nudge(member=member, kind="stretch", status="done",
                        due_at=NOW + timedelta(minutes=rng.randint(1, 5))))  # fmt: skip
    Nudge.objects.bulk_create(nudges)
    CheckIn.objects.bulk_create(checkins)


def test_the_list_shows_the_same_figures_as_each_clients_own_progress() -> None:
    therapist = make_therapist()
    members = []
    for index, zone in enumerate(ZONES):
        member = make_member(timezone=zone)
        random_history(member, seed=index)
        make_link(member=member, therapist=therapist)
        members.append(member)

    overviews = {c.member.pk: c for c in client_overviews(therapist=therapist, now=NOW)}

    for member in members:
        week = progress_for_member(member=member, now=NOW, days=7)
        month = progress_for_member(member=member, now=NOW, days=30)
        listed = overviews[member.pk]
        zone = member.profile.timezone
        assert listed.expected_7d == week.overall.tally.expected, zone
        assert listed.adherence_7d == pytest.approx(week.overall.adherence), zone
        assert listed.adherence_30d == pytest.approx(month.overall.adherence), zone
        assert listed.habit_score == pytest.approx(month.overall.habit_score), zone
        assert listed.stress.change == pytest.approx(month.symptoms.stress.change), zone
        assert listed.pain.change == pytest.approx(month.symptoms.pain.change), zone
        assert listed.latest_pain == month.symptoms.latest_pain, zone
        assert listed.persistent_pain == month.symptoms.pain_status.persistent, zone


def test_a_nudge_of_tomorrow_sent_early_counts_nowhere_yet() -> None:
    """The dispatcher sends up to 5 minutes early: at 23:57 in Kathmandu a nudge due at
    00:00 exists already. Neither the list nor the client's own progress counts it today."""
    therapist, member = make_therapist(), make_member(timezone="Asia/Kathmandu")
    make_link(member=member, therapist=therapist)
    three_to_midnight = datetime(2026, 11, 24, 23, 57, tzinfo=ZoneInfo("Asia/Kathmandu"))
    make_nudge(member=member, due_at=three_to_midnight - timedelta(hours=5), status="done")
    make_nudge(member=member, due_at=three_to_midnight + timedelta(minutes=3), status="skipped")

    listed = client_overviews(therapist=therapist, now=three_to_midnight)[0]
    own = progress_for_member(member=member, now=three_to_midnight, days=7)

    assert (listed.done_7d, listed.expected_7d) == (1, 1)
    assert (own.overall.tally.done, own.overall.tally.expected) == (1, 1)
    assert listed.habit_score == own.overall.habit_score == 1.0


def test_the_last_nudge_acted_on_in_30_days_is_the_clients_last_activity() -> None:
    therapist = make_therapist()
    recent, long_ago, snoozed = make_member(), make_member(), make_member()
    for member in (recent, long_ago, snoozed):
        make_link(member=member, therapist=therapist, checkins=False)
    acted = NOW - timedelta(days=3)
    make_nudge(member=recent, due_at=acted - timedelta(minutes=5), status="done", acted_at=acted)
    old = NOW - timedelta(days=40)
    make_nudge(member=long_ago, due_at=old, status="done", acted_at=old)
    # Snoozed an hour ago and due again: pending, but the client did act on it.
    make_nudge(
        member=snoozed, due_at=NOW - timedelta(hours=2), status="pending",
        acted_at=NOW - timedelta(hours=1),
    )  # fmt: skip

    listed = {c.member.pk: c for c in client_overviews(therapist=therapist, now=NOW)}

    assert listed[recent.pk].last_activity_at == acted
    assert listed[long_ago.pk].last_activity_at is None
    assert listed[snoozed.pk].last_activity_at == NOW - timedelta(hours=1)
    assert (listed[snoozed.pk].done_7d, listed[snoozed.pk].expected_7d) == (0, 0)


def test_the_last_habit_logged_up_to_now_is_the_clients_last_activity() -> None:
    therapist = make_therapist()
    logger, private = make_member(), make_member()
    make_link(member=logger, therapist=therapist, checkins=False)
    make_link(member=private, therapist=therapist, adherence=False, checkins=False)
    for member in (logger, private):
        make_activity(member=member, kind="hydration", recorded_at=NOW - timedelta(hours=5))
        make_activity(member=member, recorded_at=NOW - timedelta(hours=30))
    make_activity(member=logger, recorded_at=NOW + timedelta(hours=1))  # after `now`

    listed = {c.member.pk: c for c in client_overviews(therapist=therapist, now=NOW)}

    assert listed[logger.pk].last_activity_at == NOW - timedelta(hours=5)
    assert listed[private.pk].last_activity_at is None  # shares no adherence


def test_the_persistent_pain_flag_in_the_list_matches_the_full_rule() -> None:
    therapist = make_therapist()
    cases = {}
    for pain_days in (10, 14, 15, 40):  # an unbroken run of pain days ending yesterday
        member = make_member()
        for offset in range(1, pain_days + 1):
            make_checkin(member=member, pain=3, recorded_at=NOW - timedelta(days=offset))
        make_link(member=member, therapist=therapist)
        cases[member.pk] = pain_days

    listed = {c.member.pk: c for c in client_overviews(therapist=therapist, now=NOW)}

    for member_id, pain_days in cases.items():
        assert listed[member_id].persistent_pain is (pain_days - 1 >= 14), pain_days
    forty = next(m for m, days in cases.items() if days == 40)
    # The list reads 28 days: it knows the flag, not how far back the episode goes.
    assert listed[forty].pain_episode_start is None


def make_clients(therapist, count: int) -> None:
    for index in range(count):
        member = member_create(
            email=f"client{index}-{therapist.pk}@example.org",
            password="x-calm-shoulders-2026",
            timezone=ZONES[index % len(ZONES)],
        )
        CareLink.objects.create(member=member, therapist=therapist)
        Nudge.objects.create(member=member, kind="stretch", status="done", due_at=NOW)
        CheckIn.objects.create(member=member, stress=4, pain=3, recorded_at=NOW)


@pytest.mark.parametrize("clients", [3, 500])
def test_the_list_costs_three_queries_for_any_number_of_clients(clients: int, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    therapist = make_therapist()
    make_clients(therapist, clients)

    with CaptureQueriesContext(connection) as queries:
        listed = client_overviews(therapist=therapist, now=NOW + timedelta(hours=1))

    assert len(listed) == clients
    # The annotated links, per-day nudges, per-day check-ins.
    assert len(queries) == 3, [query["sql"][:120] for query in queries]


# --- Attention rules at their thresholds ---------------------------------------------------
def client(**overrides: object) -> SimpleNamespace:
    values = {
        "last_activity_at": NOW,
        "member_since": NOW - timedelta(days=100),
        "shares_adherence": True,
        "shares_checkins": True,
        "persistent_pain": False,
        "pain_episode_start": None,
        "latest_checkin_at": NOW - timedelta(hours=1),
        "latest_pain": 3,
        "worst_pain_7d": 3,
        "pain": WeekOverWeek(last_7_days=3.0, previous_7_days=3.0),
        "done_7d": 5,
        "expected_7d": 5,
        "adherence_7d": 1.0,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def codes(**overrides: object) -> list[str]:
    return [reason.code for reason in attention_reasons(client(**overrides), now=NOW)]


def test_a_client_doing_well_needs_no_attention() -> None:
    assert codes() == []


@pytest.mark.parametrize(
    ("quiet_for", "expected"),
    [
        (timedelta(hours=48, minutes=59), []),
        (timedelta(hours=49), ["no_activity"]),
        (timedelta(days=13, hours=23), ["no_activity"]),
        (timedelta(days=14), ["stalled"]),
    ],
)
def test_no_activity_for_49_hours_and_stalled_after_14_days(quiet_for, expected) -> None:
    assert codes(last_activity_at=NOW - quiet_for) == expected


def test_a_client_who_never_did_anything_counts_from_joining() -> None:
    assert codes(last_activity_at=None, member_since=NOW - timedelta(hours=50)) == ["no_activity"]


@pytest.mark.parametrize(("pain", "expected"), [(6, []), (7, ["pain_high"]), (10, ["pain_high"])])
def test_pain_of_7_or_more_at_a_check_in_this_week(pain: int, expected: list[str]) -> None:
    assert codes(worst_pain_7d=pain) == expected


def test_a_high_score_earlier_this_week_counts_and_one_from_last_week_does_not() -> None:
    therapist = make_therapist()
    this_week, last_week = make_member(), make_member()
    make_checkin(member=this_week, pain=9, recorded_at=NOW - timedelta(days=2))
    make_checkin(member=this_week, pain=2, recorded_at=NOW - timedelta(hours=1))
    make_checkin(member=last_week, pain=9, recorded_at=NOW - timedelta(days=8))
    make_checkin(member=last_week, pain=2, recorded_at=NOW - timedelta(hours=1))
    for member in (this_week, last_week):
        make_link(member=member, therapist=therapist)

    listed = {c.member.pk: c for c in client_overviews(therapist=therapist, now=NOW)}

    assert "pain_high" in {r.code for r in listed[this_week.pk].reasons}
    assert "pain_high" not in {r.code for r in listed[last_week.pk].reasons}


@pytest.mark.parametrize(("previous", "expected"), [(3.1, []), (3.0, ["pain_rising"])])
def test_pain_rising_by_2_or_more_week_over_week(previous: float, expected) -> None:
    assert codes(pain=WeekOverWeek(last_7_days=5.0, previous_7_days=previous)) == expected


def test_persistent_pain_is_named_with_its_start() -> None:
    reasons = attention_reasons(
        client(persistent_pain=True, pain_episode_start=date(2026, 11, 3)), now=NOW
    )
    assert [r.code for r in reasons] == ["persistent_pain"]
    assert "since 3 Nov" in reasons[0].words


@pytest.mark.parametrize(
    ("done", "expected_count", "expected"),
    [(5, 10, []), (4, 9, ["low_adherence"]), (0, 0, [])],
)
def test_adherence_under_half_over_7_days(done, expected_count, expected) -> None:
    adherence = done / expected_count if expected_count else 0.0
    assert codes(done_7d=done, expected_7d=expected_count, adherence_7d=adherence) == expected


def test_a_client_sharing_nothing_is_never_called_inactive() -> None:
    assert codes(shares_adherence=False, shares_checkins=False, last_activity_at=None) == []


def test_rules_read_only_the_categories_the_client_shares() -> None:
    worrying = {
        "worst_pain_7d": 9,
        "persistent_pain": True,
        "pain": WeekOverWeek(last_7_days=8.0, previous_7_days=2.0),
        "done_7d": 0,
        "expected_7d": 10,
        "adherence_7d": 0.0,
    }
    assert codes(**worrying, shares_checkins=False) == ["low_adherence"]
    assert "low_adherence" not in codes(**worrying, shares_adherence=False)


# --- clients/ -----------------------------------------------------------------------------
def test_clients_api_shows_figures_only_for_shared_categories_and_logs_once_an_hour(
    api_as,
) -> None:
    therapist = make_therapist()
    shares_all, adherence_only = make_member(), make_member()
    for member in (shares_all, adherence_only):
        make_checkin(member=member, pain=8, recorded_at=NOW - timedelta(hours=2))
        Nudge.objects.create(member=member, kind="stretch", status="sent", due_at=NOW)
    make_link(member=shares_all, therapist=therapist)
    make_link(member=adherence_only, therapist=therapist, checkins=False)

    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        first = api_as(therapist).get("/api/v1/clients/").json()["results"]
        api_as(therapist).get("/api/v1/clients/")

    rows = {row["id"]: row for row in first}
    assert rows[shares_all.pk]["pain_latest"] == 8
    assert rows[shares_all.pk]["adherence_7d"] == 0.0
    assert {r["code"] for r in rows[shares_all.pk]["attention_reasons"]} == {
        "pain_high",
        "low_adherence",
    }
    assert rows[adherence_only.pk]["pain_latest"] is None
    assert rows[adherence_only.pk]["persistent_pain"] is None
    assert [r["code"] for r in rows[adherence_only.pk]["attention_reasons"]] == ["low_adherence"]
    logged = AccessLogEntry.objects.filter(what="clients list")
    assert logged.count() == 2
    assert logged.get(member=adherence_only).categories == ["adherence"]
    assert rows[shares_all.pk]["timezone"] == shares_all.profile.timezone
