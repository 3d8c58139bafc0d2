"""What only the Redis store has: worker liveness, the change feed, restarts, no password leak."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.execution.housekeeping import Housekeeper
from backend.main import create_app
from backend.store.base import COMPLETED, Task
from backend.store.redis import RedisStore
from tests.redis_server import RedisServer, start_redis


def test_live_runners_counts_recent_heartbeats_by_role(redis_url: str) -> None:
    store = RedisStore(redis_url)
    # (a Celery worker of the contract suite may beat into this Redis too: own names only)
    store.heartbeat("worker:test-a")
    store.heartbeat("worker:test-b")
    store.heartbeat("api:test-c")
    now = store.now()
    assert store.live_runners(now - 5, prefix="worker:test-") == ["worker:test-a", "worker:test-b"]
    assert store.live_runners(now - 5, prefix="api:test-") == ["api:test-c"]
    assert store.live_runners(now + 5) == []


def test_a_task_written_by_the_previous_version_is_read_and_taken(redis_url: str) -> None:
    """Before runner_id the hash field was `owner`: such a task reads with its owner as its
    runner_id, a new runner takes it (dropping the old field), and a held one is swept."""
    store = RedisStore(redis_url)
    queued, held = f"old-q-{uuid.uuid4().hex}", f"old-h-{uuid.uuid4().hex}"
    for task_id, runner_id in ((queued, ""), (held, "api:old")):
        store.add(Task(task_id=task_id, kind="process", runner_id=runner_id))
        key = f"{store.prefix}task:{task_id}"
        store.client.hdel(key, "runner_id")
        store.client.hset(key, "owner", runner_id)  # as the previous version wrote it
    assert store.get(queued).runner_id == "" and store.get(held).runner_id == "api:old"
    started = store.mark_started(queued, "worker:new")
    assert started is not None and started.runner_id == "worker:new"
    assert not store.client.hexists(f"{store.prefix}task:{queued}", "owner")
    assert store.client.sismember(f"{store.prefix}held:worker:new", queued)
    done = store.finish(queued, COMPLETED, message="處理完成")
    assert done is not None and done.runner_id == "worker:new"
    assert not store.client.sismember(f"{store.prefix}held:worker:new", queued)  # released
    error = {"code": "interrupted", "message": "m"}
    failed = {t.task_id: t for t in store.fail_stale(store.now() + 1, "任務已中斷", error)}
    assert failed[held].runner_id == "api:old" and failed[held].status == "failed"
    assert not store.client.sismember(f"{store.prefix}held:api:old", held)


def test_now_is_the_redis_servers_clock(redis_url: str) -> None:
    store = RedisStore(redis_url)
    seconds, microseconds = redis.Redis.from_url(redis_url).time()
    assert seconds + microseconds / 1e6 <= store.now() <= time.time() + 1  # one machine here


@pytest.mark.parametrize("offset_s", [-120.0, 120.0, -8 * 3600.0, 8 * 3600.0])
def test_a_process_whose_clock_is_off_keeps_its_task_and_is_counted_online(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offset_s: float
) -> None:
    """A worker on a machine whose clock is minutes off (or a whole time zone: a Windows PC
    set to the wrong zone) runs a task while processes with other clocks sweep."""
    real_time = time.time
    clocks = {"correct": real_time, "skewed": lambda: real_time() + offset_s,
              "opposite": lambda: real_time() - offset_s}  # fmt: skip
    store = RedisStore(redis_url)
    start = real_time()
    monkeypatch.setattr(time, "time", clocks["skewed"])
    created = store.add(Task(task_id="t1", kind="process", runner_id=""))  # its times: skewed
    store.mark_started("t1", "worker:skewed")
    store.heartbeat("worker:skewed")
    store.set_progress("t1", 50, "一半")
    store.add(Task(task_id="local", kind="process", runner_id="api:skewed"))  # a local queue's
    for name, clock in clocks.items():
        monkeypatch.setattr(time, "time", clock)
        keeper = Housekeeper(store, runner_id=f"api:{name}", upload_dir=tmp_path, heartbeat_s=5,
                             stale_after_s=15, ttl_s=3600)  # fmt: skip
        keeper.run_once()
        assert store.get("t1").status == "processing", name
        assert store.get("local").status == "pending", name
        assert store.live_runners(store.now() - 15, prefix="worker:") == ["worker:skewed"], name
    monkeypatch.setattr(time, "time", clocks["skewed"])
    done = store.finish("t1", COMPLETED, message="處理完成")
    end = real_time()
    # Every time is the Redis server's, on this machine: within the test's own window.
    for name in ("created_at", "started_at", "updated_at", "finished_at", "heartbeat_at"):
        assert start <= getattr(done, name) <= end, (name, done)
    assert created.created_at == done.created_at
    assert done.created_at <= done.started_at <= done.heartbeat_at <= done.finished_at


def test_a_process_whose_clock_is_ahead_is_still_noticed_when_it_dies(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beats stamped by a clock two minutes ahead would look alive for two minutes after the
    worker died; stamped by the store, they are stale once the window has passed."""
    store = RedisStore(redis_url)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 120)
    store.add(Task(task_id="t1", kind="process", runner_id=""))
    store.mark_started("t1", "worker:ahead")
    store.heartbeat("worker:ahead")
    monkeypatch.setattr(time, "time", real_time)
    # The stale window counted from now: every beat so far is older than its end.
    assert store.live_runners(store.now() + 1, prefix="worker:") == []
    error = {"code": "interrupted", "message": "m"}
    [failed] = store.fail_stale(store.now() + 1, "任務已中斷", error)
    assert (failed.task_id, failed.status) == ("t1", "failed")


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
        store.add(Task(task_id="t1", kind="process", runner_id=""))
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
        store.add(Task(task_id="t1", kind="process", runner_id=""))
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
