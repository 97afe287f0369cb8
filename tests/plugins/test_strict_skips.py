"""With STRESSRELIEF_STRICT_TESTS=1 a skipped test fails the run; without it, it is reported."""

from __future__ import annotations

import pytest

A_SKIPPING_SUITE = """
import pytest

def test_runs():
    assert True

def test_needs_a_browser():
    pytest.skip("needs a browser: install chromium to run it")
"""


def run_suite(pytester: pytest.Pytester) -> pytest.RunResult:
    pytester.makepyfile(A_SKIPPING_SUITE)
    return pytester.runpytest("-p", "no:django", "-p", "tests.plugins.strict_skips", "-rs")


def test_a_skip_fails_the_run_in_strict_mode(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRESSRELIEF_STRICT_TESTS", "1")

    result = run_suite(pytester)

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 skipped test(s) count as failures*"])
    result.stdout.fnmatch_lines(["SKIPPED*needs a browser*"])


def test_a_skip_is_reported_with_its_reason_otherwise(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRESSRELIEF_STRICT_TESTS", raising=False)

    result = run_suite(pytester)

    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*needs a browser*"])
