"""Settings for benchmark 6's reference run only (bench/b6_progress_api.py): the project's
settings with no kept progress documents, so every request computes its document (what
a request costs when the cache misses). The product never loads them."""

from stressrelief.settings import *  # noqa: F403

PROGRESS_CACHE_SECONDS = 0
