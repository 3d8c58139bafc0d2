"""What only the Redis store has: worker liveness, the change feed, restarts, no password leak."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.main import create_app
from backend.store.base import COMPLETED, Task
from backend.store.redis import RedisStore
from tests.redis_server import RedisServer, start_redis


def test_live_owners_counts_recent_heartbeats_by_role(redis_url: str) -> None:
    store = RedisStore(redis_url)
    # (a Celery worker of the contract suite may beat into this Redis too: own names only)
    store.heartbeat("worker:test-a")
    store.heartbeat("worker:test-b")
    store.heartbeat("api:test-c")
    now = time.time()
    assert store.live_owners(now - 5, prefix="worker:test-") == ["worker:test-a", "worker:test-b"]
    assert store.live_owners(now - 5, prefix="api:test-") == ["api:test-c"]
    assert store.live_owners(now + 5) == []


def test_every_change_is_published_once_subscribed(redis_url: str) -> None:
    store = RedisStore(redis_url)
    seen: list[str] = []
    states: list[bool] = []
    stop = threading.Event()
    listener = threading.Thread(target=store.listen, args=(seen.append, states.append, stop))
    listener.start()
    try:
        deadline = time.monotonic() + 5
        while not states and time.monotonic() < deadline:
            time.sleep(0.01)
        store.add(Task(task_id="t1", kind="process", owner=""))
        store.mark_started("t1", "worker:a")
        store.set_progress("t1", 50, "一半")
        store.finish("t1", COMPLETED, message="done")
        store.delete("t1")
        deadline = time.monotonic() + 5
        while len(seen) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        listener.join(timeout=5)
    assert states[0] is True
    assert seen == ["t1"] * 4


def test_the_store_rides_out_a_redis_restart(tmp_path: Path) -> None:
    server: RedisServer = start_redis(tmp_path)
    try:
        store = RedisStore(server.url)
        store.add(Task(task_id="t1", kind="process", owner=""))
        store.mark_started("t1", "worker:a")
        restart = threading.Thread(target=server.restart, kwargs={"downtime": 0.5})
        restart.start()
        time.sleep(0.1)
        # issued while Redis is down: retried until it is back
        assert store.set_progress("t1", 30, "重新連線後") is not None
        restart.join()
        task = store.get("t1")
        assert task.progress == 30 and task.message == "重新連線後"
    finally:
        server.stop()


def test_password_never_reaches_logs_or_health(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    password = "s3cret-redis-pw"
    server = start_redis(tmp_path, extra_args=["--requirepass", password])
    try:
        url = f"redis://:{password}@127.0.0.1:{server.port}/0"
        settings = Settings(task_store=url, upload_dir=tmp_path / "uploads", _env_file=None)
        with caplog.at_level("DEBUG"), TestClient(create_app(settings)) as client:
            health = client.get("/")
            assert health.status_code == 200 and health.json()["store"] == "redis"
            assert password not in health.text
            task_id = client.post("/api/process", json={"data": "x", "delay": 0}).json()["task_id"]
            deadline = time.monotonic() + 10
            while client.get(f"/api/task/{task_id}").json()["status"] != "completed":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert password not in caplog.text
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port).ping()
    finally:
        server.stop()


def test_an_unreachable_store_is_a_503_not_a_traceback(tmp_path: Path) -> None:
    server = start_redis(tmp_path)
    settings = Settings(task_store=server.url, upload_dir=tmp_path / "uploads", _env_file=None)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/api/tasks").status_code == 200
        server.stop()
        response = client.get("/api/tasks")
        assert response.status_code == 503
        assert response.json()["code"] == "store_unavailable"
        assert response.headers["retry-after"] == "5"
