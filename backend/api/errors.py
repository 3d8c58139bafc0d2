"""problem+json (RFC 9457) answers for every error, with the codes of `backend.errors`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from backend.errors import ERRORS, AppError

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem(
    code: str, detail: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The problem+json response for ``code``; ``detail`` replaces the table's text."""
    spec = ERRORS[code]
    body = {
        "type": f"urn:problem-type:{code}",
        "title": spec.title,
        "status": spec.status,
        "detail": detail or spec.detail,
        "code": code,
        **extra,
    }
    headers = dict(headers or {})
    if spec.status == 401:
        headers["WWW-Authenticate"] = "ApiKey"
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
    "string_pattern_mismatch": "格式不符（只能用英數字與符號，不含空白）",
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
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code)
        if code is None:
            code = "internal_error" if exc.status_code >= 500 else "validation_error"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return problem(code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _zh_validation_errors(exc)
        summary = "；".join(f"{e['field'] or '請求內容'}：{e['message']}" for e in errors[:5])
        return problem("validation_error", f"請求內容不符合規格：{summary}", errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if _is_store_outage(exc):
            # Redis down for longer than the client's retries: say so, no traceback.
            logger.warning("Task store unavailable on %s %s: %s", request.method,
                           request.url.path, exc)  # fmt: skip
            return problem("store_unavailable", headers={"Retry-After": "5"})
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
        return problem("internal_error")


def _is_store_outage(exc: Exception) -> bool:
    """A Redis connection error or timeout (redis-py is imported only if a Redis store is)."""
    import sys

    exceptions = sys.modules.get("redis.exceptions")
    return exceptions is not None and isinstance(
        exc, (exceptions.ConnectionError, exceptions.TimeoutError)
    )


def allowed_methods(request: Request) -> str:
    """Every method some route of the app takes at this path, for a 405's ``Allow`` header
    (RFC 9110 section 15.5.6). Starlette names only the first route that matched the path,
    and a path can have several (GET and DELETE on one task are two routes)."""
    allowed = []
    for method in HTTP_METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
