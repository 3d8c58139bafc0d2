"""Uploads: receive a file (multipart, or the raw body with its name in `X-Filename`) and
start its analysis. Receiving, checking and storing the bytes is backend/api/receiving.py;
this module is the one flow both routes share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from backend.api.deps import IdempotencyKey, RunnerDep, SettingsDep, StoreDep
from backend.api.openapi import TAG_UPLOADS, problem_responses
from backend.api.receiving import (
    MULTIPART_OVERHEAD,
    CheckedName,
    UploadSink,
    check_filename,
    declared_length,
    filename_from_header,
    receive_multipart,
    receive_stream,
    too_large,
)
from backend.api.routes.tasks import CREATED_RESPONSES, accepted
from backend.api.schemas import TaskPublic
from backend.service import create_task, request_digest
from backend.store.base import new_task_id

router = APIRouter(tags=[TAG_UPLOADS])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
_STREAM_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    "parameters": [
        {
            "name": "X-Filename",
            "in": "header",
            "required": True,
            "description": "原始檔名，URL 編碼的 UTF-8，例如 %E5%A0%B1%E5%83%B9.csv",
            "schema": {"type": "string"},
        }
    ],
}


Receive = Callable[[str], Awaitable[tuple[CheckedName, UploadSink]]]


class Upload:
    """What an upload route needs, as one dependency (FastAPI builds it per request)."""

    def __init__(
        self, request: Request, response: Response, settings: SettingsDep, store: StoreDep,
        runner: RunnerDep, background_tasks: BackgroundTasks,
        idempotency_key: IdempotencyKey = None,
    ) -> None:  # fmt: skip
        self.request, self.response, self.settings = request, response, settings
        self.store, self.runner, self.background_tasks = store, runner, background_tasks
        self.idempotency_key = idempotency_key

    def sink(self, task_id: str, extension: str) -> UploadSink:
        """Where the file of task ``task_id`` is written while it arrives."""
        return UploadSink(
            self.settings.upload_dir, task_id, extension, self.settings.max_upload_bytes
        )

    async def run(self, receive: Receive, envelope: int = 0) -> TaskPublic:
        """The one upload flow: refuse a declared size over the limit before reading a
        byte, ``receive`` the file into a sink under a new task id, then store and start
        the task."""
        limit = self.settings.max_upload_bytes
        length = declared_length(self.request)
        if length is not None and length > limit + envelope:
            raise too_large(limit)
        task_id = new_task_id()
        checked, sink = await receive(task_id)
        filename = checked.name

        def start() -> TaskPublic:
            with sink.discarded_on_error():
                path = sink.commit()
                params: dict[str, Any] = {"path": str(path), "filename": filename}
                if checked.notes:  # the analysis puts them first in its result's warnings
                    params["notes"] = list(checked.notes)
                task = create_task(
                    self.store, "analyze", params,
                    runner_id=self.runner.pending_runner_id, task_id=task_id, filename=filename,
                    size_bytes=sink.size, file_path=str(path),
                    idempotency_key=self.idempotency_key,
                    request_hash=request_digest("analyze", filename, sink.sha256()),
                )  # fmt: skip
            if task.task_id != task_id:
                sink.discard()  # the same file again: the first upload's task answers
                return accepted(task, self.response, replayed=True)
            self.background_tasks.add_task(self.runner.submit, task.task_id)
            return accepted(task, self.response)

        # The store may wait on a lock (sqlite): off the event loop, like every sync route.
        return await run_in_threadpool(start)


UploadDep = Annotated[Upload, Depends()]


def _upload_route(
    path: str, summary: str, body: dict[str, Any]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return router.post(
        path, summary=summary, status_code=202, response_model=TaskPublic,
        openapi_extra=body, responses={**CREATED_RESPONSES, **problem_responses(400, 413, 415)},
    )  # fmt: skip


# Routes carry no docstring: FastAPI would publish it as the (zh-TW) description.


@_upload_route("/upload", "上傳檔案（multipart，欄位 file）並分析", _UPLOAD_BODY)
async def upload_multipart(upload: UploadDep) -> TaskPublic:
    async def receive(task_id: str) -> tuple[CheckedName, UploadSink]:
        return await receive_multipart(
            upload.request,
            lambda extension: upload.sink(task_id, extension),
            upload.settings.allowed_extensions,
        )

    return await upload.run(receive, MULTIPART_OVERHEAD)


@_upload_route(
    "/upload/stream", "串流上傳檔案（原始內容，檔名放在 X-Filename）並分析", _STREAM_BODY
)
async def upload_stream(upload: UploadDep) -> TaskPublic:
    # A bad name is refused before any size check.
    allowed = upload.settings.allowed_extensions
    checked = check_filename(filename_from_header(upload.request), allowed)

    async def receive(task_id: str) -> tuple[CheckedName, UploadSink]:
        sink = upload.sink(task_id, checked.extension)
        await receive_stream(upload.request, sink)
        return checked, sink

    return await upload.run(receive)
