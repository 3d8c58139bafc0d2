"""Completion notices: when a task this tab started finishes while the user is on another
page, a toast says so, and the sidebar keeps a link to the page that shows its result.

The tab's tasks whose finish is still to be announced live in session state and in the URL
(?notify=a,b, written again on every page by the frame), so a page switch or a reload finds
them. An id leaves both once announced, so each finish is announced once. A fragment in the
sidebar polls them only while one is running; a finish triggers a full run, which shows the
toast and re-times or stops the polling. Tasks the page on screen watches itself are left to
that page: when it shows them finished, the user has seen it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from frontend.utils.backend import current_client
from frontend.utils.errors import AppError, NotFoundError
from frontend.utils.formatting import markdown_text
from frontend.utils.session_state import AppSessionState, rerun
from frontend.utils.tasks import (
    CANCELLED,
    COMPLETED,
    FAILED,
    eta_text,
    is_final,
    status_icon,
    status_label,
    task_title,
)
from frontend.utils.vocabulary import Vocabulary

NOTIFY_PARAM = "notify"
MIN_POLL_S = 2.0
ANALYZE, PROCESS = "analyze", "process"


@dataclass(frozen=True)
class ResultPage:
    """The page that shows a kind of task: it watches them under `scope`, and opens one
    given as each of `params` in its URL."""

    path: str
    url_path: str
    scope: str
    params: tuple[str, ...]

    def query_params(self, task_id: str) -> dict[str, str]:
        return dict.fromkeys(self.params, task_id)


RESULT_PAGES = {
    ANALYZE: ResultPage("app_pages/file_upload.py", "file_upload", "upload", ("tasks", "open")),
    PROCESS: ResultPage("app_pages/long_task.py", "long_task", "long", ("task",)),
}
OUTCOMES = {
    ANALYZE: {
        COMPLETED: "「{title}」分析完成",
        FAILED: "「{title}」分析失敗",
        CANCELLED: "「{title}」的分析已取消",
    },
    PROCESS: {
        COMPLETED: "長時間任務處理完成",
        FAILED: "長時間任務失敗",
        CANCELLED: "長時間任務已取消",
    },
}


def notice_text(vocabulary: Vocabulary, task: dict[str, Any]) -> str:
    """What finished, in one line of Markdown: "「報價單.csv」分析完成"."""
    title = markdown_text(task_title(vocabulary, task))
    template = OUTCOMES.get(task.get("kind", ""), {}).get(task["status"])
    if template is None:
        return f"「{title}」{status_label(vocabulary, task['status'])}"
    return template.format(title=title)


def track_finish(task_id: str) -> None:
    """Announce this task's finish (a page calls this for each task it starts)."""
    state = AppSessionState()
    state.announce_when_finished(task_id)
    _sync_url(state.unannounced_tasks())


def _url_ids() -> list[str]:
    return [i.strip() for i in str(st.query_params.get(NOTIFY_PARAM, "")).split(",") if i.strip()]


def _sync_url(ids: list[str]) -> None:
    if ids:
        st.query_params[NOTIFY_PARAM] = ",".join(ids)
    else:
        st.query_params.pop(NOTIFY_PARAM, None)


def _on_screen(state: AppSessionState, url_path: str) -> set[str]:
    """The tasks the page being shown watches (and will show finished) itself, including
    those its URL asks it to show (a notice's link)."""
    for page in RESULT_PAGES.values():
        if page.url_path == url_path:
            asked = {
                task_id.strip()
                for param in page.params
                for task_id in str(st.query_params.get(param, "")).split(",")
            }
            return (set(state.watched_tasks(page.scope)) | asked) - {""}
    return set()


def _announce(vocabulary: Vocabulary, task: dict[str, Any]) -> None:
    text = notice_text(vocabulary, task)
    state = AppSessionState()
    state.add_notice(
        {
            "task_id": task["task_id"],
            "kind": task.get("kind", ""),
            "status": task["status"],
            "text": text,
        }
    )
    st.toast(
        f"{text}  \n可從側邊欄「任務通知」開啟結果。",
        icon=status_icon(task["status"]),
        duration="long",
    )


def follow_started_tasks(vocabulary: Vocabulary, url_path: str) -> None:
    """The frame's part, on every full run before the page: announce what finished, keep
    the URL, and in the sidebar list the notices and poll what still runs."""
    state = AppSessionState()
    for task_id in _url_ids():
        if not state.is_gone(task_id):
            state.announce_when_finished(task_id)
    on_screen = _on_screen(state, url_path)
    for task_id in state.unannounced_tasks():
        task = state.final_task(task_id)
        if task is None:
            continue
        state.mark_announced(task_id)
        if task_id not in on_screen:
            _announce(vocabulary, task)
    for task_id in on_screen:
        state.dismiss_notice(task_id)  # its own page shows it now
    _sync_url(state.unannounced_tasks())

    running = [task_id for task_id in state.unannounced_tasks() if task_id not in on_screen]
    notices = state.notices()
    if not running and not notices:
        return
    with st.sidebar:
        st.subheader("任務通知")
        if running:
            _poll(vocabulary, running, max(MIN_POLL_S, state.poll_interval_s))
            st.caption("完成時會通知你。")
        for notice in notices:
            _render_notice(notice)
        if notices:
            st.button(
                "清除通知",
                key="notices_clear",
                on_click=state.clear_notices,
                type="tertiary",
                icon=":material/clear_all:",
            )


def _poll(vocabulary: Vocabulary, task_ids: list[str], interval: float) -> None:
    @st.fragment(run_every=interval)
    def running_tasks() -> None:
        state = AppSessionState()
        finished = False
        for task_id in task_ids:
            try:
                task = current_client().get_task(task_id)
            except NotFoundError:  # deleted meanwhile: nothing left to announce
                state.mark_announced(task_id)
                finished = True
                continue
            except AppError:
                continue  # the page and the sidebar status show connection problems
            if is_final(task):
                state.remember_final(task)
                finished = True
                continue
            _render_running(vocabulary, task)
        if finished:
            rerun()  # the full run announces it and re-times the polling

    running_tasks()


def _render_running(vocabulary: Vocabulary, task: dict[str, Any]) -> None:
    progress = float(task.get("progress") or 0)
    eta = eta_text(task) or status_label(vocabulary, task["status"])
    st.progress(
        min(max(progress / 100, 0.0), 1.0),
        text=f"{markdown_text(task_title(vocabulary, task))}　{progress:.0f}%　·　{eta}",
    )


def _render_notice(notice: dict[str, Any]) -> None:
    page = RESULT_PAGES.get(notice["kind"])
    with st.container(border=True):
        st.markdown(f"{status_icon(notice['status'])} {notice['text']}")
        if page is not None:
            st.page_link(
                page.path,
                label="查看結果",
                icon=":material/open_in_new:",
                query_params=page.query_params(notice["task_id"]),
            )
