"""docker-compose.yml cannot run here (no Docker engine), so check what it would run:
every command names a module, app or management command this project has."""

from __future__ import annotations

import importlib
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from celery import Celery
from django.conf import settings
from django.core.management import get_commands

from tests.conftest import REPOSITORY, project_environment

COMPOSE = yaml.safe_load((REPOSITORY / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
OUR_SERVICES = {name: service for name, service in SERVICES.items() if "build" in service}
CELERY_SUBCOMMANDS = {"worker", "beat", "inspect", "flower"}


def project_commands() -> list[tuple[str, list[str]]]:
    """(where, argv) for every command our image runs: service commands and health checks."""
    commands: list[tuple[str, list[str]]] = []
    for name, service in OUR_SERVICES.items():
        commands.append((f"{name}.command", list(service["command"])))
        test = service.get("healthcheck", {}).get("test")
        if test and test[0] == "CMD":
            commands.append((f"{name}.healthcheck", test[1:]))
        elif test and test[0] == "CMD-SHELL":
            commands.append((f"{name}.healthcheck", shlex.split(test[1].replace("$$", "$"))))
    dockerfile_cmd = re.search(r"^CMD (\[.*\])$", dockerfile(), re.MULTILINE)
    assert dockerfile_cmd, "the Dockerfile has an exec-form CMD"
    commands.append(("Dockerfile CMD", yaml.safe_load(dockerfile_cmd.group(1))))
    return commands


def dockerfile() -> str:
    return (REPOSITORY / "Dockerfile").read_text()


def test_the_stack_has_the_services_of_the_architecture() -> None:
    assert {"web", "worker", "beat", "redis", "postgres", "flower"} <= set(SERVICES)
    assert SERVICES["flower"]["profiles"] == ["monitoring"]
    assert "postgres-data" in COMPOSE["volumes"]
    assert any(volume.startswith("postgres-data:") for volume in SERVICES["postgres"]["volumes"])
    for name in ("web", "worker", "beat", "redis", "postgres"):
        assert "healthcheck" in SERVICES[name], f"{name} has no health check"


@pytest.mark.parametrize(("where", "argv"), project_commands(), ids=lambda v: str(v)[:40])
def test_every_command_the_image_runs_exists_in_the_project(where: str, argv: list[str]) -> None:
    program = argv[0]
    if program == "gunicorn":
        module_name, attribute = argv[1].split(":")
        assert callable(getattr(importlib.import_module(module_name), attribute)), where
    elif program == "celery":
        app_module = argv[argv.index("-A") + 1]
        assert isinstance(importlib.import_module(app_module).celery_app, Celery), where
        subcommand = next(word for word in argv[3:] if not word.startswith("-"))
        assert subcommand in CELERY_SUBCOMMANDS, where
    elif argv[:2] == ["python", "manage.py"]:
        assert argv[2] in get_commands(), f"{where}: no management command {argv[2]}"
    elif argv[:2] == ["python", "-c"]:
        compile(argv[2], where, "exec")
    else:
        pytest.fail(f"{where}: unknown program {program!r}; teach this test about it")


def test_every_variable_the_stack_sets_is_read_by_the_settings() -> None:
    settings_source = (REPOSITORY / "stressrelief" / "settings" / "base.py").read_text()
    environment = OUR_SERVICES["web"]["environment"]

    unread = [name for name in environment if f'"{name}"' not in settings_source]
    assert unread == []


def compose_environment(service: dict) -> dict[str, str]:
    """The service's environment with `${VAR:?...}` filled by a sample and `${VAR:-x}` by x."""
    samples = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "EMAIL_URL": "smtp+tls://nudges:password@mail.example.org:587",
    }
    resolved = {}
    for name, value in service["environment"].items():
        match = re.fullmatch(r"\$\{(\w+):([?-])([^}]*)\}", str(value))
        if match is None:
            resolved[name] = str(value)
        elif match.group(2) == "-":
            resolved[name] = match.group(3)
        else:
            resolved[name] = samples[match.group(1)]
    return resolved


@pytest.mark.slow
def test_the_stacks_environment_passes_the_production_deployment_checks() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPOSITORY,
        env=project_environment(**compose_environment(OUR_SERVICES["web"])),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_web_health_check_probes_a_host_the_settings_allow() -> None:
    probe = " ".join(OUR_SERVICES["web"]["healthcheck"]["test"])
    host = re.search(r"http://([^:/]+)", probe)
    assert host is not None
    assert host.group(1) in settings.LOOPBACK_HOSTS


def test_the_dockerfile_copies_files_that_exist_and_uses_the_settings_module() -> None:
    for line in dockerfile().splitlines():
        if line.startswith("COPY ") and not line.startswith("COPY . "):
            for source in line.split()[1:-1]:
                assert (REPOSITORY / source).exists(), f"Dockerfile copies missing {source}"
    module = re.search(r"DJANGO_SETTINGS_MODULE=(\S+)", dockerfile())
    assert module is not None
    importlib.import_module(module.group(1))


def test_compose_file_is_valid_yaml_with_services_only_from_known_images() -> None:
    for name, service in SERVICES.items():
        assert "build" in service or "image" in service, name
    assert Path(REPOSITORY / OUR_SERVICES["web"]["build"] / "Dockerfile").exists()
