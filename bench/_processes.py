"""What the benchmarks that start Celery processes share: starting one with a log file,
measuring the CPU it (and its pool children, and its PostgreSQL backends) used, and
stopping it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.common import ROOT


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    started_at: float = field(default_factory=time.time)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def cpu_seconds(self) -> float:
        """User + system seconds of the process and its children (a prefork pool) so far."""
        return process_tree_cpu(self.process.pid)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (a warm shutdown: beat saves its schedule), SIGKILL after `timeout`."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for child in _children(self.process.pid):
                child.kill()
            self.process.kill()
            self.process.wait(timeout=10)


def celery_start(name: str, arguments: list[str], environment: dict[str, str]) -> Started:
    """`celery -A stressrelief <arguments>` in its own process, output in var/bench/."""
    log = ROOT / "var" / "bench" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "stressrelief", *arguments],
        cwd=ROOT, env=environment, stdin=subprocess.DEVNULL,
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    return Started(name=name, process=process, log=log)


def wait_for_output(started: Started, text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in started.output():
            return True
        if started.process.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def process_tree_cpu(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def database_backends_cpu(connection: object) -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL backend serving the bench database, except
    the one asking (PostgreSQL runs on this machine: its processes are readable here)."""
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [row[0] for row in cursor.fetchall()]
    seconds: dict[int, float] = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        seconds[pid] = times.user + times.system
    return seconds


def backends_cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU the backends used between two samples; a backend born in between counts whole."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def sleep_until(moment: float) -> None:
    while (left := moment - time.time()) > 0:
        time.sleep(min(left, 0.5))


__all__ = [
    "Started",
    "backends_cpu_between",
    "celery_start",
    "database_backends_cpu",
    "profile_shares",
    "sleep_until",
    "wait_for_output",
]


def profile_shares(
    pid: int, seconds: float, *, below: str, keep: int = 12
) -> list[tuple[float, str]]:
    """Sample a running Python process with py-spy (non-blocking, so the process is not
    paused) for `seconds`; return the functions called under `below` (e.g.
    "Scheduler.tick") most often on the stack, with the share of all samples each appears
    in (inclusive). [] when py-spy is missing or not permitted."""
    binary = Path(sys.executable).with_name("py-spy")
    if not binary.exists():
        return []
    out = ROOT / "var" / "bench" / f"py-spy-{pid}.txt"
    try:
        subprocess.run(
            [str(binary), "record", "-p", str(pid), "-d", str(int(seconds)), "-f", "raw",
             "-o", str(out), "--nonblocking"],
            capture_output=True, timeout=seconds + 30, check=True,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError):
        return []
    counts: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        total += int(samples)
        functions = [frame.split(" (")[0] for frame in stack.split(";")]
        if below not in functions:
            continue
        for function in set(functions[functions.index(below) :]):
            counts[function] = counts.get(function, 0) + int(samples)
    out.unlink(missing_ok=True)
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return [(count / total, function) for function, count in ranked[:keep]] if total else []
