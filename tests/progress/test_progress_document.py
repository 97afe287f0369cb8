"""progress_document writes the response itself (not through DRF's serializers, for CPU:
issue 7, benchmark 6); these tests hold it to the shape ProgressSerializer declares, which
is also the OpenAPI schema: every document must validate against the serializer and come
back unchanged when the validated data is serialized again (same keys, same value forms:
ISO dates, DRF's datetimes, rounded floats, nulls where declared)."""

from __future__ import annotations

import copy
import json

import pytest
import time_machine

from apps.progress import figures
from apps.progress.selectors import ADHERENCE, CHECKINS, EVERYTHING, progress_for_member
from apps.progress.serializers import ProgressSerializer, progress_document
from tests.factories import make_checkin, make_member
from tests.progress.test_progress import NOW, at, history

pytestmark = pytest.mark.django_db


def assert_matches_the_serializer(document: dict) -> None:
    json.dumps(document)  # plain JSON values only: no dates or Decimals left for a renderer
    # Written by the serializer, the document is unchanged: no key missing or extra, and
    # no value in another form (DRF passes strings through and converts the rest).
    assert ProgressSerializer(document).data == document
    # And it parses: dates, datetimes, choices and nulls are where the schema says. (An
    # empty pain message is a valid response, but CharField refuses blank input.)
    incoming = copy.deepcopy(document)
    if incoming["pain"] is not None and not incoming["pain"]["message"]:
        incoming["pain"]["message"] = "-"
    parsed = ProgressSerializer(data=incoming)
    assert parsed.is_valid(), parsed.errors
    assert ProgressSerializer(parsed.validated_data).data == incoming


@pytest.mark.parametrize("days", figures.PERIODS)
@pytest.mark.parametrize(
    "include", [EVERYTHING, frozenset({ADHERENCE}), frozenset({CHECKINS})], ids=str
)
def test_the_document_is_what_the_serializer_would_write(days: int, include: frozenset) -> None:
    member = make_member()
    history(member, days=40)
    for offset in range(15):  # a pain episode: episode_start and the message are set
        make_checkin(member=member, pain=5, recorded_at=at(offset, hour=21))

    with time_machine.travel(NOW, tick=False):
        progress = progress_for_member(member=member, now=NOW, days=days, include=include)
    document = progress_document(progress)

    assert_matches_the_serializer(document)
    assert (document["adherence"] is None) == (ADHERENCE not in include)
    assert (document["pain"] is None) == (CHECKINS not in include)
    if CHECKINS in include:
        assert document["pain"]["latest_at"] == "2026-11-24T09:00:00Z"
        assert document["pain"]["persistent"] is True
        assert document["last_activity_at"] is not None
    if ADHERENCE in include:
        assert len(document["adherence"]["overall"]["daily"]) == days
        assert "current_streak" not in document["adherence"]["overall"]


def test_hidden_streaks_and_a_member_without_data_match_the_serializer_too() -> None:
    quiet = make_member()
    hidden = make_member()
    history(hidden, days=10)
    hidden.profile.show_streaks = False
    hidden.profile.save(update_fields=["show_streaks"])

    for member in (quiet, hidden):
        with time_machine.travel(NOW, tick=False):
            document = progress_document(progress_for_member(member=member, now=NOW))
        assert_matches_the_serializer(document)
    assert document["adherence"]["kinds"]["hydration"]["current_streak"] is None


def test_tally_add_covers_every_field() -> None:
    """Tally.add names its fields one by one (for speed): a field added later must be too."""
    names = list(figures.Tally.__dataclass_fields__)
    total = figures.Tally(**{name: 1 for name in names})
    total.add(figures.Tally(**{name: 10 * (index + 1) for index, name in enumerate(names)}))

    assert [getattr(total, name) for name in names] == [
        1 + 10 * (index + 1) for index in range(len(names))
    ]
