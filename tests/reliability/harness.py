"""The fault-injection harness: real processes, real sinks, and the figures of a run.

A scenario (tests/reliability/test_faults_*.py) does:

    with fault_run("worker-killed", members=2000, channels=("email",)) as run:
        run.start_worker()
        run.start_beat()
        run.wait_delivered(500)
        ... inject the fault ...
        run.fault_ended()
        figures = run.finish()  # waits until every nudge is final, asserts, writes JSON

What it gives:
- N members (on UTC, no quiet hours) each with one schedule due this minute, on email
  only or on email + Web Push (a subscription at the local push receiver); the real beat
  dispatches them. Rows are bulk-created: 2,000 password hashes would take minutes.
- Celery worker and beat subprocesses (`celery -A stressrelief worker|beat`) with the
  settings of tests/reliability/settings_fast.py, a given broker and database URL; each
  can be stopped, or killed with SIGKILL. Their output goes to log files under
  $STRESSRELIEF_VAR_DIR/reliability/logs/.
- A private redis-server (PrivateRedis) that can be restarted, and a loopback TCP proxy in
  front of PostgreSQL (PostgresProxy) that can be cut: faults that never touch the
  shared servers.
- The figures (Figures): nudges by final state, duplicates and losses counted at the SMTP
  sink (by Message-ID) and the push receiver (by the payload's nudge ids and Topic), and
  the seconds from the fault's end until every nudge was final; printed, and written to
  $STRESSRELIEF_VAR_DIR/reliability/<scenario>.json for docs/RELIABILITY.md.

Every process the harness starts is stopped when the `with` block ends, whatever happens.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from apps.accounts.models import User
from apps.delivery.models import DeliveryAttempt, PushSubscription
from apps.profiles.models import Profile
from apps.reminders.models import Nudge, NudgeKind, NudgeStatus, Schedule
from tests.conftest import (
    REPOSITORY,
    database_url_for_subprocess,
    free_port,
    project_environment,
    wait_until,
)
from tests.delivery.push_receiver import PushReceiver, running_push_receiver
from tests.delivery.smtp_sink import SmtpSink, running_smtp_sink

SETTINGS_MODULE = "tests.reliability.settings_fast"
FINAL = (
    NudgeStatus.SENT,
    NudgeStatus.DONE,
    NudgeStatus.SKIPPED,
    NudgeStatus.MISSED,
    NudgeStatus.SUPPRESSED,
    NudgeStatus.FAILED,
)
UNFINISHED = (NudgeStatus.PENDING, NudgeStatus.SENDING, NudgeStatus.SNOOZED)
# Seconds a worker or beat process may take to start on a loaded 2-core machine.
PROCESS_READY_TIMEOUT = 90
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<nudge-([0-9-]+?)(?:-s\d+)?@", re.IGNORECASE | re.M)
PUSH_SUBJECT = "mailto:operator@stressrelief.example"
# The figure; a smaller one only to try a scenario quickly on a laptop.
MEMBERS = int(os.environ.get("STRESSRELIEF_FAULT_MEMBERS", "2000"))


def var_directory() -> Path:
    directory = Path(settings.VAR_DIR) / "reliability"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# --- Processes -----------------------------------------------------------------------------
class ManagedProcess:
    """A child process whose output goes to a log file; stopped or killed by its pid."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            command,
            cwd=REPOSITORY,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our own process group: a kill reaches no one else
        )

    @property
    def output(self) -> str:
        """The last lines of the log, for failure messages."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-60:])

    @property
    def output_all(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_contains(self, text: str) -> bool:
        return text in self.log_path.read_text(errors="replace")

    def log_count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log_path.read_text(errors="replace")))

    def wait_for_log(self, text: str, timeout: float = PROCESS_READY_TIMEOUT) -> None:
        if not wait_until(lambda: self.log_contains(text) or self.exited, timeout=timeout):
            raise AssertionError(f"{self.name}: no {text!r} in {timeout} s:\n{self.output}")
        if not self.log_contains(text):
            raise AssertionError(f"{self.name} exited ({self.process.returncode}):\n{self.output}")

    @property
    def exited(self) -> bool:
        return self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or `kill -9` would: no cleanup at all."""
        if not self.exited:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM), then SIGKILL if it takes more than 20 s."""
        if not self.exited:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


class PrivateRedis:
    """A redis-server of this test alone, on a free loopback port, without persistence:
    a restart loses every queued message, as a broker that crashed would."""

    def __init__(self, logs: Path) -> None:
        self.port = free_port()
        self.logs = logs
        self.server: ManagedProcess | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            from apps.operations.embedded_redis import redis_server_executable

            binary = redis_server_executable()
        command = [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no",
        ]  # fmt: skip
        self.starts += 1
        log = self.logs / f"redis-{self.port}-{self.starts}.log"
        self.server = ManagedProcess("redis", command, project_environment(), log)
        if not wait_until(self._answers, timeout=30):
            raise AssertionError(f"redis-server did not answer:\n{self.server.output}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the server and everything queued in it are gone."""
        if self.server is not None:
            self.server.kill()
            self.server.stop()

    def restart(self) -> None:
        """Killed, then started again empty on the same port."""
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


