"""The process supervisor behind `make run`: prefixed output, and nothing left running."""

from __future__ import annotations

import io
import os
import sys

import pytest

from apps.operations.supervisor import Supervisor
from tests.conftest import wait_until

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
