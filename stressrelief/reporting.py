"""What Django's error pages and error emails may show of the settings."""

import re

from django.views.debug import SafeExceptionReporterFilter


class SecretHidingReporterFilter(SafeExceptionReporterFilter):
    # Django's list, plus connection URLs and cache locations (they embed passwords).
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE_URL|REDIS_URL|"
        "BROKER_URL|EMAIL_URL|LOCATION",
        flags=re.IGNORECASE,
    )
