"""WebSocket progress: the current task at connect, then every change, closed after a final state.

With the Redis store, changes arrive on Redis pub/sub: each API process holds one
subscription (`ChangeHub`) and wakes only the sockets watching the changed task, so a
progress change made by a worker on another machine reaches a browser connected to any
API process. A socket subscribes first and then reads the snapshot, so no change falls
between the two. While the subscription is down, and with the memory and sqlite stores,
sockets re-read the store every POLL_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from backend.api.deps import key_matches
from backend.api.schemas import task_public
from backend.store.base import ChangeFeed

logger = logging.getLogger(__name__)

router = APIRouter()

POLL_S = 0.25
# With a live subscription a socket still re-reads now and then, in case a message was lost.
SAFETY_READ_S = 5.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404


class ChangeHub:
    """One Redis pub/sub subscription per process, fanned out to this process's sockets."""

    def __init__(self, store: ChangeFeed) -> None:
        self.store = store
        self.connected = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watchers: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="change-hub", daemon=True)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def watch(self, task_id: str) -> asyncio.Event:
        event = asyncio.Event()
        self._watchers[task_id].add(event)
        return event

    def unwatch(self, task_id: str, event: asyncio.Event) -> None:
        watchers = self._watchers.get(task_id)
        if watchers is not None:
            watchers.discard(event)
            if not watchers:
                del self._watchers[task_id]

    def _listen(self) -> None:
        self.store.listen(self._changed, self._status, self._stop)

    def _status(self, connected: bool) -> None:
        self.connected = connected
        self._call(self._wake_all)  # re-read: changes may have been missed meanwhile

    def _changed(self, task_id: str) -> None:
        self._call(self._wake, task_id)

    def _call(self, callback, *args) -> None:  # type: ignore[no-untyped-def]
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown)
                self._loop.call_soon_threadsafe(callback, *args)

    def _wake(self, task_id: str) -> None:
        for event in self._watchers.get(task_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for watchers in self._watchers.values():
            for event in watchers:
                event.set()


# /ws/task/{task_id} is the guide's path, kept beside the plural one.
@router.websocket("/ws/tasks/{task_id}")
@router.websocket("/ws/task/{task_id}")
async def task_updates(websocket: WebSocket, task_id: str) -> None:
    settings = websocket.app.state.settings
    store = websocket.app.state.store
    hub: ChangeHub | None = getattr(websocket.app.state, "change_hub", None)
    # Accept first: a close code (4401/4404) can only be sent on an accepted socket.
    await websocket.accept()
    given = websocket.headers.get("x-api-key") or websocket.query_params.get("api_key")
    if not key_matches(settings.api_key, given):
        await websocket.close(CLOSE_UNAUTHORIZED, "API 金鑰無效")
        return
    changed = hub.watch(task_id) if hub is not None else None  # subscribe before the snapshot
    receiving = asyncio.ensure_future(websocket.receive())
    last_version = -1
    try:
        while True:
            if changed is not None:
                changed.clear()
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
            waits: set[asyncio.Future] = {receiving}
            if changed is not None and hub is not None and hub.connected:
                waits.add(asyncio.ensure_future(changed.wait()))
                timeout = SAFETY_READ_S
            else:
                timeout = POLL_S
            done, pending = await asyncio.wait(
                waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for future in pending - {receiving}:
                future.cancel()
            if receiving in done:
                message = receiving.result()
                if message["type"] == "websocket.disconnect":
                    return
                receiving = asyncio.ensure_future(websocket.receive())
    except WebSocketDisconnect:
        return
    finally:
        receiving.cancel()
        if hub is not None and changed is not None:
            hub.unwatch(task_id, changed)
