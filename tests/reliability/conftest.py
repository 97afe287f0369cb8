"""Fixtures of the reliability suite: a private broker per fault scenario."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.harness import PrivateRedis, var_directory


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A redis-server of this test alone (a fault may restart it): never the shared one,
    and no queued message of an earlier test is left in it."""
    logs = var_directory() / "logs"
    logs.mkdir(exist_ok=True)
    server = PrivateRedis(logs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
