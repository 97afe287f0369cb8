"""The database helpers the dispatcher's set-based statements rely on (apps/core/db.py):
the `any_of` lookup and the server-side binding cursor, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.db import server_bound_cursor
from apps.reminders.models import Schedule
from tests.factories import make_member

pytestmark = pytest.mark.django_db


def test_any_of_selects_exactly_the_rows_whose_column_is_in_the_set() -> None:
    # given three members with their default schedules
    first, second, third = make_member(), make_member(), make_member()

    # when filtering on a foreign key, a primary key and a text column
    by_member = Schedule.objects.filter(member_id__any_of={first.pk, third.pk})
    some_ids = set(Schedule.objects.filter(member=second).values_list("pk", flat=True)[:2])
    by_id = Schedule.objects.filter(pk__any_of=some_ids)
    by_kind = Schedule.objects.filter(member=first, kind__any_of={"stretch", "hydration"})

    # then each answers what `__in` answers
    assert set(by_member) == set(Schedule.objects.filter(member_id__in=[first.pk, third.pk]))
    assert {schedule.member_id for schedule in by_member} == {first.pk, third.pk}
    assert set(by_id.values_list("pk", flat=True)) == some_ids
    assert sorted(by_kind.values_list("kind", flat=True)) == ["hydration", "stretch"]


def test_any_of_an_empty_set_matches_nothing() -> None:
    make_member()

    assert not Schedule.objects.filter(member_id__any_of=set()).exists()
    assert Schedule.objects.exclude(member_id__any_of=set()).count() == Schedule.objects.count()


@pytest.mark.postgresql
def test_any_of_sends_one_array_whatever_the_number_of_ids() -> None:
    member = make_member()
    ids = set(range(1_000_000, 1_000_500)) | {member.pk}

    with CaptureQueriesContext(connection) as queries:
        found = list(Schedule.objects.filter(member_id__any_of=ids).values_list("member_id"))

    sql = queries.captured_queries[-1]["sql"]
    assert '"member_id" = ANY(' in sql
    assert "::bigint[])" in sql
    assert " IN (" not in sql
    assert found
    assert {member_id for (member_id,) in found} == {member.pk}


@pytest.mark.postgresql
def test_a_server_bound_cursor_round_trips_arrays_and_leaves_client_binding_in_place() -> None:
    moment = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)

    with CaptureQueriesContext(connection) as queries, server_bound_cursor() as cursor:
        cursor.execute(
            "SELECT %b::timestamptz[], %b::varchar[], %b::bigint[]",
            [[moment, None], ["stretch", ""], [2**40, None]],
        )
        row = cursor.fetchone()

    # then the values come back as they went, microseconds and NULLs included
    assert row == ([moment, None], ["stretch", ""], [2**40, None])
    # and the statement is in Django's query log like any other
    assert any(
        "%b" not in q["sql"] and "timestamptz[]" in q["sql"] for q in queries.captured_queries
    )
    # and the connection's other cursors still bind client-side (the project's default)
    with connection.cursor() as plain:
        assert type(plain.cursor).__name__ == "Cursor"
        plain.execute("SELECT %s", ["client-side"])
        assert plain.fetchone() == ("client-side",)


@pytest.mark.postgresql
def test_the_client_binding_comes_back_when_the_statement_fails() -> None:
    with pytest.raises(Exception, match="integer"), server_bound_cursor() as cursor:
        cursor.execute("SELECT %b::int[]", [["not a number"]])

    assert type(connection.connection.cursor()).__name__ == "Cursor"
