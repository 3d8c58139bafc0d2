"""任務管理: every task on the backend, filtered, searched by file name and paged; view,
cancel or delete one.

The table refreshes itself in a fragment; when a task changes status the whole page reruns
so that the action buttons match what the table shows.

What the user chose (search, filters, page, selected task, open result) is kept in session
state, because Streamlit drops a widget's value when its page is left, and in the URL
(?q=&status=&kind=&page=&selected=&view=) for a reload.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from frontend.components.analysis.view import render_analysis
from frontend.components.errors import display_error
from frontend.components.results import render_download_button, render_unsuccessful
from frontend.components.task_table import render_task_table
from frontend.components.task_watch import cancel_task, render_progress
from frontend.utils.backend import backend_vocabulary, current_client
from frontend.utils.errors import AppError
from frontend.utils.formatting import format_size, format_time, markdown_text
from frontend.utils.session_state import AppSessionState, rerun
from frontend.utils.tasks import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    kind_label,
    status_label,
    statuses,
    task_title,
)

PAGE_SIZE = 20
IDLE_REFRESH_S = 5.0
ALL = ""
MAX_QUERY_CHARS = 200  # the backend's limit for ?q=; cut in code, as max_chars would add a counter
SNAPSHOT = "tasks_snapshot"
VIEWING = "tasks_viewing"
PAGE = "tasks_page"
SELECTED = "tasks_selected"
QUERY = "tasks_q"
STATUS = "tasks_status"
KIND = "tasks_kind"
AUTO = "tasks_auto"
KEPT = "tasks_kept"
# what the page keeps -> its URL parameter
URL_PARAMS = {
    QUERY: "q",
    STATUS: "status",
    KIND: "kind",
    PAGE: "page",
    SELECTED: "selected",
    VIEWING: "view",
    AUTO: "auto",
}
DEFAULTS: dict[str, Any] = {QUERY: "", STATUS: ALL, KIND: ALL, PAGE: 1, AUTO: True}

state = AppSessionState()
timezone = st.context.timezone
vocabulary = backend_vocabulary()


def _fetch(status: str, kind: str, query: str, offset: int) -> dict[str, Any]:
    return current_client().list_tasks(
        status=status or None, kind=kind or None, q=query, limit=PAGE_SIZE, offset=offset
    )


def _signature(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(task["task_id"], task["status"]) for task in items]


def _delete(task_id: str) -> None:
    try:
        current_client().delete_task(task_id)
    except AppError as exc:
        state.add_message(f"無法刪除任務：{exc.message}{exc.action}", "error")
        return
    state.forget_task(task_id, gone=True)
    st.session_state.pop(VIEWING, None)
    state.add_message("已刪除任務。", "success")


def _first_page() -> None:
    st.session_state[PAGE] = 1


def _from_url() -> dict[str, Any]:
    """What a reloaded page's URL says, each value checked (a hand-edited URL must not
    break a widget)."""
    params = st.query_params
    kept: dict[str, Any] = {}
    for key, param in URL_PARAMS.items():
        value = params.get(param)
        if value is None:
            continue
        if key == STATUS and value not in statuses(vocabulary):
            continue
        if key == KIND and value not in (vocabulary.get("kinds") or {}):
            continue
        if key == PAGE:
            if not value.isdigit() or int(value) < 1:
                continue
            kept[key] = int(value)
        elif key == AUTO:
            kept[key] = value != "0"
        else:
            kept[key] = value
    return kept


def _restore() -> None:
    """Put back what the user chose: from session state after a page switch (the widgets'
    own keys were dropped with the page), from the URL after a reload."""
    kept = st.session_state.get(KEPT)
    if kept is None:
        kept = {**DEFAULTS, **_from_url()}
    for key, value in {**DEFAULTS, **kept}.items():
        if value is not None and key not in st.session_state:
            st.session_state[key] = value


def _keep() -> None:
    """Remember what the user chose, in session state and in the URL (defaults left out)."""
    kept = {key: st.session_state.get(key) for key in URL_PARAMS}
    st.session_state[KEPT] = kept
    for key, param in URL_PARAMS.items():
        value = kept[key]
        if value is None or value == DEFAULTS.get(key):
            st.query_params.pop(param, None)
        elif key == AUTO:
            st.query_params[param] = "1" if value else "0"
        else:
            st.query_params[param] = str(value)


def _known_status(task_id: str) -> str:
    """Status of an uploaded file's task, from this page or this session; no extra request."""
    if state.is_gone(task_id):
        return "已刪除"
    task = next((t for t in items if t["task_id"] == task_id), None) or state.final_task(task_id)
    return status_label(vocabulary, task["status"]) if task else "—"


