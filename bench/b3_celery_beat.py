"""Benchmark 3 of issue 7: the same 10,000 members, all due in one minute, under the usual
design (one django-celery-beat PeriodicTask per member, run by its DatabaseScheduler) and
under this project's dispatcher (our beat + a worker running the dispatch task), one
after the other on the same PostgreSQL and Redis.

For each: the time from the due minute until the last message is in Redis, and the CPU
seconds of the processes involved (and of their PostgreSQL backends), over that window
and including their start-up. The settings are bench/settings_celery_beat.py: what both
designs enqueue waits in queues nobody consumes, so it is counted as it arrives.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench._processes import (
    Started,
    backends_cpu_between,
    celery_start,
    database_backends_cpu,
    profile_shares,
    sleep_until,
    wait_for_output,
)
from bench.common import (
    RESULTS_DIR,
    ROOT,
    Result,
    bench_environment,
    flush_redis,
    nudge_ids_in_redis,
    reset_database,
    run_main,
    setup_django,
)

MODULE = "b3_celery_beat"
SETTINGS = "bench.settings_celery_beat"
MEMBERS = 10_000
TARGET_SPEED_UP = 50.0
# django-celery-beat is given long enough to show the 50x if it is there: 55 times our
# time, at least 85 s, at most 240 s (the module must stay under ~6 minutes). If it has
# not enqueued all by then, its time and CPU are lower bounds. At ~5-8 messages/s it
# would need 20 to 30 minutes for 10,000 on this machine.
GIVE_UP_MIN, GIVE_UP_MAX, GIVE_UP_TIMES_OURS = 85.0, 240.0, 55.0
# Ours runs first (its time sets the give-up above); theirs falls due this long after, so
# its beat starts once ours has stopped and the two never compete for the 2 cores.
THEIRS_DUE_AFTER = timedelta(minutes=2)
# Our dispatcher: the tick enqueues in batches of 500 members; "done" is every nudge
# handed over (the database says so) and the queue length unchanged this long.
SETTLED_AFTER = 2.0
OUR_DEADLINE = 60.0
# At least this many seconds between the start of the processes and the due minute (they
# start as soon as their data is ready, so usually more): start-up (Django, the worker's
# pool; django-celery-beat reading 10,000 entries twice) took 7 to 25 s under load, and
# a beat in production is already running when a reminder falls due.
BEAT_LEAD = 25.0
POLL_INTERVAL = 0.01  # LLEN every 10 ms: the resolution of the times below
# PostgreSQL backends are sampled this often: Celery closes a task's database connection
# when the task ends, so a backend's CPU is its last sample before it exits (the error is
# at most this long of one backend's CPU).
BACKEND_SAMPLE_INTERVAL = 0.1
PROFILE_SECONDS = 10  # py-spy on django-celery-beat's beat, from 20 s into its window
COMMAND = (
    "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stressrelief "
    "REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python -m bench b3_celery_beat --no-report"
)


@dataclass
class Run:
    """One design's run: when each message arrived, and what it cost."""

    design: str
    due: float
    expected: int
    arrivals: list[tuple[float, int]] = field(default_factory=list)  # (time, queue length)
    cpu_startup: float = 0.0  # the processes' CPU from their start until the due minute
    cpu_window: float = 0.0  # from the due minute until the last message
    load_average: float = 0.0  # the machine's 1-minute load average at the due minute
    deadline: float = 0.0  # seconds after the due minute it was given
    lead: float = 0.0  # seconds from the processes' start to the due minute
    database_cpu_window: float = 0.0  # their PostgreSQL backends over the same window
    enqueued: int = 0
    finished: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def last_arrival(self) -> float:
        return self.arrivals[-1][0] - self.due if self.arrivals else float("nan")

    @property
    def first_arrival(self) -> float:
        return self.arrivals[0][0] - self.due if self.arrivals else float("nan")

    def count_at(self, seconds: float) -> int:
        reached = [length for moment, length in self.arrivals if moment - self.due <= seconds]
        return reached[-1] if reached else 0

    @property
    def cpu_total(self) -> float:
        return self.cpu_startup + self.cpu_window


