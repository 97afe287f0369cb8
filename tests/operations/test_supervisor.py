"""The process supervisor behind `make run`: prefixed output, and nothing left running."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import psutil
import pytest

from apps.operations.supervisor import Supervisor
from tests.conftest import REPOSITORY, wait_until

pytestmark = pytest.mark.slow

STUBBORN_CHILD = (
    "import signal, time, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    "print('holding on', flush=True); time.sleep(600)"
)


def test_output_of_each_process_is_prefixed_with_its_name() -> None:
    output = io.StringIO()
    supervisor = Supervisor(output=output)

    supervisor.start("web", [sys.executable, "-c", "print('serving')"], os.environ)
    supervisor.start("beat", [sys.executable, "-c", "print('ticking')"], os.environ)
    assert wait_until(lambda: "serving" in output.getvalue() and "ticking" in output.getvalue())
    supervisor.stop_all()

    lines = output.getvalue().splitlines()
    assert "web    | serving" in lines
    assert "beat   | ticking" in lines


def test_stop_all_kills_a_process_that_ignores_sigterm() -> None:
    output = io.StringIO()
    supervisor = Supervisor(output=output)
    child = supervisor.start("worker", [sys.executable, "-c", STUBBORN_CHILD], os.environ)
    assert wait_until(lambda: "holding on" in output.getvalue())

    supervisor.stop_all(timeout=1)

    assert child.process.poll() is not None
    assert "did not stop within 1 s; killing it" in output.getvalue()


def test_first_exited_reports_the_process_that_died() -> None:
    supervisor = Supervisor(output=io.StringIO())
    supervisor.start("web", [sys.executable, "-c", "import time; time.sleep(600)"], os.environ)
    dying = supervisor.start("beat", [sys.executable, "-c", "raise SystemExit(3)"], os.environ)

    assert wait_until(lambda: supervisor.first_exited() is dying)
    supervisor.stop_all()
    assert dying.process.returncode == 3


ORPHANING_LAUNCHER = """
import os, sys
from apps.operations.supervisor import Supervisor
supervisor = Supervisor()
sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
child = supervisor.start("worker", sleeper, os.environ)
print(child.process.pid, flush=True)
import time; time.sleep(600)
"""


def test_children_stop_when_the_supervisor_is_killed_without_cleaning_up() -> None:
    # given a supervisor process with one child
    launcher = subprocess.Popen(
        [sys.executable, "-c", ORPHANING_LAUNCHER],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert launcher.stdout is not None
    child_pid = int(launcher.stdout.readline())

    # when the supervisor dies by SIGKILL (no chance to stop its children)
    launcher.kill()
    launcher.wait(timeout=10)

    # then the kernel's parent-death signal stops the child too
    child = psutil.Process(child_pid) if psutil.pid_exists(child_pid) else None
    try:
        assert wait_until(
            lambda: (
                child is None or not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
            ),
            timeout=10,
        )
    finally:
        if child is not None and child.is_running():
            child.kill()


GRANDCHILD = """
import signal, sys, time
def hit(*_):
    print("grandchild hit", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, hit)
time.sleep(600)
"""
# A leader that stops its own child on SIGTERM, as Celery's main process stops its pool.
LEADER = f"""
import signal, subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", {GRANDCHILD!r}])
def stop(*_):
    print("leader stopping its pool", flush=True)
    grandchild.kill()
    grandchild.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(600)
"""


def test_a_child_that_stops_its_own_children_gets_the_signal_alone() -> None:
    output = io.StringIO()
    supervisor = Supervisor(output=output)
    supervisor.start("worker", [sys.executable, "-c", LEADER], os.environ, signal_group=False)
    assert wait_until(lambda: "ready" in output.getvalue())

    supervisor.stop_all(timeout=10)

    # SIGTERM to the whole group would have hit the grandchild before the leader acted
    assert "leader stopping its pool" in output.getvalue()
    assert "grandchild hit" not in output.getvalue()
