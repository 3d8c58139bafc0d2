"""Bare Starlette endpoints: what a Python server reaches here, the yardstick for our uploads.

`POST /write` writes `request.stream()` to a file and nothing else; `POST /discard` reads
and drops it (the HTTP ceiling).
"""

from __future__ import annotations

import os
import uuid

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TARGET_DIR = os.environ.get("BENCH_WRITE_DIR", "bench/data/reference")


async def write(request: Request) -> JSONResponse:
    os.makedirs(TARGET_DIR, exist_ok=True)
    path = os.path.join(TARGET_DIR, uuid.uuid4().hex)
    size = 0
    with open(path, "wb") as f:
        async for chunk in request.stream():
            size += len(chunk)
            f.write(chunk)
    # Removed after the response, like our upload files which outlive the request.
    return JSONResponse({"size": size}, background=BackgroundTask(os.remove, path))


async def discard(request: Request) -> JSONResponse:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return JSONResponse({"size": size})


app = Starlette(
    routes=[Route("/write", write, methods=["POST"]), Route("/discard", discard, methods=["POST"])]
)
