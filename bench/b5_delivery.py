"""Benchmark 5: delivery throughput through a real Celery worker.

20,000 members (BENCH_SCALE scales it) each with one pending nudge: half are nudged by
email, half by Web Push (one subscription each). Half and half, not both channels per
member: a member picks how to be nudged, and it makes a *delivery* (one nudge delivered on
all its channels) exactly one message, so deliveries/s and messages/s per channel read
without a conversion; both channels still carry 10,000 messages each.

The parts are real: `enqueue_deliveries` publishes to Redis as the dispatcher does; a
`celery worker --pool prefork --concurrency 2` process claims, renders, encrypts and sends;
a local SMTP server (aiosmtpd, tests/delivery/smtp_sink.py) and a local push service
(tests/delivery/push_receiver.py: checks the VAPID JWT, decrypts every aes128gcm body)
run in their own process and count duplicates by Message-ID and Topic.

Figures: deliveries/s from the first publish to the last nudge settled (and the rate
between 10 % and 90 % settled), messages/s per channel, the worker's RSS (pool processes
and parent, psutil, first vs last 20 % of the samples), seconds from the last publish until
the Redis queue and its unacked set are empty, duplicates at the sinks.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.connection
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field

from bench.common import ROOT, Result, flush_redis, reset_database, run_main, setup_django

MODULE = "b5_delivery"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
NUDGES = max(20, int(20_000 * SCALE))
SITE = "https://stressrelief.example"
SUBJECT = "mailto:operator@stressrelief.example"
WORKER_PROCESSES = 2
SAMPLE_EVERY = 0.25  # seconds between RSS / queue samples
# Seconds to wait for every nudge to settle: the module must finish within 4 minutes
# (seeding, the worker's start and the drain take the rest). A run that is cut off reports
# the rate of what settled by then, and says so.
SETTLE_TIMEOUT = 120
KINDS = ("hydration", "movement", "stretch", "mindfulness", "warmup")
# What the worker does and what batching changed (measured once, before and after).
METHOD = """
What the worker does per batch of 50 members (apps/delivery/services.py, transports.py,
webpush.py): one UPDATE claims every nudge of the batch, one SELECT loads them with member
and profile, the attempts lookup is skipped for first tries, one SELECT loads the push
subscriptions of all the batch's members; every email goes over one SMTP connection and
every push over one keep-alive HTTP session; the VAPID key is parsed once per process and
the VAPID token signed once an hour per push-service origin; each member's attempts and
new state are written in one round trip (INSERT + UPDATE as one multi-statement query,
one implicit transaction) before the next member is sent, so a worker killed mid-batch
re-sends nothing already recorded.

Before and after, measured once each with this module at BENCH_SCALE=0.1 on the same
(shared, loaded) machine: before batching (git 318b29f: one task per member, a new SMTP
connection per email, a new HTTP session, VAPID key parse and token per push, 6 queries and
2 commits per member) the worker used **12.8 ms of CPU per delivery** and the sinks 1.9 ms;
publishing 2,000 tasks took 6.6 s. After: **4.3 ms** and 1.3 ms; 40 messages to publish.
The wall-clock rate did not change much between the two (27/s before, 22-35/s after) because
the load average was 13-20 on 2 cores during both runs (other benchmarks and test suites
running): the worker's share of the CPU, not its cost, set the pace. The CPU figure is the
one the code controls; the ceiling line above converts it to deliveries/s on an idle machine
(PostgreSQL's and Redis's own CPU not included).

Then the CPU per delivery (git 4373023 against 682ec51, BENCH_SCALE=0.25, run in turn on
the same shared machine, load average ~4, two runs each): worker **3.45 -> 2.46 ms**
(3.26 and 3.63 -> 2.14 and 2.77), sinks 1.24 -> 0.80 ms. Measured in-process (PostgreSQL),
the worker's time had gone to: the push request (requests, urllib3, http.client: ~0.85 ms
a push; pywebpush's encryption 0.29 ms), the email (Django's MIME building and the SMTP
exchange ~0.9 ms, templates and links ~0.3 ms), the per-member write (0.36 ms, a quarter
of it compiling ORM queries). Changed: the write's SQL is written, not compiled per member
(247 -> 33 us); short ASCII headers skip compat32's folding (the same bytes; as_bytes
185 -> 90 us an email); pushes go over urllib3 pools directly, not a requests session that
read the proxy settings from the environment per request (397 -> 157 us a POST). Sinks:
the SMTP sink counted every accepted message for each new one (quadratic); the push sink
verifies a VAPID signature once per token (every body still decrypted).

