"""Task vocabulary shared by the pages: zh-TW labels, time formatting, polling intervals."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PENDING, PROCESSING, COMPLETED, FAILED, CANCELLED = (
    "pending",
    "processing",
    "completed",
    "failed",
    "cancelled",
)
FINAL_STATUSES = frozenset({COMPLETED, FAILED, CANCELLED})
ACTIVE_STATUSES = frozenset({PENDING, PROCESSING})

STATUS_LABELS = {
    PENDING: "等待中",
    PROCESSING: "處理中",
    COMPLETED: "已完成",
    FAILED: "失敗",
    CANCELLED: "已取消",
}
# Material Symbols, drawn by Streamlit's own icon font (no emoji font needed).
STATUS_ICONS = {
    PENDING: ":material/schedule:",
    PROCESSING: ":material/autorenew:",
    COMPLETED: ":material/check_circle:",
    FAILED: ":material/error:",
    CANCELLED: ":material/block:",
}
KIND_LABELS = {"analyze": "檔案分析", "process": "長時間處理"}

DEFAULT_TIMEZONE = "Asia/Taipei"

# Adaptive polling: quick at first (short jobs finish fast), then the user's interval,
# then slower for jobs that clearly take a while.
FAST_INTERVAL_S = 0.5
FAST_PHASE_S = 5.0
SLOW_PHASE_S = 60.0
SLOWEST_INTERVAL_S = 10.0


def is_final(task: dict[str, Any]) -> bool:
    return task.get("status") in FINAL_STATUSES


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def status_icon(status: str) -> str:
    return STATUS_ICONS.get(status, ":material/help:")


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def task_title(task: dict[str, Any]) -> str:
    return task.get("filename") or kind_label(task.get("kind", ""))


def poll_interval(elapsed_s: float, user_interval_s: float) -> float:
    """Seconds until the next progress check, `elapsed_s` after watching started."""
    user_interval_s = max(FAST_INTERVAL_S, user_interval_s)
    if elapsed_s < FAST_PHASE_S:
        return FAST_INTERVAL_S
    if elapsed_s < SLOW_PHASE_S:
        return user_interval_s
    return max(user_interval_s, min(user_interval_s * 2, SLOWEST_INTERVAL_S))


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def format_time(value: str | None, timezone: str | None = None) -> str:
    moment = parse_time(value)
    if moment is None:
        return "—"
    return moment.astimezone(_zone(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} 秒"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} 分 {seconds} 秒"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} 小時 {minutes} 分"


def task_duration_s(task: dict[str, Any]) -> float | None:
    start = parse_time(task.get("started_at"))
    end = parse_time(task.get("finished_at")) or parse_time(task.get("updated_at"))
    if start is None or end is None:
        return None
    return (end - start).total_seconds()
