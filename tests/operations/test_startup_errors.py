"""Bad configuration ends in one clear line naming what to fix, never a traceback."""

from __future__ import annotations

import fcntl
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPOSITORY, free_port, project_environment

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
        EMAIL_URL="smtp+tls://nudges:password@mail.example.org:587",
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
def test_run_service_names_the_service_that_does_not_answer_and_starts_nothing(
    tmp_path: Path, database_url: str, redis_url: str, expected: tuple[str, ...]
) -> None:
    result = run_manage(
        "run_service",
        "--port",
        str(free_port()),
        STRESSRELIEF_VAR_DIR=str(tmp_path),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
    )

    assert_one_clear_line(result, *expected)
    assert "broker:" not in result.stdout
    assert "stopping" not in result.stdout


def test_run_service_refuses_a_port_out_of_range(tmp_path: Path) -> None:
    result = run_manage("run_service", "--port", "0", STRESSRELIEF_VAR_DIR=str(tmp_path))

    assert_one_clear_line(result, "port must be between 1 and 65535")


def test_a_second_launcher_on_the_same_var_directory_is_refused(tmp_path: Path) -> None:
    # given a launcher holding the lock on this var directory
    (tmp_path / "run").mkdir()
    with (tmp_path / "run" / "run_service.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)

        result = run_manage(
            "run_service", "--port", str(free_port()), STRESSRELIEF_VAR_DIR=str(tmp_path)
        )

    assert_one_clear_line(result, "another `make run` is already running")


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("EMAIL_URL", "smtp://mail?timeout=abc", "?timeout= a number"),
        ("DJANGO_LOG_LEVEL", "bogus", "DJANGO_LOG_LEVEL must be one of"),
        ("DATABASE_URL", "postgresql://admin:S3CRETPW@/", "***"),
    ],
    ids=["email-timeout", "log-level", "password-hidden"],
)
def test_more_malformed_values_end_in_one_line_that_hides_passwords(
    variable: str, value: str, fragment: str
) -> None:
    result = run_manage("check", **{variable: value})

    assert_one_clear_line(result, fragment)
    assert "S3CRETPW" not in result.stderr


def test_production_without_an_email_server_is_refused() -> None:
    result = run_manage(
        "check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=PRODUCTION_SECRET, EMAIL_URL=""
    )

    assert_one_clear_line(result, "EMAIL_URL is not set")
