"""What the logs may show of a request: the route, never a credential in its path, and
never a template's context (it holds the logged-in user, whose name is their email).

Attached to loggers in LOGGING (settings/base.py), so every handler gets the cleaned
record, whatever the log level.
"""

from __future__ import annotations

import logging
import re

# Paths whose segments are credentials: the signed token of an emailed link (done, snooze,
# skip, unsubscribe) and a password-reset link's uid and token. One still valid after a
# refused form (400) or a refused action (409) would work for whoever reads the log.
_CREDENTIAL_PATHS = [
    (re.compile(r"(/n/(?:weekly/)?(?:unsubscribe/)?)[^/\s?\"']+"), r"\1[redacted]"),
    (re.compile(r"(/accounts/reset/)[^/\s?\"']+(?:/[^/\s?\"']+)?"), r"\1[redacted]"),
]


def redact_credential_paths(text: str) -> str:
    for pattern, replacement in _CREDENTIAL_PATHS:
        text = pattern.sub(replacement, text)
    return text


class CredentialPathFilter(logging.Filter):
    """Request log lines (django.request: "Bad Request: <path>", django.server: the request
    line) keep their route with the credential part of the path replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_credential_paths(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_credential_paths(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


class TemplateContextFilter(logging.Filter):
    """django.template's DEBUG line for a missing variable carries the exception, whose
    message is the whole context (the user, forms with what was typed): keep the line,
    which names the variable and the template, drop the exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True
