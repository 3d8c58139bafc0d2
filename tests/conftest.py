"""Fixtures shared by every test folder: a real redis-server for the Redis store and Celery."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import RedisServer, redis_server_path, start_redis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server on a free port for the whole session (stopped at the end)."""
    if redis_server_path() is None:
        pytest.fail(
            "redis-server 未安裝：請執行 apt-get install redis-server（.ci/run 會自動安裝）"
        )
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session server's URL, emptied first so each test starts from no tasks."""
    import redis

    if not redis_server.running():
        redis_server.start()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url