def main() -> list[Result]:
    setup_django(MODULE, settings_module=SETTINGS)
    began = time.monotonic()
    reset_database()
    flush_redis()
    from bench.dataset import members_load

    members_load(members=MEMBERS, burst=MEMBERS, due_at=_next_minute(at_least=3600))
    crontab_ids = _periodic_tasks_create()
    our_due = _next_minute(at_least=BEAT_LEAD)
    # Both designs' data are ready before either runs: nothing consumes the dispatch tick
    # until our worker starts, and the broker is emptied in between.
    schedule_file = _dispatcher_prepare(our_due)
    loaded = time.monotonic() - began
    ours = _run_dispatcher(our_due, schedule_file)
    flush_redis()
    their_due = max(our_due + THEIRS_DUE_AFTER, _next_minute(at_least=BEAT_LEAD))
    give_up = min(GIVE_UP_MAX, max(GIVE_UP_MIN, GIVE_UP_TIMES_OURS * ours.last_arrival))
    theirs, profile = _run_django_celery_beat(crontab_ids, their_due, give_up=give_up)
    return _results(theirs=theirs, ours=ours, loaded=loaded, profile=profile)


# --- the usual design ---------------------------------------------------------------------


def _periodic_tasks_create() -> list[int]:
    """One PeriodicTask per member, as the usual code writes it: the member's crontab
    (their local time, in their zone) from CrontabSchedule.get_or_create, so members with
    the same time and zone share a row (4 rows here: 4 zones, one time). Returns the ids
    of the crontab rows, whose time is set to the due minute afterwards."""
    from django.conf import settings
    from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

    from apps.profiles.models import Profile

    crontabs: dict[str, CrontabSchedule] = {}
    tasks = []
    for member_id, zone in Profile.objects.values_list("user_id", "timezone").order_by("user_id"):
        if zone not in crontabs:
            # A placeholder time (03:33); the real one is set once the due minute is known.
            crontabs[zone], _ = CrontabSchedule.objects.get_or_create(
                minute="33", hour="3", day_of_week="*", day_of_month="*", month_of_year="*",
                timezone=ZoneInfo(zone),
            )  # fmt: skip
        tasks.append(
            PeriodicTask(
                name=f"reminder member {member_id}",
                task=settings.REMINDER_TASK,
                args=json.dumps([member_id]),
                crontab=crontabs[zone],
                enabled=True,
            )
        )
    # bulk_create skips the per-row save() signal; the scheduler learns of them below.
    PeriodicTask.objects.bulk_create(tasks, batch_size=2000)
    PeriodicTasks.update_changed()
    return [crontab.pk for crontab in crontabs.values()]


def _crontabs_due_at(crontab_ids: list[int], due: datetime) -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTasks

    for crontab in CrontabSchedule.objects.filter(pk__in=crontab_ids):
        local = due.astimezone(ZoneInfo(str(crontab.timezone)))
        crontab.minute, crontab.hour = str(local.minute), str(local.hour)
        crontab.save(update_fields=["minute", "hour"])
    PeriodicTasks.update_changed()


