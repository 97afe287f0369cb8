"""Bad configuration ends in one clear line naming what to fix, never a traceback."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPOSITORY, project_environment

pytestmark = pytest.mark.slow

PRODUCTION_SECRET = secrets.token_urlsafe(50)


def run_manage(
    *arguments: str, timeout: float = 60, **environment: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=REPOSITORY,
        env=project_environment(**environment),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    for fragment in expected:
        assert fragment in message


def test_a_malformed_debug_flag_stops_start_up_naming_the_variable() -> None:
    result = run_manage("check", DJANGO_DEBUG="maybe")

    assert_one_clear_line(result, "DJANGO_DEBUG must be true or false", "'maybe'")


def test_production_without_a_secret_key_stops_start_up_naming_the_variable() -> None:
    result = run_manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="")

    assert_one_clear_line(result, "DJANGO_SECRET_KEY is not set")


def test_a_database_url_of_an_unknown_kind_is_refused() -> None:
    result = run_manage("check", DATABASE_URL="mongodb://localhost/x")

    assert_one_clear_line(result, "DATABASE_URL must be a URL starting with")


def test_the_production_configuration_passes_djangos_deployment_checks() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=PRODUCTION_SECRET,
        DJANGO_ALLOWED_HOSTS="stressrelief.example.org",
        SITE_URL="https://stressrelief.example.org",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_run_service_on_a_busy_port_says_which_port_and_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = run_manage("run_service", "--port", str(port), STRESSRELIEF_VAR_DIR=str(tmp_path))

    assert_one_clear_line(result, f"port {port} on 127.0.0.1 is already in use", "PORT=")


@pytest.mark.parametrize(
    ("database_url", "redis_url", "expected"),
    [
        (
            "postgresql://nobody@127.0.0.1:1/nothing",
            "",
            ("the database does not answer", "DATABASE_URL"),
        ),
        ("", "redis://127.0.0.1:1/0", ("the broker at REDIS_URL does not answer", "start Redis")),
    ],
    ids=["database", "redis"],
)
def test_run_service_names_the_service_that_does_not_answer(
    tmp_path: Path, database_url: str, redis_url: str, expected: tuple[str, ...]
) -> None:
    result = run_manage(
        "run_service",
        "--port",
        "0",
        STRESSRELIEF_VAR_DIR=str(tmp_path),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
    )

    assert_one_clear_line(result, *expected)
    assert not (tmp_path / "run" / "redis.sock").exists(), "nothing is left running"
