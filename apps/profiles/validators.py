"""Validation shared by the profile model, forms and the API."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    """Accept only IANA zone names this machine's zoneinfo knows (e.g. Europe/Berlin)."""
    if value not in _known_time_zones():
        raise ValidationError(
            "%(value)s is not a known IANA time zone, e.g. Europe/London or America/New_York.",
            code="invalid_time_zone",
            params={"value": value},
        )
