"""The embedded broker is a real Redis on a unix socket, and says clearly when it cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from apps.operations.embedded_redis import EmbeddedRedis, EmbeddedRedisUnavailable


@pytest.fixture
def short_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("er")


def test_embedded_redis_serves_the_redis_protocol_on_its_socket_and_stops(
    short_directory: Path,
) -> None:
    server = EmbeddedRedis(short_directory / "redis.sock")
    try:
        server.start()
        client = redis.Redis.from_url(server.url)
        client.set("nudge", "ok")
        assert client.get("nudge") == b"ok"
        client.close()
    finally:
        server.stop()

    assert not (short_directory / "redis.sock").exists()
    assert server.process is not None
    assert server.process.poll() is not None


def test_a_second_embedded_redis_on_the_same_socket_is_refused(short_directory: Path) -> None:
    first = EmbeddedRedis(short_directory / "redis.sock")
    first.start()
    try:
        with pytest.raises(EmbeddedRedisUnavailable, match="already answers"):
            EmbeddedRedis(short_directory / "redis.sock").start()
    finally:
        first.stop()


def test_a_socket_path_too_long_for_unix_sockets_is_explained(short_directory: Path) -> None:
    deep = short_directory / ("d" * 120) / "redis.sock"

    with pytest.raises(EmbeddedRedisUnavailable, match="STRESSRELIEF_VAR_DIR"):
        EmbeddedRedis(deep).start()
