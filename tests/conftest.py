"""Fixtures shared by every test folder: a real redis-server for the Redis store and Celery.

Also the markers, put on every test by where it lives and what it needs (registered in
pyproject.toml), so that `./test.sh --fast` can leave out what needs a browser, a
redis-server or a Celery worker, the soak, and the few genuinely heavy tests:

- `e2e`: everything under tests/e2e (Chromium driving the real servers);
- `soak`: everything under tests/soak;
- `redis`: tests that use the session's redis-server (the `redis_server` / `redis_url`
  fixtures, a `redis` or `celery` store parameter, a module that starts its own server
  with `start_redis`, and tests/scale);
- `celery`: tests that run a real Celery worker (a `celery` store parameter, the
  `worker_pool` fixture, test_celery_queue.py, tests/scale);
- `slow`: set by hand on the heavy ones.

A `redis` test on a machine without redis-server is skipped with the reason, or fails when
E2E_REQUIRED=1 (CI, where every test must run).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer, redis_server_path, start_redis

TESTS = Path(__file__).parent
REDIS_FIXTURES = {"redis_server", "redis_url"}
CELERY_FIXTURES = {"worker_pool"}
NO_REDIS_SERVER = "redis-server 未安裝：請執行 apt-get install redis-server（.ci/run 會自動安裝）"


def require_redis_server() -> None:
    """Skip the test when redis-server is missing, or fail it when E2E_REQUIRED=1."""
    if redis_server_path() is None:
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(NO_REDIS_SERVER + "（E2E_REQUIRED=1：每個測試都必須執行）", pytrace=False)
        pytest.skip(NO_REDIS_SERVER)


def _needs(item: pytest.Item) -> set[str]:
    """The markers an item gets from its folder, its fixtures and its parameters."""
    path = Path(str(item.path))
    folder = path.relative_to(TESTS).parts[0] if path.is_relative_to(TESTS) else ""
    marks: set[str] = set()
    if folder == "e2e":
        marks.add("e2e")
    if folder == "soak":
        marks.add("soak")
    if folder == "scale" or "celery" in path.stem:
        marks |= {"redis", "celery"}
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & REDIS_FIXTURES:
        marks.add("redis")
    if fixtures & CELERY_FIXTURES:
        marks |= {"redis", "celery"}
    module = getattr(item, "module", None)
    if module is not None and hasattr(module, "start_redis"):
        marks.add("redis")
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        values = {value for value in callspec.params.values() if isinstance(value, str)}
        if "redis" in values:
            marks.add("redis")
        if "celery" in values:
            marks |= {"redis", "celery"}
    return marks


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with what it needs (see the module docstring)."""
    for item in items:
        for name in sorted(_needs(item)):
            item.add_marker(name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that needs redis-server is skipped (or failed, in CI) before it starts one."""
    if item.get_closest_marker("redis") is not None:
        require_redis_server()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server on a free port for the whole session (stopped at the end)."""
    require_redis_server()
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
