"""Dependencies shared by the routes: settings, store, runner, API key, task lookup,
Idempotency-Key."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.security import APIKeyHeader

from backend.config import Settings
from backend.errors import AppError
from backend.execution.runner import Runner
from backend.store.base import Task, TaskStore

# Dependencies that only read app state are `async def` so FastAPI does not hop to a
# worker thread for each of them; anything touching the store stays sync (thread pool).


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> TaskStore:
    return request.app.state.store


async def get_runner(request: Request) -> Runner:
    return request.app.state.runner


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
StoreDep = Annotated[TaskStore, Depends(get_store)]
RunnerDep = Annotated[Runner, Depends(get_runner)]

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API 金鑰")


def key_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison; an empty expected key means authentication is off."""
    if not expected:
        return True
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


async def require_api_key(
    settings: SettingsDep, api_key: Annotated[str | None, Depends(_api_key_header)]
) -> None:
    if not key_matches(settings.api_key, api_key):
        raise AppError("invalid_api_key")


def get_task(store: StoreDep, task_id: Annotated[str, Path(description="任務 ID")]) -> Task:
    task = store.get(task_id)
    if task is None:
        raise AppError("task_not_found")
    return task


CurrentTask = Annotated[Task, Depends(get_task)]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="同一個動作的重試帶同一個金鑰（例如 UUID）：只會建立一個任務，重送時回 200 "
        "與該任務目前的狀態；同一個金鑰用於內容不同的請求則回 422 idempotency_key_reused。"
        "金鑰隨任務刪除或過期而失效。",
    ),
]
