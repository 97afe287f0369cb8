"""Run several processes in the foreground, prefix their output, stop them together.

Used by `make run` (the `run_service` command) for web, worker, beat and the embedded
broker. Each child runs in its own session so the terminal's Ctrl-C reaches only
this supervisor, which then stops every child in order: nothing is left behind.
"""

from __future__ import annotations

import contextlib
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

    def adopt(self, name: str, process: subprocess.Popen[str]) -> ManagedProcess:
        """Manage a process started elsewhere with stdout=PIPE (e.g. the embedded broker)."""
        child = ManagedProcess(name=name, process=process)
        if process.stdout is not None:
            child.pump = threading.Thread(target=self._pump, args=(child,), daemon=True)
            child.pump.start()
        self.children.append(child)
        return child

    def start(
        self, name: str, command: Sequence[str], environment: Mapping[str, str]
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
        )
        return self.adopt(name, process)

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
        """SIGTERM every child's process group, newest first; SIGKILL what outlives `timeout`.

        Newest first: web, beat and worker stop before the broker they talk to.
        """
        for child in reversed(self.children):
            _signal_group(child.process, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(child.name, f"did not stop within {timeout:.0f} s; killing it")
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
            # Children of the child (runserver's reloader, worker pool) share its group.
            _signal_group(child.process, signal.SIGKILL)
            if child.pump is not None:
                child.pump.join(timeout=2)


def _signal_group(process: subprocess.Popen[str], signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, signal_number)
