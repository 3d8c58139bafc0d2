"""Celery runner behaviour that needs the queue itself: lost messages and unshared uploads.

Real parts: a redis-server of its own, the API in-process (TestClient, real lifespan and
housekeeper) and real `celery worker` processes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.execution.celery_queue import QUEUE, lost_message_age_s, queue_store
from backend.execution.runner import make_runner
from backend.main import create_app
from backend.store import MemoryStore, SqliteStore
from tests.celery_worker import start_worker
from tests.redis_server import start_redis

pytestmark = pytest.mark.timeout(120)


def _wait(client: TestClient, task_id: str, statuses: set[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(f"/api/task/{task_id}").json()
        if task["status"] in statuses or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


def test_waiting_tasks_whose_messages_were_lost_are_sent_again(tmp_path: Path) -> None:
    """Messages the broker still holds are left alone; once they are lost (a restart
    without persistence, a worker killed mid-fetch), the waiting tasks are sent again and
    run: nothing waits forever."""
    server = start_redis(tmp_path)
    settings = Settings(
        task_store=server.url, task_runner="celery", upload_dir=tmp_path / "uploads",
        heartbeat_s=0.2, _env_file=None,
    )  # fmt: skip
    lost_after = lost_message_age_s(settings)
    worker = None
    try:
        with TestClient(create_app(settings)) as client:
            ids = [
                client.post("/api/process", json={"data": str(i), "delay": 0}).json()["task_id"]
                for i in range(3)
            ]
            broker = redis.Redis.from_url(server.url)
            time.sleep(lost_after + 1.5)  # old enough to be checked, several checks made
            assert broker.llen(QUEUE) == 3, "messages the broker held were sent twice"
            broker.delete(QUEUE)  # the messages are lost...
            server.restart()  # ...in a broker restart
            deadline = time.monotonic() + lost_after + 5
            while redis.Redis.from_url(server.url).llen(QUEUE) < 3:
                assert time.monotonic() < deadline, "waiting tasks were not sent again"
                time.sleep(0.05)
            worker = start_worker(tmp_path, "w1", task_store=server.url, heartbeat_s=0.2)
            for task_id in ids:
                assert _wait(client, task_id, {"completed", "failed"})["status"] == "completed"
            assert redis.Redis.from_url(server.url).llen(QUEUE) == 0
    finally:
        if worker is not None:
            worker.stop()
        server.stop()


def test_a_message_sent_twice_runs_the_job_once(tmp_path: Path) -> None:
    server = start_redis(tmp_path)
    settings = Settings(
        task_store=server.url, task_runner="celery", upload_dir=tmp_path / "uploads",
        _env_file=None,
    )  # fmt: skip
    worker = start_worker(tmp_path, "w1", task_store=server.url)
    try:
        with TestClient(create_app(settings)) as client:
            task_id = client.post("/api/process", json={"data": "x", "delay": 1}).json()["task_id"]
            client.app.state.runner.submit(task_id)  # a duplicate, as after a redelivery
            task = _wait(client, task_id, {"completed", "failed"})
            assert task["status"] == "completed"
            time.sleep(0.5)
            assert client.get(f"/api/task/{task_id}").json()["finished_at"] == task["finished_at"]
        log = worker.log()
        assert log.count(f"[{task_id}] received") == 2
    finally:
        worker.stop()
        server.stop()


def test_a_worker_that_cannot_see_the_upload_says_the_folder_is_not_shared(
    tmp_path: Path,
) -> None:
    server = start_redis(tmp_path)
    settings = Settings(
        task_store=server.url, task_runner="celery", upload_dir=tmp_path / "api-uploads",
        _env_file=None,
    )  # fmt: skip
    worker = None
    try:
        with TestClient(create_app(settings)) as client:
            response = client.post(
                "/api/upload", files={"file": ("報表.csv", b"a,b\n1,2\n", "text/csv")}
            )
            assert response.status_code == 202, response.text
            task_id = response.json()["task_id"]
            # The API wrote it on its own disk; the worker's machine does not have that folder.
            (path,) = (tmp_path / "api-uploads").iterdir()
            path.rename(tmp_path / path.name)
            worker = start_worker(tmp_path, "w1", task_store=server.url)
            task = _wait(client, task_id, {"completed", "failed"})
        assert task["status"] == "failed"
        assert task["error"]["code"] == "upload_not_shared"
        assert "UPLOAD_DIR" in task["error"]["message"] and "共用" in task["error"]["message"]
    finally:
        if worker is not None:
            worker.stop()
        server.stop()


def test_the_celery_runner_refuses_a_store_without_runners_and_locks(tmp_path: Path) -> None:
    """The settings allow TASK_RUNNER=celery only with a Redis store; a runner made with
    another store anyway says what is missing at start, not on its first upkeep."""
    with pytest.raises(ValueError, match="TASK_RUNNER=celery needs TASK_STORE=redis"):
        Settings(task_store="memory", task_runner="celery")
    settings = Settings(task_store="memory").model_copy(update={"task_runner": "celery"})
    for store in (MemoryStore(), SqliteStore(tmp_path / "tasks.db")):
        with pytest.raises(TypeError, match="RunnerRegistry, LockProvider"):
            make_runner(settings, store, "api:test")
        with pytest.raises(TypeError, match=f"the '{store.name}' store does not"):
            queue_store(store)
