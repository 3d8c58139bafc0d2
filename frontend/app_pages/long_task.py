"""長時間任務: start the staged demo job, watch its stages, cancel it.

The task being watched is kept in session state (switching pages and back resumes it) and
in the URL as ?task=<id> (a browser reload resumes it too). Without either, the newest
running long task on the backend is offered.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from frontend.components.notices import track_finish
from frontend.components.results import render_download_button, render_unsuccessful
from frontend.components.task_watch import (
    cancel_task,
    render_progress,
    restart_watch_clock,
    watch_tasks,
)
from frontend.utils.api_client import backend_config, backend_vocabulary, current_client
from frontend.utils.errors import AppError, ValidationError, display_error
from frontend.utils.formatting import format_duration, format_time
from frontend.utils.session_state import AppSessionState
from frontend.utils.tasks import task_duration_s

SCOPE = "long"
QUERY_KEY = "task"
MAX_DATA_CHARS = 10_000

state = AppSessionState()
vocabulary = backend_vocabulary()


def _watch(task_id: str) -> None:
    state.clear_watched(SCOPE)
    state.watch_task(SCOPE, task_id)
    restart_watch_clock(task_id)
    st.query_params[QUERY_KEY] = task_id


def _stop_watching() -> None:
    state.clear_watched(SCOPE)
    st.query_params.pop(QUERY_KEY, None)


def _render_running(task: dict[str, Any]) -> None:
    with st.container(border=True):
        render_progress(vocabulary, task)
        info, button = st.columns([4, 1], vertical_alignment="center")
        info.caption(
            f"任務 ID：{task['task_id']}　·　建立於 {format_time(task.get('created_at'), st.context.timezone)}"
            f"　·　已執行 {format_duration(task_duration_s(task))}"
        )
        button.button(
            "取消任務",
            key=f"long_cancel_{task['task_id']}",
            on_click=cancel_task,
            args=(task["task_id"],),
            icon=":material/cancel:",
            width="stretch",
        )


def _render_finished(task: dict[str, Any]) -> None:
    with st.container(border=True):
        render_progress(vocabulary, task)
        if not render_unsuccessful(vocabulary, task):
            st.success(
                f"處理完成，共花費 {format_duration(task_duration_s(task))}。",
                icon=":material/check_circle:",
            )
            st.markdown("**處理結果**")
            st.code(str((task.get("result") or {}).get("processed_data", "")), language=None)
            render_download_button(task, key="long")
        st.button("開始新的任務", key="long_new", on_click=_stop_watching)


def _offer_running_task() -> None:
    """After a reload without ?task=, offer the newest long task still running."""
    try:
        candidates = [
            task
            for status in ("processing", "pending")
            for task in current_client().list_tasks(status=status, kind="process", limit=1)["items"]
        ]
    except AppError as exc:
        display_error(exc, context="無法查詢執行中的任務")
        return
    if not candidates:
        return
    task = max(candidates, key=lambda item: item.get("created_at") or "")
    with st.container(border=True):
        st.info(
            f"後端有一個進行中的長時間任務（建立於 "
            f"{format_time(task.get('created_at'), st.context.timezone)}，"
            f"進度 {float(task.get('progress') or 0):.0f}%）。",
            icon=":material/autorenew:",
        )
        st.button("繼續追蹤這個任務", key="long_resume", on_click=_watch, args=(task["task_id"],))


def _start(data: str, delay: int) -> None:
    if not data.strip():
        raise ValidationError("invalid_input", "請輸入要處理的資料。")
    task = current_client().create_process_task(data, delay)
    track_finish(task["task_id"])
    _watch(task["task_id"])


url_task = st.query_params.get(QUERY_KEY)
if url_task and state.is_gone(url_task):
    st.query_params.pop(QUERY_KEY, None)
elif url_task and url_task not in state.watched_tasks(SCOPE):
    _watch(url_task)
watched = state.watched_tasks(SCOPE)
current = watched[-1] if watched else None
if current:
    st.query_params[QUERY_KEY] = current

st.title("長時間任務")
st.caption("送出一個需要一段時間的處理工作。處理在後端進行，你可以切換到其他頁面，回來時進度仍在。")

try:
    max_delay = int(backend_config().get("max_process_delay_s", 3600))
except AppError as exc:
    display_error(exc, context="無法取得後端設定")
    st.stop()

with st.form("long_form"):
    data = st.text_area(
        "要處理的資料",
        value="範例資料",
        max_chars=MAX_DATA_CHARS,
        key="long_data",
        help=f"最多 {MAX_DATA_CHARS:,} 個字元。",
    )
    delay = st.number_input(
        "處理時間（秒）",
        min_value=0,
        max_value=max_delay,
        value=5,
        step=1,
        key="long_delay",
        help="模擬的處理時間，後端會依序經過初始化、載入、處理、生成結果四個階段。",
    )
    submitted = st.form_submit_button("開始處理", type="primary", icon=":material/play_arrow:")

if submitted:
    try:
        _start(data, int(delay))
    except AppError as exc:
        display_error(exc, context="無法建立任務")

st.subheader("任務進度")
current = (state.watched_tasks(SCOPE) or [None])[-1]
if current:
    watch_tasks(
        vocabulary,
        [current],
        key="long",
        render_running=_render_running,
        render_finished=_render_finished,
    )
else:
    st.caption("目前沒有追蹤中的任務。填好上面的表單後按「開始處理」。")
    _offer_running_task()
