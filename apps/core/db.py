"""Database expressions the ORM lacks, written for both PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models import DateField, Func


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
