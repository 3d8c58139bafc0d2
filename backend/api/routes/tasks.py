"""The task resource: list, read, cancel, delete, download the result.

Paths are plural and actions are POSTs (`POST /api/tasks/{id}/cancel`). The guide's
singular paths (`/api/task/{id}`, `DELETE /api/task/{id}/cancel`, `/api/task/{id}/result`)
stay as aliases of the same endpoints, marked deprecated in the OpenAPI document: same
answers, status codes, headers and error codes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.routing import APIRoute

from backend.api.deps import CurrentTask, StoreDep
from backend.api.downloads import ResultFormat, result_download
from backend.api.openapi import TAG_TASKS, problem_responses
from backend.api.report_xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE
from backend.api.schemas import TaskList, TaskPublic
from backend.service import cancel_task, delete_task
from backend.service import list_tasks as find_tasks
from backend.store.base import Task
from backend.vocabulary import TaskStatus

router = APIRouter(tags=[TAG_TASKS])

# Where a task lives; the app mounts this router under /api (backend/api/routes/__init__.py).
TASKS_PATH = "/api/tasks"

CREATED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "重送的請求（相同 Idempotency-Key）：先前建立的任務目前的狀態"},
    **problem_responses(422),
}


def task_location(task_id: str) -> str:
    """The path to poll a task at (its ``Location``)."""
    return f"{TASKS_PATH}/{task_id}"


def accepted(task: Task, response: Response, replayed: bool = False) -> TaskPublic:
    """A new task, answered 202 with where to poll it; a repeated request (same
    Idempotency-Key) gets the task it created, answered 200 with its current state."""
    response.headers["Location"] = task_location(task.task_id)
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return TaskPublic.from_task(task)


# Routes carry no docstring: FastAPI would publish it as the (zh-TW) description.


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
    tasks, total = find_tasks(
        store, status=status, kind=kind, q=q, limit=limit, offset=offset,
        idempotency_key=idempotency_key,
    )  # fmt: skip
    return {"items": [TaskPublic.from_task(task) for task in tasks], "total": total}


@router.get(
    "/tasks/{task_id}",
    summary="查詢任務",
    response_model=TaskPublic,
    responses=problem_responses(404),
)
async def read_task(task: CurrentTask) -> TaskPublic:
    return TaskPublic.from_task(task)


@router.post(
    "/tasks/{task_id}/cancel",
    summary="取消等待中或執行中的任務",
    response_model=TaskPublic,
    responses=problem_responses(404, 409),
)
def cancel(task_id: str, store: StoreDep) -> TaskPublic:
    return TaskPublic.from_task(cancel_task(store, task_id))


@router.delete(
    "/tasks/{task_id}",
    summary="刪除已結束的任務及其檔案",
    status_code=204,
    responses=problem_responses(404, 409),
)
def delete(task_id: str, store: StoreDep) -> Response:
    delete_task(store, task_id)
    return Response(status_code=204)


_XLSX_SCHEMA = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/tasks/{task_id}/result",
    summary="下載已完成任務的結果（JSON 檔，或檔案分析的 Excel 報告）",
    description=(
        "format=json（預設）：結果的 JSON 檔。format=xlsx：檔案分析任務的 Excel 報告，"
        "含「摘要」、「欄位統計」與每個表格的預覽工作表；其他種類的任務沒有 Excel 報告（404）。"
    ),
    responses={
        **problem_responses(404, 409),
        200: {
            "description": "結果檔：JSON，或 Excel 活頁簿（format=xlsx）",
            "content": {"application/json": {}, XLSX_MEDIA_TYPE: _XLSX_SCHEMA},
        },
    },
)
def download_result(
    task: CurrentTask,
    result_format: Annotated[
        ResultFormat,
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
    return result_download(task, result_format, tz)


# The guide's paths: (method, path) of the alias -> (method, path) of the route it repeats.
ALIASES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/task/{task_id}"): ("GET", "/tasks/{task_id}"),
    ("DELETE", "/task/{task_id}/cancel"): ("POST", "/tasks/{task_id}/cancel"),
    ("DELETE", "/task/{task_id}"): ("DELETE", "/tasks/{task_id}"),
    ("GET", "/task/{task_id}/result"): ("GET", "/tasks/{task_id}/result"),
}


def _add_alias(method: str, path: str, target_method: str, target_path: str) -> None:
    """Register ``method path`` as a deprecated alias of the route at ``target_method
    target_path``: the same endpoint, so the same answers, with the same documented
    responses and parameters."""
    route = next(
        r for r in router.routes
        if isinstance(r, APIRoute) and r.path == target_path and target_method in (r.methods or ())
    )  # fmt: skip
    note = f"已淘汰：請改用 `{target_method} /api{target_path}`，兩者的回應完全相同。"
    router.add_api_route(
        path,
        route.endpoint,
        methods=[method],
        response_model=route.response_model,
        status_code=route.status_code,
        responses=route.responses,
        response_description=route.response_description,
        openapi_extra=route.openapi_extra,
        summary=f"{route.summary}（舊路徑）",
        description=f"{note}\n\n{route.description}" if route.description else note,
        deprecated=True,
        name=route.name,  # so the alias keeps the operationId the old path had
    )


for (_method, _path), (_target_method, _target_path) in ALIASES.items():
    _add_alias(_method, _path, _target_method, _target_path)
