"""檔案上傳: check files, stream each to the backend with its own progress bar, then watch
the analyses and show their results.

The analysis task ids are kept in session state and in the URL (?tasks=a,b), so switching
pages or reloading the browser finds them again. ?open=<id> (a completion notice's link)
expands that task's result instead of the newest one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from frontend.components.analysis import render_analysis
from frontend.components.notices import track_finish
from frontend.components.results import render_download_button, render_unsuccessful
from frontend.components.task_watch import render_progress, restart_watch_clock, watch_tasks
from frontend.utils.api_client import backend_config, backend_vocabulary, current_client
from frontend.utils.errors import AppError, display_error
from frontend.utils.formatting import format_size, format_time
from frontend.utils.session_state import AppSessionState
from frontend.utils.tasks import status_icon, status_label, task_title
from frontend.utils.validation import validate_file_extension, validate_file_size

SCOPE = "upload"
QUERY_KEY = "tasks"
OPEN_KEY = "open"
FAILURES = "upload_failures"
OPENED = "upload_opened"

state = AppSessionState()
vocabulary = backend_vocabulary()


def _sync_url() -> None:
    ids = state.watched_tasks(SCOPE)
    if ids:
        st.query_params[QUERY_KEY] = ",".join(ids)
    else:
        st.query_params.pop(QUERY_KEY, None)


def _resume_from_url() -> None:
    for task_id in str(st.query_params.get(QUERY_KEY, "")).split(","):
        task_id = task_id.strip()
        if task_id and not state.is_gone(task_id):
            state.watch_task(SCOPE, task_id)
    opened = st.query_params.pop(OPEN_KEY, None)
    if opened:
        st.session_state[OPENED] = opened


def _clear_list() -> None:
    state.clear_watched(SCOPE)
    st.session_state[FAILURES] = []
    st.query_params.pop(QUERY_KEY, None)


def _check(file: UploadedFile, config: dict[str, Any]) -> AppError | None:
    try:
        validate_file_extension(file.name, config["allowed_extensions"])
        validate_file_size(file.name, file.size, int(config["max_upload_bytes"]))
    except AppError as exc:
        return exc
    return None


def _upload(file: UploadedFile) -> None:
    """Stream one file with its own progress bar; record the task or the failure."""
    size_text = format_size(file.size)
    bar = st.progress(0.0, text=f"正在上傳「{file.name}」：0 B / {size_text}")

    def on_progress(sent: int, total: int) -> None:
        bar.progress(
            min(sent / total, 1.0) if total else 1.0,
            text=f"正在上傳「{file.name}」：{format_size(sent)} / {size_text}",
        )

    try:
        task = current_client().upload_file(file.name, file.getvalue(), on_progress)
    except AppError as exc:
        bar.empty()
        st.session_state[FAILURES].append(
            {"name": file.name, "title": exc.title, "message": exc.message, "action": exc.action}
        )
        return
    bar.progress(1.0, text=f"「{file.name}」上傳完成（{size_text}），開始分析。")
    state.add_uploaded_file(file.name, file.size, task["task_id"])
    state.watch_task(SCOPE, task["task_id"])
    track_finish(task["task_id"])
    restart_watch_clock(task["task_id"])


def _render_running(task: dict[str, Any]) -> None:
    with st.container(border=True):
        st.markdown(
            f"**{task_title(vocabulary, task)}**　{format_size(task.get('size_bytes') or 0)}"
        )
        render_progress(vocabulary, task)


def _render_finished(task: dict[str, Any], *, expanded: bool) -> None:
    size = format_size(task.get("size_bytes") or 0)
    header = f"{task_title(vocabulary, task)}（{size}）　{status_label(vocabulary, task['status'])}"
    with st.expander(header, expanded=expanded, icon=status_icon(task["status"])):
        st.caption(
            f"任務 ID：{task['task_id']}　·　完成於 "
            f"{format_time(task.get('finished_at'), st.context.timezone)}"
        )
        if render_unsuccessful(vocabulary, task):
            return
        render_analysis(vocabulary, task.get("result") or {})
        render_download_button(task, key="upload")


st.session_state.setdefault(FAILURES, [])
_resume_from_url()
_sync_url()

st.title("檔案上傳")
try:
    config = backend_config()
except AppError as exc:
    display_error(exc, context="無法取得上傳限制")
    st.stop()

extensions = "、".join(config["allowed_extensions"])
st.caption(
    f"支援 {extensions} 檔案，每個檔案最大 {format_size(config['max_upload_bytes'])}。"
    "Excel 匯出的 CSV 不論是 UTF-8（含 BOM）或 Big5 編碼都可以。"
)

files = st.file_uploader(
    "選擇要分析的檔案（可一次選多個）",
    accept_multiple_files=True,
    key="upload_files",
    help=f"可拖放或點選檔案，支援 {extensions}。",
)

if files:
    checks = [(file, _check(file, config)) for file in files]
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "檔名": file.name,
                    "大小": format_size(file.size),
                    "檢查結果": "可以上傳" if error is None else f"無法上傳：{error.message}",
                }
                for file, error in checks
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    valid = [file for file, error in checks if error is None]
    for file, error in checks:
        if error is not None:
            st.error(error.message, icon=":material/error:")
    if len(valid) < len(checks):
        st.warning(
            f"有 {len(checks) - len(valid)} 個檔案無法上傳，只會上傳通過檢查的檔案。",
            icon=":material/warning:",
        )
    if st.button(
        "開始上傳並分析",
        type="primary",
        disabled=not valid,
        key="upload_start",
        icon=":material/cloud_upload:",
    ):
        st.session_state[FAILURES] = []
        st.session_state.pop(OPENED, None)  # the newest result opens again
        for file in valid:
            _upload(file)
        _sync_url()

st.subheader("分析結果")
for failure in st.session_state[FAILURES]:
    st.error(
        f"**「{failure['name']}」上傳失敗：{failure['title']}**  \n"
        f"{failure['message']}  \n{failure['action']}",
        icon=":material/error:",
    )

watched = state.watched_tasks(SCOPE)
if watched:
    shown: list[str] = []

    opened = st.session_state.get(OPENED)
    if opened not in watched:
        opened = None

    def _render_finished_newest_open(task: dict[str, Any]) -> None:
        # Finished tasks come newest first; only the newest one (or the one a notice
        # opened) starts expanded.
        _render_finished(task, expanded=task["task_id"] == opened if opened else not shown)
        shown.append(task["task_id"])

    watch_tasks(
        vocabulary,
        watched,
        key="upload",
        render_running=_render_running,
        render_finished=_render_finished_newest_open,
    )
    _sync_url()
    st.button(
        "清除清單",
        key="upload_clear",
        on_click=_clear_list,
        help="只清除這裡的清單，不會刪除後端的任務。",
    )
elif not st.session_state[FAILURES]:
    st.caption("上傳的檔案分析完成後，結果會顯示在這裡。")
