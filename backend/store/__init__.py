"""Task stores: the only shared mutable state of the service."""

from __future__ import annotations

from backend.store.base import ChangeFeed, LockProvider, RunnerRegistry, Task, TaskStore
from backend.store.memory import MemoryStore
from backend.store.sqlite import SqliteStore, path_from_url

__all__ = [
    "ChangeFeed",
    "LockProvider",
    "MemoryStore",
    "RunnerRegistry",
    "SqliteStore",
    "Task",
    "TaskStore",
    "make_store",
]


def make_store(url: str) -> TaskStore:
    """The store a TASK_STORE setting names: memory, sqlite:///path or redis://host:port/db."""
    if url == "memory":
        return MemoryStore()
    if url.startswith(("redis://", "rediss://")):
        from backend.store.redis import RedisStore  # redis-py only when it is used

        return RedisStore(url)
    return SqliteStore(path_from_url(url))
