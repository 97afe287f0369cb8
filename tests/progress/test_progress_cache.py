"""The kept progress document (apps/progress/cache.py): a member's own changes show at
once, the system's within PROGRESS_CACHE_SECONDS, never another reader's categories, never after
erasure, and a cache that does not answer only costs the computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from apps.accounts.services import member_erase
from apps.progress import cache as progress_cache
from apps.progress import selectors
from apps.tracking.services import checkin_record
from tests.factories import (
    make_activity,
    make_checkin,
    make_link,
    make_member,
    make_nudge,
    make_therapist,
)

# Committed for real: a member's change expires kept documents on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
PROGRESS = "/api/v1/progress/"
MAX_AGE_SECONDS = settings.PROGRESS_CACHE_SECONDS


def read(client, *, at: datetime = NOW, path: str = PROGRESS) -> dict:
    with time_machine.travel(at, tick=False):
        response = client.get(path, {"days": 7})
    assert response.status_code == 200, response.content
    return response.json()


def done_today(body: dict) -> int:
    return body["adherence"]["overall"]["daily"][-1]["done"]


def test_a_kept_document_costs_only_the_token_lookup(api_as, django_assert_num_queries) -> None:
    member = make_member()
    client = api_as(member)
    first = read(client)

    with django_assert_num_queries(1):  # the token (and its user); nothing of progress
        again = read(client, at=NOW + timedelta(seconds=5))

    assert again == first


def test_a_change_outside_the_services_shows_once_the_document_is_too_old(api_as) -> None:
    # given a document kept at NOW
    member = make_member()
    client = api_as(member)
    read(client)
    # when the system settles a nudge the way the workers do (no service of the member's)
    make_nudge(member=member, kind="stretch", due_at=NOW - timedelta(hours=2), status="done")

    # then it shows no later than MAX_AGE_SECONDS after the document was computed
    assert done_today(read(client, at=NOW + timedelta(seconds=MAX_AGE_SECONDS - 1))) == 0
    assert done_today(read(client, at=NOW + timedelta(seconds=MAX_AGE_SECONDS))) == 1


def test_a_nudge_the_member_marks_done_shows_at_once(api_as) -> None:
    member = make_member()
    client = api_as(member)
    nudge = make_nudge(member=member, kind="stretch", due_at=NOW - timedelta(hours=1))
    assert done_today(read(client)) == 0

    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        assert client.post(f"/api/v1/nudges/{nudge.pk}/done/").status_code == 200

    assert done_today(read(client, at=NOW + timedelta(seconds=2))) == 1


def test_skipping_a_nudge_shows_at_once(api_as) -> None:
    member = make_member()
    client = api_as(member)
    nudge = make_nudge(member=member, kind="stretch", due_at=NOW - timedelta(hours=1))
    before = read(client)["adherence"]["overall"]
    assert before["skipped"] == 0

    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        assert client.post(f"/api/v1/nudges/{nudge.pk}/skip/").status_code == 200

    assert read(client, at=NOW + timedelta(seconds=2))["adherence"]["overall"]["skipped"] == 1


def test_a_check_in_and_its_deletion_show_at_once(api_as) -> None:
    member = make_member()
    client = api_as(member)
    assert read(client)["pain"]["latest"] is None

    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        created = client.post("/api/v1/checkins/", {"stress": 6, "pain": 7}, format="json")
    assert created.status_code == 201, created.content
    assert read(client, at=NOW + timedelta(seconds=2))["pain"]["latest"] == 7

    with time_machine.travel(NOW + timedelta(seconds=3), tick=False):
        changed = client.patch(f"/api/v1/checkins/{created.json()['id']}/", {"pain": 2})
    assert changed.status_code == 200, changed.content
    assert read(client, at=NOW + timedelta(seconds=4))["pain"]["latest"] == 2

    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        assert client.delete(f"/api/v1/checkins/{created.json()['id']}/").status_code == 204
    assert read(client, at=NOW + timedelta(seconds=6))["pain"]["latest"] is None


def test_a_habit_log_shows_at_once(api_as) -> None:
    member = make_member()
    client = api_as(member)
    assert read(client)["habits"]["mindfulness_minutes"] == 0

    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        logged = client.post("/api/v1/activities/", {"kind": "mindfulness", "minutes": 12})
    assert logged.status_code == 201, logged.content

    assert read(client, at=NOW + timedelta(seconds=2))["habits"]["mindfulness_minutes"] == 12


def test_a_new_water_goal_and_time_zone_show_at_once(api_as) -> None:
    member = make_member()
    client = api_as(member)
    body = read(client)
    assert (body["habits"]["water_goal_ml"], body["time_zone"]) == (2000, "UTC")

    with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
        changed = client.patch(
            "/api/v1/me/", {"water_goal_ml": 2600, "timezone": "Asia/Tokyo"}, format="json"
        )
    assert changed.status_code == 200, changed.content

    body = read(client, at=NOW + timedelta(seconds=2))
    assert (body["habits"]["water_goal_ml"], body["time_zone"]) == (2600, "Asia/Tokyo")
    # 18:00 UTC is 03:00 the next morning in Tokyo.
    assert body["date_to"] == "2026-11-25"


def test_a_kept_document_is_not_used_on_the_next_local_day(api_as) -> None:
    member = make_member(timezone="Europe/Berlin")
    client = api_as(member)
    before_midnight = datetime(2026, 11, 24, 23, 59, 50, tzinfo=ZoneInfo("Europe/Berlin"))
    assert read(client, at=before_midnight)["date_to"] == "2026-11-24"

    after_midnight = before_midnight + timedelta(seconds=15)  # within MAX_AGE_SECONDS

    assert read(client, at=after_midnight)["date_to"] == "2026-11-25"


def test_a_therapist_sees_only_the_shared_categories_after_the_member_read_everything(
    api_as,
) -> None:
    member = make_member()
    make_checkin(member=member, pain=8, recorded_at=NOW - timedelta(hours=1))
    therapist = make_therapist()
    make_link(therapist=therapist, member=member, adherence=True, checkins=False)
    assert read(api_as(member))["pain"]["latest"] == 8

    seen = read(api_as(therapist), path=f"/api/v1/clients/{member.pk}/progress/")

    assert seen["pain"] is None
    assert seen["stress"] is None
    assert seen["shared"] == ["adherence"]


def test_a_change_committed_while_a_document_is_computed_is_not_hidden(api_as, monkeypatch) -> None:
    # given a reader whose database reads finish just before the member's check-in commits
    member = make_member()
    client = api_as(member)
    compute = selectors.progress_for_member

    def compute_then_member_checks_in(**arguments):
        progress = compute(**arguments)
        checkin_record(member=member, stress=5, pain=6, recorded_at=NOW - timedelta(minutes=1))
        return progress

    monkeypatch.setattr(selectors, "progress_for_member", compute_then_member_checks_in)
    assert read(client)["pain"]["latest"] is None  # computed from the rows before it
    monkeypatch.setattr(selectors, "progress_for_member", compute)

    # then the next read, within MAX_AGE_SECONDS, does not use the document computed before
    assert read(client, at=NOW + timedelta(seconds=1))["pain"]["latest"] == 6


def test_erasing_a_member_deletes_their_kept_documents(api_as) -> None:
    member = make_member()
    make_activity(member=member, kind="stretch")
    # Now, not NOW: the memory cache of a run without REDIS_URL expires by the clock.
    assert api_as(member).get(PROGRESS, {"days": 7}).status_code == 200
    key = progress_cache._document_key(member_id=member.pk, days=7, include=selectors.EVERYTHING)
    assert cache.get(key) is not None

    member_erase(member=member)

    assert cache.get(key) is None


# Port 9 (discard) on loopback: nothing listens, so every cache call fails at once.
UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",
    }
}


def test_progress_answers_when_the_cache_does_not(api_as, caplog) -> None:
    member = make_member()
    make_checkin(member=member, pain=4, recorded_at=NOW - timedelta(hours=1))
    client = api_as(member)

    with override_settings(CACHES=UNREACHABLE_CACHE):
        body = read(client)
        with time_machine.travel(NOW + timedelta(seconds=1), tick=False):
            logged = client.post("/api/v1/checkins/", {"stress": 2, "pain": 9}, format="json")
        assert logged.status_code == 201, logged.content
        after = read(client, at=NOW + timedelta(seconds=2))

    assert body["pain"]["latest"] == 4
    assert after["pain"]["latest"] == 9
    assert "progress cache unreachable" in caplog.text


@override_settings(PROGRESS_CACHE_SECONDS=0)
def test_with_no_lifetime_every_request_is_computed(api_as, django_assert_num_queries) -> None:
    member = make_member()
    client = api_as(member)
    read(client)

    with django_assert_num_queries(7):  # the token, the profile, five of progress (no pain)
        read(client, at=NOW + timedelta(seconds=1))
