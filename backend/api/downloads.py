"""A finished task's result as a download: the JSON file, or the analysis's Excel report."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, available_timezones

from fastapi import Response

from backend.api.report_xlsx import MEDIA_TYPE as XLSX_MEDIA_TYPE
from backend.api.report_xlsx import analysis_workbook
from backend.errors import AppError
from backend.files import clean_filename
from backend.store.base import COMPLETED, Task
from backend.vocabulary import KIND_LABELS

ResultFormat = Literal["json", "xlsx"]


def result_download(task: Task, result_format: ResultFormat, tz: str | None) -> Response:
    """``task``'s result as an attachment: the JSON file, or (``xlsx``, analysis tasks
    only) the Excel report with times in the IANA zone ``tz`` (UTC when absent or
    unknown). Another kind's report is ``not_found``; an unfinished task has no result
    (``task_not_finished``)."""
    timezone = _timezone(tz)
    if result_format == "xlsx" and task.kind != "analyze":
        # A request the schema allows, for a report that does not exist: 404, not 422.
        label = KIND_LABELS.get(task.kind, task.kind)
        raise AppError(
            "not_found", f"「{label}」任務沒有 Excel 報告（只有檔案分析任務有），請下載 JSON 結果。"
        )
    if task.status != COMPLETED:
        raise AppError("task_not_finished", "任務尚未完成，還沒有結果可以下載。")
    if result_format == "xlsx":
        body = analysis_workbook(
            task.result or {},
            filename=task.filename,
            size_bytes=task.size_bytes,
            finished_at=task.finished_at,
            timezone=timezone,
        )
        return _attachment(body, XLSX_MEDIA_TYPE, _download_name(task, "分析報告", "xlsx"))
    body = json.dumps(task.result, ensure_ascii=False, indent=2).encode()
    return _attachment(
        body, "application/json; charset=utf-8", _download_name(task, "分析結果", "json")
    )


def _timezone(name: str | None) -> ZoneInfo | None:
    """The IANA zone ``name``; None (UTC) without one or for a name not in the time zone
    database (only its listed keys are opened, never a path). The report names the zone
    it used, so a fallback is never silent."""
    if not name or name not in _known_timezones():
        return None
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _download_name(task: Task, what: str, extension: str) -> str:
    """報價單_分析結果.json: the upload's name without its extension, or the task's kind.
    Invisible format characters are removed (uploads are stored without them; a task
    stored before that rule may still have them), so no name poses as another."""
    filename = clean_filename(task.filename or "")[0]
    stem = filename.rsplit(".", 1)[0]
    if stem.strip():
        return f"{stem}_{what}.{extension}"
    return f"{KIND_LABELS.get(task.kind, '任務')}_結果.{extension}"


def _attachment(body: bytes, media_type: str, download_name: str) -> Response:
    """A download named ``download_name`` (RFC 6266), the UTF-8 name in ``filename*``
    (RFC 5987) and an ASCII stand-in for clients that read only ``filename``."""
    extension = download_name.rsplit(".", 1)[-1]
    disposition = (
        f"attachment; filename=\"result.{extension}\"; filename*=UTF-8''{quote(download_name)}"
    )
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
