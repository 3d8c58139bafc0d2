"""Every error a user can meet, as an `AppError` with a stable code and zh-TW text.

The API client turns each backend problem+json into the matching subclass; pages catch
`AppError` around the one risky call and show it with `display_error`. Nothing here talks
to the backend.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import streamlit as st

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

BACKEND_START_COMMAND = ".venv/bin/python -m uvicorn backend.main:app --port 8000"


@dataclass(frozen=True)
class ErrorText:
    title: str
    message: str
    action: str


# One entry per backend code (backend/errors.py) and per client-side code.
ERROR_MESSAGES: dict[str, ErrorText] = {
    # Backend codes
    "invalid_api_key": ErrorText(
        "API 金鑰無效", "後端拒絕了這個 API 金鑰。", "請到「設定」頁輸入正確的 API 金鑰。"
    ),
    "not_found": ErrorText(
        "找不到資源", "後端沒有這個路徑。", "請到「設定」頁確認 API 網址是否正確（不要加上 /api）。"
    ),
    "method_not_allowed": ErrorText(
        "不允許的操作", "後端不接受這個操作。", "請確認前端與後端的版本相符。"
    ),
    "validation_error": ErrorText(
        "輸入內容有誤", "送出的內容不符合規格。", "請依照欄位說明修正後再送出。"
    ),
    "task_not_found": ErrorText(
        "找不到任務", "找不到這個任務，可能已被刪除或已過期。", "請到「任務管理」頁查看現有的任務。"
    ),
    "task_not_cancellable": ErrorText(
        "無法取消", "任務已經結束，無法取消。", "請重新整理任務狀態。"
    ),
    "task_not_finished": ErrorText(
        "任務尚未結束", "任務還在進行中。", "請等任務結束，或先取消任務再試一次。"
    ),
    "missing_file": ErrorText("未提供檔案", "請求中沒有檔案。", "請重新選擇檔案後再上傳。"),
    "invalid_filename": ErrorText(
        "檔名不合法", "檔名不合法。", '請把檔案改成一般的檔名（不含 / \\ : * ? " < > |）後再上傳。'
    ),
    "unsupported_file_type": ErrorText(
        "不支援的檔案類型",
        "不支援這種檔案類型。",
        "請上傳 CSV、Excel（.xlsx）、文字（.txt）或 JSON 檔案。",
    ),
    "empty_file": ErrorText("檔案是空的", "檔案沒有任何內容。", "請確認檔案內容後再上傳。"),
    "file_too_large": ErrorText(
        "檔案太大", "檔案超過大小上限。", "請把檔案分割成較小的檔案後再上傳。"
    ),
    "invalid_file_format": ErrorText(
        "檔案格式錯誤",
        "檔案內容與副檔名不符，或格式損壞。",
        "請用 Excel 重新匯出（CSV 可選 UTF-8 或 Big5），再上傳一次。",
    ),
    "upload_incomplete": ErrorText(
        "上傳未完成", "上傳的資料不完整。", "請檢查網路連線後重新上傳。"
    ),
    "task_timeout": ErrorText(
        "任務逾時", "任務執行超過時間上限，已被停止。", "請縮小資料量，或請管理員調高任務時間上限。"
    ),
    "interrupted": ErrorText(
        "任務中斷", "伺服器在任務執行中重新啟動，任務已中斷。", "請重新送出任務。"
    ),
    "job_failed": ErrorText(
        "任務失敗",
        "處理時發生未預期的錯誤。",
        "請稍後再試；若一直失敗，請通知管理員查看伺服器日誌。",
    ),
    "internal_error": ErrorText(
        "伺服器內部錯誤", "後端發生未預期的錯誤。", "請稍後再試；若一直失敗，請通知管理員。"
    ),
    # Client-side codes
    "connection_error": ErrorText(
        "無法連線到後端",
        "無法連線到後端服務。",
        f"請確認後端已啟動（在專案資料夾執行 {BACKEND_START_COMMAND}），"
        "並到「設定」頁檢查 API 網址。",
    ),
    "timeout_error": ErrorText(
        "後端回應逾時", "後端太久沒有回應。", "後端可能忙碌中，請稍後再試。"
    ),
    "service_unavailable": ErrorText(
        "後端暫時無法使用", "後端暫時無法提供服務（已自動重試數次）。", "請稍後再試。"
    ),
    "upload_rejected": ErrorText(
        "上傳被中斷",
        "後端在上傳途中中斷了連線，通常是檔案超過大小上限。",
        "請確認檔案大小沒有超過上限後再上傳一次。",
    ),
    "invalid_response": ErrorText(
        "後端回應格式錯誤", "後端的回應無法解讀。", "請確認 API 網址指向本服務的後端。"
    ),
    "http_error": ErrorText(
        "請求失敗", "後端回傳了非預期的錯誤。", "請稍後再試；若一直失敗，請通知管理員。"
    ),
    "invalid_url": ErrorText(
        "網址格式錯誤", "API 網址必須以 http:// 或 https:// 開頭。", "例如 http://localhost:8000。"
    ),
    "invalid_setting": ErrorText("設定值有誤", "設定值不在允許的範圍內。", "請依照欄位說明修正。"),
    "unknown_error": ErrorText(
        "發生未預期的錯誤", "發生未預期的錯誤。", "請重新整理頁面後再試；若一直發生，請通知管理員。"
    ),
}

FILE_ERROR_CODES = frozenset(
    {
        "missing_file",
        "invalid_filename",
        "unsupported_file_type",
        "empty_file",
        "file_too_large",
        "invalid_file_format",
        "upload_incomplete",
        "upload_rejected",
    }
)


class AppError(Exception):
    """An error a user can read: `message` is zh-TW, `error_code` is stable."""

    def __init__(
        self,
        message: str | None = None,
        error_code: str = "unknown_error",
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        self.error_code = error_code if error_code in ERROR_MESSAGES else "unknown_error"
        self.message = message or get_error_message(error_code)
        self.details = details or {}
        self.status = status
        super().__init__(self.message)

    @property
    def title(self) -> str:
        return ERROR_MESSAGES[self.error_code].title

    @property
    def action(self) -> str:
        return ERROR_MESSAGES[self.error_code].action


class ValidationError(AppError):
    """Input that the form or the backend refused (validation_error, invalid_url, ...)."""


class FileError(AppError):
    """A file that cannot be uploaded or analysed."""


class APIError(AppError):
    """Any other error the backend answered with."""


class AuthError(APIError):
    """invalid_api_key."""


class NotFoundError(APIError):
    """task_not_found, not_found."""


class ConflictError(APIError):
    """task_not_cancellable, task_not_finished."""


class BackendUnavailableError(AppError):
    """connection_error, service_unavailable: the backend cannot be used right now."""


class BackendTimeoutError(AppError):
    """timeout_error."""


_CLASS_BY_CODE: dict[str, type[AppError]] = {
    "validation_error": ValidationError,
    "invalid_url": ValidationError,
    "invalid_setting": ValidationError,
    "invalid_api_key": AuthError,
    "task_not_found": NotFoundError,
    "not_found": NotFoundError,
    "task_not_cancellable": ConflictError,
    "task_not_finished": ConflictError,
    "connection_error": BackendUnavailableError,
    "service_unavailable": BackendUnavailableError,
    "timeout_error": BackendTimeoutError,
    **{code: FileError for code in FILE_ERROR_CODES},
}


def error_class_for(code: str) -> type[AppError]:
    return _CLASS_BY_CODE.get(code, APIError)


def make_error(
    code: str,
    message: str | None = None,
    details: dict[str, Any] | None = None,
    status: int | None = None,
) -> AppError:
    return error_class_for(code)(message, code, details, status)


def get_error_message(code: str) -> str:
    return ERROR_MESSAGES.get(code, ERROR_MESSAGES["unknown_error"]).message


# --- Display -------------------------------------------------------------------------


def display_error(error: AppError, *, context: str | None = None) -> None:
    """st.error with what happened and what to do; codes and field errors in an expander."""
    heading = f"{context}：{error.title}" if context else error.title
    st.error(f"**{heading}**  \n{error.message}  \n{error.action}", icon=":material/error:")
    field_errors = error.details.get("errors") or []
    extra = {k: v for k, v in error.details.items() if k != "errors"}
    if field_errors or extra or error.status:
        with st.expander("錯誤詳細資訊"):
            st.markdown(f"錯誤代碼：`{error.error_code}`")
            if error.status:
                st.markdown(f"HTTP 狀態：`{error.status}`")
            for item in field_errors:
                field = item.get("field") or "請求內容"
                st.markdown(f"- 欄位 `{field}`：{item.get('message', '')}")
            for key, value in extra.items():
                st.markdown(f"- {_DETAIL_LABELS.get(key, key)}：{value}")


_DETAIL_LABELS = {
    "filename": "檔名",
    "size_bytes": "檔案大小（位元組）",
    "max_bytes": "大小上限（位元組）",
    "task_id": "任務 ID",
    "url": "網址",
}


def display_success(message: str) -> None:
    st.success(message, icon=":material/check_circle:")


def display_warning(message: str) -> None:
    st.warning(message, icon=":material/warning:")


def handle_errors(context: str | None = None) -> Callable[[Callable[P, R]], Callable[P, R | None]]:
    """For widget callbacks: an AppError is shown instead of raised; anything else is logged
    and shown as unknown_error, never as a traceback."""

    def decorate(func: Callable[P, R]) -> Callable[P, R | None]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
            try:
                return func(*args, **kwargs)
            except AppError as exc:
                display_error(exc, context=context)
            except Exception:
                logger.exception("Unexpected error in %s", func.__qualname__)
                display_error(make_error("unknown_error"), context=context)
            return None

        return wrapper

    return decorate


def with_retry(
    attempts: int = 3,
    delay_s: float = 0.5,
    retry_on: Iterable[type[AppError]] = (BackendUnavailableError, BackendTimeoutError),
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry a safe-to-repeat call when the backend is briefly unreachable."""
    retry_types = tuple(retry_on)

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(1, attempts + 1):
                try:
                    return func(*args, **kwargs)
                except retry_types:
                    if attempt == attempts:
                        raise
                    time.sleep(delay_s * attempt)
            raise AssertionError("unreachable")

        return wrapper

    return decorate


