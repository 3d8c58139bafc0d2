"""The FastAPI application: `uvicorn backend.main:app`."""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from backend import __version__
from backend.api.errors import install_error_handlers
from backend.api.openapi import TAGS, install_openapi
from backend.api.routes import api_router
from backend.api.ws import ChangeHub
from backend.config import Settings, get_settings
from backend.execution.housekeeping import Housekeeper
from backend.execution.runner import make_runner
from backend.store import make_store
from backend.store.base import ChangeFeed

logger = logging.getLogger("backend")

DESCRIPTION = """
上傳資料檔（CSV、Excel、文字、JSON），在背景分析，並即時回報進度。

* 所有 `/api` 路徑在設定 `API_KEY` 時需要 `X-API-Key` 標頭。
* 錯誤一律以 RFC 9457 `application/problem+json` 回傳，`code` 為穩定的錯誤代碼，`detail` 為繁體中文說明。
* 進度可輪詢 `GET /api/tasks/{task_id}`，或連線 `WS /ws/tasks/{task_id}` 即時接收；取消為 `POST /api/tasks/{task_id}/cancel`。
* 舊的單數路徑（`/api/task/{task_id}`、`DELETE /api/task/{task_id}/cancel`、`/api/task/{task_id}/result`、`/ws/task/{task_id}`）仍可使用，回應相同，但已淘汰。
"""

_SECRET_QUERY = re.compile(r"(api_key=)[^&\s\"']*", re.IGNORECASE)


class RedactApiKey(logging.Filter):
    """Server logs include request paths; a key passed as ?api_key= must never reach them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_QUERY.sub(r"\1***", record.msg)
        return True


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.setLevel(level)
    for name in ("uvicorn.access", "uvicorn.error"):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactApiKey) for f in target.filters):
            target.addFilter(RedactApiKey())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    _configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.upload_dir.mkdir(parents=True, exist_ok=True)
        runner_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        store = make_store(settings.task_store)
        runner = make_runner(settings, store, runner_id)
        housekeeper = Housekeeper.for_settings(store, runner_id, settings, runner.upkeep)
        app.state.runner_id, app.state.store, app.state.runner = runner_id, store, runner
        if not settings.api_key:
            logger.warning(
                "API_KEY is empty: authentication is OFF. Set it before exposing the API."
            )
        # Redis: one pub/sub subscription per process feeds every WebSocket here.
        hub = ChangeHub(store) if isinstance(store, ChangeFeed) else None
        app.state.change_hub = hub
        if hub is not None:
            hub.start()
        runner.start()
        housekeeper.start()
        logger.info(
            "Task service %s ready (store=%s, runner=%s, runner_id=%s)",
            __version__, store.name, runner.name, runner_id,
        )  # fmt: skip
        try:
            yield
        finally:
            housekeeper.stop()
            if hub is not None:
                hub.stop()
            runner.stop()
            store.close()

    app = FastAPI(
        title="資料處理任務服務",
        description=DESCRIPTION,
        version=__version__,
        lifespan=lifespan,
        openapi_tags=TAGS,
    )
    app.state.settings = settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["X-API-Key", "X-Filename", "Content-Type", "Idempotency-Key"],
        expose_headers=["Location", "Idempotent-Replayed"],
    )
    install_error_handlers(app)
    app.include_router(api_router)
    install_openapi(app, settings)
    return app


app = create_app()