def _toggle_view(task_id: str) -> None:
    viewing = st.session_state.get(VIEWING)
    st.session_state[VIEWING] = None if viewing == task_id else task_id


def _render_result(task_id: str) -> None:
    try:
        task = current_client().get_task(task_id)
    except AppError as exc:
        display_error(exc, context="無法取得任務結果")
        return
    with st.container(border=True):
        st.markdown(f"#### {task_title(vocabulary, task)} 的結果")
        render_progress(vocabulary, task)
        if render_unsuccessful(vocabulary, task):
            return
        result = task.get("result") or {}
        if task["kind"] == "analyze":
            render_analysis(vocabulary, result)
        else:
            st.code(str(result.get("processed_data", result)), language=None)
        render_download_button(task, key="tasks")


st.title("任務管理")
_restore()

query = st.text_input(
    "搜尋檔名",
    key=QUERY,
    type="search",
    live="400ms",  # the list follows the typing; each pause costs one list request
    placeholder="輸入檔名的一部分，例如：報價單",
    on_change=_first_page,
    help="列出檔名包含這段文字的任務（不分大小寫與全形半形）。"
    "長時間處理的任務沒有檔名，搜尋時不會列出。",
).strip()[:MAX_QUERY_CHARS]
status_col, kind_col, refresh_col, auto_col = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
status = status_col.selectbox(
    "狀態",
    [ALL, *statuses(vocabulary)],
    format_func=lambda value: status_label(vocabulary, value) if value else "全部狀態",
    key=STATUS,
    on_change=_first_page,
)
kind = kind_col.selectbox(
    "種類",
    [ALL, *(vocabulary.get("kinds") or {})],
    format_func=lambda value: kind_label(vocabulary, value) if value else "全部種類",
    key=KIND,
    on_change=_first_page,
)
refresh_col.button("重新整理", key="tasks_refresh", icon=":material/refresh:", width="stretch")
auto = auto_col.toggle("自動更新", key=AUTO)

# The page field has no min/max (Streamlit's range check answers in English): a number out
# of range is taken as the first or the last page.
page_number = int(st.session_state.get(PAGE, 1))
if page_number < 1:
    st.session_state[PAGE] = page_number = 1
try:
    listing = _fetch(status, kind, query, (page_number - 1) * PAGE_SIZE)
except AppError as exc:
    display_error(exc, context="無法取得任務清單")
    st.stop()
