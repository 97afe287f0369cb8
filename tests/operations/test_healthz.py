"""/healthz: 200 when the database and the broker answer, 503 naming the one that does not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from stressrelief.celery import app as celery_app
from stressrelief.environment import kombu_broker_url
from tests.conftest import REPOSITORY, project_environment

# A PostgreSQL port nothing listens on: connection refused at once.
UNREACHABLE_DATABASE_URL = "postgresql://nobody@127.0.0.1:1/nothing"


@pytest.mark.django_db
def test_healthz_is_200_when_database_and_broker_answer(
    client: Client, broker_redis_url: str
) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_is_503_naming_the_broker_when_it_does_not_answer(
    client: Client, broker_redis_url: str, tmp_path: Path
) -> None:
    # given a broker URL pointing at a socket nobody listens on
    celery_app.conf.broker_url = f"redis+socket://{tmp_path / 'gone.sock'}"
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.broker_url = kombu_broker_url(broker_redis_url)

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}
    assert "gone.sock" not in response.content.decode(), "internals must not leak"


def test_healthz_is_503_naming_the_database_when_it_does_not_answer(tmp_path: Path) -> None:
    # A separate process: this one's database connection is pytest-django's.
    script = (
        "import django, json; django.setup();"
        "from django.test.utils import setup_test_environment; setup_test_environment();"
        "from django.test import Client; r = Client().get('/healthz');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPOSITORY,
        env=project_environment(
            DATABASE_URL=UNREACHABLE_DATABASE_URL,
            CELERY_BROKER_URL="filesystem://",
            REDIS_URL="",
            STRESSRELIEF_VAR_DIR=str(tmp_path),
            DJANGO_SETTINGS_MODULE="stressrelief.settings",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"status": 503, "body": {"database": "unavailable", "broker": "ok"}}


def test_healthcheck_command_exits_non_zero_and_says_why(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "healthcheck"],
        cwd=REPOSITORY,
        env=project_environment(
            DATABASE_URL=UNREACHABLE_DATABASE_URL,
            REDIS_URL="redis://127.0.0.1:1/0",
            STRESSRELIEF_VAR_DIR=str(tmp_path),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "database: unavailable" in result.stdout
    assert "broker: unavailable: redis://127.0.0.1:1/0" in result.stdout
    assert "unavailable: database, broker" in result.stderr
