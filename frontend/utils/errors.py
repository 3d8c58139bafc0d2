"""Every error a user can meet, as an `AppError`: a stable code first, like the backend's
`AppError(code, detail)`, then the zh-TW message.

The backend names its errors and words them: a problem+json response carries its `title`
and `detail`, and `GET /api/vocabulary` lists every code with both (for a task's `error`,
which has only a code and a message). This module words only what the frontend meets on
its own (the backend is unreachable, a URL is malformed, ...) and adds, for each code, what
the user can do about it in this app. Pages catch `AppError` around the one risky call and
show it with `frontend.components.errors.display_error`; this module needs no Streamlit.
"""

from __future__ import annotations

from typing import Any

from frontend.utils.vocabulary import Vocabulary, term

BACKEND_START_COMMAND = ".venv/bin/python -m uvicorn backend.main:app --port {port}"


# Errors only the frontend meets, in the shape of the backend's `errors` vocabulary.
CLIENT_ERRORS: dict[str, dict[str, str]] = {
    "connection_error": {"title": "無法連線到後端", "detail": "無法連線到後端服務。"},
    "timeout_error": {"title": "後端回應逾時", "detail": "後端太久沒有回應。"},
    "service_unavailable": {
        "title": "後端暫時無法使用",
        "detail": "後端暫時無法提供服務（已自動重試數次）。",
    },
    "connection_lost": {
        "title": "與後端的連線中斷",
        "detail": "連線在收到後端的回應之前就中斷了（已自動重試）。",
    },
    "invalid_response": {"title": "後端回應格式錯誤", "detail": "後端的回應無法解讀。"},
    "http_error": {"title": "請求失敗", "detail": "後端回傳了非預期的錯誤。"},
    "invalid_url": {"title": "網址格式錯誤", "detail": "API 網址必須以 http:// 或 https:// 開頭。"},
    "invalid_input": {"title": "輸入內容有誤", "detail": "送出的內容不符合規格。"},
    "unknown_error": {"title": "發生未預期的錯誤", "detail": "發生未預期的錯誤。"},
}

# What the user can do about each error, in this app's terms (its pages, its file types).
ACTIONS: dict[str, str] = {
    # The backend's errors
    "invalid_api_key": "請到「設定」頁輸入正確的 API 金鑰。",
    "not_found": "請到「設定」頁確認 API 網址是否正確（不要加上 /api）。",
    "method_not_allowed": "請確認前端與後端的版本相符。",
    "validation_error": "請依照欄位說明修正後再送出。",
    "idempotency_key_reused": "請重新整理頁面後再送出一次。",
    "task_not_found": "請到「任務管理」頁查看現有的任務。",
    "task_not_cancellable": "請重新整理任務狀態。",
    "task_not_finished": "請等任務結束，或先取消任務再試一次。",
    "missing_file": "請重新選擇檔案後再上傳。",
    "invalid_filename": '請把檔案改成一般的檔名（不含 / \\ : * ? " < > |）後再上傳。',
    "unsupported_file_type": (
        "請上傳 CSV、TSV、文字（.txt）、Excel（.xlsx、.xls、.xlsb）、OpenDocument 試算表（.ods）"
        "或 JSON 檔案。"
    ),
    "empty_file": "請確認檔案內容後再上傳。",
    "file_too_large": "請把檔案分割成較小的檔案後再上傳。",
    "invalid_file_format": "請確認檔案的副檔名與內容相符；若是從其他程式匯出的，請重新匯出"
    "（例如用 Excel 另存為 .xlsx 或 CSV UTF-8）後再上傳一次。",
    "upload_incomplete": "請檢查網路連線後重新上傳。",
    "task_timeout": "請縮小資料量，或請管理員調高任務時間上限。",
    "interrupted": "請重新送出任務。",
    "job_failed": "請稍後再試；若一直失敗，請通知管理員查看伺服器日誌。",
    "internal_error": "請稍後再試；若一直失敗，請通知管理員。",
    "upload_not_shared": "請通知管理員檢查 worker 主機的共用上傳資料夾（UPLOAD_DIR），再重新上傳。",
    "queue_unavailable": "請稍後再重新送出；若一直失敗，請通知管理員檢查 Redis。",
    "store_unavailable": "請稍後再試；若一直失敗，請通知管理員檢查 Redis。",
    # The frontend's own
    "connection_error": "請確認後端已啟動（./run.sh 會一併啟動；Windows 雙擊 run_backend.bat），"
    "並到「設定」頁檢查 API 網址與連接埠。",
    "timeout_error": "後端可能忙碌中，請稍後再試。",
    "service_unavailable": "請稍後再試。",
    "connection_lost": "請檢查網路連線（或中間的代理伺服器）後再試一次。",
    "invalid_response": "請確認 API 網址指向本服務的後端。",
    "http_error": "請稍後再試；若一直失敗，請通知管理員。",
    "invalid_url": "例如 http://localhost:8000。",
    "invalid_input": "請依照欄位說明修正後再送出。",
    "unknown_error": "請重新整理頁面後再試；若一直發生，請通知管理員。",
}


