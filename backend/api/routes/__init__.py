"""Every router, gathered in one place: ``api_router`` is what the app mounts, once.

Health answers at the root without a key; every other HTTP route sits under ``/api``
behind the API key check (applied here, once) and may answer 401 or 422. The WebSocket
checks the key itself (a browser cannot set headers on it).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from backend.api import ws
from backend.api.deps import require_api_key
from backend.api.openapi import problem_responses
from backend.api.routes import demo, meta, tasks, uploads

api = APIRouter(
    prefix="/api", dependencies=[Depends(require_api_key)], responses=problem_responses(401, 422)
)
api.include_router(meta.router)
api.include_router(demo.router)
api.include_router(uploads.router)
api.include_router(tasks.router)

api_router = APIRouter()
api_router.include_router(meta.health_router)
api_router.include_router(api)
api_router.include_router(ws.router)

__all__ = ["api_router"]
