"""In-memory registry: the default store, for a single server process."""

from __future__ import annotations

import builtins
import threading
import time
from dataclasses import replace
from typing import Any

from backend.store.base import (
    ACTIVE,
    COMPLETED,
    FINAL,
    PENDING,
    PROCESSING,
    STATUSES,
    Task,
    filename_matches,
)


class MemoryStore:
    """The `TaskStore` in this process's memory; also a `LockProvider` (for this process)."""

    name = "memory"

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._keys: dict[str, str] = {}  # Idempotency-Key -> task id
        self._locks: dict[str, float] = {}  # lock name -> when it expires (time.monotonic())
        self._lock = threading.Lock()

    def _change(self, task: Task, **fields: Any) -> Task:
        now = time.time()
        for key, value in fields.items():
            setattr(task, key, value)
        task.updated_at = now
        task.version += 1
        return replace(task)

    def add(self, task: Task) -> Task:
        with self._lock:
            key = task.idempotency_key
            if key is not None and key in self._keys:
                return replace(self._tasks[self._keys[key]])
            self._tasks[task.task_id] = replace(task)
            if key is not None:
                self._keys[key] = task.task_id
            return replace(task)

    def get_by_key(self, idempotency_key: str) -> Task | None:
        with self._lock:
            task_id = self._keys.get(idempotency_key)
            return replace(self._tasks[task_id]) if task_id is not None else None

    def get(self, task_id: str) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return replace(task) if task else None

    def list(
        self,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
        q: str | None = None,
    ) -> tuple[list[Task], int]:
        with self._lock:
            matching = [
                t
                for t in self._tasks.values()
                if (status is None or t.status == status)
                and (kind is None or t.kind == kind)
                and (not q or filename_matches(t.filename, q))
            ]
        matching.sort(key=lambda t: t.created_at, reverse=True)
        return [replace(t) for t in matching[offset : offset + limit]], len(matching)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        with self._lock:
            for task in self._tasks.values():
                counts[task.status] += 1
        return counts

    def mark_started(self, task_id: str, runner_id: str) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.status != PENDING:
                return None
            now = time.time()
            return self._change(
                task,
                status=PROCESSING,
                runner_id=runner_id,
                started_at=now,
                heartbeat_at=now,
                message="開始處理",
            )

    def set_progress(
        self, task_id: str, progress: float, message: str | None, eta_s: float | None = None
    ) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.status != PROCESSING:
                return None
            fields: dict[str, Any] = {"progress": max(task.progress, progress), "eta_s": eta_s}
            if message:
                fields["message"] = message
            return self._change(task, **fields)

    def finish(
        self,
        task_id: str,
        status: str,
        *,
        message: str,
        result: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
    ) -> Task | None:
        assert status in FINAL
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.status not in ACTIVE:
                return None
            progress = 100.0 if status == COMPLETED else task.progress
            return self._change(
                task,
                status=status,
                message=message,
                result=result,
                error=error,
                progress=progress,
                eta_s=None,
                finished_at=time.time(),
            )

    def delete(self, task_id: str) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.status not in FINAL:
                return None
            if task.idempotency_key is not None:
                self._keys.pop(task.idempotency_key, None)
            return self._tasks.pop(task_id)

    def now(self) -> float:
        """This machine's clock: the store lives on one machine (see `TaskStore.now`)."""
        return time.time()

    def heartbeat(self, runner_id: str) -> None:
        now = time.time()
        with self._lock:
            for task in self._tasks.values():
                if task.runner_id == runner_id and task.status in ACTIVE:
                    task.heartbeat_at = now

    def fail_stale(self, before: float, message: str, error: dict[str, str]) -> builtins.list[Task]:
        failed = []
        with self._lock:
            for task in self._tasks.values():
                if task.status in ACTIVE and task.runner_id and task.heartbeat_at < before:
                    failed.append(
                        self._change(
                            task,
                            status="failed",
                            message=message,
                            error=error,
                            eta_s=None,
                            finished_at=time.time(),
                        )
                    )
        return failed

    def expired(self, before: float) -> builtins.list[Task]:
        with self._lock:
            return [
                replace(t)
                for t in self._tasks.values()
                if t.status in FINAL and t.finished_at is not None and t.finished_at < before
            ]

    def try_lock(self, name: str, ttl_s: float) -> bool:
        """See `LockProvider.try_lock`; the lock is this process's, as the store is."""
        now = time.monotonic()
        with self._lock:
            if self._locks.get(name, float("-inf")) > now:
                return False
            self._locks[name] = now + ttl_s
            return True

    def close(self) -> None:
        pass
