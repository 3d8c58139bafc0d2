"""WebSocket progress: the current task at connect, then every change, closed after a final state."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from backend.api.deps import key_matches
from backend.schemas import task_public

logger = logging.getLogger(__name__)

router = APIRouter()

POLL_S = 0.25
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404


@router.websocket("/ws/task/{task_id}")
async def task_updates(websocket: WebSocket, task_id: str) -> None:
    settings = websocket.app.state.settings
    store = websocket.app.state.store
    # Accept first: a close code (4401/4404) can only be sent on an accepted socket.
    await websocket.accept()
    given = websocket.headers.get("x-api-key") or websocket.query_params.get("api_key")
    if not key_matches(settings.api_key, given):
        await websocket.close(CLOSE_UNAUTHORIZED, "API 金鑰無效")
        return
    last_version = -1
    try:
        while True:
            task = await run_in_threadpool(store.get, task_id)
            if task is None:
                reason = "找不到任務" if last_version < 0 else "任務已被刪除"
                await websocket.close(CLOSE_NOT_FOUND, reason)
                return
            if task.version != last_version:
                last_version = task.version
                await websocket.send_json(task_public(task))
            if task.is_final:
                await websocket.close(1000)
                return
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout=POLL_S)
            except TimeoutError:
                continue
            if message["type"] == "websocket.disconnect":
                return
    except WebSocketDisconnect:
        return