Then the waiting (git 2a24d08 against 6716264, BENCH_SCALE=0.25, run in turn on the same
shared machine, load average 3-4 from other sessions, two runs each): with 2 synchronous
processes the worker sat idle while PostgreSQL committed each member's write (~1 ms: the
fsync). Now a member's write is sent and the batch goes on to the next member's messages
while the server commits it (its answer is read before the next write or any other query;
PostgreSQL runs a query it has received even if the worker is killed, so a kill -9 re-sends
no more than before). In-process, one process, 1,000 deliveries: wall time per delivery
5.4 -> 3.5-4.2 ms. Nudge emails go over the batch's smtplib connection without Django's
backend machinery (same bytes; 1,037 -> 930 us of CPU an email). Bench 5: 228 and 283 ->
280 and 374 deliveries/s; worker CPU 2.79 and 3.24 -> 2.63 and 2.50 ms, sinks ~0.9-1.1 and
PostgreSQL ~0.8-1.0 ms per delivery either way. The sinks already serve connections
concurrently (aiosmtpd's event loop, a thread per push connection), as real ones do; what
is left of the waiting is the SMTP exchange's four round trips per email (smtplib does not
pipeline, and aiosmtpd does not offer PIPELINING) and the push service's answer.
With the two CPU cuts that followed (the write's SQL built without the connection proxy,
34.5 -> 22 us a member; the claim's SELECT loading only what is read, 4.1 -> 2.2 ms a
batch), at full scale (git fab2ce0, then b802daa, each against 6716264 in turn, load
average 1.7-2.1 from other sessions): 360 and 335 -> 436 and 384 deliveries/s; worker CPU
2.45 and 2.63 -> 2.11 and 2.41 ms a delivery; 0 duplicates, RSS within 1.1 %.
"""
COMMAND = (
    "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stressrelief "
    "REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench b5_delivery"
)


# --- The sinks, in their own process -----------------------------------------------------------
def _run_sinks(connection: multiprocessing.connection.Connection, subscriptions: int) -> None:
    """SMTP and push sinks; sends their ports and the browsers' subscriptions, then, when
    asked, the counts. Runs in a child process (spawned), so sinks and worker do not share
    a GIL with the measuring process."""
    sys.path.insert(0, str(ROOT))
    from tests.delivery.push_receiver import running_push_receiver
    from tests.delivery.smtp_sink import running_smtp_sink

    with running_smtp_sink() as smtp, running_push_receiver() as push:
        browsers = [push.subscribe() for _ in range(subscriptions)]
        connection.send(
            {
                "smtp_url": smtp.url,
                "subscriptions": [(b.endpoint, b.p256dh, b.auth) for b in browsers],
            }
        )
        while True:
            request = connection.recv()
            if request == "counts":
                connection.send(_counts(smtp, push))
            elif request == "stop":
                return


def _counts(smtp: object, push: object) -> dict[str, object]:
    emails = [mail for mail in smtp.received]  # type: ignore[attr-defined]
    pushes = list(push.received)  # type: ignore[attr-defined]
    accepted_ids = Counter(mail.message_id for mail in emails if mail.accepted)
    delivered_topics = Counter(p.headers.get("topic") for p in pushes if p.delivered)
    problems = Counter(p.problem or str(p.status) for p in pushes if not p.delivered)
    return {
        "emails_received": len(emails),
        "emails_accepted": sum(accepted_ids.values()),
        "email_duplicates": sum(n - 1 for n in accepted_ids.values() if n > 1),
        "pushes_received": len(pushes),
        "pushes_delivered": sum(delivered_topics.values()),
        "push_duplicates": sum(n - 1 for n in delivered_topics.values() if n > 1),
        "push_problems": dict(problems),
        "push_nudge_ids": sorted(i for p in pushes if p.delivered for i in p.payload["nudge_ids"]),
    }


# --- Data --------------------------------------------------------------------------------------
def _seed(subscriptions: list[tuple[str, str, str]]) -> list[list[int]]:
    """NUDGES members, half emailed and half pushed, one pending nudge each; returns the
    groups the dispatcher would hand over (one list of nudge ids per member)."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.delivery.models import PushSubscription
    from apps.profiles.models import Profile
    from apps.reminders.models import Nudge, NudgeStatus

    now = timezone.now()
    no_password = make_password(None)  # unusable, and no hashing for 20,000 rows
    users = User.objects.bulk_create(
        [User(email=f"member{i}@bench.example", password=no_password) for i in range(NUDGES)],
        batch_size=2000,
    )
    pushed = users[: len(subscriptions)]
    Profile.objects.bulk_create(
        [
            Profile(user=user, channels=["push"] if i < len(pushed) else ["email"])
            for i, user in enumerate(users)
        ],
        batch_size=2000,
    )
    PushSubscription.objects.bulk_create(
        [
            PushSubscription(member=user, endpoint=endpoint, p256dh=p256dh, auth=auth)
            for user, (endpoint, p256dh, auth) in zip(pushed, subscriptions, strict=True)
        ],
        batch_size=2000,
    )
    nudges = Nudge.objects.bulk_create(
        [
            Nudge(
                member=user,
                kind=KINDS[i % len(KINDS)],
                due_at=now,
                status=NudgeStatus.PENDING,
                enqueued_at=now,
            )
            for i, user in enumerate(users)
        ],
        batch_size=2000,
    )
    # Interleave the channels, as members of a real minute would be.
    emailed = [[n.pk] for n in nudges[len(pushed) :]]
    pushed_groups = [[n.pk] for n in nudges[: len(pushed)]]
    pairs = itertools.zip_longest(emailed, pushed_groups)
    return [group for pair in pairs for group in pair if group is not None]


