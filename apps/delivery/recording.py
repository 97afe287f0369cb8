"""Recording a member's delivery: its attempts and its nudges' new state, in one write.

Split from services.py (which decides what to send and what a result means): this module
knows how the record reaches the database, retried while the database is unreachable
(`recorded`) and, within a batch on PostgreSQL, overlapped with the next member's send
(`writes_overlapped`).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import ClientCursor, generators, pq
from psycopg.errors import error_from_result

from apps.delivery.models import DeliveryAttempt
from apps.reminders.models import Nudge

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def delivery_record(
    attempts: list[DeliveryAttempt],
    updates: list[tuple[list[int], dict[str, object]]],
    *,
    token: uuid.UUID,
) -> None:
    """Insert the attempts and apply each (ids, fields) to the nudges still carrying our
    claim token, all or nothing, before the next member's messages go out (a worker killed
    later must not send these again).

    On PostgreSQL in one round trip: the INSERT and the UPDATEs (written by _attempts_insert
    and _claimed_update) go as one multi-statement query, which the server runs as one
    transaction. As ORM calls (bulk_create's BEGIN, INSERT, COMMIT, then an UPDATE) it was
    four round trips per member, ~4 ms each on the loaded bench machine: the largest cost
    of a delivery.
    """
    updates = [(ids, fields) for ids, fields in updates if ids]
    database = connections[DEFAULT_DB_ALIAS]  # not the proxy: ~5 us a lookup, ~15 a member
    if database.vendor != "postgresql":
        claimed = Nudge.objects.filter(claim_token=token)
        with transaction.atomic():
            DeliveryAttempt.objects.bulk_create(attempts)
            for ids, fields in updates:
                claimed.filter(pk__in=ids).update(**fields)
        return
    statements = _attempts_insert(attempts, database) + [
        _claimed_update(ids, fields, token=token, database=database) for ids, fields in updates
    ]
    if not statements:
        return
    text = "; ".join(text for text, _ in statements)
    values = [value for _, values in statements for value in values]
    if _overlapped.active:
        _write_send(text, values, database)
        return
    # Client-side binding (Django's default with psycopg 3) allows several statements in
    # one execute; without an explicit BEGIN the server runs them as one transaction.
    with database.cursor() as cursor:
        cursor.execute(text, values)


# --- A member's write overlapped with the next member's send (PostgreSQL) ---------------------
# Within a batch, a member's write (delivery_record) is sent to PostgreSQL and the worker goes on to
# the next member's messages while the server runs and commits it; its answer is read
# before the next write is sent, before any other query on the connection (an execute
# wrapper), and at the end of the batch. The write's bytes are on the server's socket
# before the next member's send starts, and the server runs a query it has received even if
# the client is killed meanwhile: a worker killed mid-batch loses no more than before (the
# one member whose send was under way). A write whose answer says the database was
# unreachable is sent again, as recorded() does, before anything else happens. A write that
# fails for another reason (a member erased meanwhile: the attempt's nudge is gone) raises
# when its answer is read, which is after the next member's send: the task fails, and that
# next member, sent but not recorded, is sent once more after the sweep's reclaim wait.
# (Written synchronously, the same failure stopped the batch before the next send.)
# Measured in-process (bench 5's data, 1,000 deliveries in batches of 50, one process,
# PostgreSQL on loopback, two runs each): the worker waited ~1 ms per member for the commit
# (fsync) with nothing else to do; overlapped, wall time per delivery 5.4 and 5.5 -> 4.2 and
# 3.5 ms, for the same CPU (within the runs' noise).
class _Overlapped(threading.local):
    active = False
    pending: tuple[str, list[object]] | None = None  # (text, values) sent, answer unread


_overlapped = _Overlapped()


@contextmanager
def writes_overlapped() -> Iterator[None]:
    """Within this block, _record sends its write and returns; every write is answered
    (and retried while the database is unreachable) by the end of the block."""
    if connection.vendor != "postgresql" or _overlapped.active:
        yield
        return

    def answered_first(execute: Callable[..., _T], *args: object) -> _T:
        _write_answered()  # one query at a time on a connection
        return execute(*args)

    _overlapped.active = True
    try:
        with connection.execute_wrapper(answered_first):
            yield
    finally:
        _overlapped.active = False
        _write_answered()


def _write_send(text: str, values: list[object], database: BaseDatabaseWrapper) -> None:
    """Send this write without waiting for its answer (after reading the previous one)."""
    _write_answered()
    database.ensure_connection()
    raw = database.connection
    with database.wrap_database_errors, raw.lock:
        query = ClientCursor(raw).mogrify(text, values).encode(raw.info.encoding)
        raw.pgconn.send_query(query)
        raw.wait(generators.send(raw.pgconn))  # every byte out before the next send
    _overlapped.pending = (text, values)
    if database.queries_logged:  # DEBUG, or a test counting queries: it is one
        database.queries_log.append({"sql": query.decode(raw.info.encoding), "time": "0.000"})


def _write_answered() -> None:
    """Read the answer of the write in flight, if any; if the database was unreachable,
    write it again (synchronously, retried as recorded() does)."""
    pending, _overlapped.pending = _overlapped.pending, None
    if pending is None:
        return
    raw = connection.connection
    try:
        if raw is None:  # closed meanwhile: the answer is lost with it
            raise OperationalError("connection closed before the write was answered")
        with connection.wrap_database_errors, raw.lock:
            results = raw.wait(generators.fetch_many(raw.pgconn))
            failed = [r for r in results if r.status == pq.ExecStatus.FATAL_ERROR]
            if failed:
                raise error_from_result(failed[0], encoding=raw.info.encoding)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise
        logger.warning("database unreachable while recording a delivery; retrying")
        with suppress(DatabaseError):
            connection.close()  # a broken connection is never reused
        text, values = pending

        def again() -> None:
            with connection.cursor() as cursor:
                cursor.execute(text, values)

        recorded(again)


# The SQL of _record written here rather than compiled by the ORM per member (InsertQuery,
# then filter().query.chain(UpdateQuery) per update): compiling cost 247 us of CPU per
# member, this 33 us (1,000 members, PostgreSQL, in-process), for the same statements:
# the ORM's column list, and each value prepared by its field as the ORM prepares it.
# Table and column names come from the models' metadata, quoted; every value is bound.
def _attempts_insert(
    attempts: list[DeliveryAttempt], database: BaseDatabaseWrapper
) -> list[tuple[str, list[object]]]:
    """`INSERT INTO delivery_deliveryattempt (...) VALUES (...), ...` for these attempts."""
    if not attempts:
        return []
    fields = _ATTEMPT_FIELDS
    quote = database.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = [
        # pre_save gives auto_now_add its time (and sets it on the instance), as bulk_create.
        field.get_db_prep_save(field.pre_save(attempt, True), connection=database)
        for attempt in attempts
        for field in fields
    ]
    table = quote(DeliveryAttempt._meta.db_table)
    rows = ", ".join([row] * len(attempts))
    return [(f"INSERT INTO {table} ({columns}) VALUES {rows}", values)]  # noqa: S608


def _claimed_update(
    ids: list[int], fields: dict[str, object], *, token: uuid.UUID, database: BaseDatabaseWrapper
) -> tuple[str, list[object]]:
    """`UPDATE reminders_nudge SET ... WHERE claim_token = token AND id IN ids`."""
    quote = database.ops.quote_name
    meta = Nudge._meta
    assignments, values = [], []
    for name, value in fields.items():
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")  # type: ignore[union-attr]
        values.append(field.get_db_prep_save(value, connection=database))  # type: ignore[union-attr]
    token_field, pk = meta.get_field("claim_token"), meta.pk
    values.append(token_field.get_db_prep_save(token, connection=database))  # type: ignore[union-attr]
    values.extend(ids)
    text = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "  # noqa: S608
        f"WHERE {quote(token_field.column)} = %s "  # type: ignore[union-attr]
        f"AND {quote(pk.column)} IN ({', '.join(['%s'] * len(ids))})"  # type: ignore[union-attr]
    )
    return text, values


_ATTEMPT_FIELDS = [
    field for field in DeliveryAttempt._meta.concrete_fields if not field.primary_key
]


# A database that drops out just after a message went out must not make the worker forget
# it: the nudge would stay `sending`, the sweep would reclaim it and send it a second time
# (fault test 3, PostgreSQL unreachable for 30 s). The worker keeps trying to record what
# it sent for this long (seconds), well within the sweep's reclaim wait (5 minutes).
RECORD_PATIENCE = 120


def recorded(write: Callable[[], _T]) -> _T:
    """`write()` (the rows saying what was just sent), retried while the database is
    unreachable, for at most RECORD_PATIENCE seconds; inside a caller's transaction it is
    not retried (the transaction is lost anyway)."""
    deadline = time.monotonic() + RECORD_PATIENCE
    pause = 0.5
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            logger.warning("database unreachable while recording a delivery; retrying")
            with suppress(DatabaseError):
                connection.close()  # a broken connection is never reused
            time.sleep(pause)
            pause = min(pause * 2, 5)