def _run_django_celery_beat(
    crontab_ids: list[int], due: datetime, *, give_up: float
) -> tuple[Run, list[tuple[float, str]]]:
    from django.conf import settings
    from django.db import connection

    _crontabs_due_at(crontab_ids, due)
    # Every PeriodicTask was written before the due minute: with no last_run_at, its
    # ModelEntry counts from date_changed, so its next run is the due minute.
    run = Run(design="django-celery-beat", due=due.timestamp(), expected=MEMBERS, deadline=give_up)
    beat = celery_start(
        f"{MODULE}-django-celery-beat",
        ["beat", "--loglevel", "INFO", "-S", "django_celery_beat.schedulers:DatabaseScheduler"],
        _environment(),
    )
    run.lead = run.due - beat.started_at
    profile: list[tuple[float, str]] = []

    def sample_profile() -> None:
        sleep_until(run.due + 20)
        profile.extend(profile_shares(beat.process.pid, PROFILE_SECONDS, below="Scheduler.tick"))

    profiler = threading.Thread(target=sample_profile, daemon=True)
    profiler.start()
    try:
        _measure(
            run,
            [beat],
            queue=settings.BEAT_REMINDERS_QUEUE,
            connection=connection,
            finished=lambda length: length >= MEMBERS,
            deadline=give_up,
        )
    finally:
        beat.stop(timeout=10)
    profiler.join(timeout=PROFILE_SECONDS + 30)
    run.enqueued = run.arrivals[-1][1] if run.arrivals else 0
    run.finished = run.enqueued >= MEMBERS
    if not run.finished:
        run.notes.append(
            f"gave up {give_up:.0f} s after the due minute with {run.enqueued:,} of "
            f"{MEMBERS:,} enqueued"
        )
    return run, profile


# --- this project's dispatcher -----------------------------------------------------------------


def _dispatcher_prepare(due: datetime) -> Path:
    """Every member's schedule due at `due`; a fresh beat schedule file (the dispatch tick
    is a crontab on the minute, so a beat started just before `due` ticks at `due`)."""
    from bench.dataset import burst_schedules_due

    burst_schedules_due(burst=MEMBERS, due_at=due)
    schedule_file = ROOT / "var" / "bench" / f"{MODULE}-celerybeat-schedule"
    for stale in schedule_file.parent.glob(schedule_file.name + "*"):
        stale.unlink()
    return schedule_file


def _run_dispatcher(due: datetime, schedule_file: Path) -> Run:
    from django.conf import settings
    from django.db import connection

    from apps.reminders.models import Nudge

    run = Run(design="dispatcher", due=due.timestamp(), expected=MEMBERS)
    # As docker-compose.yml runs them: beat with its default scheduler, a prefork worker
    # of 2 processes on the default queue.
    worker = celery_start(
        f"{MODULE}-worker",
        ["worker", "--loglevel", "INFO", "--concurrency", "2", "-Q", "celery",
         "--hostname", f"{MODULE}@%h"],
        _environment(),
    )  # fmt: skip
    beat = celery_start(
        f"{MODULE}-beat",
        ["beat", "--loglevel", "INFO", "--schedule", str(schedule_file)],
        _environment(),
    )
    run.lead = run.due - worker.started_at
    handed_over = 0

    def finished(length: int) -> bool:
        nonlocal handed_over
        if handed_over < MEMBERS:
            handed_over = Nudge.objects.filter(enqueued_at__isnull=False).count()
        return handed_over >= MEMBERS

    try:
        if not wait_for_output(worker, "ready.", timeout=max(0.0, run.due - time.time())):
            # Counted against us: the lag below then includes the worker's late start.
            run.notes.append("the worker was not ready before the due minute")
        _measure(
            run,
            [beat, worker],
            queue=settings.DELIVERY_QUEUE,
            connection=connection,
            finished=finished,
            deadline=OUR_DEADLINE,
            settle=SETTLED_AFTER,
        )
    finally:
        beat.stop()
        worker.stop()
    ids = nudge_ids_in_redis()
    expected = set(Nudge.objects.values_list("pk", flat=True))
    run.enqueued = len(set(ids) & expected)
    run.finished = run.enqueued == MEMBERS == len(expected)
    if len(ids) != len(set(ids)):
        run.notes.append(f"{len(ids) - len(set(ids))} nudge ids enqueued twice")
    if len(expected) != MEMBERS:
        run.notes.append(f"{len(expected):,} nudges written for {MEMBERS:,} due firings")
    return run


# --- measuring ---------------------------------------------------------------------------


