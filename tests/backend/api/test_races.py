"""Every race to a final state leaves nothing behind.

Several actors move a task to a final state: the runner's outcome, the cancel endpoint,
the timeout, the interruption sweep and server shutdown. Each test forces one interleaving
with a store hook that fires at the exact moment (just before the losing actor's
transition), instead of hoping timing produces it, and asserts:

- exactly one transition to a final state won;
- the final state is the winner's;
- the upload file is present for `completed` and absent for `failed` / `cancelled`;
- no job process is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from backend.errors import AppError
from backend.execution.housekeeping import Housekeeper
from backend.execution.local import ProcessRunner
from backend.service import cancel_task, create_task
from backend.store import MemoryStore, SqliteStore
from backend.store.base import FINAL, PROCESSING, Task, TaskStore

RUNNER_ID = "test-host:1:runner"


@dataclass
class _Hook:
    method: str
    when: Callable[..., bool]
    action: Callable[[], Any]


@dataclass
class HookedStore:
    """A store proxy that runs an action just before a matching call, and records winners.

    `before("finish", action, when=...)` fires `action` once, right before the first
    `finish(...)` call for which `when(*args, **kwargs)` is true: the actor making that call
    then races an actor that has already moved. `wins` lists every transition to a final
    state that succeeded, as (method, task_id, status).
    """

    store: TaskStore
    hooks: list[_Hook] = field(default_factory=list)
    wins: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.store.name

    def before(
        self,
        method: str,
        action: Callable[[], Any],
        when: Callable[..., bool] = lambda *a, **k: True,
    ) -> None:
        self.hooks.append(_Hook(method, when, action))

    def _fire(self, method: str, *args: Any, **kwargs: Any) -> None:
        for hook in list(self.hooks):
            if hook.method == method and hook.when(*args, **kwargs):
                self.hooks.remove(hook)
                hook.action()

    def finish(self, task_id: str, status: str, **kwargs: Any) -> Task | None:
        self._fire("finish", task_id, status, **kwargs)
        task = self.store.finish(task_id, status, **kwargs)
        if task is not None:
            self.wins.append(("finish", task_id, task.status))
        return task

    def fail_stale(self, before: float, message: str, error: dict[str, str]) -> list[Task]:
        self._fire("fail_stale", before, message, error)
        tasks = self.store.fail_stale(before, message, error)
        self.wins.extend(("fail_stale", task.task_id, task.status) for task in tasks)
        return tasks

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HookedStore]:
    real = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "tasks.db")
    yield HookedStore(real)
    real.close()


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    path = tmp_path / "uploads"
    path.mkdir()
    return path


@pytest.fixture
def make_runner(store: HookedStore) -> Iterator[Callable[..., ProcessRunner]]:
    runners: list[ProcessRunner] = []

    def factory(timeout_s: float = 30) -> ProcessRunner:
        runner = ProcessRunner(store, runner_id=RUNNER_ID, max_concurrent=1, timeout_s=timeout_s)
        runner.start()
        runners.append(runner)
        return runner

    yield factory
    for runner in runners:
        runner.stop()


def add_task(
    store: TaskStore, upload_dir: Path, kind: str, *, with_path: bool = False, **fields: Any
) -> Task:
    """A task with an upload file; `with_path` also hands the job the path, as uploads do."""
    path = upload_dir / f"{kind}-{len(list(upload_dir.iterdir()))}.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    params = {"path": str(path)} if with_path else {}
    return create_task(store, kind, params, runner_id=RUNNER_ID, file_path=str(path), **fields)


def wait_final(store: TaskStore, task_id: str, timeout: float = 20) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = store.get(task_id)
        if task is not None and task.is_final:
            return task
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} not final: {store.get(task_id)}")


def wait_status(store: TaskStore, task_id: str, status: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = store.get(task_id)
        if task is not None and task.status == status:
            return
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} never {status}: {store.get(task_id)}")


def wait_idle(runner: ProcessRunner, timeout: float = 10) -> None:
    """The runner has concluded everything it accepted (its job process is stopped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runner._accepted_lock:
            if not runner._accepted:
                return
        time.sleep(0.02)
    raise AssertionError("runner still busy")


def cancel(store: HookedStore, task_id: str) -> Callable[[], Task]:
    """The cancel endpoint's operation, as a hook action (the hook is spent, so no recursion)."""
    return lambda: cancel_task(store, task_id)


def error_code(code: str) -> Callable[..., bool]:
    return lambda *args, **kwargs: (kwargs.get("error") or {}).get("code") == code


def assert_settled(store: HookedStore, task: Task, status: str, *, file_kept: bool) -> None:
    final = store.get(task.task_id)
    assert final is not None and final.status == status, final
    wins = [(method, won) for method, task_id, won in store.wins if task_id == task.task_id]
    assert len(wins) == 1 and wins[0][1] == status, store.wins
    assert Path(task.file_path).exists() is file_kept


# --- runner done vs cancel -------------------------------------------------------------------


def test_cancel_between_last_progress_and_result_wins_and_removes_the_file(
    store: HookedStore, upload_dir: Path, make_runner: Callable[..., ProcessRunner]
) -> None:
    runner = make_runner()
    task = add_task(store, upload_dir, "finish_quickly")
    store.before(
        "finish", cancel(store, task.task_id), when=lambda tid, status, **k: status == "completed"
    )
    runner.submit(task.task_id)
    wait_final(store, task.task_id)
    wait_idle(runner)
    assert_settled(store, task, "cancelled", file_kept=False)


def test_result_before_cancel_keeps_the_file_and_refuses_the_cancel(
    store: HookedStore, upload_dir: Path, make_runner: Callable[..., ProcessRunner]
) -> None:
    runner = make_runner()
    task = add_task(store, upload_dir, "finish_quickly")
    runner.submit(task.task_id)
    wait_final(store, task.task_id)
    with pytest.raises(AppError) as refused:
        cancel_task(store, task.task_id)
    assert refused.value.code == "task_not_cancellable"
    wait_idle(runner)
    assert_settled(store, task, "completed", file_kept=True)


# --- runner error vs cancel ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fail_expectedly", "raise_unexpected"])
def test_cancel_before_the_error_is_recorded_wins(
    store: HookedStore, upload_dir: Path, make_runner: Callable[..., ProcessRunner], kind: str
) -> None:
    runner = make_runner()
    task = add_task(store, upload_dir, kind)
    store.before(
        "finish", cancel(store, task.task_id), when=lambda tid, status, **k: status == "failed"
    )
    runner.submit(task.task_id)
    wait_final(store, task.task_id)
    wait_idle(runner)
    assert_settled(store, task, "cancelled", file_kept=False)


def test_error_before_cancel_removes_the_file_and_refuses_the_cancel(
    store: HookedStore, upload_dir: Path, make_runner: Callable[..., ProcessRunner]
) -> None:
    runner = make_runner()
    task = add_task(store, upload_dir, "fail_expectedly")
    runner.submit(task.task_id)
    wait_final(store, task.task_id)
    with pytest.raises(AppError) as refused:
        cancel_task(store, task.task_id)
    assert refused.value.code == "task_not_cancellable"
    wait_idle(runner)
    assert_settled(store, task, "failed", file_kept=False)
    assert store.get(task.task_id).error["code"] == "invalid_file_format"


def test_a_job_failing_because_the_cancel_removed_its_file_is_no_fault(
    store: HookedStore,
    upload_dir: Path,
    make_runner: Callable[..., ProcessRunner],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The cancel removes the upload while the job reads it: the job's resulting error is
    expected, so no traceback reaches the log (the soak test's finding)."""
    runner = make_runner()
    task = add_task(store, upload_dir, "read_after_cancel", with_path=True)
    runner.submit(task.task_id)
    wait_status(store, task.task_id, PROCESSING)
    cancel_task(store, task.task_id)
    wait_idle(runner)
    assert_settled(store, task, "cancelled", file_kept=False)
    assert "Traceback" not in caplog.text and "FileNotFoundError" not in caplog.text


# --- timeout vs cancel -----------------------------------------------------------------------


@pytest.mark.slow
def test_cancel_at_the_timeout_wins(
    store: HookedStore, upload_dir: Path, make_runner: Callable[..., ProcessRunner]
) -> None:
    runner = make_runner(timeout_s=0.5)
    task = add_task(store, upload_dir, "ignore_cancel")
    store.before("finish", cancel(store, task.task_id), when=error_code("task_timeout"))
    runner.submit(task.task_id)
    wait_final(store, task.task_id)
    wait_idle(runner)
    assert_settled(store, task, "cancelled", file_kept=False)


@pytest.mark.slow
def test_timeout_before_cancel_fails_the_task_and_removes_the_file(
    store: HookedStore, upload_dir: Path, make_runner: Callable[..., ProcessRunner]
) -> None:
    runner = make_runner(timeout_s=0.5)
    task = add_task(store, upload_dir, "ignore_cancel")
    runner.submit(task.task_id)
    assert wait_final(store, task.task_id).error["code"] == "task_timeout"
    with pytest.raises(AppError):
        cancel_task(store, task.task_id)
    wait_idle(runner)
    assert_settled(store, task, "failed", file_kept=False)


# --- sweep vs cancel -------------------------------------------------------------------------


def _orphan(store: HookedStore, upload_dir: Path) -> Task:
    """A processing task whose runner died an hour ago: its heartbeat stopped."""
    long_ago = time.time() - 3600
    return add_task(
        store,
        upload_dir,
        "process",
        status=PROCESSING,
        started_at=long_ago,
        heartbeat_at=long_ago,
    )


def _housekeeper(store: HookedStore, upload_dir: Path) -> Housekeeper:
    return Housekeeper(
        store,
        runner_id="sweeper",
        upload_dir=upload_dir,
        heartbeat_s=1,
        stale_after_s=3,
        ttl_s=3600,
    )


def test_cancel_of_a_dead_workers_task_before_the_sweep_removes_the_file(
    store: HookedStore, upload_dir: Path
) -> None:
    task = _orphan(store, upload_dir)
    store.before("fail_stale", cancel(store, task.task_id))
    _housekeeper(store, upload_dir).fail_interrupted(time.time())
    assert_settled(store, task, "cancelled", file_kept=False)


def test_sweep_before_cancel_interrupts_and_removes_the_file(
    store: HookedStore, upload_dir: Path
) -> None:
    task = _orphan(store, upload_dir)
    _housekeeper(store, upload_dir).fail_interrupted(time.time())
    with pytest.raises(AppError):
        cancel_task(store, task.task_id)
    assert_settled(store, task, "failed", file_kept=False)
    assert store.get(task.task_id).error["code"] == "interrupted"


# --- shutdown vs cancel ----------------------------------------------------------------------


@pytest.mark.slow
def test_cancel_during_shutdown_wins(
    store: HookedStore, upload_dir: Path, make_runner: Callable[..., ProcessRunner]
) -> None:
    runner = make_runner()
    task = add_task(store, upload_dir, "ignore_cancel")
    runner.submit(task.task_id)
    wait_status(store, task.task_id, PROCESSING)
    store.before("finish", cancel(store, task.task_id), when=error_code("interrupted"))
    runner.stop()
    assert_settled(store, task, "cancelled", file_kept=False)


@pytest.mark.slow
def test_shutdown_before_cancel_interrupts_running_and_queued_tasks(
    store: HookedStore, upload_dir: Path, make_runner: Callable[..., ProcessRunner]
) -> None:
    runner = make_runner()
    running = add_task(store, upload_dir, "ignore_cancel")
    queued = add_task(store, upload_dir, "ignore_cancel")
    runner.submit(running.task_id)
    runner.submit(queued.task_id)
    wait_status(store, running.task_id, PROCESSING)
    runner.stop()
    for task in (running, queued):
        with pytest.raises(AppError):
            cancel_task(store, task.task_id)
        assert_settled(store, task, "failed", file_kept=False)
        assert store.get(task.task_id).error["code"] == "interrupted"


def test_no_task_is_left_active(store: HookedStore, upload_dir: Path) -> None:
    """The store contract these tests rely on: a lost transition changes nothing."""
    task = add_task(store, upload_dir, "process")
    assert cancel_task(store, task.task_id).status == "cancelled"
    assert store.finish(task.task_id, "completed", message="x") is None
    assert store.get(task.task_id).status in FINAL
