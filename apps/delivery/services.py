"""Delivering nudges: claim, send on each channel, record every attempt, decide retries.

Guarantees:
- A nudge is claimed with a conditional update (pending -> sending, with a fresh token),
  so two workers, or a redelivered task, never send it twice once it is `sent`.
- No database transaction is open while a transport talks to the network. (On PostgreSQL
  the previous member's write may still be running on the server meanwhile: sent whole, it
  commits without waiting for the worker; see _writes_overlapped.)
- A channel that already has a `sent` attempt for these nudges is not sent again when a
  transient failure on another channel makes the task retry.
- Transient failures retry with exponential backoff and jitter, at most MAX_TRIES times;
  a permanent failure (5xx SMTP, push 404/410) stops that channel at once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from django.conf import settings
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
from django.db.models import F, Q
from django.utils import timezone
from psycopg import ClientCursor, generators, pq
from psycopg.errors import error_from_result

from apps.delivery import transports
from apps.delivery.content import Message, compose
from apps.delivery.models import DeliveryAttempt
from apps.delivery.transports import TRANSPORTS, SendResult
from apps.reminders.dispatch import RECLAIM_AFTER
from apps.reminders.models import Nudge, NudgeStatus

logger = logging.getLogger(__name__)

# Batching (worker.tasks.deliver_nudge_batch: up to 50 members per Celery message). Measured
# with bench 5 at BENCH_SCALE=0.1 (2,000 members, half email, half push, a prefork worker of
# 2 processes, PostgreSQL and Redis on loopback, the 2-core machine shared and loaded):
#   before, one task per member: 12.8 ms of worker CPU per delivery; per member 6 queries
#   and 2 commits, a new SMTP connection per email, a new HTTP session per push, the VAPID
#   key parsed and a token signed per push; publishing 2,000 tasks took 6.6 s;
#   after: 4.3 ms of worker CPU per delivery (3x less); per batch one claim UPDATE and one
#   SELECT (+ one for the push subscriptions), per member one round trip (_record); one
#   SMTP connection and one keep-alive session per batch; 40 messages to publish, not 2,000.
# The per-member write is kept (not one write per batch, which would save ~1 round trip a
# member) so that a worker killed mid-batch has recorded everything it sent: the sweep then
# re-sends nothing (tests/reliability/test_worker_killed.py).
_T = TypeVar("_T")

MAX_TRIES = 5
# Seconds: 30 s, 60 s, 120 s, 240 s ... capped at 5 minutes (no long ETAs in the broker).
BACKOFF_BASE = 30
BACKOFF_CAP = 300


@dataclass(frozen=True)
class DeliveryOutcome:
    delivered: int = 0
    retry_in: float | None = None  # seconds until the task should run again
    released: bool = False  # handed back unsent (the batch ran out of time): enqueue again


def nudges_deliver(*, nudge_ids: list[int], now: datetime | None = None) -> DeliveryOutcome:
    """Send these nudges of one member as one message on each of their channels."""
    return nudge_groups_deliver(groups=[nudge_ids], now=now)[0]


def nudge_groups_deliver(
    *, groups: list[list[int]], now: datetime | None = None
) -> list[DeliveryOutcome]:
    """Deliver several members' nudges (one group of ids per member), one group after the
    other, with the guarantees above for each group; one outcome per group, in order.

    A batch that has run for longer than half the outbox sweep's reclaim wait hands its
    remaining groups back unsent (`released`): the sweep would otherwise take their
    claims while this worker is still coming to them, and both would send.
    """
    now = now or timezone.now()
    outcomes = [DeliveryOutcome() for _ in groups]
    token = uuid.uuid4()
    claimed = Nudge.objects.filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now),
        pk__in=[nudge_id for nudge_ids in groups for nudge_id in nudge_ids],
        status=NudgeStatus.PENDING,
    ).update(
        status=NudgeStatus.SENDING,
        claim_token=token,
        claimed_at=now,
        delivery_tries=F("delivery_tries") + 1,
    )
    if not claimed:
        return outcomes
    nudges = {
        nudge.pk: nudge
        for nudge in Nudge.objects.filter(claim_token=token, status=NudgeStatus.SENDING)
        .select_related("member__profile", "schedule")
        .only(*_CLAIMED_FIELDS)
    }
    done = _channels_done(list(nudges.values()))
    mine = [
        sorted((nudges[i] for i in nudge_ids if i in nudges), key=lambda n: (n.due_at, n.pk))
        for nudge_ids in groups
    ]
    started = time.monotonic()
    budget = _batch_time_budget()
    member_ids = [group[0].member_id for group in mine if group]
    with transports.connections_shared(member_ids=member_ids), _writes_overlapped():
        for index, group in enumerate(mine):
            if not group:
                continue
            if index and time.monotonic() - started > budget:
                _release(mine[index:], token=token)
                for later in range(index, len(groups)):
                    outcomes[later] = DeliveryOutcome(released=bool(mine[later]))
                break
            outcomes[index] = _deliver_group(group, done, token=token, now=now)
    return outcomes


# What delivering reads of a claimed nudge, its member, profile and schedule (a field left out
# would cost a query per member when read; tests/delivery/test_batch_delivery.py counts them):
# the 50-row SELECT of a batch 4.1 -> 2.2 ms of CPU against every column of the four tables
# (in-process, best of 7 rounds of 100; medians 4.8 -> 2.6 ms).
_CLAIMED_FIELDS = (
    "kind", "due_at", "snooze_count", "snoozed_until", "delivery_tries",
    "member__email", "member__display_name", "member__profile__channels", "schedule__channels",
)  # fmt: skip


def _deliver_group(
    nudges: list[Nudge], done: dict[int, set[str]], *, token: uuid.UUID, now: datetime
) -> DeliveryOutcome:
    """One member's claimed nudges: each channel sends one message, then the attempts and
    the nudges' state are written before the next member's messages go out."""
    member = nudges[0].member
    results: dict[str, SendResult] = {}
    attempts: list[DeliveryAttempt] = []
    messages: dict[tuple[int, ...], Message] = {}
    for channel in channels_for(nudges):
        # Per nudge: a bundle may join a nudge that was sent already with a new one.
        needing = [nudge for nudge in nudges if channel not in done[nudge.pk]]
        if not needing:
            continue
        key = tuple(nudge.pk for nudge in needing)
        if key not in messages:  # composed once for every channel that sends the same nudges
            messages[key] = compose(needing)
        result = _send_safely(channel, member, messages[key])
        results[channel] = result
        attempts.extend(
            DeliveryAttempt(
                nudge=nudge, channel=channel, outcome=result.outcome, error=result.error
            )
            for nudge in needing
        )
        if result.outcome == "sent":
            for nudge in needing:
                done[nudge.pk].add(channel)
    # A Retry-After counts from the far side's answer, not from the batch's claim: members
    # later in a batch are answered seconds after `now` (fault test 8 saw a retry 2.4 s
    # before a 45 s Retry-After had passed).
    answered_at = max(now, timezone.now())
    # One write for the attempts and the nudges' state (see _record), retried while the
    # database is unreachable (see _recorded).
    return _recorded(
        partial(
            _settle, nudges, results, done, token=token, now=now, attempts=attempts,
            answered_at=answered_at,
        )
    )  # fmt: skip


def _release(groups: list[list[Nudge]], *, token: uuid.UUID) -> None:
    """Hand claimed, unsent nudges back as they were (pending, the try not counted)."""
    ids = [nudge.pk for group in groups for nudge in group]
    Nudge.objects.filter(pk__in=ids, claim_token=token, status=NudgeStatus.SENDING).update(
        status=NudgeStatus.PENDING,
        claim_token=None,
        claimed_at=None,
        delivery_tries=F("delivery_tries") - 1,
    )


def _batch_time_budget() -> float:
    """Seconds a batch may run before it hands its remaining groups back: half the wait
    after which the outbox sweep takes back a claim (settings may shorten it in tests)."""
    reclaim_after = getattr(settings, "DISPATCH_RECLAIM_AFTER", RECLAIM_AFTER)
    return reclaim_after.total_seconds() / 2


def _channels_done(nudges: list[Nudge]) -> dict[int, set[str]]:
    """Per nudge, the channels that already delivered it in this round: since its snooze
    ended (a snoozed nudge is sent again), else ever."""
    done: dict[int, set[str]] = {nudge.pk: set() for nudge in nudges}
    # Only a claimant writes attempts, and every claim counts a try: a nudge on its first
    # try has none, and a batch of first tries (the usual case) costs no query here.
    tried_before = [nudge for nudge in nudges if nudge.delivery_tries > 1]
    if not tried_before:
        return done
    rounds = {nudge.pk: nudge.snoozed_until for nudge in nudges}
    for nudge_id, channel, attempted_at in DeliveryAttempt.objects.filter(
        nudge__in=tried_before, outcome=DeliveryAttempt.Outcome.SENT
    ).values_list("nudge_id", "channel", "attempted_at"):
        started = rounds[nudge_id]
        if started is None or attempted_at >= started:
            done[nudge_id].add(channel)
    return done


def _send_safely(channel: str, member: object, message: object) -> SendResult:
    """A transport that raises is a transient failure of that channel, recorded and
    retried, never a nudge stuck half-sent."""
    transport = TRANSPORTS.get(channel)
    if transport is None:
        return SendResult.skipped(f"no transport for channel {channel!r}")
    try:
        return transport.send(member=member, message=message)  # type: ignore[arg-type]
    except Exception as error:  # any bug or library error in one channel
        # The type only: an exception's text may hold an address.
        logger.warning("transport %s raised %s", channel, type(error).__name__)
        return SendResult.failed(f"{type(error).__name__}: {error}")


def channels_for(nudges: list[Nudge]) -> list[str]:
    """The schedule's own channels if it names any, else the member's preferred ones."""
    channels: list[str] = []
    for nudge in nudges:
        chosen = (
            nudge.schedule.channels if nudge.schedule else None
        ) or nudge.member.profile.channels
        channels.extend(channel for channel in chosen if channel not in channels)
    return channels


def _settle(
    nudges: list[Nudge],
    results: dict[str, SendResult],
    done: dict[int, set[str]],
    *,
    token: uuid.UUID,
    now: datetime,
    attempts: list[DeliveryAttempt] | None = None,
    answered_at: datetime | None = None,
) -> DeliveryOutcome:
    """Finish this claim: record the attempts and the nudges' new state. Only rows still
    carrying our claim token are touched: if the sweep reclaimed a slow send and another
    worker holds it now, we leave it alone."""
    reached = [nudge.pk for nudge in nudges if done[nudge.pk]]
    unreached = [nudge.pk for nudge in nudges if not done[nudge.pk]]
    transient = [r for r in results.values() if r.outcome == "failed"]
    tries = max(nudge.delivery_tries for nudge in nudges)
    if transient and tries < MAX_TRIES:
        delay = _backoff(tries, asked=max((r.retry_after or 0) for r in transient))
        retry = {"status": NudgeStatus.PENDING, "claim_token": None}
        retry["retry_at"] = (answered_at or now) + timedelta(seconds=delay)
        _record(
            attempts or [], [(reached, {**retry, "sent_at": now}), (unreached, retry)], token=token
        )
        # The broker holds at most a 5-minute countdown; a longer Retry-After is kept
        # in retry_at, which the claim and the outbox sweep honour.
        return DeliveryOutcome(retry_in=min(delay, BACKOFF_CAP))
    sent = {"status": NudgeStatus.SENT, "sent_at": now, "retry_at": None, "claim_token": None}
    failed = {"status": NudgeStatus.FAILED, "retry_at": None, "claim_token": None}
    _record(attempts or [], [(reached, sent), (unreached, failed)], token=token)
    if unreached:
        logger.warning("nudges %s failed on every channel", unreached)
    return DeliveryOutcome(delivered=len(reached))


def _record(
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
# Within a batch, a member's write (_record) is sent to PostgreSQL and the worker goes on to
# the next member's messages while the server runs and commits it; its answer is read
# before the next write is sent, before any other query on the connection (an execute
# wrapper), and at the end of the batch. The write's bytes are on the server's socket
# before the next member's send starts, and the server runs a query it has received even if
# the client is killed meanwhile: a worker killed mid-batch loses no more than before (the
# one member whose send was under way). A write whose answer says the database was
# unreachable is sent again, as _recorded does, before anything else happens.
# Measured in-process (bench 5's data, 1,000 deliveries in batches of 50, one process,
# PostgreSQL on loopback, two runs each): the worker waited ~1 ms per member for the commit
# (fsync) with nothing else to do; overlapped, wall time per delivery 5.4 and 5.5 -> 4.2 and
# 3.5 ms, for the same CPU (within the runs' noise).
class _Overlapped(threading.local):
    active = False
    pending: tuple[str, list[object]] | None = None  # (text, values) sent, answer unread


_overlapped = _Overlapped()


@contextmanager
def _writes_overlapped() -> Iterator[None]:
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
    write it again (synchronously, retried as _recorded does)."""
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

        _recorded(again)


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


def _backoff(tries: int, *, asked: float) -> float:
    """Exponential backoff with full jitter, never sooner than the far side asked."""
    # A setting only so the fault tests (a real worker, a real clock) can shorten it.
    base = getattr(settings, "DELIVERY_BACKOFF_BASE", BACKOFF_BASE)
    ceiling = min(BACKOFF_CAP, base * 2 ** (tries - 1))
    return max(asked, random.uniform(ceiling / 2, ceiling))  # noqa: S311 - not security


# A database that drops out just after a message went out must not make the worker forget
# it: the nudge would stay `sending`, the sweep would reclaim it and send it a second time
# (fault test 3, PostgreSQL unreachable for 30 s). The worker keeps trying to record what
# it sent for this long (seconds), well within the sweep's reclaim wait (5 minutes).
RECORD_PATIENCE = 120


def _recorded(write: Callable[[], _T]) -> _T:
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
