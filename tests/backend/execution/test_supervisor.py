"""backend.execution.supervisor: one job's whole life in a real child process.

The store is a real one (memory, then sqlite); the jobs are those of
tests/backend/jobs_for_tests.py, registered in the real registry. Every wait is on a
condition with a generous deadline, never a sleep followed by an assertion.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.execution.supervisor import Supervisor
from backend.service import cancel_task, create_task
from backend.store import MemoryStore, SqliteStore
from backend.store.base import Task, TaskStore

RUNNER_ID = "test-host:1:supervisor"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TaskStore:
    if request.param == "memory":
        return MemoryStore()
    return SqliteStore(str(tmp_path / "tasks.db"))


def until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"never: {what}")


def add(store: TaskStore, tmp_path: Path, kind: str, **params: object) -> Task:
    path = tmp_path / f"{kind}.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    return create_task(store, kind, dict(params), runner_id=RUNNER_ID, file_path=str(path))


@pytest.fixture
def run(store: TaskStore) -> Iterator[Callable[..., tuple[Supervisor, threading.Thread]]]:
    """Start `Supervisor.run(task_id)` on a thread, as a runner does."""
    started: list[tuple[Supervisor, threading.Thread]] = []

    def start(task: Task, timeout_s: float = 60) -> tuple[Supervisor, threading.Thread]:
        supervisor = Supervisor(store, runner_id=RUNNER_ID, timeout_s=timeout_s)
        thread = threading.Thread(target=supervisor.run, args=(task.task_id,), daemon=True)
        thread.start()
        started.append((supervisor, thread))
        return supervisor, thread

    yield start
    for supervisor, thread in started:
        supervisor.stop()
        thread.join(timeout=10)
    assert not any(thread.is_alive() for _, thread in started)


def finished(store: TaskStore, task: Task, thread: threading.Thread) -> Task:
    """The task once the supervisor has returned (its job process is stopped by then)."""
    thread.join(timeout=30)
    assert not thread.is_alive(), "the supervisor did not return"
    final = store.get(task.task_id)
    assert final is not None and final.is_final, final
    return final


def no_job_process_left() -> bool:
    return not [p for p in multiprocessing.active_children() if p.name.startswith("job-")]


def test_a_job_runs_to_completed_in_a_child_process(
    store: TaskStore, tmp_path: Path, run: Callable[..., tuple[Supervisor, threading.Thread]]
) -> None:
    task = add(store, tmp_path, "where_am_i")
    _, thread = run(task)
    final = finished(store, task, thread)
    assert final.status == "completed" and final.error is None
    assert final.result is not None and final.result["pid"] != os.getpid()
    assert final.runner_id == RUNNER_ID and final.progress == 100
    assert Path(task.file_path).exists()  # a completed task keeps its upload
    assert no_job_process_left()


def test_progress_is_relayed_to_the_store(
    store: TaskStore, tmp_path: Path, run: Callable[..., tuple[Supervisor, threading.Thread]]
) -> None:
    task = add(store, tmp_path, "steady", duration=600)

    def moving() -> bool:
        now = store.get(task.task_id)
        return now is not None and now.status == "processing" and 0 < now.progress < 100

    _, thread = run(task)
    until(moving, "progress between 0 and 100 while processing")
    assert store.get(task.task_id).message == "等速處理中"
    cancel_task(store, task.task_id)
    assert finished(store, task, thread).status == "cancelled"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["steady", "ignore_cancel"])
def test_a_cancel_stops_the_job_process_even_one_deaf_to_it(
    store: TaskStore,
    tmp_path: Path,
    run: Callable[..., tuple[Supervisor, threading.Thread]],
    kind: str,
) -> None:
    """`steady` stops at its next checkpoint; `ignore_cancel` sleeps through it and is
    terminated after CANCEL_GRACE_S. Either way the task stays cancelled, its file is gone
    and no job process is left."""
    task = add(store, tmp_path, kind, **({"duration": 600} if kind == "steady" else {}))
    _, thread = run(task)
    until(lambda: store.get(task.task_id).progress > 0, "the job reported progress")
    cancel_task(store, task.task_id)
    final = finished(store, task, thread)
    assert final.status == "cancelled" and final.result is None
    assert not Path(task.file_path).exists()
    assert no_job_process_left()


@pytest.mark.slow
def test_a_job_past_the_timeout_fails_with_task_timeout(
    store: TaskStore, tmp_path: Path, run: Callable[..., tuple[Supervisor, threading.Thread]]
) -> None:
    task = add(store, tmp_path, "ignore_cancel")  # sleeps 600 s: only the timeout ends it
    _, thread = run(task, timeout_s=1)
    final = finished(store, task, thread)
    assert final.status == "failed" and final.error["code"] == "task_timeout"
    assert "1 秒" in final.error["message"]
    assert not Path(task.file_path).exists()
    assert no_job_process_left()


@pytest.mark.parametrize(
    ("kind", "code", "traceback_logged"),
    [
        ("fail_expectedly", "invalid_file_format", False),  # a JobError: the user's message
        ("raise_unexpected", "job_failed", True),  # a bug: logged with its traceback
        ("die_hard", "job_failed", False),  # the process vanished (os._exit)
    ],
)
def test_a_failing_job_ends_failed_with_its_code(
    store: TaskStore,
    tmp_path: Path,
    run: Callable[..., tuple[Supervisor, threading.Thread]],
    caplog: pytest.LogCaptureFixture,
    kind: str,
    code: str,
    traceback_logged: bool,
) -> None:
    caplog.set_level(logging.INFO, logger="backend.execution.supervisor")
    task = add(store, tmp_path, kind)
    _, thread = run(task)
    final = finished(store, task, thread)
    assert final.status == "failed" and final.error["code"] == code
    assert final.error["message"] and not final.error["message"].isascii()  # zh-TW
    if kind == "fail_expectedly":
        assert final.error["message"] == "測試用的預期失敗。"
    assert ("boom: an unexpected bug" in caplog.text) is traceback_logged
    assert not Path(task.file_path).exists()
    assert no_job_process_left()


@pytest.mark.slow
def test_stop_interrupts_the_running_job(
    store: TaskStore, tmp_path: Path, run: Callable[..., tuple[Supervisor, threading.Thread]]
) -> None:
    task = add(store, tmp_path, "steady", duration=600)
    supervisor, thread = run(task)
    until(lambda: store.get(task.task_id).progress > 0, "the job reported progress")
    supervisor.stop()
    final = finished(store, task, thread)
    assert final.status == "failed" and final.error["code"] == "interrupted"
    assert no_job_process_left()


def test_a_stopped_supervisor_starts_nothing(store: TaskStore, tmp_path: Path) -> None:
    task = add(store, tmp_path, "finish_quickly")
    supervisor = Supervisor(store, runner_id=RUNNER_ID, timeout_s=60)
    supervisor.stop()
    supervisor.run(task.task_id)
    assert store.get(task.task_id).status == "pending"


def test_a_cancelled_task_is_not_started(store: TaskStore, tmp_path: Path) -> None:
    task = add(store, tmp_path, "finish_quickly")
    cancel_task(store, task.task_id)
    Supervisor(store, runner_id=RUNNER_ID, timeout_s=60).run(task.task_id)
    final = store.get(task.task_id)
    assert final.status == "cancelled" and final.result is None
    assert no_job_process_left()


def test_a_missing_upload_fails_with_upload_not_shared(store: TaskStore, tmp_path: Path) -> None:
    task = add(store, tmp_path, "finish_quickly")
    Path(task.file_path).unlink()
    Supervisor(store, runner_id=RUNNER_ID, timeout_s=60).run(task.task_id)
    final = store.get(task.task_id)
    assert final.status == "failed" and final.error["code"] == "upload_not_shared"