def _measure(
    run: Run,
    processes: list[Started],
    *,
    queue: str,
    connection: object,
    finished: object,
    deadline: float,
    settle: float = 0.0,
) -> None:
    """Poll the queue's length from the due minute until `finished(length)` holds (and the
    length has not moved for `settle` seconds) or `deadline` seconds have passed; record
    every change, and the CPU the processes and their database backends used."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    sleep_until(run.due)
    run.cpu_startup = sum(process.cpu_seconds() for process in processes)
    run.load_average = os.getloadavg()[0]
    backends_before = database_backends_cpu(connection)
    backends_latest = dict(backends_before)
    length, last_check, done_since = 0, 0.0, None
    while (now := time.time()) < run.due + deadline:
        current = client.llen(queue)
        if current != length:
            length = current
            run.arrivals.append((now, current))
            done_since = None
        if now - last_check >= BACKEND_SAMPLE_INTERVAL:
            last_check = now
            backends_latest |= database_backends_cpu(connection)
            if finished(length):  # type: ignore[operator]
                done_since = done_since or now
        if done_since is not None and now - done_since >= settle:
            break
        time.sleep(POLL_INTERVAL)
    cpu_end = sum(process.cpu_seconds() for process in processes)
    backends_latest |= database_backends_cpu(connection)
    run.cpu_window = cpu_end - run.cpu_startup
    run.database_cpu_window = backends_cpu_between(backends_before, backends_latest)
    # The window's CPU is read when polling stops: for ours up to `settle` s after the
    # last message (the processes sleep then), for django-celery-beat at the last one or
    # at the deadline.


def _environment() -> dict[str, str]:
    return bench_environment(MODULE) | {"DJANGO_SETTINGS_MODULE": SETTINGS}


def _next_minute(*, at_least: float) -> datetime:
    moment = datetime.now(UTC) + timedelta(seconds=at_least)
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


# --- results -----------------------------------------------------------------------------


def _results(
    *, theirs: Run, ours: Run, loaded: float, profile: list[tuple[float, str]]
) -> list[Result]:
    """Measured figures: when django-celery-beat does not finish, its time and CPU are
    those until giving up, so both ratios are lower bounds; the projection from its
    measured rate is in the details only."""
    our_time = ours.last_arrival
    their_time = theirs.last_arrival if theirs.finished else theirs.deadline
    speed_up = their_time / our_time
    our_cpu = ours.cpu_window + ours.database_cpu_window
    their_cpu = theirs.cpu_window + theirs.database_cpu_window
    cpu_ratio = their_cpu / our_cpu
    their_rate = theirs.enqueued / their_time  # members a second, over the whole window
    # Both measured: ours over its run, theirs over the window it was given.
    rate_ratio = (MEMBERS / our_time) / their_rate if their_rate else float("inf")
    projection = {
        "their_seconds": MEMBERS / their_rate if their_rate else float("inf"),
        "speed_up": rate_ratio,
        "cpu_ratio": (their_cpu / max(theirs.enqueued, 1)) / (our_cpu / MEMBERS),
    }
    details = _details(
        theirs=theirs, ours=ours, loaded=loaded, speed_up=speed_up, cpu_ratio=cpu_ratio,
        projection=projection, profile=profile,
    )  # fmt: skip
    common = {
        "command": COMMAND,
        "extra": {
            **{
                run.design: {
                    "seconds_to_last": run.last_arrival,
                    "seconds_to_first": run.first_arrival,
                    "enqueued": run.enqueued,
                    "messages": run.arrivals[-1][1] if run.arrivals else 0,
                    "finished": run.finished,
                    "cpu_startup": run.cpu_startup,
                    "cpu_window": run.cpu_window,
                    "database_cpu_window": run.database_cpu_window,
                    "load_average": run.load_average,
                    "notes": run.notes,
                }
                for run in (theirs, ours)
            },
            "lower_bound": not theirs.finished,
            "projection": projection,
            "profile": profile,
        },
    }
    bound = "" if theirs.finished else " (lower bound)"
    return [
        Result(3, f"vs django-celery-beat: time to enqueue 10,000 due, speed-up{bound}",
               speed_up, "x", TARGET_SPEED_UP, higher_is_better=True, vs_celery_beat=speed_up,
               details=details, **common),
        Result(3, f"vs django-celery-beat: CPU to enqueue 10,000 due, ratio{bound}", cpu_ratio,
               "x", TARGET_SPEED_UP, higher_is_better=True, vs_celery_beat=cpu_ratio, **common),
        Result(3, "vs django-celery-beat: members enqueued a second from the due minute, ratio",
               rate_ratio, "x", TARGET_SPEED_UP, higher_is_better=True,
               vs_celery_beat=rate_ratio, **common),
    ]  # fmt: skip


def _details(
    *,
    theirs: Run,
    ours: Run,
    loaded: float,
    speed_up: float,
    cpu_ratio: float,
    projection: dict[str, float],
    profile: list[tuple[float, str]],
) -> str:
    def row(run: Run) -> str:
        shown = f"{run.last_arrival:.2f} s" if run.finished else f"> {run.deadline:.0f} s (gave up)"
        messages = run.arrivals[-1][1] if run.arrivals else 0
        return (
            f"| {run.design} | {run.enqueued:,} | {messages:,} | {run.first_arrival:.2f} s | "
            f"{shown} | {run.count_at(10):,} / {run.count_at(60):,} | {run.cpu_window:.2f} s | "
            f"{run.database_cpu_window:.2f} s | {run.cpu_total:.2f} s | "
            f"{run.load_average:.1f} |"
        )

    half = theirs.deadline / 2
    first_half = theirs.count_at(half)
    second_half = theirs.count_at(theirs.deadline) - first_half
    bound = "" if theirs.finished else ">= "
    notes = [note for run in (theirs, ours) for note in (f"{run.design}: {n}" for n in run.notes)]
    profiled = "\n".join(f"  - {share:.0%} {function}" for share, function in profile)
    profile_text = (
        f"py-spy (non-blocking, {PROFILE_SECONDS} s from 20 s into the window) on its beat, "
        f"share of samples with each function on the stack, under `Scheduler.tick`:\n"
        f"{profiled}"
        if profile
        else "py-spy could not sample the beat process in this run."
    )
    return f"""Method: {MEMBERS:,} members (bench/dataset.py, COPY; {loaded:.0f} s with the
migrations and the PeriodicTask rows), 4 zones, each with one daily reminder due at the
same minute. The two designs run one after the other (ours first, the usual design at
least two minutes later, given 55 times our time, 85 to 240 s) on the same PostgreSQL and
Redis; they never overlap, but the machine's 2
cores are shared with whatever else runs (load average at each due minute below).
Settings: bench/settings_celery_beat.py (the project's, plus django-celery-beat; what each
design enqueues waits in a queue nobody consumes).

