"""The guide's demo: a long job that reports its stages (`POST /api/process`)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Response

from backend.api.deps import IdempotencyKey, RunnerDep, StoreDep
from backend.api.openapi import TAG_DEMO
from backend.api.routes.tasks import CREATED_RESPONSES, accepted
from backend.api.schemas import ProcessRequest, TaskPublic
from backend.service import create_task, request_digest
from backend.store.base import new_task_id

router = APIRouter(tags=[TAG_DEMO])


@router.post(
    "/process",
    summary="建立長時間處理任務（指南的分階段示範）",
    status_code=202,
    response_model=TaskPublic,
    responses=CREATED_RESPONSES,
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
        return accepted(task, response, replayed=True)
    background_tasks.add_task(runner.submit, task.task_id)
    return accepted(task, response)
