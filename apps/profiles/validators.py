"""Validation shared by the profile model, forms and the API."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError

# Names zoneinfo knows that are not places: "localtime" is the server's own zone and
# "Factory" a placeholder; a member's zone must be a real one.
NOT_PLACES = frozenset({"localtime", "Factory"})


@lru_cache(maxsize=1)
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_PLACES


def validate_time_zone(value: str) -> None:
    """Accept only IANA zone names this machine's zoneinfo knows (e.g. Europe/Berlin)."""
    if value not in _known_time_zones():
        raise ValidationError(
            "%(value)s is not a known IANA time zone, e.g. Europe/London or America/New_York.",
            code="invalid_time_zone",
            params={"value": value},
        )
