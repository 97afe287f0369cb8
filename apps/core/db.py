"""Database expressions the ORM lacks, written for both PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models import DateField, Func


class LocalDate(Func):
    """The calendar date of a UTC timestamp in the IANA zone held by another column.

    Django's TruncDate takes one zone for the whole query; this reads each row's own
    (a member's profile), so one GROUP BY gives every member's local days at once.
    """

    arity = 2
    output_field = DateField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        raise NotSupportedError("LocalDate is written for PostgreSQL and SQLite only.")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # timestamptz AT TIME ZONE 'Europe/London' is the local wall-clock timestamp.
        return super().as_sql(
            compiler, connection, template="((%(expressions)s)::date)", arg_joiner=" AT TIME ZONE "
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django registers this function on every SQLite connection (TruncDate uses it);
        # it converts per row, so the zone may come from a column. Timestamps are UTC.
        return super().as_sql(
            compiler,
            connection,
            function="django_datetime_cast_date",
            template="%(function)s(%(expressions)s, 'UTC')",
        )
