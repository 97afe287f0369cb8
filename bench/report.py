"""docs/PERFORMANCE.md from the results of the last run (var/bench/results/*.json)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.common import ROOT, Result, machine, read_results

DOC = ROOT / "docs" / "PERFORMANCE.md"
PACKAGES = ("Django", "djangorestframework", "celery", "kombu", "redis", "psycopg",
            "gunicorn", "django-celery-beat")  # fmt: skip


def write_report(*, total_seconds: float | None) -> Path:
    results = read_results()
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (bench/report.py) from the figures of its last run; do not "
        "edit by hand. Targets come from issue 7. *Ratio* is target/figure for a ceiling "
        "and figure/target for a floor, so **>= 1 means met**.",
        "",
        "| # | Benchmark | Figure | Target | Ratio to target | vs django-celery-beat | Met |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in (result for result in results if result.number > 0):
        bound = ">=" if result.higher_is_better else "<="
        versus = f"{result.vs_celery_beat:,.0f}x" if result.vs_celery_beat else ""
        lines.append(
            f"| {result.number} | {result.name} | {_number(result.figure)} {result.unit} | "
            f"{bound} {_number(result.target)} {result.unit} | {result.ratio_to_target:.2f} | "
            f"{versus} | {'yes' if result.met else '**no**'} |"
        )
    lines += ["", "## Machine, versions, commands", ""]
    lines += [f"- {key}: {value}" for key, value in machine().items()]
    lines += [f"- {name}: {_version(name)}" for name in PACKAGES]
    lines += [f"- PostgreSQL: {_server_version('psql')}", f"- Redis: {_server_version('redis')}"]
    lines += [f"- measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, git {_git_head()}"]
    if total_seconds is not None:
        lines.append(f"- `make bench` took {total_seconds:.0f} s in all")
    lines += [
        "",
        "Everything: `DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stressrelief "
        "REDIS_URL=redis://127.0.0.1:6379/2 make bench`. One benchmark: "
        "`.venv/bin/python -m bench b1_dispatch` (same variables; the document is then "
        "rewritten from the last results of every benchmark).",
        "",
    ]
    for result in results:
        if not result.details:
            continue
        heading = "Physical reference" if result.number == 0 else f"{result.number}. {result.name}"
        lines += [f"## {heading}", ""]
        if result.command:
            lines += [f"Command: `{result.command}`", ""]
        lines += [result.details.strip(), ""]
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(lines).rstrip() + "\n")
    return DOC


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _server_version(which: str) -> str:
    command = ["psql", "--version"] if which == "psql" else ["redis-server", "--version"]
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "unknown"


def _git_head() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=False)  # fmt: skip
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


__all__ = ["Result", "write_report"]