- **django-celery-beat** (2.9.0): one `PeriodicTask` per member (task
  `bench.remind_member`, args `[member_id]`), each with the member's crontab (`M H * * *`
  in the member's zone) from `CrontabSchedule.get_or_create`, so members with the same
  time and zone share a crontab row: 4 rows here. `celery -A stressrelief beat -S
  django_celery_beat.schedulers:DatabaseScheduler --loglevel INFO`, started
  {theirs.lead:.0f} s before the due minute. Measured: the length of its queue (LLEN, every
  {POLL_INTERVAL * 1000:.0f} ms) until it holds {MEMBERS:,} messages or
  {theirs.deadline:.0f} s have passed.
- **this dispatcher**: `celery -A stressrelief beat` (default scheduler, worker/schedule.py)
  and `celery -A stressrelief worker --concurrency 2 -Q celery`, as docker-compose.yml runs
  them, both started {ours.lead:.0f} s before the due minute; the worker runs
  `worker.tasks.dispatch_nudges` (claim, write nudges, advance, enqueue deliveries).
  The tick is `crontab(minute="*")` in worker/schedule.py, so a fresh beat ticks on the
  due minute (an earlier version ticked every 60 s from beat's start, up to 59 s late;
  this benchmark found it). Measured: the length of the delivery queue until every
  nudge is handed over (the database says so) and the length has settled; then the nudge
  ids inside the messages are counted and checked against the nudge rows (no duplicate),
  whatever number of members each message carries.