class PostgresProxy:
    """A loopback TCP proxy in front of PostgreSQL. `cut()` closes the listener and every
    live connection (the database is "down": connections are refused); `restore()`
    listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._listen()
        self._thread.start()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        with self._lock:
            self._listener = listener
            self._selector.register(listener, selectors.EVENT_READ, "accept")

    def _loop(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                ready = self._selector.select(timeout=0.05) if self._selector.get_map() else []
            if not ready:
                time.sleep(0.01)
            for key, _ in ready:
                with self._lock:
                    self._handle(key)

    def _handle(self, key: selectors.SelectorKey) -> None:
        source: socket.socket = key.fileobj  # type: ignore[assignment]
        if key.data == "accept":
            try:
                client, _ = source.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                return
            for side in (client, server):
                side.setblocking(False)
                self._sockets.add(side)
            self._pairs[client], self._pairs[server] = server, client
            self._selector.register(client, selectors.EVENT_READ, "pipe")
            self._selector.register(server, selectors.EVENT_READ, "pipe")
            return
        other = self._pairs.get(source)
        try:
            data = source.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data and other is not None:
            try:
                other.setblocking(True)
                other.sendall(data)
                other.setblocking(False)
                return
            except OSError:
                pass
        self._close_pair(source)

    def _close_pair(self, one: socket.socket) -> None:
        for side in (one, self._pairs.get(one)):
            if side is None:
                continue
            self._pairs.pop(side, None)
            self._sockets.discard(side)
            with suppress(KeyError, ValueError):
                self._selector.unregister(side)
            side.close()

    def cut(self) -> None:
        """Refuse new connections and drop the live ones, at once."""
        with self._lock:
            if self._listener is not None:
                self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for side in list(self._sockets):
                self._close_pair(side)

    def restore(self) -> None:
        self._listen()

    def stop(self) -> None:
        self.cut()
        self._stopping.set()
        self._thread.join(timeout=5)

    def database_url(self, url: str) -> str:
        """`url` (a postgresql:// DATABASE_URL) pointed at this proxy."""
        return re.sub(r"@[^/]+/", f"@127.0.0.1:{self.port}/", url, count=1)


# --- The figures ---------------------------------------------------------------------------
@dataclass
class Figures:
    scenario: str
    members: int
    channels: list[str]
    nudges: int = 0
    sent: int = 0
    skipped: int = 0
    missed: int = 0
    failed: int = 0
    failed_without_reason: int = 0
    suppressed: int = 0
    not_final: int = 0
    duplicates: int = 0
    lost: int = 0
    delivered: dict[str, int] = field(default_factory=dict)  # copies at each sink
    seconds_to_recover: float | None = None  # from the fault's end to every nudge final
    seconds_total: float = 0.0  # from the first process start to every nudge final
    notes: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


# --- A run ---------------------------------------------------------------------------------
class FaultRun:
    """One scenario's data, processes, sinks and figures (use `fault_run()`)."""

    def __init__(
        self,
        scenario: str,
        *,
        members: int,
        channels: Sequence[str],
        broker_url: str,
        smtp: SmtpSink,
        push: PushReceiver | None,
        stack: ExitStack,
        requeue_after: float,
        reclaim_after: float,
        dispatch_every: float,
        backoff_base: float,
    ) -> None:
        self.scenario = scenario
        self.members = members
        self.channels = list(channels)
        self.broker_url = broker_url
        self.smtp = smtp
        self.push = push
        self._stack = stack
        self.database_url = database_url_for_subprocess()
        self.logs = var_directory() / "logs"
        self.logs.mkdir(exist_ok=True)
        self.waits = {
            "STRESSRELIEF_FAULT_REQUEUE_AFTER": str(requeue_after),
            "STRESSRELIEF_FAULT_RECLAIM_AFTER": str(reclaim_after),
            "STRESSRELIEF_FAULT_DISPATCH_EVERY": str(dispatch_every),
            "STRESSRELIEF_FAULT_BACKOFF_BASE": str(backoff_base),
        }
        self.processes: dict[str, ManagedProcess] = {}
        self.vapid: dict[str, str] = {}
        self.started_at: float | None = None
        self.fault_ended_at: float | None = None
        self.notes: dict[str, object] = {}

    # --- data ---
    def create_members_due_now(self) -> None:
        """N members, each with one stretch schedule due at the start of this minute."""
        now = timezone.now()
        this_minute = now.replace(second=0, microsecond=0)
        password = make_password(None)  # unusable: no hashing cost per member
        users = User.objects.bulk_create(
            [
                User(email=f"{self.scenario}-{index}@example.org", password=password)
                for index in range(self.members)
            ]
        )
        Profile.objects.bulk_create(
            [
                Profile(
                    user=user, timezone="UTC", channels=self.channels, quiet_start=None,
                    quiet_end=None,
                )
                for user in users
            ]
        )  # fmt: skip
        Schedule.objects.bulk_create(
            [
                Schedule(
                    member=user, kind=NudgeKind.STRETCH, times=[this_minute.strftime("%H:%M")],
                    next_due_at=this_minute,
                )
                for user in users
            ]
        )  # fmt: skip
        if "push" in self.channels:
            assert self.push is not None
            PushSubscription.objects.bulk_create(
                [
                    PushSubscription(
                        member=user, endpoint=browser.endpoint, p256dh=browser.p256dh,
                        auth=browser.auth,
                    )
                    for user in users
                    for browser in [self.push.subscribe()]
                ]
            )  # fmt: skip
            output = StringIO()
            call_command("generate_vapid_keys", stdout=output)
            self.vapid = dict(line.split("=", 1) for line in output.getvalue().splitlines())

    # --- processes ---
    def environment(self, **overrides: str) -> dict[str, str]:
        """The environment of a worker or beat process of this run."""
        values = {
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.broker_url,
            "EMAIL_URL": self.smtp.url,
            "SITE_URL": "https://stressrelief.example",
            **self.waits,
        }
        if self.vapid:
            values.update(
                self.vapid,
                VAPID_SUBJECT=PUSH_SUBJECT,
                WEBPUSH_ALLOW_INSECURE_ENDPOINTS="true",
            )
        values.update(overrides)
        return project_environment(**values)

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> ManagedProcess:
        if name in self.processes and not self.processes[name].exited:
            raise AssertionError(f"{name} is still running")
        if self.started_at is None:
            self.started_at = time.monotonic()
        log = self.logs / f"{self.scenario}-{name}-{len(self.processes)}.log"
        process = ManagedProcess(name, command, env, log)
        self.processes[name] = process
        self._stack.callback(process.stop)
        return process

    def start_process(self, name: str, command: list[str], **env: str) -> ManagedProcess:
        """Any other process of this run (e.g. `manage.py dispatch_nudges --loop`)."""
        return self._start(name, command, self.environment(**env))

    def start_worker(
        self, name: str = "worker", *, concurrency: int = 4, wait: bool = True, **env: str
    ) -> ManagedProcess:
        """A `celery worker` (threads pool: one process, so SIGKILL ends all of it)."""
        command = [
            sys.executable, "-m", "celery", "-A", "stressrelief", "worker",
            "--pool", "threads", "--concurrency", str(concurrency), "--loglevel", "INFO",
            "--hostname", f"{self.scenario}-{name}-{os.getpid()}@%h",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ]  # fmt: skip
        worker = self._start(name, command, self.environment(**env))
        if wait:
            worker.wait_for_log(" ready.")
        return worker

    def start_beat(self, name: str = "beat", *, wait: bool = True, **env: str) -> ManagedProcess:
        """A `celery beat` with its own schedule file and pid file."""
        command = [
            sys.executable, "-m", "celery", "-A", "stressrelief", "beat", "--loglevel", "INFO",
            "--schedule", str(self.logs / f"{self.scenario}-{name}-schedule"),
            "--pidfile", str(self.logs / f"{self.scenario}-{name}.pid"),
        ]  # fmt: skip
        beat = self._start(name, command, self.environment(**env))
        if wait:
            beat.wait_for_log("beat: Starting")
        return beat

    # --- progress ---
    def delivered(self) -> int:
        """Messages accepted so far at the SMTP sink (cheap: no parsing)."""
        return len(self.smtp.accepted)

    def wait_delivered(self, at_least: int, timeout: float = 180) -> None:
        if not wait_until(lambda: self.delivered() >= at_least, timeout=timeout, interval=0.05):
            raise AssertionError(
                f"only {self.delivered()} of {at_least} messages in {timeout} s:\n"
                + self.process_output()
            )

    def process_output(self) -> str:
        return "\n".join(
            f"--- {name} ---\n{process.output}" for name, process in self.processes.items()
        )

    def fault_ended(self) -> None:
        """The fault is over (the worker restarted, the broker or database is back)."""
        self.fault_ended_at = time.monotonic()

    def unfinished(self) -> int:
        """Schedules not yet dispatched, plus nudges not yet in a final state."""
        undispatched = self.members - Nudge.objects.count()
        return undispatched + Nudge.objects.filter(status__in=UNFINISHED).count()

    # --- the end ---
    def finish(
        self, timeout: float = 300, notes: Callable[[], dict[str, object]] | None = None
    ) -> Figures:
        """Wait until every nudge is final and the broker's queue is empty, count what the
        sinks received, write and print the figures (with `notes()` added), and assert
        none was lost or sent twice."""
        all_final = wait_until(lambda: self.unfinished() == 0, timeout=timeout, interval=0.5)
        finished_at = time.monotonic()
        # Redundant hand-overs (the sweep's) still queued can only be no-ops; wait for
        # them anyway, so a duplicate they could cause would be counted.
        wait_until(self._queue_empty, timeout=60, interval=0.5)
        figures = self.figures()
        figures.seconds_total = round(finished_at - (self.started_at or finished_at), 1)
        if self.fault_ended_at is not None:
            figures.seconds_to_recover = round(finished_at - self.fault_ended_at, 1)
        figures.notes.update(self.notes)
        if notes is not None:
            figures.notes.update(notes())
        (var_directory() / f"{self.scenario}.json").write_text(figures.to_json())
        print(f"\nreliability {self.scenario}: {figures.to_json()}")
        assert all_final, f"{figures}\n{self.process_output()}"
        assert figures.nudges == self.members, figures
        assert figures.not_final == 0, figures
        assert figures.duplicates == 0, figures
        assert figures.lost == 0, figures
        assert figures.failed_without_reason == 0, figures
        return figures

    def _queue_empty(self) -> bool:
        import redis

        try:
            client = redis.Redis.from_url(self.broker_url, socket_timeout=2)
            return client.llen("celery") == 0
        except redis.RedisError:
            return False

    def figures(self) -> Figures:
        figures = Figures(scenario=self.scenario, members=self.members, channels=self.channels)
        by_status = dict(Nudge.objects.values_list("status").annotate(count=Count("id")).order_by())
        figures.nudges = sum(by_status.values())
        figures.sent = by_status.get(NudgeStatus.SENT, 0)
        figures.skipped = by_status.get(NudgeStatus.SKIPPED, 0)
        figures.missed = by_status.get(NudgeStatus.MISSED, 0)
        figures.failed = by_status.get(NudgeStatus.FAILED, 0)
        figures.suppressed = by_status.get(NudgeStatus.SUPPRESSED, 0)
        figures.not_final = sum(by_status.get(status, 0) for status in UNFINISHED)
        figures.failed_without_reason = (
            Nudge.objects.filter(status=NudgeStatus.FAILED).exclude(attempts__error__gt="").count()
        )
        copies = self.copies_at_sinks()
        figures.delivered = {channel: sum(c.values()) for channel, c in copies.items()}
        figures.duplicates = sum(
            count - 1 for counter in copies.values() for count in counter.values() if count > 1
        )
        # Lost: a nudge never dispatched or not final, or one the database says went out
        # on a channel whose sink never got it.
        recorded = set(
            DeliveryAttempt.objects.filter(
                outcome=DeliveryAttempt.Outcome.SENT, channel__in=list(copies)
            ).values_list("nudge_id", "channel")
        )
        missing = [(n, channel) for n, channel in recorded if not copies[channel][n]]
        figures.lost = max(0, self.members - figures.nudges) + figures.not_final + len(missing)
        if missing:
            figures.notes["sent_but_not_at_sink"] = sorted(missing)[:20]
        return figures

    def copies_at_sinks(self) -> dict[str, Counter[int]]:
        """Per channel, how many accepted copies of each nudge the sink holds."""
        copies: dict[str, Counter[int]] = {}
        if "email" in self.channels:
            email: Counter[int] = Counter()
            message_ids: Counter[bytes] = Counter()
            for mail in self.smtp.accepted:
                match = MESSAGE_ID.search(mail.raw.split(b"\r\n\r\n", 1)[0])
                assert match, mail.raw[:500]
                message_ids[match.group(0)] += 1
                email.update(int(n) for n in match.group(1).split(b"-"))
            copies["email"] = email
            self.notes["email_message_ids_repeated"] = sum(
                1 for count in message_ids.values() if count > 1
            )
        if "push" in self.channels and self.push is not None:
            push: Counter[int] = Counter()
            topics: Counter[tuple[str, str]] = Counter()
            for delivery in self.push.delivered:
                push.update(delivery.payload["nudge_ids"])
                topics[(delivery.endpoint, delivery.headers.get("topic", ""))] += 1
            copies["push"] = push
            self.notes["push_topics_repeated"] = sum(1 for c in topics.values() if c > 1)
        return copies


@contextmanager
def fault_run(
    scenario: str,
    *,
    members: int = MEMBERS,
    channels: Sequence[str] = ("email",),
    broker_url: str,
    requeue_after: float = 15,
    reclaim_after: float = 20,
    dispatch_every: float = 2,
    backoff_base: float = 30,
) -> Iterator[FaultRun]:
    """A FaultRun with its members created and its sinks running; every process it
    started is stopped when the block ends. Needs the `transactional_db` fixture (the
    subprocesses must see committed rows)."""
    with ExitStack() as stack:
        smtp = stack.enter_context(running_smtp_sink())
        push = stack.enter_context(running_push_receiver()) if "push" in channels else None
        run = FaultRun(
            scenario,
            members=members,
            channels=channels,
            broker_url=broker_url,
            smtp=smtp,
            push=push,
            stack=stack,
            requeue_after=requeue_after,
            reclaim_after=reclaim_after,
            dispatch_every=dispatch_every,
            backoff_base=backoff_base,
        )
        run.create_members_due_now()
        yield run
