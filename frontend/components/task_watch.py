"""Progress of watched tasks, polled in a fragment so the rest of the page stays usable.

A full run renders finished tasks statically and puts the running ones in one
`@st.fragment(run_every=...)`. The fragment asks the backend for each running task; when
one finishes, or when the adaptive interval should change, it triggers a full rerun, which
stops or re-times the polling. No loop ever blocks the script.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from frontend.components.errors import display_error
from frontend.utils.backend import current_client
from frontend.utils.errors import AppError, NotFoundError, backend_error
from frontend.utils.formatting import format_duration
from frontend.utils.session_state import AppSessionState, rerun
from frontend.utils.tasks import eta_text, is_final, poll_interval, status_label
from frontend.utils.vocabulary import Vocabulary

TaskRenderer = Callable[[dict[str, Any]], None]

WATCH_STARTED = "watch_started"


class _Gone:
    """The task no longer exists on the backend; it has been unwatched."""


class _Unavailable:
    """The backend did not answer this time; the error is shown, polling goes on."""


GONE, UNAVAILABLE = _Gone(), _Unavailable()


def _watch_started() -> dict[str, float]:
    return st.session_state.setdefault(WATCH_STARTED, {})


def watch_elapsed(task_id: str) -> float:
    started = _watch_started().setdefault(task_id, time.monotonic())
    return time.monotonic() - started


def restart_watch_clock(task_id: str) -> None:
    _watch_started()[task_id] = time.monotonic()


def cancel_task(task_id: str) -> None:
    """Button callback: the outcome is shown as a flash message on the next full run."""
    state = AppSessionState()
    try:
        task = current_client().cancel_task(task_id)
    except AppError as exc:
        state.add_message(f"無法取消任務：{exc.message}{exc.action}", "error")
        return
    state.remember_final(task)
    state.mark_announced(task_id)  # the user cancelled it: no notice needed
    state.add_message("已取消任務。", "success")


def _refresh_note(interval: float, user_interval_s: float) -> str:
    if interval < user_interval_s:  # the first seconds of a watch, see `poll_interval`
        return (
            f"每 {interval:g} 秒自動更新進度；剛開始的幾秒較頻繁，"
            f"之後每 {user_interval_s:g} 秒（可在「設定」調整）"
        )
    return f"每 {interval:g} 秒自動更新進度（可在「設定」調整）"


def render_progress(vocabulary: Vocabulary, task: dict[str, Any]) -> None:
    progress = float(task.get("progress") or 0)
    message = task.get("message") or ""
    eta = eta_text(task)
    st.progress(
        min(max(progress / 100, 0.0), 1.0),
        text=f"**{status_label(vocabulary, task['status'])}**　{message}　{progress:.0f}%"
        + (f"　·　{eta}" if eta else ""),
    )


def render_task_error(vocabulary: Vocabulary, task: dict[str, Any]) -> None:
    error = task.get("error") or {}
    code = error.get("code", "job_failed")
    display_error(backend_error(vocabulary, code, error.get("message")), context="任務失敗")


def render_waiting_too_long(
    vocabulary: Vocabulary, task: dict[str, Any], max_wait_s: int, key: str
) -> None:
    render_progress(vocabulary, task)
    st.warning(
        f"已等待超過 {format_duration(max_wait_s)}，任務仍在進行中，已暫停自動更新。"
        "你可以繼續等待，或取消任務。",
        icon=":material/schedule:",
    )
    keep, cancel, _ = st.columns([1, 1, 3])
    keep.button(
        "繼續等待",
        key=f"{key}_keep_waiting_{task['task_id']}",
        on_click=restart_watch_clock,
        args=(task["task_id"],),
        type="primary",
    )
    cancel.button(
        "取消任務",
        key=f"{key}_cancel_late_{task['task_id']}",
        on_click=cancel_task,
        args=(task["task_id"],),
    )


def watch_tasks(
    vocabulary: Vocabulary,
    task_ids: list[str],
    *,
    key: str,
    render_running: TaskRenderer,
    render_finished: TaskRenderer,
) -> None:
    """Render every task in `task_ids`: finished ones once, running ones by polling."""
    state = AppSessionState()
    running = [task_id for task_id in task_ids if state.final_task(task_id) is None]
    if running:
        _poll_running(vocabulary, running, key=key, render_running=render_running)
    for task_id in reversed(task_ids):
        task = state.final_task(task_id)
        if task is not None:
            render_finished(task)


def _poll_running(
    vocabulary: Vocabulary, task_ids: list[str], *, key: str, render_running: TaskRenderer
) -> None:
    state = AppSessionState()
    max_wait_s = state.max_wait_s
    overdue = [task_id for task_id in task_ids if watch_elapsed(task_id) > max_wait_s]
    live = [task_id for task_id in task_ids if task_id not in overdue]
    elapsed = min((watch_elapsed(task_id) for task_id in live), default=0.0)
    interval = poll_interval(elapsed, state.poll_interval_s)

    for task_id in overdue:
        task = _fetch(task_id)
        if task is GONE:
            rerun()
        if not isinstance(task, dict):
            continue
        if is_final(task):
            state.remember_final(task)
            rerun()
        render_waiting_too_long(vocabulary, task, max_wait_s, key)

    if not live:
        return

    @st.fragment(run_every=interval)
    def poll() -> None:
        needs_full_run = False
        for task_id in live:
            task = _fetch(task_id)
            if task is GONE:
                needs_full_run = True
                continue
            if not isinstance(task, dict):
                continue
            if is_final(task):
                state.remember_final(task)
                needs_full_run = True
                continue
            render_running(task)
        st.caption(_refresh_note(interval, state.poll_interval_s))
        current = min((watch_elapsed(task_id) for task_id in live), default=0.0)
        if (
            needs_full_run
            or poll_interval(current, state.poll_interval_s) != interval
            or current > max_wait_s
        ):
            rerun()

    poll()


def _fetch(task_id: str) -> dict[str, Any] | _Gone | _Unavailable:
    state = AppSessionState()
    try:
        return current_client().get_task(task_id)
    except NotFoundError:
        state.forget_task(task_id, gone=True)
        state.add_message(
            "有一個追蹤中的任務已不存在（可能已被刪除或過期），已停止追蹤。", "warning"
        )
        return GONE
    except AppError as exc:
        display_error(exc, context="暫時無法取得任務進度，稍後會自動重試")
        return UNAVAILABLE
