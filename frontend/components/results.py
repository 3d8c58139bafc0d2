"""Finished tasks: the report downloads (JSON, and Excel for an analysis) and the outcome of a
task that did not complete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from frontend.components.errors import display_error
from frontend.components.task_watch import render_task_error
from frontend.utils.api_client import XLSX_MIME
from frontend.utils.backend import current_client
from frontend.utils.errors import AppError
from frontend.utils.formatting import display_timezone
from frontend.utils.models import DownloadedFile
from frontend.utils.tasks import CANCELLED, COMPLETED, FAILED
from frontend.utils.vocabulary import Vocabulary


@dataclass(frozen=True)
class Report:
    file_format: str
    name: str
    mime: str
    icon: str
    cache_key: str  # session state: task id -> DownloadedFile


JSON_REPORT = Report("json", "JSON 報告", "application/json", ":material/download:", "result_files")
EXCEL_REPORT = Report(
    "xlsx", "Excel 報告", XLSX_MIME, ":material/table_view:", "result_excel_files"
)
ANALYZE = "analyze"


def _report_file(task_id: str, report: Report) -> DownloadedFile:
    """GET /api/tasks/{id}/result once per task, format and session (a result never changes):
    a rerun, a page switch or a poll does not download the report again."""
    files: dict[str, DownloadedFile] = st.session_state.setdefault(report.cache_key, {})
    if task_id not in files:
        files[task_id] = current_client().download_result(
            task_id, report.file_format, display_timezone(st.context.timezone)
        )
    return files[task_id]


def render_download_button(task: dict[str, Any], key: str) -> None:
    """The report downloads side by side: JSON for every task, Excel for an analysis."""
    task_id = task["task_id"]
    reports = [JSON_REPORT, EXCEL_REPORT] if task.get("kind") == ANALYZE else [JSON_REPORT]
    ready: list[tuple[Report, DownloadedFile]] = []
    failed: list[tuple[Report, AppError]] = []
    for report in reports:
        try:
            ready.append((report, _report_file(task_id, report)))
        except AppError as exc:
            failed.append((report, exc))
    with st.container(horizontal=True, gap="small"):
        for report, file in ready:
            st.download_button(
                f"下載 {report.name}",
                data=file.content,
                file_name=file.filename,
                mime=report.mime,
                key=f"{key}_download_{report.file_format}_{task_id}",
                icon=report.icon,
                on_click="ignore",  # a download changes nothing on the page
            )
    for report, error in failed:
        display_error(error, context=f"無法準備{report.name}")


def render_unsuccessful(vocabulary: Vocabulary, task: dict[str, Any]) -> bool:
    """Show why a task has no result; False when it completed and there is one."""
    status = task.get("status")
    if status == COMPLETED:
        return False
    if status == CANCELLED:
        st.info("任務已取消。", icon=":material/block:")
    elif status == FAILED:
        render_task_error(vocabulary, task)
    return True
