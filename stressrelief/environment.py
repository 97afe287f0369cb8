"""The one place settings read the environment.

Every helper takes the variable's name, returns a typed value, and raises
`ConfigurationError` with a message that names the variable and says what a
valid value looks like. A secret may instead be read from a file named by
`<NAME>_FILE` (Docker and Kubernetes secrets); the variable itself wins when
both are set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class ConfigurationError(ImproperlyConfigured):
    """A malformed or missing environment value. Its message is one line for an operator."""


class Environment:
    """Typed access to a mapping of environment variables (os.environ by default)."""

    def __init__(self, variables: Mapping[str, str] | None = None) -> None:
        self._variables = os.environ if variables is None else variables

    def raw(self, name: str) -> str | None:
        """The variable's text, or the contents of the file named by `<name>_FILE`, or None."""
        value = self._variables.get(name)
        if value is not None and value.strip() != "":
            return value.strip()
        file_name = self._variables.get(f"{name}_FILE")
        if file_name:
            try:
                return Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigurationError(
                    f"{name}_FILE points to {file_name!r}, which cannot be read "
                    f"({error.strerror}); fix the path or set {name} directly."
                ) from error
        return None

    def is_set(self, name: str) -> bool:
        return self.raw(name) is not None

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        return default if value is None else value

    def required_text(self, name: str, why: str) -> str:
        value = self.raw(name)
        if value is None:
            raise ConfigurationError(f"{name} is not set: {why}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        return self._parse(name, default, _parse_bool, "true or false (also 1/0, yes/no, on/off)")

    def integer(self, name: str, default: int, minimum: int | None = None) -> int:
        value = self._parse(name, default, int, "a whole number")
        if minimum is not None and value < minimum:
            raise ConfigurationError(f"{name} must be at least {minimum}, got {value}.")
        return value

    def rate(self, name: str, default: str) -> str:
        """A DRF throttle rate such as `10/min` (units: s, min, hour, day)."""
        value = self.raw(name) or default
        if not _RATE.fullmatch(value):
            raise ConfigurationError(
                f"{name} must be a rate like 10/min (units s, min, hour, day); got {value!r}."
            )
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw(name) or default
        if value not in choices:
            raise ConfigurationError(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
        return value

    def comma_list(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def url(
        self,
        name: str,
        schemes: tuple[str, ...],
        default: str | None = None,
        bare_schemes: tuple[str, ...] = (),
    ) -> str | None:
        """A URL whose scheme is one of `schemes`; host or path must be present unless
        the scheme is in `bare_schemes` (e.g. kombu's `filesystem://`)."""
        value = self.raw(name)
        if value is None:
            return default
        parts = urlsplit(value)
        if parts.scheme not in schemes:
            # Only the scheme is repeated back: the rest may hold a password.
            raise ConfigurationError(
                f"{name} must be a URL starting with one of "
                f"{', '.join(s + '://' for s in schemes)}; got "
                + (f"one starting with {parts.scheme + '://'!r}." if parts.scheme else "no scheme.")
            )
        try:
            parts.port  # noqa: B018 - urllib validates the port lazily
        except ValueError as error:
            raise ConfigurationError(f"{name} has an invalid port: {error}.") from error
        if not parts.hostname and not parts.path.strip("/") and parts.scheme not in bare_schemes:
            raise ConfigurationError(
                f"{name} must name a host or a path; got {redact_url(value)!r}."
            )
        return value

    def _parse(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError:
            raise ConfigurationError(f"{name} must be {expected}; got {value!r}.") from None


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE_WORDS:
        return True
    if lowered in _FALSE_WORDS:
        return False
    raise ValueError(text)


def email_settings_from_url(url: str, variable: str = "EMAIL_URL") -> dict[str, object]:
    """Django EMAIL_* settings from `smtp://user:password@host:port`.

    Schemes: `smtp` (plain, or STARTTLS with `?tls=true`), `smtp+tls` (STARTTLS),
    `smtps` / `smtp+ssl` (implicit TLS), `console`, `file:///path`, `memory`.
    """
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme == "memory":
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if scheme == "file":
        if not parts.path:
            raise ConfigurationError(f"{variable} file:// needs a directory path.")
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": parts.path,
        }
    if scheme not in {"smtp", "smtp+tls", "smtps", "smtp+ssl"}:
        raise ConfigurationError(
            f"{variable} must start with smtp://, smtp+tls://, smtps://, console://, file:// "
            f"or memory://; got {scheme or url[:10]!r}."
        )
    if not parts.hostname:
        raise ConfigurationError(f"{variable} must name the SMTP host, e.g. smtp://mail:25.")
    try:
        port = parts.port
    except ValueError as error:
        raise ConfigurationError(f"{variable} has an invalid port: {error}.") from error
    query = dict(pair.split("=", 1) for pair in parts.query.split("&") if "=" in pair)
    use_ssl = scheme in {"smtps", "smtp+ssl"}
    try:
        use_tls = scheme == "smtp+tls" or _parse_bool(query.get("tls", "false"))
        timeout = int(query.get("timeout", "20"))
    except ValueError:
        raise ConfigurationError(
            f"{variable}: ?tls= must be true or false and ?timeout= a number of seconds."
        ) from None
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if use_ssl else 587 if use_tls else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        # Seconds: a hung SMTP server must not block a worker forever.
        "EMAIL_TIMEOUT": timeout,
    }


def kombu_broker_url(redis_url: str) -> str:
    """REDIS_URL in kombu's spelling: redis-py writes a socket unix://, kombu redis+socket://."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


def redact_url(url: str) -> str:
    """The URL without its password, for messages an operator reads."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
