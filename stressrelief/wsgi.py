"""WSGI entry point: `gunicorn stressrelief.wsgi:application`."""

import gc
import os
import sys

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from stressrelief.environment import ConfigurationError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressrelief.settings")

try:
    application = get_wsgi_application()
except ConfigurationError as error:
    # One line in the container log instead of a traceback per gunicorn worker.
    sys.exit(f"stressrelief: configuration error: {error}")


def startup_objects_freeze() -> None:
    """Import every view now, then put what start-up built out of the garbage collector's
    sight (gc.freeze): settings, models, the URLconf and the admin live as long as the
    process, and a full collection otherwise walks all of them again (~120,000 objects)
    whenever a request allocates enough to trigger one.

    Measured on the therapists' clients list (issue 7, benchmark 7: 1,000 clients, first
    page, 20 requests in-process after this module's import or without it, twice each way):
    the slowest request 306-325 -> 202-207 ms, its CPU 217-262 -> 144-146 ms, the median
    ~170 ms either way. GET /api/v1/me/ allocates too little to trigger full collections:
    no change measured there."""
    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every view
    gc.collect()
    gc.freeze()


startup_objects_freeze()
