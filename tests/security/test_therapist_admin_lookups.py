"""The therapist's clients list accepts its own filter and nothing else in the query
string: Django's admin would otherwise filter by any lookup that starts with an annotation
name, and a lookup path can reach any table (found in review: a client's unshared pain,
other therapists' notes, API tokens and session keys, one yes/no answer at a time)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_checkin, make_link, make_member, make_nudge, make_therapist

pytestmark = pytest.mark.django_db

CLIENTS = "/admin/progress/client/"
PROBES = [
    "latest_pain__gte=7",
    "done_7d__gte=1",
    "expected_7d__gte=1",
    "last_checkin_at__isnull=False",
    "adherence_7d__lt=0.5",
    "recent_nudges__status=done",
    "recent_nudges__member__checkins__note__icontains=secret",
    "recent_nudges__member__therapist_notes__text__icontains=x",
    "recent_nudges__member__auth_token__key__startswith=a",
    "member__checkins__pain__gte=7",
    "member__password__startswith=pbkdf2",
    "therapist__login_sessions__session_key__startswith=a",
    "share_checkins=False",
]


@pytest.fixture
def therapist_client(client):
    therapist = make_therapist()
    for pain in (9, 1):
        member = make_member()
        make_checkin(member=member, pain=pain, note="secret")
        make_nudge(member=member, due_at=timezone.now() - timedelta(hours=1), status="done")
        make_link(member=member, therapist=therapist, adherence=False, checkins=False)
    client.force_login(therapist)
    return client


@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize("page", ["", "export.csv"])
def test_a_lookup_in_the_query_string_is_refused(therapist_client, page: str, probe: str) -> None:
    response = therapist_client.get(f"{CLIENTS}{page}?{probe}")

    assert response.status_code == 400, response.content[:300]


def test_the_attention_filter_search_sorting_and_paging_still_work(therapist_client) -> None:
    for query in ("attention=any", "q=example", "o=3", "o=-3", "all=", "p=1"):
        assert therapist_client.get(f"{CLIENTS}?{query}").status_code == 200, query
