"""`make run`: the whole service on one machine (web, worker, beat, embedded broker)."""

from __future__ import annotations

import errno
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
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.operations.embedded_redis import EmbeddedRedis, EmbeddedRedisUnavailable
from apps.operations.selectors import health_of_broker, health_of_database
from apps.operations.supervisor import Supervisor
from stressrelief.environment import redact_url

# Seconds to wait for the web server to answer /healthz before giving up.
WEB_START_TIMEOUT = 90


class Command(BaseCommand):
    help = "Run web, Celery worker, Celery beat and (without REDIS_URL) an embedded Redis."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=2, help="worker processes")

    def handle(self, *args: Any, host: str, port: int, concurrency: int, **options: Any) -> None:
        _require_free_port(host, port)
        Path(settings.VAR_DIR, "run").mkdir(parents=True, exist_ok=True)
        environment = dict(os.environ, PYTHONUNBUFFERED="1")
        supervisor = Supervisor(output=sys.stdout)
        stop_requested = threading.Event()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signal_number, lambda *_: stop_requested.set())
        _require_database()  # before starting anything, so a failure leaves nothing behind
        try:
            self._start_broker(supervisor, environment)
            self._prepare_database(supervisor)
            python = sys.executable
            supervisor.start(
                "web", [python, "manage.py", "runserver", f"{host}:{port}"], environment
            )
            supervisor.start(
                "worker",
                [python, "-m", "celery", "-A", "stressrelief", "worker", "--loglevel", "INFO",
                 "--concurrency", str(concurrency), "--hostname", "worker@%h"],
                environment,
            )  # fmt: skip
            supervisor.start(
                "beat",
                [python, "-m", "celery", "-A", "stressrelief", "beat", "--loglevel", "INFO",
                 "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
                environment,
            )  # fmt: skip
            url = f"http://{_url_host(host)}:{port}/"
            if self._wait_for_web(url, supervisor, stop_requested):
                supervisor.say(
                    "make",
                    f"stressrelief is running at {url} (admin: {url}admin/, API docs: "
                    f"{url}api/docs/). Press Ctrl-C to stop.",
                )
            while not stop_requested.is_set():
                exited = supervisor.first_exited()
                if exited is not None:
                    supervisor.say(
                        "make",
                        f"{exited.name} exited with code {exited.process.returncode}; "
                        "stopping everything (its output is above).",
                    )
                    break
                stop_requested.wait(0.5)
        finally:
            supervisor.say("make", "stopping web, beat, worker and broker ...")
            supervisor.stop_all()
            supervisor.say("make", "stopped.")

    def _start_broker(self, supervisor: Supervisor, environment: dict[str, str]) -> None:
        if settings.REDIS_URL:
            health = health_of_broker()
            if not health.ok:
                raise CommandError(
                    f"the broker at REDIS_URL does not answer ({health.detail}); start Redis "
                    "or unset REDIS_URL to use the embedded one."
                )
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
        call_command("seed_demo", stdout=demo_output)
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


def _require_database() -> None:
    health = health_of_database()
    if not health.ok:
        where = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "the SQLite file"
        raise CommandError(
            f"the database does not answer ({health.detail}); check {where} and that "
            "the database server is running."
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
