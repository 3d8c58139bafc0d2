"""Whether this session's backend can be used, and the sidebar status box that says so."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from frontend.components.errors import display_error
from frontend.utils.backend import (
    backend_config,
    backend_vocabulary,
    clear_connection_caches,
    current_client,
)
from frontend.utils.errors import BACKEND_START_COMMAND, AppError, AuthError
from frontend.utils.session_state import AppSessionState

SETTINGS_PAGE = "app_pages/settings.py"


@dataclass(frozen=True)
class ConnectionCheck:
    reachable: bool
    health: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    error: AppError | None = None

    @property
    def usable(self) -> bool:
        return self.reachable and self.config is not None


def check_connection() -> ConnectionCheck:
    """Health (no key needed), then the config (needs a valid key)."""
    try:
        client = current_client()
    except AppError as exc:
        return ConnectionCheck(reachable=False, error=exc)
    status = client.check_backend_connection()
    if not status.ok:
        return ConnectionCheck(reachable=False, error=status.error)
    try:
        config = backend_config()
    except AppError as exc:
        return ConnectionCheck(reachable=True, health=status.health, error=exc)
    return ConnectionCheck(reachable=True, health=status.health, config=config)


def _recheck() -> None:
    clear_connection_caches()
    AppSessionState().add_message("已重新檢查後端連線。", "info")


def render_sidebar_status(check: ConnectionCheck) -> None:
    state = AppSessionState()
    with st.sidebar:
        st.subheader("後端狀態")
        if check.usable:
            st.success("後端已連線", icon=":material/check_circle:")
            health = check.health or {}
            st.caption(f"版本 {health.get('version', '—')}　·　`{state.api_base_url}`")
            if not backend_vocabulary():
                st.caption("無法取得後端的中文名稱對照表，部分項目會以原始代碼顯示。")
        elif check.reachable:
            st.warning("後端已連線，但無法使用 API", icon=":material/warning:")
            if check.error is not None:
                st.caption(f"{check.error.title}：{check.error.action}")
        else:
            st.error("無法連線到後端", icon=":material/error:")
            st.caption(f"`{state.api_base_url}`")
        st.button("檢查連線", key="sidebar_check", on_click=_recheck, width="stretch")


def render_unusable_backend(check: ConnectionCheck) -> None:
    """Main-area explanation when no page can work; the caller then calls st.stop()."""
    state = AppSessionState()
    if check.reachable and isinstance(check.error, AuthError):
        st.title("需要正確的 API 金鑰")
        display_error(check.error)
    elif check.reachable:
        st.title("後端無法使用")
        if check.error is not None:
            display_error(check.error)
    else:
        st.title("無法連線到後端服務")
        if check.error is not None:
            display_error(check.error)
        port = urlsplit(state.api_base_url).port or 8000
        st.markdown(
            f"目前設定的 API 網址是 `{state.api_base_url}`。請先啟動後端："
            "用 `./run.sh`（Windows 雙擊 `run_backend.bat`）會一併啟動，"
            "或在專案資料夾執行："
        )
        st.code(BACKEND_START_COMMAND.format(port=port), language="bash")
        st.markdown("啟動後按左側的「檢查連線」。如果後端在別的位址，請到「設定」頁修改 API 網址。")
    st.page_link(SETTINGS_PAGE, label="前往設定頁", icon=":material/settings:")
