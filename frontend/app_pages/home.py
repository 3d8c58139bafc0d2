"""首頁: backend status, task counts, where tasks run, the latest tasks, the way to every page."""

from __future__ import annotations

import streamlit as st

from frontend.components.errors import display_error
from frontend.components.task_table import BRIEF_COLUMNS, render_task_table
from frontend.utils.backend import backend_vocabulary, current_client
from frontend.utils.errors import AppError
from frontend.utils.models import RunnerStatus
from frontend.utils.tasks import status_label, statuses
from frontend.utils.vocabulary import label

LATEST_COUNT = 5
WORKER_START_COMMAND = "celery -A backend.worker worker"


def render_runner(runner: RunnerStatus, grid: int) -> None:
    """With Celery, the workers online and the queue (cells as wide as those of a `grid`-column
    row); a queue no worker will take is said, with the command that starts one."""
    if runner.runner != "celery":
        return
    online, queued = st.columns(grid)[:2]
    for cell, name, value in (
        (online, "線上 worker", runner.workers_online),
        (queued, "佇列中的任務", runner.queue_length),
    ):
        cell.metric(name, "—" if value is None else f"{value:,}", border=True)
    start = (
        f"請在專案資料夾執行 `{WORKER_START_COMMAND}`（Windows：雙擊 `run_worker.bat`），"
        "並使用和後端相同的 `TASK_STORE` 設定。"
    )
    if runner.waiting_for_workers:
        st.warning(
            f"目前沒有線上的 worker：佇列中的 {runner.queue_length:,} 個任務會一直等待，"
            f"直到有 worker 啟動。{start}",
            icon=":material/warning:",
        )
    elif runner.workers_online == 0:
        st.info(f"目前沒有線上的 worker，新送出的任務會等到 worker 啟動後才執行。{start}")


st.title("資料處理工作台")
st.caption("上傳 Excel 匯出的資料檔即可分析內容，長時間的處理工作也能在背景執行並隨時查看進度。")

vocabulary = backend_vocabulary()
client = current_client()
try:
    health = client.health()
    latest = client.list_tasks(limit=LATEST_COUNT)
except AppError as exc:
    display_error(exc, context="無法取得後端狀態")
    st.stop()

st.subheader("任務統計")
counts = health.get("tasks") or {}
shown_statuses = statuses(vocabulary)
for cell, status in zip(st.columns(len(shown_statuses)), shown_statuses, strict=True):
    cell.metric(status_label(vocabulary, status), f"{counts.get(status, 0):,}", border=True)
store = str(health.get("store", ""))
store_text = label(vocabulary, "stores", store.split(":", 1)[0], store or "—") if store else "—"
runner = RunnerStatus.from_health(health)
st.caption(
    f"後端版本 {health.get('version', '—')}，任務儲存方式：{store_text}，"
    f"執行方式：{label(vocabulary, 'runners', runner.runner, runner.runner)}"
)
render_runner(runner, len(shown_statuses))

st.subheader("最近的任務")
items = latest.get("items") or []
if items:
    render_task_table(vocabulary, items, BRIEF_COLUMNS)
    st.caption(f"共 {latest.get('total', len(items)):,} 個任務，完整清單請見「任務管理」。")
else:
    st.info("目前還沒有任務。先到「檔案上傳」上傳一個檔案試試看。")

st.subheader("開始使用")
left, middle, right = st.columns(3)
with left.container(border=True):
    st.page_link("app_pages/file_upload.py", label="檔案上傳", icon=":material/upload_file:")
    st.caption("一次上傳多個 CSV、Excel、文字或 JSON 檔，查看欄位統計、圖表與預覽。")
with middle.container(border=True):
    st.page_link("app_pages/long_task.py", label="長時間任務", icon=":material/hourglass_top:")
    st.caption("送出需要較久時間的處理工作，即時查看進度，必要時可以取消。")
with right.container(border=True):
    st.page_link("app_pages/task_management.py", label="任務管理", icon=":material/list_alt:")
    st.caption("查看所有任務、篩選狀態，檢視結果、取消或刪除任務。")
st.page_link(
    "app_pages/settings.py", label="設定：API 網址、金鑰與更新頻率", icon=":material/settings:"
)
