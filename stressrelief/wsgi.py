"""WSGI entry point: `gunicorn stressrelief.wsgi:application`."""

import os
import sys

from django.core.wsgi import get_wsgi_application

from stressrelief.environment import ConfigurationError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressrelief.settings")

try:
    application = get_wsgi_application()
except ConfigurationError as error:
    # One line in the container log instead of a traceback per gunicorn worker.
    sys.exit(f"stressrelief: configuration error: {error}")
