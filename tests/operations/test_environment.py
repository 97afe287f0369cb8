"""The settings helper: typed values, *_FILE secrets, errors that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from stressrelief.environment import (
    ConfigurationError,
    Environment,
    email_settings_from_url,
    redact_url,
)


def test_a_malformed_boolean_names_the_variable_and_the_bad_value() -> None:
    with pytest.raises(ConfigurationError, match=r"DJANGO_DEBUG must be true or false.*'maybe'"):
        Environment({"DJANGO_DEBUG": "maybe"}).flag("DJANGO_DEBUG", default=True)


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("0", False), ("Off", False)])
def test_booleans_accept_the_usual_spellings(text: str, expected: bool) -> None:
    assert Environment({"X": text}).flag("X", default=not expected) is expected


def test_an_unset_or_blank_variable_gives_the_default() -> None:
    assert Environment({"X": "  "}).integer("X", default=7) == 7
    assert Environment({}).text("X", "fallback") == "fallback"


def test_a_malformed_throttle_rate_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="STRESSRELIEF_THROTTLE_AUTH must be a rate"):
        Environment({"STRESSRELIEF_THROTTLE_AUTH": "lots"}).rate(
            "STRESSRELIEF_THROTTLE_AUTH", "1/s"
        )
    assert Environment({}).rate("X", "10/min") == "10/min"


def test_an_integer_below_its_minimum_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="EMAIL_PORT must be at least 1, got 0"):
        Environment({"EMAIL_PORT": "0"}).integer("EMAIL_PORT", default=25, minimum=1)


def test_a_secret_is_read_from_the_file_named_by_its_FILE_variable(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret-value\n")

    assert Environment({"DJANGO_SECRET_KEY_FILE": str(secret)}).raw("DJANGO_SECRET_KEY") == (
        "s3cret-value"
    )


def test_an_unreadable_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="DJANGO_SECRET_KEY_FILE points to"):
        Environment({"DJANGO_SECRET_KEY_FILE": str(tmp_path / "missing")}).raw("DJANGO_SECRET_KEY")


def test_a_url_with_the_wrong_scheme_names_the_accepted_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"DATABASE_URL must be a URL starting with"):
        Environment({"DATABASE_URL": "mysql://db/x"}).url(
            "DATABASE_URL", schemes=("postgresql", "sqlite")
        )


def test_a_url_with_a_non_numeric_port_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="REDIS_URL has an invalid port"):
        Environment({"REDIS_URL": "redis://localhost:sixty/0"}).url("REDIS_URL", ("redis",))


def test_email_url_becomes_django_smtp_settings() -> None:
    email = email_settings_from_url("smtp+tls://nudges%40example.org:p%40ss@mail.example.org")

    assert email["EMAIL_HOST"] == "mail.example.org"
    assert email["EMAIL_PORT"] == 587
    assert email["EMAIL_USE_TLS"] is True
    assert email["EMAIL_HOST_USER"] == "nudges@example.org"
    assert email["EMAIL_HOST_PASSWORD"] == "p@ss"


def test_email_url_without_a_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="EMAIL_URL must name the SMTP host"):
        email_settings_from_url("smtp://")


def test_passwords_are_hidden_in_urls_shown_to_operators() -> None:
    assert redact_url("redis://:hunter2@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redact_url("redis://cache:6379/0") == "redis://cache:6379/0"