class AppError(Exception):
    """An error a user can read: `code` is stable, `title`, `message` and `action` are zh-TW.

    Without a title or message, the frontend's own words for `code` are used."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        title: str | None = None,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        # A backend code comes with the backend's words; without them, a neutral text.
        text = CLIENT_ERRORS.get(code, CLIENT_ERRORS["http_error"])
        self.code = code
        self.message = message or text["detail"]
        self.title = title or text["title"]
        self.action = ACTIONS.get(code, ACTIONS["http_error"])
        self.details = details or {}
        self.status = status
        super().__init__(self.message)


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
    """connection_error, connection_lost, service_unavailable: the backend cannot be used
    right now."""


class BackendTimeoutError(AppError):
    """timeout_error."""


class UnconfirmedError(AppError):
    """An action got no answer and the backend could not say what became of it: it may
    have happened. The page keeps the action's idempotency key and asks again later. Code,
    title and message are those of the cause (timeout_error, connection_error, ...)."""

    def __init__(self, cause: AppError) -> None:
        super().__init__(
            cause.code,
            cause.message,
            title=cause.title,
            details=cause.details,
            status=cause.status,
        )
        self.action = "結果還無法確認，請稍後再查看任務的狀態。"


FILE_ERROR_CODES = frozenset(
    {
        "missing_file",
        "invalid_filename",
        "unsupported_file_type",
        "empty_file",
        "file_too_large",
        "invalid_file_format",
        "upload_incomplete",
    }
)

_CLASS_BY_CODE: dict[str, type[AppError]] = {
    "validation_error": ValidationError,
    "invalid_url": ValidationError,
    "invalid_input": ValidationError,
    "invalid_api_key": AuthError,
    "task_not_found": NotFoundError,
    "not_found": NotFoundError,
    "task_not_cancellable": ConflictError,
    "task_not_finished": ConflictError,
    "connection_error": BackendUnavailableError,
    "connection_lost": BackendUnavailableError,
    "service_unavailable": BackendUnavailableError,
    "timeout_error": BackendTimeoutError,
    **dict.fromkeys(FILE_ERROR_CODES, FileError),
}


def make_error(code: str, message: str | None = None, **kwargs: Any) -> AppError:
    """The `AppError` subclass for `code` (so that pages can catch, say, NotFoundError)."""
    return _CLASS_BY_CODE.get(code, APIError)(code, message, **kwargs)


def backend_error(
    vocabulary: Vocabulary, code: str, message: str | None = None, **kwargs: Any
) -> AppError:
    """An error the backend named by `code` alone (a task's `error`), worded from its
    `errors` vocabulary; a code that vocabulary does not know becomes unknown_error."""
    if code in CLIENT_ERRORS:
        return make_error(code, message, **kwargs)
    entry = term(vocabulary, "errors", code)
    if entry is None:
        return make_error("unknown_error" if vocabulary else code, message, **kwargs)
    return make_error(code, message or entry["detail"], title=entry["title"], **kwargs)
