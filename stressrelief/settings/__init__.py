"""Django settings package: `base` reads everything from the environment."""

from .base import *  # noqa: F403