CPU: user + system seconds (psutil) of the beat process and, for ours, of the worker and
its 2 pool processes; "window" is from the due minute until polling stopped (for ours up
to {SETTLED_AFTER:.0f} s of idle after the last message), "with start-up" adds their CPU
from process start to the due minute. "DB" is the PostgreSQL backends serving the bench
database over the window (same machine, read from /proc every
{BACKEND_SAMPLE_INTERVAL:.1f} s). Redis's own CPU is not attributed (a server shared with
other work).

{TABLE_HEAD}
{row(theirs)}
{row(ours)}

Time from the due minute to the last message: **{bound}{speed_up:,.0f}x** faster. CPU
over the window (processes + their database backends): {
        theirs.cpu_window + theirs.database_cpu_window:.2f} s against {
        ours.cpu_window + ours.database_cpu_window:.2f} s, **{bound}{cpu_ratio:,.0f}x**; with
start-up (processes only): {theirs.cpu_total:.2f} s against {ours.cpu_total:.2f} s.
Ours used {ours.cpu_window + ours.database_cpu_window:.2f} CPU-seconds in
{ours.last_arrival:.2f} s: with a load average of {ours.load_average:.0f} on 2 cores, most
of its wall time is waiting for a core; on an idle machine its time would shrink toward
its CPU time, and the speed-up would grow accordingly.
{"Notes: " + "; ".join(notes) + "." if notes else ""}

django-celery-beat sent {first_half:,} messages in the first {half:.0f} s of its window and
{second_half:,} in the second. Sending entries does not make it faster: each tick's cost
is proportional to all the entries loaded, sent or not (below), so a difference between
the halves comes from the machine's varying load. The measured
rates, members enqueued a second from the due minute, differ by
**{projection["speed_up"]:,.0f}x** (the third row at the top). At its rate the 10,000
would take about {projection["their_seconds"]:,.0f} s, and its CPU per member sent is
{projection["cpu_ratio"]:,.0f}x ours: projections, not measurements; the first two rows
at the top are the measured lower bounds, limited by the window it could be given.

{profile_text}

{WHY_SLOW}

{_physical_reference(ours)}
"""


TABLE_HEAD = (
    "| design | members enqueued | messages | first message | last message | "
    "messages by 10 s / 60 s | CPU window | DB CPU window | CPU with start-up | load |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)

WHY_SLOW = """Why django-celery-beat is slow at this scale (read in
`django_celery_beat/schedulers.py` 2.9.0 and `celery/beat.py` 5.x):

