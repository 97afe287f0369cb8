"""Time zones are IANA names that zoneinfo knows."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.profiles.validators import validate_time_zone


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"])
def test_known_iana_zones_are_accepted(zone: str) -> None:
    validate_time_zone(zone)


@pytest.mark.parametrize("zone", ["CEST", "Europe/Atlantis", "", "utc+2"])
def test_unknown_zone_names_are_refused_with_an_example(zone: str) -> None:
    with pytest.raises(ValidationError, match=r"not a known IANA time zone, e\.g\."):
        validate_time_zone(zone)
