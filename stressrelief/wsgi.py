"""WSGI entry point: `gunicorn stressrelief.wsgi:application`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressrelief.settings")

application = get_wsgi_application()
