"""The table of tasks the home page and 任務管理 both show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from frontend.utils.formatting import format_size, format_time
from frontend.utils.tasks import eta_text, kind_label, status_label, task_title
from frontend.utils.vocabulary import Vocabulary

BRIEF_COLUMNS = ("名稱", "種類", "狀態", "進度", "剩餘時間", "階段", "建立時間")
FULL_COLUMNS = (
    "名稱", "種類", "狀態", "進度", "剩餘時間", "階段", "大小", "建立時間", "完成時間",
)  # fmt: skip


def task_frame(
    vocabulary: Vocabulary,
    tasks: list[dict[str, Any]],
    columns: Sequence[str] = FULL_COLUMNS,
    timezone: str | None = None,
) -> pd.DataFrame:
    rows = []
    for task in tasks:
        cells = {
            "名稱": task_title(vocabulary, task),
            "種類": kind_label(vocabulary, task["kind"]),
            "狀態": status_label(vocabulary, task["status"]),
            "進度": float(task.get("progress") or 0),
            "剩餘時間": eta_text(task) or "—",
            "階段": task.get("message") or "",
            "大小": format_size(task["size_bytes"]) if task.get("size_bytes") else "—",
            "建立時間": format_time(task.get("created_at"), timezone, brief=True),
            "完成時間": format_time(task.get("finished_at"), timezone, brief=True),
        }
        rows.append({column: cells[column] for column in columns})
    return pd.DataFrame(rows, columns=list(columns))


def render_task_table(
    vocabulary: Vocabulary, tasks: list[dict[str, Any]], columns: Sequence[str] = FULL_COLUMNS
) -> None:
    st.dataframe(
        task_frame(vocabulary, tasks, columns, st.context.timezone),
        hide_index=True,
        width="stretch",
        column_config={
            "進度": st.column_config.ProgressColumn(
                "進度", min_value=0, max_value=100, format="%.0f%%"
            ),
        },
    )
