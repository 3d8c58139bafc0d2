"""The tab's upload queue (frontend/utils/uploads.py) on every page.

The frame, on every full run: files this tab was sending before a reload come back from the
URL (?uploads=key:size:name, written again on every page, as ?notify= is); each file the
backend now has a task for is tracked like any upload (the upload page's list, the
completion notices); files that may have reached the backend are asked about by their key.
On any page but the upload page, the sidebar shows the queue while it sends, and the files
not sent yet with a link to the page that sends them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from frontend.components.notices import RESULT_PAGES, track_finish
from frontend.components.task_watch import restart_watch_clock
from frontend.utils.backend import current_client
from frontend.utils.errors import AppError
from frontend.utils.formatting import format_size, markdown_text
from frontend.utils.session_state import AppSessionState, rerun
from frontend.utils.uploads import (
    FAILED,
    IN_FLIGHT,
    QUEUED,
    SENT,
    UNSENT,
    UploadItem,
    UploadQueue,
)

QUEUE = "upload_queue"
RESTORED = "upload_restored"
LAST_CONFIRM = "upload_last_confirm"
UPLOADS_PARAM = "uploads"
UPLOAD_PAGE = RESULT_PAGES["analyze"]
PROGRESS_EVERY_S = 0.5
SIDEBAR_EVERY_S = 1.5
CONFIRM_EVERY_S = 2.0


def upload_queue() -> UploadQueue:
    queue = st.session_state.get(QUEUE)
    if queue is None:
        queue = st.session_state[QUEUE] = UploadQueue()
    return queue


def follow_uploads(url_path: str) -> None:
    """The frame's part, every full run before the page (and before the notices)."""
    queue = upload_queue()
    _restore_from_url(queue)
    queue.start(current_client())  # a queue left with files to send sends them
    adopt_sent(queue)
    sync_url(queue)
    if url_path != UPLOAD_PAGE.url_path:
        _render_sidebar(queue)


def adopt_sent(queue: UploadQueue) -> None:
    """Track the task of every file the backend took, as the upload page tracks its own."""
    state = AppSessionState()
    for item in queue.items():
        if item.state != SENT or item.adopted or item.task_id is None:
            continue
        state.add_uploaded_file(item.name, item.size, item.task_id)
        state.watch_task(UPLOAD_PAGE.scope, item.task_id)
        track_finish(item.task_id)
        restart_watch_clock(item.task_id)
        queue.mark_adopted(item.key)


def sync_url(queue: UploadQueue) -> None:
    entries = [
        f"{item.key}:{item.size}:{item.name}"
        for item in queue.items()
        if item.state in IN_FLIGHT or item.state == UNSENT
    ]
    if entries:
        st.query_params[UPLOADS_PARAM] = entries
    else:
        st.query_params.pop(UPLOADS_PARAM, None)


def _restore_from_url(queue: UploadQueue) -> None:
    """Once per session (its first run, i.e. after a reload): later the queue is the truth,
    and the URL may still hold files the user has since cleared."""
    if st.session_state.get(RESTORED):
        return
    st.session_state[RESTORED] = True
    for entry in st.query_params.get_all(UPLOADS_PARAM):
        key, _, rest = entry.partition(":")
        size, _, name = rest.partition(":")
        if key and name and size.isdigit():
            queue.restore(key, name, int(size))


def confirm_unsent(queue: UploadQueue) -> None:
    """Ask the backend about each file it may have received (at most every few seconds)."""
    waiting = queue.to_confirm()
    last = st.session_state.get(LAST_CONFIRM, 0.0)
    if not waiting or time.monotonic() - last < CONFIRM_EVERY_S:
        return
    st.session_state[LAST_CONFIRM] = time.monotonic()
    for item in waiting:
        try:
            task = current_client().find_task_by_key(item.key)
        except AppError:
            return  # asked again next time; the sidebar shows the connection problem
        if task is not None:
            queue.confirm(item.key, task)


def signature(items: list[UploadItem]) -> list[tuple[str, str]]:
    """What a full run must follow: the files, and which of them have an outcome (a file
    going from queued to sending is the fragment's own business)."""
    return [(item.key, "" if item.state in IN_FLIGHT else item.state) for item in items]


def follow_queue(
    queue: UploadQueue,
    render: Callable[[list[UploadItem]], None],
    every_s: float = PROGRESS_EVERY_S,
) -> None:
    """`render` the queue in a fragment that polls it every `every_s` while files are sent
    or asked about; a file's outcome triggers a full run, which tracks its task or shows
    why it was not sent."""
    seen = signature(queue.items())
    busy = bool(queue.in_flight()) or bool(queue.to_confirm())

    @st.fragment(run_every=every_s if busy else None)
    def upload_queue_status() -> None:
        confirm_unsent(queue)
        items = queue.items()
        if signature(items) != seen:
            rerun()
        render(items)

    upload_queue_status()


def upload_bar(item: UploadItem) -> None:
    """One file of a batch on its way: one bar whatever its state, so that the list keeps
    its length (and Streamlit shows no stale bar) until the batch is done."""
    name, size = markdown_text(item.name), format_size(item.size)
    share = min(item.sent_bytes / item.size, 1.0) if item.size else 1.0
    if item.state == QUEUED:
        share, text = 0.0, f"等待上傳「{name}」（{size}）"
    elif item.state == SENT:
        share, text = 1.0, f"「{name}」上傳完成（{size}），開始分析。"
    elif item.state in (FAILED, UNSENT):
        text = f"「{name}」沒有上傳，原因見下方。"
    elif item.sent_bytes >= item.size:
        text = f"「{name}」已送出（{size}），等待後端回應…"
    else:
        text = f"正在上傳「{name}」：{format_size(item.sent_bytes)} / {size}"
    st.progress(share, text=text)


def unsent_reason(item: UploadItem) -> str:
    """Why a file is not on the backend (yet), in a sentence or two."""
    if item.error is not None:
        reason = f"{item.error.title}。{item.error.message}"
    elif item.unconfirmed:
        reason = "重新整理頁面前還在上傳。"
    else:
        reason = "重新整理頁面前沒有送完。"
    if item.content is None and not item.unconfirmed:
        return f"{reason}請在上方重新選擇這個檔案，再按「開始上傳並分析」。"
    return reason


def _render_sidebar(queue: UploadQueue) -> None:
    if not queue.in_flight() and not queue.unsent():
        return

    def render(items: list[UploadItem]) -> None:
        flying = [item for item in items if item.state in IN_FLIGHT]
        unsent = [item for item in items if item.state == UNSENT]
        if flying:
            total = sum(item.size for item in flying) or 1
            done = sum(item.sent_bytes for item in flying)
            st.progress(
                min(done / total, 1.0),
                text=f"正在上傳 {len(flying)} 個檔案，切換頁面不會中斷。",
            )
        if unsent:
            st.warning(f"有 {len(unsent)} 個檔案還沒有送到後端。", icon=":material/warning:")
        st.page_link(UPLOAD_PAGE.path, label="前往檔案上傳", icon=":material/upload_file:")

    with st.sidebar:
        st.subheader("上傳進度")
        # A summary beside another page: polled at the user's pace, not the upload page's
        # (a timer's rerun of the old page can swallow a page switch made just before it).
        follow_queue(queue, render, max(SIDEBAR_EVERY_S, AppSessionState().poll_interval_s))
