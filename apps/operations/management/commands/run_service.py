"""`make run`: the whole service on one machine (web, worker, beat, embedded broker)."""

from __future__ import annotations

import errno
import fcntl
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.operations.embedded_redis import EmbeddedRedis, EmbeddedRedisUnavailable
from apps.operations.selectors import health_of_broker, health_of_database
from apps.operations.supervisor import Supervisor
from stressrelief.environment import redact_url

# Seconds to wait for the web server to answer /healthz before saying so.
WEB_START_TIMEOUT = 90
# Signals that mean "stop": Ctrl-C, `kill`, and a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Command(BaseCommand):
    help = "Run web, Celery worker, Celery beat and (without REDIS_URL) an embedded Redis."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")

    def handle(self, *args: Any, host: str, port: int, concurrency: int, **options: Any) -> None:
        if not 1 <= port <= 65535:
            raise CommandError(f"port must be between 1 and 65535, got {port}.")
        # Health data lands in var/ (database, emails): readable by this user only.
        os.umask(0o077)
        run_directory = Path(settings.VAR_DIR, "run")
        run_directory.mkdir(parents=True, exist_ok=True)
        lock = _lock_run_directory(run_directory)  # held until this process exits
        _require_free_port(host, port)
        _require_database()
        _require_reachable_broker()

        environment = dict(os.environ, PYTHONUNBUFFERED="1")
        supervisor = Supervisor(output=sys.stdout)
        stop_requested = threading.Event()
        for signal_number in STOP_SIGNALS:
            signal.signal(signal_number, lambda *_: stop_requested.set())
        failed: str | None = None
        try:
            self._start_broker(supervisor, environment)
            self._prepare_database(supervisor)
            self._start_processes(supervisor, environment, host, port, concurrency)
            url = f"http://{_url_host(host)}:{port}/"
            if self._wait_for_web(url, supervisor, stop_requested):
                supervisor.say(
                    "make",
                    f"stressrelief is running at {url} (admin: {url}admin/, API docs: "
                    f"{url}api/docs/). Press Ctrl-C to stop.",
                )
            elif not stop_requested.is_set() and supervisor.first_exited() is None:
                supervisor.say(
                    "make", f"web did not answer {url}healthz within {WEB_START_TIMEOUT} s."
                )
            while not stop_requested.is_set():
                exited = supervisor.first_exited()
                if exited is not None:
                    failed = f"{exited.name} exited with code {exited.process.returncode}"
                    supervisor.say("make", f"{failed}; stopping everything (output above).")
                    break
                stop_requested.wait(0.5)
        finally:
            if supervisor.children:
                supervisor.say("make", "stopping beat, worker, web and broker ...")
                supervisor.stop_all()
                supervisor.say("make", "stopped.")
            lock.close()
        if failed:
            raise CommandError(f"{failed}; see its output above.")

    def _start_processes(
        self,
        supervisor: Supervisor,
        environment: dict[str, str],
        host: str,
        port: int,
        concurrency: int,
    ) -> None:
        python = sys.executable
        supervisor.start("web", [python, "manage.py", "runserver", f"{host}:{port}"], environment)
        supervisor.start(
            "worker",
            [python, "-m", "celery", "-A", "stressrelief", "worker", "--loglevel", "INFO",
             "--concurrency", str(concurrency), "--hostname", "worker@%h"],
            environment,
            # Celery's pool children die on SIGTERM at once; its main process, told
            # alone, finishes the running tasks first (warm shutdown).
            signal_group=False,
        )  # fmt: skip
        supervisor.start(
            "beat",
            [python, "-m", "celery", "-A", "stressrelief", "beat", "--loglevel", "INFO",
             "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
            environment,
        )  # fmt: skip

    def _start_broker(self, supervisor: Supervisor, environment: dict[str, str]) -> None:
        if settings.REDIS_URL:
            supervisor.say("make", f"broker: Redis at {redact_url(settings.REDIS_URL)}")
            return
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            self._use_filesystem_broker(supervisor, environment, reason="CELERY_BROKER_URL")
            return
        embedded = EmbeddedRedis(settings.EMBEDDED_REDIS_SOCKET)
        try:
            process = embedded.start(output=subprocess.PIPE)
        except EmbeddedRedisUnavailable as error:
            self._use_filesystem_broker(supervisor, environment, reason=str(error))
            return
        supervisor.adopt("broker", process)
        # The children read the broker from the same default (the socket path), but say
        # it explicitly so a changed default can never split them across two brokers.
        environment["REDIS_URL"] = embedded.url
        supervisor.say("make", f"broker: embedded Redis on {embedded.socket_path}")

    def _use_filesystem_broker(
        self, supervisor: Supervisor, environment: dict[str, str], reason: str
    ) -> None:
        for folder in ("queue", "processed"):
            Path(settings.VAR_DIR, "broker", folder).mkdir(parents=True, exist_ok=True)
        environment["CELERY_BROKER_URL"] = "filesystem://"
        supervisor.say("make", f"broker: kombu filesystem transport under var/broker/ ({reason})")

    def _prepare_database(self, supervisor: Supervisor) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        demo_output = io.StringIO()
        call_command("seed_demo", nudge_soon=True, stdout=demo_output)
        for line in demo_output.getvalue().splitlines():
            supervisor.say("make", line)

    def _wait_for_web(
        self, url: str, supervisor: Supervisor, stop_requested: threading.Event
    ) -> bool:
        deadline = time.monotonic() + WEB_START_TIMEOUT
        while time.monotonic() < deadline and not stop_requested.is_set():
            if supervisor.first_exited() is not None:
                return False
            try:
                # The URL is built above from --host/--port: always http.
                with urllib.request.urlopen(url + "healthz", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return True
            except OSError:
                pass  # not listening yet, or 503 while the broker warms up
            stop_requested.wait(0.5)
        return False


def _lock_run_directory(run_directory: Path) -> IO[str]:
    """One launcher per var/ directory: two would run two beats on one database."""
    lock_file = (run_directory / "run_service.lock").open("w")
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        raise CommandError(
            f"another `make run` is already running with {run_directory.parent}; stop it "
            "first (or give this one its own STRESSRELIEF_VAR_DIR)."
        ) from None
    return lock_file


def _require_database() -> None:
    health = health_of_database()
    if not health.ok:
        where = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "the SQLite file"
        raise CommandError(
            f"the database does not answer ({health.detail}); check {where} and that "
            "the database server is running."
        )


def _require_reachable_broker() -> None:
    if not settings.REDIS_URL:
        return  # the embedded one is started later
    health = health_of_broker()
    if not health.ok:
        raise CommandError(
            f"the broker at REDIS_URL does not answer ({health.detail}); start Redis "
            "or unset REDIS_URL to use the embedded one."
        )


def _require_free_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As the web server will: a port in TIME_WAIT after a restart is free to take.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"port {port} on {host} is already in use: stop the program using it "
                    f"or choose another port, e.g. `make run PORT={port + 1}`."
                ) from None
            raise CommandError(f"cannot listen on {host}:{port}: {error.strerror}.") from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
