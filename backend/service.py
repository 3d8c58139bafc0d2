"""Task operations the routes share: create, cancel, delete. No HTTP here."""

from __future__ import annotations

from typing import Any

from backend.errors import AppError
from backend.files import remove_task_file
from backend.store.base import CANCELLED, PENDING, Task, TaskStore, new_task_id

# How a final state reads in "任務已經…，無法取消。"
_STATUS_ZH = {
    "pending": "在等待中",
    "processing": "在處理中",
    "completed": "完成",
    "failed": "失敗",
    "cancelled": "取消",
}


def create_task(
    store: TaskStore,
    kind: str,
    params: dict[str, Any],
    *,
    owner: str,
    task_id: str | None = None,
    **meta: Any,
) -> Task:
    task = Task(task_id=task_id or new_task_id(), kind=kind, owner=owner, params=params, **meta)
    store.add(task)
    return task


def cancel_task(store: TaskStore, task_id: str) -> Task:
    was = store.get(task_id)
    if was is None:
        raise AppError("task_not_found")
    task = store.finish(task_id, CANCELLED, message="任務已取消")
    if task is None:
        now = store.get(task_id) or was
        raise AppError("task_not_cancellable", f"任務已經{_STATUS_ZH[now.status]}，無法取消。")
    if was.status == PENDING:
        remove_task_file(task)  # a running job's file is removed by its runner once it stops
    return task


def delete_task(store: TaskStore, task_id: str) -> None:
    task = store.delete(task_id)
    if task is None:
        if store.get(task_id) is None:
            raise AppError("task_not_found")
        raise AppError("task_not_finished", "任務仍在執行中，請先取消再刪除。")
    remove_task_file(task)
