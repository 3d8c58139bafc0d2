"""Every error the API returns: one table of stable codes, one problem+json shape (RFC 9457).

`ERRORS` is the single source for codes, HTTP statuses and zh-TW texts; the README table
is generated from the same list (`python -m backend.errors`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    title: str
    detail: str


ERRORS: dict[str, ErrorSpec] = {
    "invalid_api_key": ErrorSpec(
        401, "API 金鑰無效", "API 金鑰錯誤或未提供，請在 X-API-Key 標頭帶入正確的金鑰。"
    ),
    "not_found": ErrorSpec(404, "找不到資源", "找不到這個路徑，請確認網址是否正確。"),
    "method_not_allowed": ErrorSpec(405, "不允許的方法", "這個路徑不支援此 HTTP 方法。"),
    "validation_error": ErrorSpec(422, "請求格式錯誤", "請求內容不符合規格，請檢查欄位。"),
    "task_not_found": ErrorSpec(404, "找不到任務", "找不到這個任務，可能已被刪除或已過期。"),
    "task_not_cancellable": ErrorSpec(409, "無法取消", "任務已經結束，無法取消。"),
    "task_not_finished": ErrorSpec(409, "任務尚未結束", "任務尚未結束，請稍後再試或先取消任務。"),
    "missing_file": ErrorSpec(400, "未提供檔案", "請在 file 欄位附上要上傳的檔案。"),
    "invalid_filename": ErrorSpec(400, "檔名不合法", "檔名不合法，請改用一般的檔名後再上傳。"),
    "unsupported_file_type": ErrorSpec(415, "不支援的檔案類型", "不支援這種檔案類型。"),
    "empty_file": ErrorSpec(400, "檔案是空的", "檔案是空的，請確認內容後再上傳。"),
    "file_too_large": ErrorSpec(413, "檔案太大", "檔案超過大小上限。"),
    "invalid_file_format": ErrorSpec(422, "檔案格式錯誤", "檔案內容與副檔名不符，或格式損壞。"),
    "upload_incomplete": ErrorSpec(400, "上傳未完成", "上傳的資料不完整，請重新上傳。"),
    "task_timeout": ErrorSpec(500, "任務逾時", "任務執行超過時間上限，已被停止。"),
    "interrupted": ErrorSpec(
        500, "任務中斷", "伺服器在任務執行中重新啟動或當機，任務已中斷，請重新送出。"
    ),
    "job_failed": ErrorSpec(500, "任務失敗", "處理時發生未預期的錯誤，已記錄在伺服器日誌。"),
    "internal_error": ErrorSpec(500, "伺服器內部錯誤", "伺服器發生未預期的錯誤，請稍後再試。"),
}

# Codes that only appear in a task's `error`, never as an HTTP response.
TASK_ONLY_CODES = {"task_timeout", "interrupted", "job_failed"}


class AppError(Exception):
    """An error with a stable code; the handler turns it into problem+json."""

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        spec = ERRORS[code]
        self.code = code
        self.status = spec.status
        self.detail = detail or spec.detail
        self.extra = extra
        super().__init__(self.detail)


def problem(code: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    spec = ERRORS[code]
    body = {
        "type": f"urn:problem-type:{code}",
        "title": spec.title,
        "status": spec.status,
        "detail": detail or spec.detail,
        "code": code,
        **extra,
    }
    headers = {"WWW-Authenticate": "ApiKey"} if spec.status == 401 else None
    return JSONResponse(body, status_code=spec.status, media_type=PROBLEM_JSON, headers=headers)


_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 413: "file_too_large"}

_VALIDATION_MESSAGES = {
    "missing": "此欄位為必填",
    "string_type": "必須是文字",
    "int_type": "必須是整數",
    "int_parsing": "必須是整數",
    "int_from_float": "必須是整數",
    "float_parsing": "必須是數字",
    "bool_parsing": "必須是 true 或 false",
    "greater_than_equal": "不可小於 {ge}",
    "less_than_equal": "不可大於 {le}",
    "greater_than": "必須大於 {gt}",
    "less_than": "必須小於 {lt}",
    "string_too_short": "長度至少 {min_length} 個字元",
    "string_too_long": "長度不可超過 {max_length} 個字元",
    "json_invalid": "JSON 格式錯誤",
    "model_attributes_type": "必須是 JSON 物件",
    "dict_type": "必須是 JSON 物件",
    "enum": "必須是下列其中之一：{expected}",
    "literal_error": "必須是下列其中之一：{expected}",
}


def _zh_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        template = _VALIDATION_MESSAGES.get(err.get("type", ""), "格式不正確")
        try:
            message = template.format(**(err.get("ctx") or {}))
        except (KeyError, IndexError):
            message = template
        loc = [str(part) for part in err.get("loc", ()) if part != "body"]
        errors.append({"field": ".".join(loc), "message": message, "type": err.get("type")})
    return errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return problem(exc.code, exc.detail, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code)
        if code is None:
            code = "internal_error" if exc.status_code >= 500 else "validation_error"
        return problem(code)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _zh_validation_errors(exc)
        summary = "；".join(f"{e['field'] or '請求內容'}：{e['message']}" for e in errors[:5])
        return problem("validation_error", f"請求內容不符合規格：{summary}", errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
        return problem("internal_error")


def markdown_table() -> str:
    rows = ["| 代碼 | HTTP | 說明 |", "|---|---|---|"]
    for code, spec in ERRORS.items():
        status = "（任務 error）" if code in TASK_ONLY_CODES else str(spec.status)
        rows.append(f"| `{code}` | {status} | {spec.detail} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
