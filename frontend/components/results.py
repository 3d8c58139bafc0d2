"""Finished tasks: the JSON report download and the outcome of a task that did not complete."""

from __future__ import annotations

from typing import Any

import streamlit as st

from frontend.components.task_watch import render_task_error
from frontend.utils.api_client import DownloadedFile, current_client
from frontend.utils.errors import AppError, display_error
from frontend.utils.tasks import CANCELLED, COMPLETED, FAILED
from frontend.utils.vocabulary import Vocabulary

RESULT_FILES = "result_files"


def _result_file(task_id: str) -> DownloadedFile:
    """GET /api/task/{id}/result once per session; reports are small."""
    files: dict[str, DownloadedFile] = st.session_state.setdefault(RESULT_FILES, {})
    if task_id not in files:
        files[task_id] = current_client().download_result(task_id)
    return files[task_id]


def render_download_button(task: dict[str, Any], key: str) -> None:
    try:
        report = _result_file(task["task_id"])
    except AppError as exc:
        display_error(exc, context="無法準備 JSON 報告")
        return
    st.download_button(
        "下載 JSON 報告",
        data=report.content,
        file_name=report.filename,
        mime="application/json",
        key=f"{key}_download_{task['task_id']}",
        icon=":material/download:",
    )


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
