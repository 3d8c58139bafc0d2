"""What the pages know about tasks: the statuses they act on, icons, names, polling."""

from __future__ import annotations

from typing import Any

from frontend.utils.formatting import format_eta, parse_time
from frontend.utils.vocabulary import Vocabulary, label

PENDING, PROCESSING, COMPLETED, FAILED, CANCELLED = (
    "pending",
    "processing",
    "completed",
    "failed",
    "cancelled",
)
STATUSES = (PENDING, PROCESSING, COMPLETED, FAILED, CANCELLED)
FINAL_STATUSES = frozenset({COMPLETED, FAILED, CANCELLED})
ACTIVE_STATUSES = frozenset({PENDING, PROCESSING})

# Material Symbols, drawn by Streamlit's own icon font (no emoji font needed).
STATUS_ICONS = {
    PENDING: ":material/schedule:",
    PROCESSING: ":material/autorenew:",
    COMPLETED: ":material/check_circle:",
    FAILED: ":material/error:",
    CANCELLED: ":material/block:",
}

# Adaptive polling: quick at first (short jobs finish fast), then the user's interval,
# then slower for jobs that clearly take a while.
FAST_INTERVAL_S = 0.5
FAST_PHASE_S = 5.0
SLOW_PHASE_S = 60.0
SLOWEST_INTERVAL_S = 10.0
ESTIMATING = "估算中"


def is_final(task: dict[str, Any]) -> bool:
    return task.get("status") in FINAL_STATUSES


def statuses(vocabulary: Vocabulary) -> list[str]:
    """Every status, in the backend's order."""
    return list(vocabulary.get("statuses") or STATUSES)


def status_label(vocabulary: Vocabulary, status: str) -> str:
    return label(vocabulary, "statuses", status)


def status_icon(status: str) -> str:
    return STATUS_ICONS.get(status, ":material/help:")


def kind_label(vocabulary: Vocabulary, kind: str) -> str:
    return label(vocabulary, "kinds", kind)


def task_title(vocabulary: Vocabulary, task: dict[str, Any]) -> str:
    return task.get("filename") or kind_label(vocabulary, task.get("kind", ""))


def eta_text(task: dict[str, Any]) -> str:
    """The time a task has left, as its progress bar says it: only while it is processed,
    「估算中」 until the backend has seen enough progress to estimate (`eta_s` is null)."""
    if task.get("status") != PROCESSING:
        return ""
    return format_eta(task.get("eta_s")) or ESTIMATING


def poll_interval(elapsed_s: float, user_interval_s: float) -> float:
    """Seconds until the next progress check, `elapsed_s` after watching started."""
    user_interval_s = max(FAST_INTERVAL_S, user_interval_s)
    if elapsed_s < FAST_PHASE_S:
        return FAST_INTERVAL_S
    if elapsed_s < SLOW_PHASE_S:
        return user_interval_s
    return max(user_interval_s, min(user_interval_s * 2, SLOWEST_INTERVAL_S))


def task_duration_s(task: dict[str, Any]) -> float | None:
    start = parse_time(task.get("started_at"))
    end = parse_time(task.get("finished_at")) or parse_time(task.get("updated_at"))
    if start is None or end is None:
        return None
    return (end - start).total_seconds()
