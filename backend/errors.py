"""Every error the service reports: one table of stable codes with their HTTP statuses and
zh-TW texts, and the exception that carries a code.

`ERRORS` is the single source for codes, statuses and texts; the table in docs/api.md is generated
from the same list (`python -m backend.errors`). No web framework here: job processes import
this module. The problem+json handlers (RFC 9457) are in `backend.api.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    "idempotency_key_reused": ErrorSpec(
        422,
        "Idempotency-Key 已用於另一個請求",
        "這個 Idempotency-Key 已經用在內容不同的請求上；新的動作請使用新的金鑰。",
    ),
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
        500,
        "任務中斷",
        "執行任務的伺服器或 worker 在執行中重新啟動或當機，任務已中斷，請重新送出。",
    ),
    "upload_not_shared": ErrorSpec(
        500,
        "worker 找不到上傳的檔案",
        "執行任務的 worker 找不到上傳的檔案：API 與所有 worker 必須以相同路徑共用同一個"
        " UPLOAD_DIR 資料夾（NFS、SMB 或雲端磁碟）。請管理者檢查共用資料夾後重新上傳。",
    ),
    "queue_unavailable": ErrorSpec(
        503, "佇列無法使用", "任務無法送進佇列（Redis 連不上），請稍後再重新送出。"
    ),
    "store_unavailable": ErrorSpec(
        503, "任務儲存區無法使用", "任務儲存區（Redis）暫時連不上，請稍後再試。"
    ),
    "job_failed": ErrorSpec(500, "任務失敗", "處理時發生未預期的錯誤，已記錄在伺服器日誌。"),
    "internal_error": ErrorSpec(500, "伺服器內部錯誤", "伺服器發生未預期的錯誤，請稍後再試。"),
}

# Codes that only appear in a task's `error`, never as an HTTP response.
TASK_ONLY_CODES = {
    "task_timeout",
    "interrupted",
    "job_failed",
    "upload_not_shared",
    "queue_unavailable",
}


class AppError(Exception):
    """An error with a stable ``code`` (a key of ERRORS) and an optional zh-TW ``detail``
    that replaces the table's; ``extra`` fields go into the problem+json body."""

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        spec = ERRORS[code]
        self.code = code
        self.status = spec.status
        self.detail = detail or spec.detail
        self.extra = extra
        super().__init__(self.detail)


def markdown_table() -> str:
    rows = ["| 代碼 | HTTP | 說明 |", "|---|---|---|"]
    for code, spec in ERRORS.items():
        status = "（任務 error）" if code in TASK_ONLY_CODES else str(spec.status)
        rows.append(f"| `{code}` | {status} | {spec.detail} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
