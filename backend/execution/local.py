"""TASK_RUNNER=local: supervisor threads inside the API process take tasks from a queue."""

from __future__ import annotations

import queue
import threading
from typing import Any

from backend.execution.supervisor import Supervisor, interrupted
from backend.jobs.context import DEFAULT_THREADS
from backend.store.base import TaskStore


class ProcessRunner:
    """TASK_RUNNER=local: `max_concurrent` supervisor threads in this process take task ids
    from an in-memory queue; tasks accepted but unfinished at `stop()` end `interrupted`.
    `runner_id` is this process's heartbeat identity, held by the tasks it accepts."""

    name = "local"

    def __init__(
        self,
        store: TaskStore,
        *,
        runner_id: str,
        max_concurrent: int,
        timeout_s: float,
        job_threads: int = DEFAULT_THREADS,
    ) -> None:
        self.store = store
        self.runner_id = self.pending_runner_id = runner_id
        self.max_concurrent = max_concurrent
        self.supervisor = Supervisor(
            store, runner_id=runner_id, timeout_s=timeout_s, job_threads=job_threads
        )
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._accepted: set[str] = set()
        self._accepted_lock = threading.Lock()

    def start(self) -> None:
        self.supervisor.warm_up()
        for slot in range(self.max_concurrent):
            thread = threading.Thread(target=self._take, name=f"runner-{slot}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, task_id: str) -> None:
        with self._accepted_lock:
            self._accepted.add(task_id)
        self._queue.put(task_id)

    def upkeep(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"runner": self.name, "workers_online": None, "queue_length": None}

    def stop(self) -> None:
        """Stop running jobs; tasks this process accepted but did not finish become interrupted."""
        self.supervisor.stop()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        with self._accepted_lock:
            unfinished, self._accepted = self._accepted, set()
        for task_id in unfinished:
            self.supervisor.conclude(task_id, interrupted())

    def _take(self) -> None:
        while True:
            task_id = self._queue.get()
            if task_id is None:
                return
            if self.supervisor.stopping.is_set():
                continue  # left in `_accepted`: stop() interrupts it
            self.supervisor.run(task_id)
            with self._accepted_lock:
                self._accepted.discard(task_id)