1. **One entry per tick.** `Scheduler.tick()` sends one due task per call ("Executes one
   due task per call") and returns 0 to be called again: 10,000 due entries are 10,000
   ticks, each doing all of what follows.
2. **Every tick reads the change marker from the database.** `tick()` evaluates
   `self.schedule`; `DatabaseScheduler.schedule` calls `schedule_changed()` each time:
   `close_old_connections()`, a `transaction.commit()` (for MySQL's repeatable read) and
   `SELECT ... FROM django_celery_beat_periodictasks`: one query per message sent.
3. **Every tick compares the whole schedule.** `tick()` then runs
   `schedules_equal(old_schedulers, self.schedule)`, which walks all 10,000 entries and
   compares task, args, kwargs, options and the crontab (`TzAwareCrontab.__eq__`
   compares five sets and the zone) of each: O(N) per message, O(N^2) per burst
   (10^8 comparisons here), and the profile above shows it is where the time goes. The
   rate therefore falls as the number of entries grows, whether or not they are due.
4. **Per-entry objects and writes.** Sending calls `reserve()` -> `ModelEntry.__next__`,
   which builds a new entry and so a new `TzAwareCrontab` (parsing the five crontab
   fields again), and marks it dirty; `sync()` then saves each dirty entry with a `get()`
   and a full-row `save()` of `PeriodicTask` (2 queries per member, at the first send,
   then every 3 minutes (`Scheduler.sync_every`) and at shutdown): `last_run_at` row by
   row.
5. **Any change reloads everything.** A save of a `PeriodicTask` (an admin edit, a member
   changing their time) bumps `PeriodicTasks.last_update`; the next tick sees it and
   `all_as_schedule()` rebuilds all entries (one ModelEntry and crontab per row) and
   throws the heap away (`_heap = []`), and it also does so every 5 minutes regardless
   (`SCHEDULE_SYNC_MAX_INTERVAL`). At start-up the same full read plus one `is_due()` per
   entry to build the heap.
6. **One message per member.** Each reminder is its own `apply_async` (one Redis round
   trip and an INFO log line), never a batch; and the 5 s `max_interval` of the
   DatabaseScheduler means edits are noticed up to 5 s late.

Its tracker reports the same at larger scale: issue 675 ("Scheduler is slow when
dealing with lots of tasks": 10k crontab tasks, reconfiguration and the entry-by-entry
sync take so long that hours pass without a task sent; it proposes prefetching and
bulk updates), 786 ("DatabaseScheduler is bad for a large amount of tasks?": 100k+
enabled tasks run hours late, and more servers or workers barely help, since one beat
process does it all), 454 ("Celery Beat stuck when adding a new periodic task": with 56k
tasks each addition triggers "Schedule changed" and a full reload, stalling beat for
hours) and 445 ("CeleryBeat unable to load large number of tasks": a million rows never
finish loading at start-up). This dispatcher instead claims due rows from the index on
`next_due_at`, 500 at a time, writes nudges and advances schedules with bulk statements
(a few queries per 500 members), and spends nothing on members who are not due."""


def _physical_reference(ours: Run) -> str:
    """How close the dispatcher comes to the machine's raw speeds (benchmark 0's figures,
    and benchmark 1's when they exist: both run before this one in `make bench`)."""
    rate = MEMBERS / ours.last_arrival if ours.finished else float("nan")
    lines = [
        "How close the dispatcher comes to the physical reference: here it handed over "
        f"{rate:,.0f} nudges/s (10,000 from the due minute, including the tick's start on "
        "the worker). Each nudge costs about 3 row writes (its insert, its schedule's "
        "`next_due_at` update, its hand-over update) with their index upkeep, a share of "
        "one Redis push (one message per member or per batch of members) and Python work "
        "(zone arithmetic, suppression rules), so a third of the bare INSERT rate is the "
        "write-bound ceiling.",
        "",
    ]
    reference = _load_results("b0_reference")
    for row in reference:
        per_second = row["figure"]
        lines.append(
            f"- {row['name']}: {per_second:,.0f}/s; the dispatcher's rate is "
            f"{rate / per_second:.2%} of it."
        )
    if not reference:
        lines.append("Benchmark 0 (bench/b0_reference.py) has no results yet: run it first.")
    burst = [row for row in _load_results("b1_dispatch") if row["number"] == 1]
    if burst:
        lines.append(
            "- Benchmark 1 (300,000 members, 50,000 due, the dispatch service in 2 processes) "
            "reports lags rather than a rate: "
            + "; ".join(f"{row['name']}: {row['figure']:,.2f} {row['unit']}" for row in burst)
            + "."
        )
    else:
        lines.append("- Benchmark 1 had no results when this ran.")
    return "\n".join(lines)


def _load_results(module: str) -> list[dict]:
    path = RESULTS_DIR / f"{module}.json"
    if not path.exists():
        return []
    return json.loads(path.read_text())


if __name__ == "__main__":
    run_main(MODULE, main)
