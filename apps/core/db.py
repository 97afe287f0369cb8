"""Database expressions the ORM lacks, written for both PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import NotSupportedError, connection
from django.db.backends.utils import CursorWrapper
from django.db.models import DateField, Field, ForeignObject, Func, Lookup


class LocalDate(Func):
    """The calendar date of a UTC timestamp in the IANA zone held by another column.

    Django's TruncDate takes one zone for the whole query; this reads each row's own
    (a member's profile), so one GROUP BY gives every member's local days at once.

    `days_before`: that many days earlier (for "the local day a week ago").
    """

    arity = 2
    output_field = DateField()

    def __init__(self, moment: Any, zone: Any, *, days_before: int = 0) -> None:
        super().__init__(moment, zone)
        self.days_before = int(days_before)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        raise NotSupportedError("LocalDate is written for PostgreSQL and SQLite only.")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # timestamptz AT TIME ZONE 'Europe/London' is the local wall-clock timestamp;
        # date - integer is a date.
        return super().as_sql(
            compiler,
            connection,
            template=f"(((%(expressions)s)::date) - {self.days_before})",
            arg_joiner=" AT TIME ZONE ",
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django registers this function on every SQLite connection (TruncDate uses it);
        # it converts per row, so the zone may come from a column. Timestamps are UTC.
        # It returns 'YYYY-MM-DD', which date() shifts and which compares as text.
        return super().as_sql(
            compiler,
            connection,
            function="django_datetime_cast_date",
            template=f"date(%(function)s(%(expressions)s, 'UTC'), '-{self.days_before} days')",
        )


@contextmanager
def server_bound_cursor() -> Iterator[CursorWrapper]:
    """A cursor (PostgreSQL only) whose parameters travel apart from the SQL, in psycopg's
    binary format where it has one.

    Django's psycopg 3 cursor binds client-side: it quotes every value into the SQL text.
    For the dispatcher's set-based statements (one array parameter per column, 500 rows a
    batch) that was the largest single cost: quoting an array of 500 timestamps takes
    ~2.1 ms of Python, 500 ints ~0.3 ms; in binary each takes ~0.13 ms (measured with
    psycopg 3.3). Write array placeholders as `%b` (binary: psycopg's automatic `%s`
    still sends arrays as text) and state their types (`%b::timestamptz[]`).
    Statements still go through Django's execute wrappers and query log; the project
    keeps client-side binding everywhere else (the ORM's SQL is not always valid with
    server-side parameters, Django ticket #20516)."""
    if connection.vendor != "postgresql":
        raise NotSupportedError("server_bound_cursor() is for PostgreSQL only.")
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw = connection.connection
    client_binding = raw.cursor_factory
    raw.cursor_factory = ServerBindingCursor  # what Django's create_cursor() instantiates
    try:
        cursor = connection.cursor()
    finally:
        raw.cursor_factory = client_binding
    with cursor:
        yield cursor


class AnyOf(Lookup):
    """`member_id__any_of=ids`: on PostgreSQL `= ANY(%s)` with the ids as ONE array
    parameter; elsewhere the plain `IN (...)`.

    `__in` builds, quotes and sends one placeholder per value: for the dispatcher's
    500-member batches (three such filters per batch) that was ~6 us per id of Python,
    against ~0.6 us per id as one array (measured, psycopg 3.3). The values must be of
    the column's type already (no per-value preparation: that is the point). Pass a set:
    Django resolves a list's or tuple's items one by one as possible expressions."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            # The column's own type: psycopg would otherwise pick int2[] for small ids.
            column_type = self.lhs.output_field.db_type(connection)
            return f"{lhs} = ANY(%s::{column_type}[])", [*lhs_params, values]
        if not values:
            return "0 = 1", list(lhs_params)  # IN () is not SQL
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


# Foreign keys look their lookups up only from ForeignObject down, not from Field.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
