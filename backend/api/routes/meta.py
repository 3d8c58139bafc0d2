"""About the service: health (open, at the root), the public settings and the vocabulary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend import __version__
from backend.api.deps import RunnerDep, SettingsDep, StoreDep
from backend.api.openapi import TAG_META
from backend.api.schemas import MAX_PROCESS_DELAY_S, Health, PublicConfig, Vocabulary
from backend.vocabulary import vocabulary

# Health answers without an API key, at the root; the rest sits under the guarded /api.
# Routes carry no docstring: FastAPI would publish it as the (zh-TW) description.
health_router = APIRouter(tags=[TAG_META])
router = APIRouter(tags=[TAG_META])


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
