"""HTTP routes: thin wrappers around the store, the runner and the upload sinks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from backend import __version__
from backend.api.deps import (
    CurrentTask,
    RunnerDep,
    SettingsDep,
    StoreDep,
    require_api_key,
)
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
from backend.api.report_xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE
from backend.api.report_xlsx import analysis_workbook
from backend.api.schemas import (
    MAX_PROCESS_DELAY_S,
    Health,
    Problem,
    ProcessRequest,
    PublicConfig,
    TaskList,
    TaskPublic,
    Vocabulary,
)
from backend.errors import AppError
from backend.files import clean_filename
from backend.service import cancel_task, create_task, delete_task, request_digest
from backend.store.base import COMPLETED, Task, new_task_id
from backend.vocabulary import KIND_LABELS, TaskStatus, vocabulary


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}}
        for status in statuses
    }


health_router = APIRouter(tags=["健康檢查"])
router = APIRouter(
    prefix="/api",
    tags=["任務"],
    dependencies=[Depends(require_api_key)],
    responses=_problems(401, 422),
)


@health_router.get("/", summary="健康檢查", response_model=Health)
def health(store: StoreDep, runner: RunnerDep) -> dict[str, Any]:
    return {
        "status": "ok",
        "version": __version__,
        "store": store.name,
        "tasks": store.counts(),
        **runner.describe(),
    }


@router.get("/config", summary="公開設定（上傳限制等，前端據此驗證）", response_model=PublicConfig)
async def public_config(settings: SettingsDep) -> dict[str, Any]:
    return {
        "version": __version__,
        "max_upload_mb": settings.max_upload_mb,
        "max_upload_bytes": settings.max_upload_bytes,
        "allowed_extensions": settings.allowed_extensions,
        "max_concurrent_tasks": settings.max_concurrent_tasks,
        "task_timeout_s": settings.task_timeout_s,
        "task_ttl_s": settings.task_ttl_s,
        "max_process_delay_s": MAX_PROCESS_DELAY_S,
        "auth_required": bool(settings.api_key),
    }


@router.get(
    "/vocabulary",
    summary="所有固定詞彙（狀態、錯誤代碼、編碼、檔案格式、欄位型別…）與中文名稱",
    response_model=Vocabulary,
)
async def read_vocabulary() -> dict[str, Any]:
    return vocabulary()


def _accepted(task: Task, response: Response, replayed: bool = False) -> TaskPublic:
    """A new task, answered 202 with where to poll it; a repeated request (same
    Idempotency-Key) gets the task it created, answered 200 with its current state."""
    response.headers["Location"] = f"/api/task/{task.task_id}"
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return TaskPublic.from_task(task)


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

_CREATED = {
    200: {"description": "重送的請求（相同 Idempotency-Key）：先前建立的任務目前的狀態"},
    **_problems(422),
}


@router.post(
    "/process",
    summary="建立長時間處理任務（指南的分階段示範）",
    status_code=202,
    response_model=TaskPublic,
    responses=_CREATED,
)
def start_process(
    body: ProcessRequest, response: Response, store: StoreDep, runner: RunnerDep,
    background_tasks: BackgroundTasks, idempotency_key: IdempotencyKey = None,
) -> TaskPublic:  # fmt: skip
    params = body.model_dump()
    task_id = new_task_id()
    task = create_task(
        store, "process", params, runner_id=runner.pending_runner_id, task_id=task_id,
        idempotency_key=idempotency_key, request_hash=request_digest("process", params),
    )  # fmt: skip
    if task.task_id != task_id:
        return _accepted(task, response, replayed=True)
    background_tasks.add_task(runner.submit, task.task_id)
    return _accepted(task, response)


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
                return _accepted(task, self.response, replayed=True)
            self.background_tasks.add_task(self.runner.submit, task.task_id)
            return _accepted(task, self.response)

        # The store may wait on a lock (sqlite): off the event loop, like every sync route.
        return await run_in_threadpool(start)


UploadDep = Annotated[Upload, Depends()]


def _upload_route(path: str, summary: str, body: dict[str, Any]) -> Callable:
    return router.post(
        path, summary=summary, status_code=202, response_model=TaskPublic,
        openapi_extra=body, responses={**_CREATED, **_problems(400, 413, 415)},
    )  # fmt: skip


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


@router.get(
    "/task/{task_id}", summary="查詢任務", response_model=TaskPublic, responses=_problems(404)
)
async def read_task(task: CurrentTask) -> TaskPublic:
    return TaskPublic.from_task(task)


@router.get("/tasks", summary="列出任務（新到舊）", response_model=TaskList)
def list_tasks(
    store: StoreDep,
    status: Annotated[TaskStatus | None, Query(description="依狀態篩選")] = None,
    kind: Annotated[str | None, Query(description="依任務種類篩選", max_length=50)] = None,
    q: Annotated[
        str | None,
        Query(
            description="依檔名搜尋：包含這段文字（不分大小寫與全形半形），前後空白不計",
            max_length=200,
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="每頁筆數")] = 50,
    offset: Annotated[int, Query(ge=0, description="略過筆數")] = 0,
    idempotency_key: Annotated[
        str | None,
        Query(
            description="只列出以這個 Idempotency-Key 建立的任務（0 或 1 筆）：回應遺失時，"
            "用來確認那個動作到底有沒有建立任務",
            min_length=1,
            max_length=255,
        ),
    ] = None,
) -> dict[str, Any]:
    if idempotency_key is not None:
        found = store.get_by_key(idempotency_key)
        matches = [found] if found is not None else []
        matches = [
            t for t in matches if (status is None or t.status == status)
            and (kind is None or t.kind == kind)
        ]  # fmt: skip
        page = matches[offset : offset + limit]
        return {"items": [TaskPublic.from_task(t) for t in page], "total": len(matches)}
    q = q.strip() if q else None
    tasks, total = store.list(status=status, kind=kind, limit=limit, offset=offset, q=q or None)
    return {"items": [TaskPublic.from_task(task) for task in tasks], "total": total}


@router.delete(
    "/task/{task_id}/cancel",
    summary="取消等待中或執行中的任務",
    response_model=TaskPublic,
    responses=_problems(404, 409),
)
def cancel(task_id: str, store: StoreDep) -> TaskPublic:
    return TaskPublic.from_task(cancel_task(store, task_id))


@router.delete(
    "/task/{task_id}",
    summary="刪除已結束的任務及其檔案",
    status_code=204,
    responses=_problems(404, 409),
)
def delete(task_id: str, store: StoreDep) -> Response:
    delete_task(store, task_id)
    return Response(status_code=204)


_XLSX_SCHEMA = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/task/{task_id}/result",
    summary="下載已完成任務的結果（JSON 檔，或檔案分析的 Excel 報告）",
    description=(
        "format=json（預設）：結果的 JSON 檔。format=xlsx：檔案分析任務的 Excel 報告，"
        "含「摘要」、「欄位統計」與每個表格的預覽工作表；其他種類的任務沒有 Excel 報告（404）。"
    ),
    responses={
        **_problems(404, 409),
        200: {
            "description": "結果檔：JSON，或 Excel 活頁簿（format=xlsx）",
            "content": {"application/json": {}, XLSX_MEDIA_TYPE: _XLSX_SCHEMA},
        },
    },
)
def download_result(
    task: CurrentTask,
    result_format: Annotated[
        Literal["json", "xlsx"],
        Query(alias="format", description="json：結果的 JSON 檔；xlsx：Excel 報告（檔案分析）"),
    ] = "json",
    tz: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Excel 報告裡時間的時區（IANA 名稱，例如 Asia/Taipei）；未提供或不認得時為 UTC，報告會寫明用了哪個時區",
            examples=["Asia/Taipei"],
        ),
    ] = None,
) -> Response:
    timezone = _timezone(tz)
    if result_format == "xlsx" and task.kind != "analyze":
        # A request the schema allows, for a report that does not exist: 404, not 422.
        label = KIND_LABELS.get(task.kind, task.kind)
        raise AppError(
            "not_found", f"「{label}」任務沒有 Excel 報告（只有檔案分析任務有），請下載 JSON 結果。"
        )
    if task.status != COMPLETED:
        raise AppError("task_not_finished", "任務尚未完成，還沒有結果可以下載。")
    if result_format == "xlsx":
        body = analysis_workbook(
            task.result or {},
            filename=task.filename,
            size_bytes=task.size_bytes,
            finished_at=task.finished_at,
            timezone=timezone,
        )
        return _attachment(body, XLSX_MEDIA_TYPE, _download_name(task, "分析報告", "xlsx"))
    body = json.dumps(task.result, ensure_ascii=False, indent=2).encode()
    return _attachment(
        body, "application/json; charset=utf-8", _download_name(task, "分析結果", "json")
    )


def _timezone(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name``; None (UTC) without one or for a name not in the time zone
    database (only its listed keys are opened, never a path). The report names the zone
    it used, so a fallback is never silent."""
    if not name or name not in _known_timezones():
        return None
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _download_name(task: Task, what: str, extension: str) -> str:
    """報價單_分析結果.json: the upload's name without its extension, or the task's kind.
    Invisible format characters are removed (uploads are stored without them; a task
    stored before that rule may still have them), so no name poses as another."""
    filename = clean_filename(task.filename or "")[0]
    stem = filename.rsplit(".", 1)[0]
    if stem.strip():
        return f"{stem}_{what}.{extension}"
    return f"{KIND_LABELS.get(task.kind, '任務')}_結果.{extension}"


def _attachment(body: bytes, media_type: str, download_name: str) -> Response:
    """A download named ``download_name`` (RFC 6266), the UTF-8 name in ``filename*``
    (RFC 5987) and an ASCII stand-in for clients that read only ``filename``."""
    extension = download_name.rsplit(".", 1)[-1]
    disposition = (
        f"attachment; filename=\"result.{extension}\"; filename*=UTF-8''{quote(download_name)}"
    )
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
