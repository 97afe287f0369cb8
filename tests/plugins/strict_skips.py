"""STRESSRELIEF_STRICT_TESTS=1 turns any skipped test into a failed run.

Skips stay visible (reasons are printed by -rs); CI sets the variable so a test that
silently stopped running (no browser, no PostgreSQL) cannot pass for a green build.
"""

from __future__ import annotations

import os

import pytest

STRICT_VARIABLE = "STRESSRELIEF_STRICT_TESTS"


def _strict() -> bool:
    return os.environ.get(STRICT_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def _skipped(config: pytest.Config) -> list[pytest.TestReport]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return reporter.stats.get("skipped", []) if reporter is not None else []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _strict() and _skipped(session.config) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = _skipped(terminalreporter.config)
    if _strict() and skipped:
        terminalreporter.write_line(
            f"{STRICT_VARIABLE}=1: {len(skipped)} skipped test(s) count as failures "
            "(see the short test summary for why each was skipped).",
            red=True,
            bold=True,
        )
