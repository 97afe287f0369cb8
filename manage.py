#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stressrelief.settings")
    from django.core.management import execute_from_command_line

    from stressrelief.environment import ConfigurationError

    try:
        execute_from_command_line(sys.argv)
    except ConfigurationError as error:
        # One line an operator can act on, not a traceback.
        sys.exit(f"stressrelief: configuration error: {error}")


if __name__ == "__main__":
    main()
