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

FINAL = {"completed", "failed", "cancelled"}

TEST_JOBS = {
    "raise_unexpected": "tests.backend.jobs_for_tests:raise_unexpected",
    "die_hard": "tests.backend.jobs_for_tests:die_hard",
    "ignore_cancel": "tests.backend.jobs_for_tests:ignore_cancel",
    "finish_quickly": "tests.backend.jobs_for_tests:finish_quickly",
    "fail_expectedly": "tests.backend.jobs_for_tests:fail_expectedly",
}


@pytest.fixture(autouse=True, scope="session")
def _register_test_jobs() -> Iterator[None]:
    JOBS.update(TEST_JOBS)
    yield
    for kind in TEST_JOBS:
        JOBS.pop(kind, None)


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_client(tmp_path: Path, store_kind: str) -> Iterator[Callable[..., TestClient]]:
    """Build a client on a fresh app; settings are overridable per test."""
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        settings = {
            "upload_dir": tmp_path / "uploads",
            "task_store": "memory" if store_kind == "memory" else f"sqlite:///{tmp_path}/tasks.db",
            "api_key": "",
            "_env_file": None,
            **overrides,
        }
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
