"""`make run` end to end: web, worker, beat and broker up; Ctrl-C stops every one of them."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPOSITORY, free_port, project_environment, wait_until

pytestmark = pytest.mark.slow


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback http
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_run_service_serves_healthz_admin_and_a_first_nudge_and_stops_everything_on_ctrl_c(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # A short directory: the embedded Redis socket path must fit the unix limit.
    var_dir = tmp_path_factory.mktemp("run")
    port = free_port()
    environment = project_environment(
        STRESSRELIEF_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{Path(var_dir) / 'run.sqlite3'}",
    )
    launcher = subprocess.Popen(
        [sys.executable, "manage.py", "run_service", "--port", str(port), "--concurrency", "1"],
        cwd=REPOSITORY,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(launcher.stdout.readline, "")), daemon=True
    )
    reader.start()
    try:
        assert wait_until(lambda: any("is running at" in line for line in lines), timeout=120), (
            "".join(lines)
        )
        children = psutil.Process(launcher.pid).children(recursive=True)
        output = "".join(lines)

        assert http_status(f"http://127.0.0.1:{port}/healthz") == 200
        assert http_status(f"http://127.0.0.1:{port}/admin/login/") == 200
        for prefix in ("web    |", "worker |", "beat   |"):
            assert prefix in output
        assert "demo member: member@demo.stressrelief.invalid  password: " in output
        assert len(children) >= 4  # broker or not, web + worker + beat have children

        # and the demo member's first nudge lands in var/mail/ within two minutes of start
        mail = Path(var_dir) / "mail"
        assert wait_until(lambda: any(mail.glob("*.eml")), timeout=120), "".join(lines[-40:])

        # when the person presses Ctrl-C
        launcher.send_signal(signal.SIGINT)
        launcher.wait(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    reader.join(timeout=5)

    # then every process it started is gone and the port is free
    assert wait_until(
        lambda: (
            not any(
                child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children
            )
        ),
        timeout=20,
    )
    assert "stopped." in "".join(lines)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
