"""History: a member's own check-ins and habit logs, deletable from the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.tracking.models import Activity, CheckIn
from tests.factories import make_activity, make_checkin, make_member

pytestmark = pytest.mark.django_db


def test_history_needs_a_login(client) -> None:
    assert client.get("/history/")["Location"].startswith("/accounts/login/")


def test_history_lists_the_members_own_records_newest_first(client) -> None:
    member, other = make_member(timezone="Asia/Tokyo"), make_member()
    now = timezone.now()
    make_checkin(member=member, stress=2, pain=1, recorded_at=now - timedelta(days=2))
    make_checkin(member=member, stress=8, pain=6, recorded_at=now - timedelta(hours=1))
    make_checkin(member=member, stress=5, pain=5, recorded_at=now - timedelta(days=40))
    make_activity(member=member, kind="hydration", amount_ml=330)
    make_checkin(member=other, stress=9, pain=9, note="OTHER-NOTE")
    client.force_login(member)

    page = client.get("/history/").content.decode()

    assert page.index("stress 8, pain 6") < page.index("stress 2, pain 1")
    assert "stress 5, pain 5" not in page  # 40 days ago: outside the default 30
    assert "330 ml" in page
    assert "OTHER-NOTE" not in page
    assert "stress 5, pain 5" in client.get("/history/?days=90").content.decode()
    assert client.get("/history/?days=banana").status_code == 200  # falls back to 30


def test_a_member_deletes_a_wrong_check_in_and_a_wrong_log(client) -> None:
    member = make_member()
    wrong = make_checkin(member=member, pain=9)
    glass = make_activity(member=member, kind="hydration")
    client.force_login(member)

    deleted = client.post(f"/history/checkins/{wrong.pk}/delete/")
    client.post(f"/history/activities/{glass.pk}/delete/")

    assert deleted["Location"] == "/history/"
    assert not CheckIn.objects.exists()
    assert not Activity.objects.exists()


def test_another_members_records_are_404_and_stay(client) -> None:
    member, other = make_member(), make_member()
    theirs = make_checkin(member=other)
    their_log = make_activity(member=other)
    client.force_login(member)

    assert client.post(f"/history/checkins/{theirs.pk}/delete/").status_code == 404
    assert client.post(f"/history/activities/{their_log.pk}/delete/").status_code == 404
    assert client.post("/history/checkins/99999999999999999999/delete/").status_code == 404
    assert client.get(f"/history/checkins/{theirs.pk}/delete/").status_code == 405
    assert CheckIn.objects.filter(pk=theirs.pk).exists()
    assert Activity.objects.filter(pk=their_log.pk).exists()
