"""檔案上傳: check files, send each to the backend with its own progress bar, then watch
the analyses and show their results.

The files are sent by the tab's upload queue (frontend/utils/uploads.py), not by this
script: a click, a file removed from the uploader or a page switch during the upload does
not stop it. Each picked file is one action with one idempotency key, so a double click, or
a second click on the same files, creates no second task. Files that could not be sent are
listed with a button that sends them again.

The analysis task ids are kept in session state and in the URL (?tasks=a,b), so switching
pages or reloading the browser finds them again. ?open=<id> (a completion notice's link)
expands that task's result instead of the newest one.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from frontend.components.analysis.view import render_analysis
from frontend.components.errors import display_error
from frontend.components.results import render_download_button, render_unsuccessful
from frontend.components.task_watch import render_progress, watch_tasks
from frontend.components.uploads import (
    adopt_sent,
    follow_queue,
    sync_url,
    unsent_reason,
    upload_bar,
    upload_queue,
)
from frontend.utils.backend import backend_config, backend_vocabulary, current_client
from frontend.utils.errors import AppError
from frontend.utils.formatting import format_size, format_time, markdown_text
from frontend.utils.session_state import AppSessionState
from frontend.utils.tasks import status_icon, status_label, task_title
from frontend.utils.uploads import FAILED, UNSENT, UploadItem, current_batches
from frontend.utils.validation import validate_file_extension, validate_file_size

SCOPE = "upload"
QUERY_KEY = "tasks"
OPEN_KEY = "open"
OPENED = "upload_opened"
# A click on files this small waits this long for them to be sent, so that this run shows
# their tasks at once; bigger ones show their progress bars at once instead.
SMALL_BATCH_BYTES = 1024 * 1024
SMALL_BATCH_WAIT_S = 0.5

state = AppSessionState()
vocabulary = backend_vocabulary()
queue = upload_queue()


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
    queue.forget(item.key for item in queue.items())
    st.query_params.pop(QUERY_KEY, None)


def _check(file: UploadedFile, config: dict[str, Any]) -> AppError | None:
    try:
        validate_file_extension(file.name, config["allowed_extensions"])
        validate_file_size(file.name, file.size, int(config["max_upload_bytes"]))
    except AppError as exc:
        return exc
    return None


def _submit(files: list[UploadedFile]) -> None:
    """Queue the picked files; those already sent or on their way are not sent again."""
    st.session_state.pop(OPENED, None)  # the newest result opens again
    state.clear_hint(SCOPE)
    batch = queue.new_batch()
    submitted = [
        file for file in files if queue.submit(file.file_id, file.name, file.getvalue(), batch)
    ]
    picked = {file.file_id for file in files}
    queue.forget(  # the failures of earlier clicks make way for this one's
        item.key for item in queue.items() if item.state == FAILED and item.file_id not in picked
    )
    queue.start(current_client())
    sync_url(queue)
    if sum(file.size for file in files) <= SMALL_BATCH_BYTES:
        queue.wait(SMALL_BATCH_WAIT_S)  # shown as tasks by this run; big ones by their bars
    if len(submitted) < len(files):
        state.set_hint(
            SCOPE,
            f"有 {len(files) - len(submitted)} 個檔案已經送出，不會重複上傳。"
            "要重新分析同一個檔案，請在上方移除後再選擇一次。",
        )


def _resend() -> None:
    queue.resend_unsent()
    queue.start(current_client())


def _file_lines(items: list[UploadItem]) -> str:
    return "\n".join(
        f"- 「{markdown_text(item.name)}」（{format_size(item.size)}）：{unsent_reason(item)}"
        for item in items
    )


def _render_queue(items: list[UploadItem]) -> None:
    """The files on their way; those the backend is asked about; those not sent (with why,
    and a button that sends them again)."""
    for item in current_batches(items):
        upload_bar(item)
    checking = [item for item in items if item.state == UNSENT and item.unconfirmed]
    unsent = [item for item in items if item.state == UNSENT and not item.unconfirmed]
    if not checking and not unsent:
        return
    with st.container(border=True):
        if checking:
            st.info(
                f"**正在向後端確認 {len(checking)} 個檔案是否已經收到**\n\n"
                f"{_file_lines(checking)}\n\n"
                "通常幾秒內就會確認。若一直沒有結果，可以重新送出（在上方重新選擇檔案，"
                "再按「開始上傳並分析」），不會重複建立任務。",
                icon=":material/hourglass_top:",
            )
        if unsent:
            st.warning(
                f"**有 {len(unsent)} 個檔案還沒有送到後端**\n\n{_file_lines(unsent)}",
                icon=":material/warning:",
            )
        if any(item.resendable for item in checking + unsent):
            st.button(
                "送出未送出的檔案",
                key="upload_resend",
                on_click=_resend,
                type="primary",
                icon=":material/cloud_upload:",
                help="用同一個識別碼重新送出：後端若其實已經收到，不會重複建立任務。",
            )


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

# Streamlit's uploader has English texts of its own ("Upload", "10MB per file") and no
# parameter for them: CSS shows zh-TW ones in their place (the limit is in the caption above).
st.html(
    """<style>
    [data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] p,
    [data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }
    [data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] p::after {
        content: "選擇檔案"; font-size: 0.875rem; }
    [data-testid="stFileUploaderDropzoneInstructions"] span::after {
        content: "或把檔案拖放到這裡"; font-size: 0.875rem; }
    </style>"""
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
    for _file, error in checks:
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
        _submit(valid)
    if hint := state.hint(SCOPE):
        st.info(hint, icon=":material/info:")

if queue.items():
    adopt_sent(queue)  # what was sent while this run drew the form
    follow_queue(queue, _render_queue)

st.subheader("分析結果")
failures = [
    (item, item.error) for item in queue.items() if item.state == FAILED and item.error is not None
]
for item, error in failures:
    st.error(
        f"**「{markdown_text(item.name)}」上傳失敗：{error.title}**  \n"
        f"{error.message}  \n{error.action}",
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
elif not failures:
    st.caption("上傳的檔案分析完成後，結果會顯示在這裡。")
if watched or failures or queue.unsent():
    st.button(
        "清除清單",
        key="upload_clear",
        on_click=_clear_list,
        help="只清除這裡的清單，不會刪除後端的任務，也不會中斷正在上傳的檔案。",
    )