items, total = listing["items"], int(listing["total"])
pages = max(1, -(-total // PAGE_SIZE))
if page_number > pages:  # tasks were deleted or the filter changed under this page
    st.session_state[PAGE] = pages
    rerun()
st.session_state[SNAPSHOT] = _signature(items)
has_active = any(task["status"] in ACTIVE_STATUSES for task in items)
interval = (
    (state.poll_interval_s if has_active else max(IDLE_REFRESH_S, state.poll_interval_s))
    if auto
    else None
)


@st.fragment(run_every=interval)
def task_table() -> None:
    try:
        fresh = _fetch(status, kind, query, (page_number - 1) * PAGE_SIZE)
    except AppError as exc:
        display_error(exc, context="無法更新任務清單")
        return
    if _signature(fresh["items"]) != st.session_state.get(SNAPSHOT):
        rerun()
    if not fresh["items"]:
        filtered = "且符合條件" if status or kind else ""
        st.info(
            f"沒有檔名包含「{markdown_text(query)}」{filtered}的任務。"
            if query
            else "沒有符合條件的任務。"
        )
        return
    render_task_table(vocabulary, fresh["items"])


task_table()

summary_col, page_col = st.columns([3, 1], vertical_alignment="center")
summary_col.caption(
    f"共 {total:,} 個任務，第 {page_number} / {pages} 頁（每頁 {PAGE_SIZE} 個，新的在前）。"
)
if pages > 1:
    page_col.number_input("頁次", step=1, key=PAGE, help=f"1–{pages}")

if items:
    st.subheader("任務操作")
    by_id = {task["task_id"]: task for task in items}
    if st.session_state.get(SELECTED) not in by_id:  # gone, or on another page of the list
        st.session_state[SELECTED] = next(iter(by_id))
    selected_id = st.selectbox(
        "選擇任務",
        list(by_id),
        # No status in the label: Streamlit keeps showing a selected option's old label
        # when only its text changes, so the status is shown by the progress bar below.
        format_func=lambda task_id: (
            f"{task_title(vocabulary, by_id[task_id])}　"
            f"{format_time(by_id[task_id].get('created_at'), timezone)}"
        ),
        key=SELECTED,
    )
    selected = by_id[selected_id]
    selected_running = selected["status"] in ACTIVE_STATUSES

    @st.fragment(run_every=interval if selected_running else None)
    def selected_progress() -> None:
        task = selected
        if selected_running:
            # On an error the table above already shows the connection problem.
            with contextlib.suppress(AppError):
                task = current_client().get_task(selected_id)
        render_progress(vocabulary, task)

    selected_progress()
    view_col, cancel_col, delete_col, _ = st.columns([1, 1, 1, 2])
    view_col.button(
        "檢視結果",
        key="tasks_view",
        on_click=_toggle_view,
        args=(selected_id,),
        disabled=selected["status"] not in FINAL_STATUSES,
        icon=":material/visibility:",
        width="stretch",
    )
    cancel_col.button(
        "取消任務",
        key="tasks_cancel",
        on_click=cancel_task,
        args=(selected_id,),
        disabled=selected["status"] not in ACTIVE_STATUSES,
        icon=":material/cancel:",
        width="stretch",
    )
    with delete_col.popover(
        "刪除任務",
        disabled=selected["status"] not in FINAL_STATUSES,
        icon=":material/delete:",
        width="stretch",
    ):
        st.markdown(
            f"確定要刪除「{task_title(vocabulary, selected)}」嗎？任務的結果與檔案會一併刪除，無法復原。"
        )
        st.button(
            "確定刪除",
            key="tasks_delete_confirm",
            on_click=_delete,
            args=(selected_id,),
            type="primary",
        )
    hint = "任務結束後才能檢視結果或刪除。" if selected["status"] in ACTIVE_STATUSES else ""
    st.caption(f"任務 ID：{selected_id}　{hint}")
    if st.session_state.get(VIEWING) == selected_id and selected["status"] in FINAL_STATUSES:
        _render_result(selected_id)

_keep()

st.subheader("這次上傳的檔案")
uploaded = state.get_uploaded_files()
if uploaded:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "檔名": item["name"],
                    "大小": format_size(item["size_bytes"]),
                    "上傳時間": format_time(
                        datetime.fromtimestamp(item["uploaded_at"], UTC).isoformat(), timezone
                    ),
                    "狀態": _known_status(item["task_id"]),
                    "任務 ID": item["task_id"],
                }
                for item in reversed(uploaded)
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("這個瀏覽器分頁還沒有上傳過檔案。")