# --- Client-side validation (limits come from GET /api/config) --------------------------


def format_size(num_bytes: float) -> str:
    if num_bytes < 1024:
        return f"{int(num_bytes)} B"
    if num_bytes < 1024 * 1024:
        return f"{num_bytes / 1024:.1f} KB"
    return f"{num_bytes / 1024 / 1024:.1f} MB"


def validate_file_extension(filename: str, allowed_extensions: Iterable[str]) -> str:
    allowed = [ext.lower() for ext in allowed_extensions]
    extension = os.path.splitext(filename)[1].lower()
    if extension not in allowed:
        shown = extension or "（無副檔名）"
        raise FileError(
            f"「{filename}」是 {shown} 檔案，只能上傳 {'、'.join(allowed)}。",
            "unsupported_file_type",
            {"filename": filename},
        )
    return extension


def validate_file_size(filename: str, size_bytes: int, max_bytes: int) -> None:
    if size_bytes <= 0:
        raise FileError(f"「{filename}」是空的檔案。", "empty_file", {"filename": filename})
    if size_bytes > max_bytes:
        raise FileError(
            f"「{filename}」有 {format_size(size_bytes)}，超過上限 {format_size(max_bytes)}。",
            "file_too_large",
            {"filename": filename, "size_bytes": size_bytes, "max_bytes": max_bytes},
        )
