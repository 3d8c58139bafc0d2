"""How an `AppError` is shown on a page: what happened, what to do, and the codes for
whoever has to look into it."""

from __future__ import annotations

import streamlit as st

from frontend.utils.errors import AppError

_DETAIL_LABELS = {
    "filename": "檔名",
    "size_bytes": "檔案大小（位元組）",
    "max_bytes": "大小上限（位元組）",
    "task_id": "任務 ID",
    "url": "網址",
}


def display_error(error: AppError, *, context: str | None = None) -> None:
    """st.error with what happened and what to do; codes and field errors in an expander."""
    heading = f"{context}：{error.title}" if context else error.title
    st.error(f"**{heading}**  \n{error.message}  \n{error.action}", icon=":material/error:")
    field_errors = error.details.get("errors") or []
    extra = {k: v for k, v in error.details.items() if k != "errors"}
    if field_errors or extra or error.status:
        with st.expander("錯誤詳細資訊"):
            st.markdown(f"錯誤代碼：`{error.code}`")
            if error.status:
                st.markdown(f"HTTP 狀態：`{error.status}`")
            for item in field_errors:
                field = item.get("field") or "請求內容"
                st.markdown(f"- 欄位 `{field}`：{item.get('message', '')}")
            for key, value in extra.items():
                st.markdown(f"- {_DETAIL_LABELS.get(key, key)}：{value}")


def display_success(message: str) -> None:
    """st.success with the check-mark icon."""
    st.success(message, icon=":material/check_circle:")
