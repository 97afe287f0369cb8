"""Shared fixtures: the real broker (embedded Redis or REDIS_URL) and a real Celery worker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from stressrelief.celery import app as celery_app
from stressrelief.environment import kombu_broker_url
from tests.delivery.smtp_sink import LOOPBACK, SmtpSink, running_smtp_sink

pytest_plugins = ["pytester", "tests.plugins.strict_skips"]

REPOSITORY = Path(__file__).resolve().parent.parent
# Seconds a real worker process may take to connect and report ready.
WORKER_READY_TIMEOUT = 60


@pytest.fixture(autouse=True)
def _skip_postgresql_tests_elsewhere(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgresql") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgresql://... to run it")


@pytest.fixture(scope="session")
def broker_redis_url() -> Iterator[str]:
    """A Redis for the broker in redis-py URL form: REDIS_URL, or an embedded server.

    The test process's Celery app is pointed at it, so what the tests publish is what
    a worker started with REDIS_URL=<this> consumes.
    """
    from apps.operations.embedded_redis import EmbeddedRedis, EmbeddedRedisUnavailable

    if settings.REDIS_URL:
        yield settings.REDIS_URL
        return
    # A short directory: a unix socket path must stay under ~100 characters.
    socket_directory = Path(tempfile.mkdtemp(prefix="stressrelief-"))
    embedded = EmbeddedRedis(socket_directory / "redis.sock")
    try:
        embedded.start()
    except EmbeddedRedisUnavailable as error:
        pytest.skip(f"no broker: set REDIS_URL, or fix the embedded Redis ({error})")
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = kombu_broker_url(embedded.url)
    try:
        yield embedded.url
    finally:
        celery_app.conf.broker_url = previous
        celery_app.pool.force_close_all()
        embedded.stop()
        shutil.rmtree(socket_directory, ignore_errors=True)


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url_for_subprocess() -> str:
    """A DATABASE_URL that points another process at the database this test uses."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    if connection.vendor == "postgresql":
        password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
        return (
            f"postgresql://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        )
    raise NotImplementedError(connection.vendor)


def project_environment(**overrides: str) -> dict[str, str]:
    """os.environ for a child process of this project, with `overrides` applied."""
    return dict(os.environ, PYTHONUNBUFFERED="1", **overrides)


class WorkerProcess:
    """A real `celery worker` process, its output collected for failure messages."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if " ready." in line:
                self.ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines[-80:])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=5)


def start_worker_process(broker_redis_url: str, **environment: str) -> WorkerProcess:
    """Start a Celery worker process on the real broker and this test's database, with
    extra environment variables (e.g. EMAIL_URL); return once it reports ready."""
    command = [
        sys.executable, "-m", "celery", "-A", "stressrelief", "worker",
        "--pool", "solo", "--loglevel", "INFO", "--hostname", f"test-{os.getpid()}@%h",
        "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPOSITORY,
        env=project_environment(
            REDIS_URL=broker_redis_url,
            DATABASE_URL=database_url_for_subprocess(),
            **environment,
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = WorkerProcess(process)
    if not worker.ready.wait(WORKER_READY_TIMEOUT):
        worker.stop()
        pytest.fail(f"worker not ready in {WORKER_READY_TIMEOUT} s:\n{worker.output}")
    return worker


@pytest.fixture
def celery_worker_process(transactional_db: None, broker_redis_url: str) -> Iterator[WorkerProcess]:
    """A Celery worker process on the real broker, writing to this test's database."""
    worker = start_worker_process(broker_redis_url)
    try:
        yield worker
    finally:
        worker.stop()


def wait_until(
    condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.1
) -> bool:
    """Poll `condition` until it is truthy or `timeout` seconds pass (waits on another
    process, never on a clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """Throttle counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def api_as():
    """`api_as(user)`: an APIClient that authenticates as `user` with a real token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for


# --- A real local SMTP server (tests/delivery/smtp_sink.py) ---------------------------------
@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with running_smtp_sink() as sink:
        yield sink


@pytest.fixture
def mail_to_sink(settings, smtp_sink: SmtpSink) -> SmtpSink:
    """This process sends email over SMTP to the sink."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = LOOPBACK
    settings.EMAIL_PORT = smtp_sink.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return smtp_sink
