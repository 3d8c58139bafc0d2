"""What a job sees of the world: a way to report progress and to notice cancellation.

Jobs are plain functions ``job(ctx, **params) -> dict``. They know nothing of FastAPI,
of the store or of processes; the runner hands them a context.
"""

from __future__ import annotations

import os
from typing import Protocol

DEFAULT_THREADS = 2  # JOB_THREADS' default: most threads one job works on


class JobCancelled(Exception):
    """Raised inside a job when the user cancelled it; the runner records ``cancelled``."""


class JobError(Exception):
    """An expected failure with a stable code and a zh-TW message the user will read."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JobContext(Protocol):
    # Threads the job may keep busy (>= 1): its share of the machine's cores, decided when
    # it starts (backend.execution.job_share). 1 means: do everything on the calling thread.
    threads: int

    def report(self, progress: float, message: str | None = None) -> None:
        """Record progress (0-100, never decreasing) and the current stage in zh-TW.

        Raises JobCancelled when the task was cancelled, so reporting is also a
        cancellation point.
        """

    def check_cancelled(self) -> None:
        """Raise JobCancelled if the task was cancelled."""

    def is_cancelled(self) -> bool: ...


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class RecordingContext:
    """A context that records reports in memory: for tests and benchmarks of job functions."""

    def __init__(self, cancel_after: int | None = None, threads: int | None = None) -> None:
        self.threads = threads or min(DEFAULT_THREADS, usable_cores())
        self.reports: list[tuple[float, str | None]] = []
        self._cancel_after = cancel_after
        self._cancelled = False

    def report(self, progress: float, message: str | None = None) -> None:
        self.reports.append((progress, message))
        if self._cancel_after is not None and len(self.reports) >= self._cancel_after:
            self._cancelled = True
        self.check_cancelled()

    def check_cancelled(self) -> None:
        if self._cancelled:
            raise JobCancelled()

    def is_cancelled(self) -> bool:
        return self._cancelled
