"""長時間任務: start the staged demo job, watch its stages, cancel it.

The task being watched is kept in session state (switching pages and back resumes it) and
in the URL as ?task=<id> (a browser reload resumes it too). Without either, the newest
running long task on the backend is offered.

Starting is one action with one idempotency key, created at the click and kept while the
task it started runs: a double click, or the same form sent again meanwhile, gets the same
task back. An action whose answer was lost and that the backend could not be asked about is
kept (and its key in the URL as ?action=) and asked about until its task shows up.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from frontend.components.errors import display_error
from frontend.components.notices import track_finish
from frontend.components.results import render_download_button, render_unsuccessful
from frontend.components.task_watch import (
    cancel_task,
    render_progress,
    restart_watch_clock,
    watch_tasks,
)
from frontend.utils.api_client import new_idempotency_key
from frontend.utils.backend import backend_config, backend_vocabulary, current_client
from frontend.utils.errors import AppError, UnconfirmedError, ValidationError
from frontend.utils.formatting import format_duration, format_time
from frontend.utils.session_state import AppSessionState, rerun
from frontend.utils.tasks import task_duration_s
from frontend.utils.validation import validate_range

SCOPE = "long"
QUERY_KEY = "task"
ACTION_KEY = "action"
MAX_DATA_CHARS = 10_000
DELAY_LABEL = "處理時間（秒）"
# {"key", "request": [data, delay] or None, "task_id", "at", "unconfirmed", "cause"}
ACTION = "long_action"
# The same form sent again this soon after is the same action even if its task already
# ended (a double click on a job of a few milliseconds).
DOUBLE_SUBMIT_S = 3.0
CONFIRM_EVERY_S = 2.0

state = AppSessionState()
vocabulary = backend_vocabulary()


def _watch(task_id: str) -> None:
    state.clear_watched(SCOPE)
    state.watch_task(SCOPE, task_id)
    restart_watch_clock(task_id)
    st.query_params[QUERY_KEY] = task_id


def _stop_watching() -> None:
    state.clear_watched(SCOPE)
    st.session_state.pop(ACTION, None)  # what is started next is a new action
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


def _action_for(request: list[Any]) -> dict[str, Any]:
    """The action this submission belongs to: the current one (same key) while its answer
    is unknown or its task still runs, and for a moment after; else a new one."""
    action = st.session_state.get(ACTION)
    if action is not None and action["request"] in (request, None):
        task_id = action["task_id"]
        if (
            task_id is None
            or state.final_task(task_id) is None
            or time.monotonic() - action["at"] < DOUBLE_SUBMIT_S
        ):
            action["request"] = request
            return action
    action = {
        "key": new_idempotency_key(),
        "request": request,
        "task_id": None,
        "at": time.monotonic(),
        "unconfirmed": False,
    }
    st.session_state[ACTION] = action
    return action


def _adopt(action: dict[str, Any], task: dict[str, Any]) -> None:
    action.update(task_id=task["task_id"], unconfirmed=False)
    st.query_params.pop(ACTION_KEY, None)
    track_finish(task["task_id"])
    if task["task_id"] not in state.watched_tasks(SCOPE):
        _watch(task["task_id"])


def _start(data: str, delay: int, max_delay: int) -> None:
    if not data.strip():
        raise ValidationError("invalid_input", "請輸入要處理的資料。")
    validate_range(DELAY_LABEL, delay, 0, max_delay, "秒")
    state.clear_hint(SCOPE)
    action = _action_for([data, delay])
    known = action["task_id"]
    try:
        task = current_client().create_process_task(data, delay, idempotency_key=action["key"])
    except UnconfirmedError as exc:
        if known is None:  # else it is the task on screen, sent again: nothing changes
            action.update(unconfirmed=True, cause=exc.title)
            state.clear_watched(SCOPE)  # what shows under 任務進度 is this action now
            st.query_params.pop(QUERY_KEY, None)
        return
    except AppError as exc:
        if exc.code == "idempotency_key_reused" and _confirm(action):
            # Before a reload this tab sent other data under this key, and it did arrive.
            state.set_hint(
                SCOPE,
                "重新整理前送出的任務已經建立，下面是它的進度；要處理新的資料，請再按一次「開始處理」。",
            )
            st.session_state.pop(ACTION, None)
            return
        st.session_state.pop(ACTION, None)  # refused: nothing was created
        raise
    if known == task["task_id"]:
        state.set_hint(SCOPE, "這個任務已經送出，沒有重複建立；下面是它的進度。")
    _adopt(action, task)


def _confirm(action: dict[str, Any]) -> bool:
    """Ask the backend whether the action's key has a task; track it if it does."""
    try:
        task = current_client().find_task_by_key(action["key"])
    except AppError:
        return False
    if task is None:
        return False
    _adopt(action, task)
    return True


def _render_unconfirmed(action: dict[str, Any]) -> None:
    """An action that got no answer: asked about until its task shows up."""

    @st.fragment(run_every=CONFIRM_EVERY_S)
    def unconfirmed_action() -> None:
        if _confirm(action):
            rerun()
        cause = f"（{action['cause']}）" if action.get("cause") else ""
        st.warning(
            f"**還不確定任務是否已經建立**  \n送出後沒有收到後端的回應{cause}，"
            "正在向後端確認，確認後會在這裡顯示進度。在那之前再按一次「開始處理」，"
            "也不會重複建立任務。",
            icon=":material/hourglass_empty:",
        )

    unconfirmed_action()


url_action = st.query_params.get(ACTION_KEY)
if url_action and ACTION not in st.session_state:  # a reload while an answer was unknown
    st.session_state[ACTION] = {
        "key": url_action,
        "request": None,
        "task_id": None,
        "at": time.monotonic(),
        "unconfirmed": True,
    }
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
        DELAY_LABEL,
        value=5,
        step=1,
        key="long_delay",
        help=f"0–{max_delay:,} 秒。模擬的處理時間，後端會依序經過初始化、載入、處理、生成結果四個階段。",
    )
    submitted = st.form_submit_button("開始處理", type="primary", icon=":material/play_arrow:")

if submitted:
    try:
        _start(data, int(delay), max_delay)
    except AppError as exc:
        display_error(exc, context="無法建立任務")
if hint := state.hint(SCOPE):
    st.info(hint, icon=":material/info:")

pending = st.session_state.get(ACTION)
if pending is not None and not pending["unconfirmed"]:
    pending = None
if pending is not None:
    st.query_params[ACTION_KEY] = pending["key"]

st.subheader("任務進度")
watched = state.watched_tasks(SCOPE)
current = watched[-1] if watched else None
if current:
    watch_tasks(
        vocabulary,
        [current],
        key="long",
        render_running=_render_running,
        render_finished=_render_finished,
    )
elif pending is not None:
    _render_unconfirmed(pending)
else:
    st.caption("目前沒有追蹤中的任務。填好上面的表單後按「開始處理」。")
    _offer_running_task()
