"""Task operations shared by the routes, the runner and the housekeeper. No HTTP here.

The clean-up rule lives here, in one place: a task's upload is removed exactly when the
task reaches `failed` or `cancelled`, by the actor whose conditional transition won. The
store's transition says who won (it returns the task only to the winner), so an actor
that lost never assumes anything about the file: the winner has removed it already. A
completed task keeps its file until it is deleted or expires.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from backend.errors import AppError
from backend.files import remove_task_file
from backend.store.base import CANCELLED, COMPLETED, Task, TaskStore, new_task_id

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
    runner_id: str,
    task_id: str | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    **meta: Any,
) -> Task:
    """Create and store a task; returns the stored task.

    With an `idempotency_key` some earlier request already used, nothing is created and
    that request's task is returned (its `task_id` differs from the one asked for), as the
    IETF HTTPAPI draft "The Idempotency-Key HTTP Header Field" describes. Raises AppError
    `idempotency_key_reused` if that task came from a different request (`request_hash`).
    """
    task = Task(
        task_id=task_id or new_task_id(), kind=kind, runner_id=runner_id, params=params,
        idempotency_key=idempotency_key, request_hash=request_hash, **meta,
    )  # fmt: skip
    stored = store.add(task)
    if stored.task_id != task.task_id and stored.request_hash != request_hash:
        raise AppError("idempotency_key_reused")
    return stored


def request_digest(*parts: object) -> str:
    """A digest identifying a request: sha256 over its parts (JSON, keys sorted)."""
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def settle(tasks: Iterable[Task]) -> None:
    """Clean up after tasks that have just reached a final state through this caller.

    `tasks` are what a winning transition returned (`finish`, `fail_stale`); their files
    are removed unless they completed. Removing a file that is already gone is a no-op.
    """
    for task in tasks:
        if task.status != COMPLETED:
            remove_task_file(task)


def finish_task(
    store: TaskStore,
    task_id: str,
    status: str,
    *,
    message: str,
    result: dict[str, Any] | None = None,
    error: dict[str, str] | None = None,
) -> Task | None:
    """Move an active task to `status` and clean up if this call won.

    Returns the final task, or None when the task was already final (another actor won and
    cleaned up) or is gone.
    """
    task = store.finish(task_id, status, message=message, result=result, error=error)
    if task is not None:
        settle([task])
    return task


def cancel_task(store: TaskStore, task_id: str) -> Task:
    """Cancel a pending or running task; raises AppError task_not_found / task_not_cancellable.

    A running job's process is stopped by the runner that watches the task (within ~0.2 s);
    the file is removed here at once, since this call made the task final.
    """
    if store.get(task_id) is None:
        raise AppError("task_not_found")
    task = finish_task(store, task_id, CANCELLED, message="任務已取消")
    if task is None:
        now = store.get(task_id)
        if now is None:
            raise AppError("task_not_found")
        raise AppError("task_not_cancellable", f"任務已經{_STATUS_ZH[now.status]}，無法取消。")
    return task


def delete_task(store: TaskStore, task_id: str) -> None:
    """Delete a final task and its file; raises AppError task_not_found / task_not_finished."""
    task = store.delete(task_id)
    if task is None:
        if store.get(task_id) is None:
            raise AppError("task_not_found")
        raise AppError("task_not_finished", "任務仍在執行中，請先取消再刪除。")
    remove_task_file(task)


def list_tasks(
    store: TaskStore,
    *,
    status: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    idempotency_key: str | None = None,
) -> tuple[list[Task], int]:
    """A page of tasks, newest first, and how many match in all. ``q`` searches file names
    (blank or only spaces: no search). With ``idempotency_key``, only the task created
    with that key (0 or 1), still filtered by ``status`` and ``kind``: how a client whose
    response was lost learns whether its request created a task."""
    if idempotency_key is not None:
        found = store.get_by_key(idempotency_key)
        matches = [
            task
            for task in ([found] if found is not None else [])
            if (status is None or task.status == status) and (kind is None or task.kind == kind)
        ]
        return matches[offset : offset + limit], len(matches)
    q = q.strip() if q else None
    return store.list(status=status, kind=kind, limit=limit, offset=offset, q=q or None)
