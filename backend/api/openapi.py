"""The OpenAPI document says what the running service really does.

FastAPI derives it from the routes once; this adds what only the settings know:
- security (the `X-API-Key` scheme and 401 answers) only when `API_KEY` is set, so `/docs`
  offers "Authorize" exactly when a key is needed and clients are not told to send one
  that nobody checks;
- which file names the upload routes take (the allowed extensions), as a pattern on the
  `X-Filename` header and in the operations' descriptions.

It also holds what the routers share about the document: the tags (one per router, with
their descriptions) and how a route lists its problem+json answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from backend.api.schemas import Problem
from backend.config import Settings

UPLOAD_PATHS = ("/api/upload", "/api/upload/stream")

# One tag per router (backend/api/routes/), in the order /docs shows them.
TAG_META = "服務資訊"
TAG_TASKS = "任務"
TAG_UPLOADS = "上傳與分析"
TAG_DEMO = "示範"
TAGS: list[dict[str, Any]] = [
    {
        "name": TAG_META,
        "description": "健康檢查、公開設定（上傳限制等）與所有固定詞彙的中文名稱。",
    },
    {
        "name": TAG_TASKS,
        "description": "查詢、列出、取消與刪除任務，下載結果（JSON 或 Excel 報告）。"
        "舊的單數路徑（`/api/task/…`）仍可使用，與對應的 `/api/tasks/…` 相同，但已標為淘汰。",
    },
    {
        "name": TAG_UPLOADS,
        "description": "上傳資料檔（multipart 或串流），建立檔案分析任務。",
    },
    {
        "name": TAG_DEMO,
        "description": "指南的分階段示範：一個會回報進度的長時間任務。",
    },
]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error answers: each status is an RFC 9457 problem."""
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}}
        for status in statuses
    }


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Replace ``app.openapi`` with one that adjusts the generated document to ``settings``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            if not settings.api_key:
                _drop_security(document)
            _describe_uploads(document, settings.allowed_extensions)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_security(document: dict[str, Any]) -> None:
    document.get("components", {}).pop("securitySchemes", None)
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
            operation.get("responses", {}).pop("401", None)


def filename_pattern(extensions: list[str]) -> str:
    """An ECMA-262 pattern for the ``X-Filename`` values the upload routes may take: a name
    ending in one of ``extensions``, in any letter case. The value is percent-decoded and
    then checked further (no path, control or Windows-forbidden characters, no reserved
    Windows name), which no pattern over the raw header can state exactly."""
    ext = "|".join(_any_case(e.lstrip(".")) for e in extensions)
    return rf"^.+\.(?:{ext})$"


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _describe_uploads(document: dict[str, Any], extensions: list[str]) -> None:
    accepted = "、".join(extensions)
    note = (
        f"\n\n接受的副檔名：{accepted}（不分大小寫）。檔名不可含路徑、控制字元或 "
        '< > : " | ? *，也不可是 Windows 保留名稱（CON、NUL、COM1…）。'
        "內容須與副檔名相符（例如 .csv 不可是 ZIP 或圖片），否則回應 422。"
    )
    for path in UPLOAD_PATHS:
        operation = document["paths"].get(path, {}).get("post")
        if operation is None:
            continue
        operation["description"] = (operation.get("description") or "") + note
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "header" and parameter["name"] == "X-Filename":
                parameter["schema"]["pattern"] = filename_pattern(extensions)
