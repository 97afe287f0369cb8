"""Run several processes in the foreground, prefix their output, stop them together.

Used by `make run` (the `run_service` command) for web, worker, beat and the embedded
broker. Each child runs in its own session so the terminal's Ctrl-C reaches only
this supervisor, which then stops every child in order: nothing is left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO


@dataclass
class ManagedProcess:
    name: str
    process: subprocess.Popen[str]
    pump: threading.Thread | None = field(default=None)
    # False: ask only the leader to stop (it stops its own children, e.g. Celery's pool).
    signal_group: bool = True


# Linux prctl(PR_SET_PDEATHSIG): the kernel sends the child SIGTERM if this supervisor
# dies without cleaning up (SIGKILL, a crash), so no orphan keeps the port or the queue.
_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: only an already-resolved C call, no Python
    # imports or locks, so it is safe although the parent has threads.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(self, output: IO[str] | None = None) -> None:
        self.output = output or sys.stdout
        self.children: list[ManagedProcess] = []
        self._write_lock = threading.Lock()
        self._prefix_width = 6

    def say(self, name: str, line: str) -> None:
        with self._write_lock:
            self.output.write(f"{name:<{self._prefix_width}} | {line.rstrip()}\n")
            self.output.flush()

    def adopt(
        self, name: str, process: subprocess.Popen[str], signal_group: bool = True
    ) -> ManagedProcess:
        """Manage a process started elsewhere with stdout=PIPE (e.g. the embedded broker)."""
        child = ManagedProcess(name=name, process=process, signal_group=signal_group)
        if process.stdout is not None:
            child.pump = threading.Thread(target=self._pump, args=(child,), daemon=True)
            child.pump.start()
        self.children.append(child)
        return child

    def start(
        self,
        name: str,
        command: Sequence[str],
        environment: Mapping[str, str],
        signal_group: bool = True,
    ) -> ManagedProcess:
        process = subprocess.Popen(
            list(command),
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        return self.adopt(name, process, signal_group=signal_group)

    def _pump(self, child: ManagedProcess) -> None:
        assert child.process.stdout is not None
        for line in child.process.stdout:
            self.say(child.name, line)

    def first_exited(self) -> ManagedProcess | None:
        for child in self.children:
            if child.process.poll() is not None:
                return child
        return None

    def stop_all(self, timeout: float = 15.0) -> None:
        """Stop every child, newest first; SIGKILL what outlives `timeout` seconds.

        Newest first: beat, worker and web stop before the broker they talk to. A child
        gets SIGTERM (its whole process group, or only itself when `signal_group` is
        False); what is left of its group afterwards (runserver's reloaded server) gets
        SIGTERM, then SIGKILL.
        """
        for child in reversed(self.children):
            if child.signal_group:
                _signal_group(child.process, signal.SIGTERM)
            else:
                child.process.terminate()
            try:
                child.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.say(child.name, f"did not stop within {timeout:.0f} s; killing it")
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
            _signal_group(child.process, signal.SIGTERM)
            time.sleep(0.2)  # seconds: let an orphaned group member exit on its own
            _signal_group(child.process, signal.SIGKILL)
            if child.pump is not None:
                child.pump.join(timeout=2)


def _signal_group(process: subprocess.Popen[str], signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, signal_number)
