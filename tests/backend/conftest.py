from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.jobs import JOBS
from backend.main import create_app
from tests.celery_worker import Worker, start_worker

FINAL = {"completed", "failed", "cancelled"}

TEST_JOBS = {
    "raise_unexpected": "tests.backend.jobs_for_tests:raise_unexpected",
    "die_hard": "tests.backend.jobs_for_tests:die_hard",
    "ignore_cancel": "tests.backend.jobs_for_tests:ignore_cancel",
    "finish_quickly": "tests.backend.jobs_for_tests:finish_quickly",
    "fail_expectedly": "tests.backend.jobs_for_tests:fail_expectedly",
    "read_after_cancel": "tests.backend.jobs_for_tests:read_after_cancel",
    "steady": "tests.backend.jobs_for_tests:steady",
    "where_am_i": "tests.backend.jobs_for_tests:where_am_i",
}


@pytest.fixture(autouse=True, scope="session")
def _register_test_jobs() -> Iterator[None]:
    JOBS.update(TEST_JOBS)
    yield
    for kind in TEST_JOBS:
        JOBS.pop(kind, None)


# "celery": the Redis store and the Celery runner, with a real worker process.
@pytest.fixture(params=["memory", "sqlite", "celery"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


class WorkerPool:
    """One real Celery worker at a time for the whole session, restarted only when a test
    needs different worker settings (concurrency, timeout): two live workers would both
    consume the queue and blur tests of the concurrency limit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.worker: Worker | None = None
        self.key: tuple[Any, ...] | None = None

    def ensure(self, redis_url: str, max_concurrent_tasks: int, task_timeout_s: float) -> Worker:
        key = (redis_url, max_concurrent_tasks, task_timeout_s)
        if self.worker is None or self.key != key or not self.worker.running():
            self.close()
            self.worker = start_worker(
                self.workdir, f"w{len(list(self.workdir.glob('worker-*.log')))}",
                task_store=redis_url, max_concurrent_tasks=max_concurrent_tasks,
                task_timeout_s=task_timeout_s, heartbeat_s=0.5, api_key="",
            )  # fmt: skip
            self.key = key
        return self.worker

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


# Module scope: the worker stops with the test module that needed it, so tests elsewhere
# that share the session's redis-server (store contract tests, the home page) never see it
# online, sweeping their tasks or consuming their queue.
@pytest.fixture(scope="module")
def worker_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerPool]:
    pool = WorkerPool(tmp_path_factory.mktemp("workers"))
    yield pool
    pool.close()


@pytest.fixture
def job_log(
    store_kind: str, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Callable[[], str]:
    """Where job tracebacks are logged: this process, or the Celery worker's log."""
    if store_kind == "celery":
        pool: WorkerPool = request.getfixturevalue("worker_pool")
        return lambda: pool.worker.log() if pool.worker else ""
    return lambda: caplog.text


@pytest.fixture
def make_client(
    tmp_path: Path, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., TestClient]]:
    """Build a client on a fresh app; settings are overridable per test."""
    clients: list[TestClient] = []
    redis_url = request.getfixturevalue("redis_url") if store_kind == "celery" else ""

    def factory(**overrides: Any) -> TestClient:
        if store_kind == "memory":
            store: dict[str, Any] = {"task_store": "memory"}
        elif store_kind == "sqlite":
            store = {"task_store": f"sqlite:///{tmp_path}/tasks.db"}
        else:
            store = {"task_store": redis_url, "task_runner": "celery"}
        settings = {
            "upload_dir": tmp_path / "uploads",
            **store,
            "api_key": "",
            "_env_file": None,
            **overrides,
        }
        if store_kind == "celery":
            defaults = Settings(_env_file=None)
            request.getfixturevalue("worker_pool").ensure(
                redis_url,
                settings.get("max_concurrent_tasks", defaults.max_concurrent_tasks),
                settings.get("task_timeout_s", defaults.task_timeout_s),
            )
        client = TestClient(create_app(Settings(**settings)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


def wait_for(
    client: TestClient, task_id: str, statuses: set[str] = FINAL, timeout: float = 30
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(f"/api/task/{task_id}").json()
        if task["status"] in statuses:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not reach {statuses}: {task}")


def assert_problem(response: Any, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert "Traceback" not in response.text and "/work/" not in response.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body["detail"]
    return body
