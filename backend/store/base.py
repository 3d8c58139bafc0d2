"""The task record, the store interface every backend (memory, sqlite, redis) implements,
and the optional capabilities some stores add (`ChangeFeed`, `RunnerRegistry`, `LockProvider`).

Every state change is a conditional update done atomically inside the store, so a task
reaches exactly one final state even when the runner, a cancel request and the
interruption sweep race each other.

A store has one clock, `TaskStore.now()`, and every time it records comes from it: a
task's times, its runner's heartbeat. Callers judge ages against that same clock (`before`
and `since` arguments are `store.now()` minus an age), never against their own
`time.time()`, because the processes sharing a store may run on machines whose clocks
disagree by minutes. The memory and sqlite stores live on one machine, so their
clock is `time.time()`; the Redis store's is the Redis server's (`TIME`).
"""

from __future__ import annotations

import builtins
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from backend.vocabulary import TaskStatus

PENDING = TaskStatus.PENDING.value
PROCESSING = TaskStatus.PROCESSING.value
COMPLETED = TaskStatus.COMPLETED.value
FAILED = TaskStatus.FAILED.value
CANCELLED = TaskStatus.CANCELLED.value

STATUSES = (PENDING, PROCESSING, COMPLETED, FAILED, CANCELLED)
ACTIVE = (PENDING, PROCESSING)
FINAL = (COMPLETED, FAILED, CANCELLED)


def new_task_id() -> str:
    return uuid.uuid4().hex


def fold(text: str) -> str:
    """``text`` for caseless matching: Unicode case folding between NFKC normalisations, so
    "ＲＥＰＯＲＴ", "Report" and "report" match, and so do "Straße" and "STRASSE", a file name
    in decomposed form (macOS) and the same name typed composed."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def filename_matches(filename: str | None, q: str) -> bool:
    """Whether a task's file name contains ``q``, ignoring case (see `fold`)."""
    return filename is not None and fold(q) in fold(filename)


@dataclass
class Task:
    """One task as the store holds it.

    `runner_id` names the process that holds the task and proves it is alive by its
    heartbeat (an API process's local queue, or a Celery worker once it took the task); an
    empty `runner_id` means the task waits in a shared queue, held by no process.
    """

    task_id: str
    kind: str
    runner_id: str
    params: dict[str, Any] = field(default_factory=dict)
    status: str = PENDING
    progress: float = 0.0
    eta_s: float | None = (
        None  # seconds left as of `updated_at` (backend.execution.eta); None if unknown
    )
    # The client's Idempotency-Key and a digest of the request that created the task: a
    # repeat with the same key gets this task back instead of a new one.
    idempotency_key: str | None = None
    request_hash: str | None = None
    message: str = "等待處理中"
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    updated_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    heartbeat_at: float = field(default_factory=time.time)
    filename: str | None = None
    size_bytes: int | None = None
    file_path: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    version: int = 0

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


class TaskStore(Protocol):
    """What every store does: the task records and their conditional transitions."""

    name: str

    def add(self, task: Task) -> Task:
        """Store a new task and return it; if its `idempotency_key` is already held by a
        task, store nothing and return that task (atomic: of two adds with one key, one
        wins). A key is freed when its task is deleted (or expires)."""

    def get_by_key(self, idempotency_key: str) -> Task | None:
        """The task created with this Idempotency-Key, if it still exists."""

    def get(self, task_id: str) -> Task | None: ...

    def list(
        self,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
        q: str | None = None,
    ) -> tuple[builtins.list[Task], int]:
        """Newest first, and the total matching the filter.

        ``q`` keeps tasks whose file name contains it, ignoring case (`filename_matches`).
        """

    def counts(self) -> dict[str, int]: ...

    def now(self) -> float:
        """The store's clock in Unix seconds: every time the store records (created_at,
        started_at, updated_at, finished_at, heartbeat_at) is read from it, so every age is
        judged against it (`fail_stale`, `expired`)."""

    def mark_started(self, task_id: str, runner_id: str) -> Task | None:
        """pending -> processing; None if the task is no longer pending (e.g. cancelled)."""

    def set_progress(
        self, task_id: str, progress: float, message: str | None, eta_s: float | None = None
    ) -> Task | None:
        """Only while processing; progress never decreases. ``eta_s`` replaces the estimate
        of the remaining seconds (None: unknown); a final state clears it."""

    def finish(
        self,
        task_id: str,
        status: str,
        *,
        message: str,
        result: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
    ) -> Task | None:
        """Move an active task to a final state; None if it was already final or is gone."""

    def delete(self, task_id: str) -> Task | None:
        """Remove a final task and return it; None if it is missing or still active."""

    def heartbeat(self, runner_id: str) -> None:
        """Prove the runner is alive for all of its active tasks (stamped with `now()`)."""

    def fail_stale(self, before: float, message: str, error: dict[str, str]) -> builtins.list[Task]:
        """Fail active tasks whose runner's heartbeat is older than `before`, a time of the
        store's clock (`now()` minus the stale window).

        A task with an empty `runner_id` waits in a shared queue (Celery), held by no
        process, so no process's death interrupts it.
        """

    def expired(self, before: float) -> builtins.list[Task]:
        """Final tasks that finished before `before`, a time of the store's clock (`now()`
        minus the TTL), for TTL cleanup."""

    def close(self) -> None: ...


# Optional capabilities. A store that has one implements its Protocol; callers ask with
# `isinstance(store, ChangeFeed)` (the Protocols are runtime-checkable) or take a store
# typed with the capability, never probe attributes or reach into a store's client.


@runtime_checkable
class ChangeFeed(Protocol):
    """A store that announces every task change to every process (Redis pub/sub), so a
    WebSocket need not re-read the store to notice one."""

    def listen(
        self,
        on_change: Callable[[str], None],
        on_status: Callable[[bool], None],
        stop: threading.Event,
    ) -> None:
        """Call `on_change(task_id)` for every change until `stop` is set (blocking).

        `on_status(True)` follows every (re)connection of the feed and `on_status(False)`
        every loss, so listeners can re-read the store while changes may be missed."""


@runtime_checkable
class RunnerRegistry(Protocol):
    """A store that remembers every runner's last heartbeat, so the runners online (Celery
    workers on any machine) can be counted."""

    def live_runners(self, since: float, prefix: str = "") -> builtins.list[str]:
        """Runner ids whose last heartbeat is at or after `since` (a time of the store's
        clock, e.g. `now()` minus the stale window), oldest first; `prefix` narrows to one
        role, e.g. "worker:"."""


@runtime_checkable
class LockProvider(Protocol):
    """A store that grants named locks shared by every process using it."""

    def try_lock(self, name: str, ttl_s: float) -> bool:
        """Take the lock `name` for `ttl_s` seconds if nobody holds it; True if this call
        took it. It is never released early, it expires: of the processes asking within
        one `ttl_s` window exactly one gets True (a once-per-period job needs no more)."""
