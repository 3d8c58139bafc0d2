"""The home page's 執行方式: local, or Celery with its workers online and its queue, against a
real backend with TASK_RUNNER=celery on a real Redis (no worker: heartbeats stand in for one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from backend.execution.celery_queue import WORKER_PREFIX
from backend.store import make_store
from frontend.utils.api_client import APIClient
from frontend.utils.models import RunnerStatus
from tests.frontend.conftest import page_text
from tests.servers import Server, start_backend

STATUS_METRICS = ["等待中", "處理中", "已完成", "失敗", "已取消"]
WORKER_COMMAND = "celery -A backend.worker worker"


@pytest.fixture
def celery_backend(redis_url: str, tmp_path: Path) -> Iterator[Server]:
    server = start_backend(tmp_path / "backend", task_store=redis_url, task_runner="celery")
    yield server
    server.stop()


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _home(make_app: Callable[..., AppTest], url: str) -> AppTest:
    at = make_app(url).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "資料處理工作台"
    return at


def test_local_runner_is_said_without_worker_figures(
    make_app: Callable[..., AppTest], backend: Server
) -> None:
    at = _home(make_app, backend.url)
    assert "執行方式：本機（API 行程內）" in page_text(at)
    assert list(_metrics(at)) == STATUS_METRICS
    assert not at.warning


def test_celery_without_workers_says_tasks_will_wait(
    make_app: Callable[..., AppTest], celery_backend: Server
) -> None:
    at = _home(make_app, celery_backend.url)
    assert "執行方式：Celery worker" in page_text(at)
    metrics = _metrics(at)
    assert list(metrics) == [*STATUS_METRICS, "線上 worker", "佇列中的任務"]
    assert (metrics["線上 worker"], metrics["佇列中的任務"]) == ("0", "0")
    assert not at.warning  # nothing waits yet: a note, not a warning
    assert "新送出的任務會等到 worker 啟動後才執行" in at.info[0].value

    client = APIClient(celery_backend.url)
    for n in range(2):
        assert client.create_process_task(f"等待 worker {n}", 0)["status"] == "pending"
    at.run()
    metrics = _metrics(at)
    assert (metrics["線上 worker"], metrics["佇列中的任務"]) == ("0", "2")
    [warning] = at.warning
    assert "目前沒有線上的 worker：佇列中的 2 個任務會一直等待，直到有 worker 啟動" in warning.value
    assert f"`{WORKER_COMMAND}`" in warning.value and "run_worker.bat" in warning.value
    assert not at.info


def test_celery_with_a_worker_online_shows_no_warning(
    make_app: Callable[..., AppTest], celery_backend: Server, redis_url: str
) -> None:
    APIClient(celery_backend.url).create_process_task("佇列中", 0)
    store = make_store(redis_url)
    store.heartbeat(f"{WORKER_PREFIX}test-host:1:abc")  # what a worker's housekeeper does
    at = _home(make_app, celery_backend.url)
    metrics = _metrics(at)
    assert (metrics["線上 worker"], metrics["佇列中的任務"]) == ("1", "1")
    assert not at.warning and not at.info


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        # A backend from before the Celery runner says nothing: it runs tasks itself.
        ({"status": "ok", "tasks": {}}, RunnerStatus("local", None, None)),
        ({"runner": "local", "workers_online": None, "queue_length": None}, RunnerStatus()),
        (
            {"runner": "celery", "workers_online": 2, "queue_length": 7},
            RunnerStatus("celery", 2, 7),
        ),
        # Anything but a count is not shown as one.
        (
            {"runner": "celery", "workers_online": "2", "queue_length": True},
            RunnerStatus("celery", None, None),
        ),
    ],
)
def test_runner_status_from_health(health: dict[str, Any], expected: RunnerStatus) -> None:
    assert RunnerStatus.from_health(health) == expected


@pytest.mark.parametrize(
    ("workers", "queue", "waiting"),
    [(0, 3, True), (0, 0, False), (1, 3, False), (None, 3, False), (0, None, False)],
)
def test_waiting_for_workers(workers: int | None, queue: int | None, waiting: bool) -> None:
    assert RunnerStatus("celery", workers, queue).waiting_for_workers is waiting
