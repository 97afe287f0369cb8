"""The API's throttles, applied to the pages that do the same thing: the page and the
endpoint share one counter (DRF's ScopedRateThrottle: per member when logged in, per
client address otherwise), so a page is never a way round a limit."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.throttling import ScopedRateThrottle


class _Scope:
    """What ScopedRateThrottle reads from a view."""

    def __init__(self, scope: str) -> None:
        self.throttle_scope = scope


def wait_message(request: HttpRequest, *, scope: str) -> str | None:
    """None when this attempt is allowed (and counted against `scope`), else a message
    saying how long to wait."""
    throttle = ScopedRateThrottle()
    if throttle.allow_request(request, _Scope(scope)):
        return None
    minutes = max(1, round((throttle.wait() or 60) / 60))
    return (
        "That was a lot of tries in a short time. Please wait about "
        f"{minutes} minute{'s' if minutes != 1 else ''} and try again."
    )
