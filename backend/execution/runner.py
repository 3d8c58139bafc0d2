"""What the API needs of a runner, whichever hands tasks to supervision, and the one that
TASK_RUNNER names: `backend.execution.local.ProcessRunner` or
`backend.execution.celery_queue.CeleryRunner`."""

from __future__ import annotations

from typing import Any, Protocol

from backend.config import Settings
from backend.store.base import TaskStore


class Runner(Protocol):
    """Hands tasks to supervision. `pending_runner_id` is the `runner_id` a new task gets:
    the process whose death interrupts it while it waits (empty for a shared queue, see
    `TaskStore.fail_stale`)."""

    name: str
    pending_runner_id: str

    def start(self) -> None: ...

    def submit(self, task_id: str) -> None: ...

    def upkeep(self) -> None:
        """Periodic work, called by the housekeeper on every heartbeat."""

    def describe(self) -> dict[str, Any]:
        """What the home page shows: {"runner": name, "workers_online": int | None, ...}."""

    def stop(self) -> None: ...


def make_runner(settings: Settings, store: TaskStore, runner_id: str) -> Runner:
    """The runner TASK_RUNNER names: local job processes, or Celery workers; `runner_id` is
    this process's heartbeat identity. Raises TypeError if the store cannot serve Celery
    (see `backend.execution.celery_queue.queue_store`)."""
    if settings.task_runner == "celery":
        # Celery only when it is used
        from backend.execution.celery_queue import CeleryRunner, queue_store

        return CeleryRunner(settings, queue_store(store))
    from backend.execution.local import ProcessRunner

    return ProcessRunner(
        store,
        runner_id=runner_id,
        max_concurrent=settings.max_concurrent_tasks,
        timeout_s=settings.task_timeout_s,
        job_threads=settings.job_threads,
    )