# --- The worker and what is sampled ------------------------------------------------------------
@dataclass
class Samples:
    cpu_start: dict[str, float] = field(default_factory=dict)  # CPU seconds, by process
    cpu_end: dict[str, float] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # bytes: worker parent + pool processes
    queued: list[int] = field(default_factory=list)  # messages waiting or unacked in Redis
    settled: list[tuple[float, int]] = field(default_factory=list)


def _start_worker(environment: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    command = [
        sys.executable, "-m", "celery", "-A", "stressrelief", "worker", "--pool", "prefork",
        "--concurrency", str(WORKER_PROCESSES), "--loglevel", "INFO", "--hostname",
        f"bench5-{os.getpid()}@%h", "--without-mingle", "--without-gossip",
        "--without-heartbeat",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(90):
        process.kill()
        raise SystemExit("bench 5: the worker was not ready in 90 s:\n" + "".join(lines[-40:]))
    return process, lines


def _sample(process: subprocess.Popen[str], samples: Samples, stop: threading.Event) -> None:
    import psutil
    import redis
    from django.conf import settings

    broker = redis.Redis.from_url(settings.REDIS_URL)
    parent = psutil.Process(process.pid)
    while not stop.is_set():
        try:
            tree = [parent, *parent.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in tree)
        except psutil.Error:
            break
        pipe = broker.pipeline()
        pipe.llen("celery")
        pipe.hlen("unacked")
        waiting, unacked = pipe.execute()
        samples.times.append(time.monotonic())
        samples.rss.append(rss)
        samples.queued.append(int(waiting) + int(unacked))
        stop.wait(SAMPLE_EVERY)


def _cpu_seconds(worker_pid: int, sinks_pid: int) -> dict[str, float]:
    """user + system CPU seconds of the worker (parent and pool; user and system apart), of
    the sinks, of PostgreSQL and of the Redis server (shared with whatever else uses them)."""
    import psutil

    def used(process: psutil.Process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    worker = psutil.Process(worker_pid)
    pool = worker.children(recursive=True)
    user = sum(p.cpu_times().user for p in [worker, *pool])
    system = sum(p.cpu_times().system for p in [worker, *pool])
    figures = {
        "worker": user + system,
        "worker_user": user,
        "worker_system": system,
        "worker_parent": used(worker),
        "sinks": used(psutil.Process(sinks_pid)),
    }
    # A backend that exits (a connection closed) leaves its CPU in the postmaster's children
    # times. So: the postmaster, its live children and its reaped ones; every database on
    # the server, ours and others'.
    for process in psutil.process_iter(["name", "cmdline"]):
        with suppress(psutil.Error):
            if process.info["name"] == "postgres" and "-D" in (process.info["cmdline"] or []):
                times = process.cpu_times()
                figures["postgres"] = (
                    used(process) + times.children_user + times.children_system
                    + sum(used(child) for child in process.children())
                )  # fmt: skip
    for process in psutil.process_iter(["name"]):
        if process.info["name"] == "redis-server":
            with suppress(psutil.Error):
                figures["redis"] = used(process)
    return figures


def _settled_count() -> int:
    from apps.reminders.models import Nudge, NudgeStatus

    return Nudge.objects.exclude(status__in=[NudgeStatus.PENDING, NudgeStatus.SENDING]).count()


# --- The run -----------------------------------------------------------------------------------
def main() -> list[Result]:
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    sinks = spawn.Process(target=_run_sinks, args=(theirs, NUDGES // 2), daemon=True)
    sinks.start()
    setup_django(MODULE)
    from py_vapid import Vapid  # noqa: F401 - fail early if pywebpush's dependency is missing

    from apps.delivery.webpush import vapid_key_pair

    reset_database()
    flush_redis()
    sink_info = ours.recv()
    groups = _seed(sink_info["subscriptions"])
    public_key, private_key = vapid_key_pair()
    environment = dict(
        os.environ,
        EMAIL_URL=sink_info["smtp_url"],
        SITE_URL=SITE,
        VAPID_PUBLIC_KEY=public_key,
        VAPID_PRIVATE_KEY=private_key,
        VAPID_SUBJECT=SUBJECT,
        WEBPUSH_ALLOW_INSECURE_ENDPOINTS="true",
        PYTHONUNBUFFERED="1",
        # The worker as in production: with DEBUG on (the one-machine default) Django keeps
        # a log of every query, with its SQL text, in the worker (CursorDebugWrapper).
        # Production then needs a secret key.
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
    )
    worker, worker_lines = _start_worker(environment)
    samples = Samples()
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(worker, samples, stop), daemon=True)
    try:
        from worker.tasks import enqueue_deliveries

        sampler.start()
        samples.cpu_start = _cpu_seconds(worker.pid, sinks.pid)  # type: ignore[arg-type]
        started = time.monotonic()
        enqueue_deliveries(groups)
        enqueued = time.monotonic()
        settled = 0
        while settled < NUDGES and time.monotonic() - started < SETTLE_TIMEOUT:
            time.sleep(0.2)
            settled = _settled_count()
            samples.settled.append((time.monotonic(), settled))
        finished = time.monotonic()
        samples.cpu_end = _cpu_seconds(worker.pid, sinks.pid)  # type: ignore[arg-type]
        # The queue may empty a moment after the last row settles (the ack follows). A run
        # cut off has thousands still queued: waiting would only push the module past 4 min.
        deadline = time.monotonic() + (60 if settled >= NUDGES else 0)
        while time.monotonic() < deadline and (not samples.queued or samples.queued[-1]):
            time.sleep(SAMPLE_EVERY)
    finally:
        stop.set()
        sampler.join(timeout=5)
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    ours.send("counts")
    counts = ours.recv()
    ours.send("stop")
    sinks.join(timeout=10)
    return _results(
        samples, counts, started=started, enqueued=enqueued, finished=finished,
        settled=settled, worker_lines=worker_lines,
    )  # fmt: skip


def _results(
    samples: Samples,
    counts: dict[str, object],
    *,
    started: float,
    enqueued: float,
    finished: float,
    settled: int,
    worker_lines: list[str],
) -> list[Result]:
    from apps.delivery.models import DeliveryAttempt
    from apps.reminders.models import Nudge

    statuses = dict(Counter(Nudge.objects.values_list("status", flat=True)))
    attempts = Counter(DeliveryAttempt.objects.values_list("channel", "outcome"))
    elapsed = finished - started
    rate = settled / elapsed if elapsed else 0.0
    sustained = _rate_between(samples.settled, 0.1, 0.9, total=NUDGES)
    steady = (
        f"{sustained:,.0f}/s between 10 % and 90 % settled"
        if sustained
        else "90 % never settled within the wait"
    )
    cut_off = (
        ""
        if settled >= NUDGES
        else f"\n- **cut off**: {settled:,} of {NUDGES:,} had settled after {SETTLE_TIMEOUT} s;"
        " the rest were still queued"
    )
    # RSS: mean of the first vs the last 20 % of the samples taken while work was running.
    during = [rss for t, rss in zip(samples.times, samples.rss, strict=True) if t <= finished]
    fifth = max(1, len(during) // 5)
    first, last = sum(during[:fifth]) / fifth, sum(during[-fifth:]) / fifth
    rss_change = (last - first) / first * 100 if first else 0.0
    empty_after = next(
        (t - enqueued for t, q in zip(samples.times, samples.queued, strict=True)
         if t >= enqueued and q == 0 and t >= finished - 1),
        float("inf"),
    )  # fmt: skip
    emails = int(counts["emails_accepted"])  # type: ignore[arg-type]
    pushes = int(counts["pushes_delivered"])  # type: ignore[arg-type]
    duplicates = int(counts["email_duplicates"]) + int(counts["push_duplicates"])  # type: ignore[arg-type]
    errors = [line for line in worker_lines if "ERROR" in line or "Traceback" in line]
    # A backend that connected during the run counts from zero.
    start = samples.cpu_start
    cpu = {name: end - start.get(name, 0.0) for name, end in samples.cpu_end.items()}
    per_delivery = {name: seconds / max(settled, 1) * 1000 for name, seconds in cpu.items()}
    worker_ms, sinks_ms = per_delivery["worker"], per_delivery["sinks"]
    postgres_ms = per_delivery.get("postgres", 0.0)
    redis_ms = per_delivery.get("redis", 0.0)
    total_ms = worker_ms + sinks_ms + postgres_ms + redis_ms
    cores = os.cpu_count() or 1
    ceiling = cores / ((worker_ms + sinks_ms) / 1000) if worker_ms + sinks_ms else 0.0
    details = f"""
{NUDGES:,} members with one pending nudge each: {NUDGES - NUDGES // 2:,} by email,
{NUDGES // 2:,} by Web Push (one subscription each; half and half, so one delivery is one
message). Published with `enqueue_deliveries` ({(enqueued - started) * 1000:.0f} ms for
{NUDGES:,} groups) into Redis; one `celery worker --pool prefork --concurrency 2`; SMTP sink
(aiosmtpd) and push service (VAPID checked, every body decrypted) in their own process.

- deliveries: {settled:,} settled in {elapsed:.1f} s = **{rate:,.0f}/s** end to end
  (first publish to last nudge settled, or to the cut-off); {steady}{cut_off}
- per channel: email {emails:,} accepted = {emails / elapsed:,.0f} messages/s; push
  {pushes:,} delivered = {pushes / elapsed:,.0f} messages/s
- nudge statuses: {statuses}; attempts: {dict(attempts)}
- duplicates at the sinks: {counts["email_duplicates"]} by Message-ID, {counts["push_duplicates"]}
  by Topic; push refusals: {counts["push_problems"] or "none"}
- worker RSS (parent + 2 pool processes): {first / 2**20:.0f} MiB in the first 20 % of the
  samples, {last / 2**20:.0f} MiB in the last 20 %: {rss_change:+.1f} %
- queue (waiting + unacked) empty {empty_after:.1f} s after the last publish (inf: not
  within 60 s of the last nudge settling)
- CPU per delivery: worker (parent + pool) {worker_ms:.2f} ms (user
  {per_delivery["worker_user"]:.2f}, system {per_delivery["worker_system"]:.2f}; the parent
  {per_delivery["worker_parent"]:.2f}), sinks {sinks_ms:.2f} ms; on {cores} cores that work
  alone would allow ~{ceiling:,.0f} deliveries/s (the machine is shared, load average
  {os.getloadavg()[0]:.1f} at the end: the wall-clock rate is what is left). Besides: PostgreSQL
  {postgres_ms:.2f} ms, the Redis server {redis_ms:.2f} ms (both serve every client on the
  machine: on a shared machine an upper bound); all four: {total_ms:.2f} ms
- worker errors logged: {len(errors)}
"""
    details += METHOD
    extra = {
        "statuses": statuses,
        "sinks": {k: v for k, v in counts.items() if k != "push_nudge_ids"},
        "rss_first_mib": first / 2**20,
        "rss_last_mib": last / 2**20,
        "publish_ms": (enqueued - started) * 1000,
        "sustained_per_s": sustained,
        "worker_errors": errors[:5],
        "cpu_ms_per_delivery": {
            "worker": worker_ms,
            "worker_user": per_delivery["worker_user"],
            "worker_system": per_delivery["worker_system"],
            "worker_parent": per_delivery["worker_parent"],
            "sinks": sinks_ms,
            "postgres": postgres_ms,
            "redis": redis_ms,
        },
        "cpu_bound_ceiling_per_s": ceiling,
    }
    return [
        Result(5, "Delivery throughput", rate, "deliveries/s", 500, higher_is_better=True,
               details=details, command=COMMAND, extra=extra),
        Result(5, "Delivery worker RSS change", abs(rss_change), "%", 10),
        Result(5, "Delivery queue empty after last enqueue", empty_after, "s", 60),
        Result(5, "Delivery duplicates at the sinks", duplicates, "messages", 0),
    ]  # fmt: skip


def _rate_between(
    settled: list[tuple[float, int]], low: float, high: float, *, total: int
) -> float:
    """Deliveries per second between the moments `low` and `high` of `total` had settled."""
    start = next((t, n) for t, n in settled if n >= low * total) if settled else None
    end = next(((t, n) for t, n in settled if n >= high * total), None)
    if not start or not end or end[0] <= start[0]:
        return 0.0
    return (end[1] - start[1]) / (end[0] - start[0])


if __name__ == "__main__":
    run_main(MODULE, main)
