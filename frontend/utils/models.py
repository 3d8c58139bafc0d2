"""What the API client hands the pages besides the backend's JSON: plain frozen
dataclasses, with no Streamlit and no transport in them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from frontend.utils.errors import AppError


@dataclass(frozen=True)
class DownloadedFile:
    """A report the backend sent as a file: the name to save it under, and its bytes."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class RunnerStatus:
    """Where the backend runs tasks, as `GET /` says: "local" (in the API's own processes)
    or "celery" (Celery workers), and with Celery the workers online and the tasks waiting
    for one. A backend that predates the field runs tasks locally."""

    runner: str = "local"
    workers_online: int | None = None
    queue_length: int | None = None

    @classmethod
    def from_health(cls, health: dict[str, Any]) -> RunnerStatus:
        def count(key: str) -> int | None:
            value = health.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        runner = health.get("runner")
        return cls(
            runner=runner if isinstance(runner, str) and runner else "local",
            workers_online=count("workers_online"),
            queue_length=count("queue_length"),
        )

    @property
    def waiting_for_workers(self) -> bool:
        """Tasks are queued and no worker is online to take them."""
        return self.workers_online == 0 and bool(self.queue_length)


@dataclass(frozen=True)
class BackendStatus:
    """Whether `GET /` answered: its body when it did, the error when it did not."""

    ok: bool
    health: dict[str, Any] | None = None
    error: AppError | None = None
