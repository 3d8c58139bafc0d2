"""Task stores: the only shared mutable state of the service."""

from __future__ import annotations

from backend.store.base import Task, TaskStore
from backend.store.memory import MemoryStore
from backend.store.sqlite import SqliteStore, path_from_url

__all__ = ["MemoryStore", "SqliteStore", "Task", "TaskStore", "make_store"]


def make_store(url: str) -> TaskStore:
    if url == "memory":
        return MemoryStore()
    return SqliteStore(path_from_url(url))
