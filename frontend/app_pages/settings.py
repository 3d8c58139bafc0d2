"""設定: this session's API URL, API key, poll interval and maximum wait."""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from frontend.components.errors import display_error, display_success
from frontend.utils.backend import clear_connection_caches, get_api_client
from frontend.utils.config import get_settings
from frontend.utils.errors import AppError, ValidationError
from frontend.utils.session_state import (
    API_BASE_URL,
    API_KEY,
    MAX_WAIT,
    POLL_INTERVAL,
    SETTING_KEYS,
    AppSessionState,
    rerun,
    setting_defaults,
)
from frontend.utils.validation import validate_range

MIN_POLL_S, MAX_POLL_S = 0.5, 30.0
MIN_WAIT_S, MAX_WAIT_S = 10, 24 * 3600
POLL_LABEL, WAIT_LABEL = "進度更新間隔（秒）", "最長等待時間（秒）"
FORM_KEYS = {key: f"settings_{key}" for key in SETTING_KEYS}

state = AppSessionState()


def _load_form_from_session() -> None:
    for key, form_key in FORM_KEYS.items():
        st.session_state[form_key] = state.get(key)


def _reset_to_defaults() -> None:
    state.reset_settings()
    _load_form_from_session()
    clear_connection_caches()
    state.add_message("已重設為預設值（來自環境變數或 .env）。", "success")


def _validated_form() -> dict[str, object]:
    url = str(st.session_state[FORM_KEYS[API_BASE_URL]]).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(
            "invalid_url",
            f"「{url or '（空白）'}」不是有效的網址，必須以 http:// 或 https:// 開頭。",
        )
    poll_interval = float(st.session_state[FORM_KEYS[POLL_INTERVAL]])
    validate_range(POLL_LABEL, poll_interval, MIN_POLL_S, MAX_POLL_S, "秒")
    max_wait = int(st.session_state[FORM_KEYS[MAX_WAIT]])
    validate_range(WAIT_LABEL, max_wait, MIN_WAIT_S, MAX_WAIT_S, "秒")
    return {
        API_BASE_URL: url,
        API_KEY: str(st.session_state[FORM_KEYS[API_KEY]]).strip(),
        POLL_INTERVAL: poll_interval,
        MAX_WAIT: max_wait,
    }


if any(form_key not in st.session_state for form_key in FORM_KEYS.values()):
    _load_form_from_session()

st.title("設定")
st.caption("這些設定只影響目前這個瀏覽器分頁；重新整理頁面後會回到預設值。")

with st.form("settings_form"):
    st.markdown("##### 後端連線")
    st.text_input(
        "API 網址",
        key=FORM_KEYS[API_BASE_URL],
        help="後端服務的位址，例如 http://localhost:8000（不要加上 /api）。",
    )
    st.text_input(
        "API 金鑰",
        key=FORM_KEYS[API_KEY],
        type="password",
        help="後端有設定 API_KEY 時才需要填寫。",
    )
    st.markdown("##### 進度更新")
    st.number_input(
        POLL_LABEL,
        key=FORM_KEYS[POLL_INTERVAL],
        step=0.5,
        format="%.1f",
        help=f"{MIN_POLL_S:g}–{MAX_POLL_S:g} 秒。任務開始的前 5 秒每 0.5 秒更新一次，"
        "之後依這個間隔更新；超過 1 分鐘的任務更新頻率再減半。",
    )
    st.number_input(
        WAIT_LABEL,
        key=FORM_KEYS[MAX_WAIT],
        step=30,
        help=f"{MIN_WAIT_S:,}–{MAX_WAIT_S:,} 秒。超過這個時間，會暫停自動更新並詢問你要繼續等待還是取消任務。",
    )
    save_col, test_col, _ = st.columns([1, 1, 3])
    saved = save_col.form_submit_button("儲存設定", type="primary", width="stretch")
    tested = test_col.form_submit_button("測試連線", width="stretch")

st.button("重設為預設值", on_click=_reset_to_defaults, key="settings_reset")


def _test_connection(values: dict[str, object]) -> str:
    """A zh-TW summary of the backend these settings reach; raises AppError."""
    client = get_api_client(str(values[API_BASE_URL]), str(values[API_KEY]))
    health = client.health()
    config = client.get_config()
    return (
        f"連線成功：後端版本 {health.get('version', '—')}，"
        f"單檔上限 {config.get('max_upload_mb', '—')} MB，"
        f"{'需要' if config.get('auth_required') else '不需要'} API 金鑰。"
    )


if saved or tested:
    try:
        values = _validated_form()
    except AppError as exc:
        display_error(exc)
        st.stop()
    if saved:
        state.update(**values)
        clear_connection_caches()
        state.add_message("設定已儲存。", "success")
        try:
            state.add_message(_test_connection(values), "success")
        except AppError as exc:
            state.add_message(f"{exc.title}：{exc.message}{exc.action}", "error")
        # Rerun so that the sidebar shows the status with the new settings.
        rerun()
    try:
        display_success(_test_connection(values))
    except AppError as exc:
        display_error(exc, context="連線測試失敗")

with st.expander("目前生效的設定"):
    defaults = setting_defaults()
    shown = {
        "API 網址": state.api_base_url,
        "API 金鑰": "已設定" if state.api_key else "未設定",
        "進度更新間隔（秒）": state.poll_interval_s,
        "最長等待時間（秒）": state.max_wait_s,
    }
    for label, value in shown.items():
        st.markdown(f"- {label}：`{value}`")
    st.caption(
        f"預設值來自環境變數 API_BASE_URL、API_KEY 或 .env：{defaults[API_BASE_URL]}"
        f"（讀取逾時 {get_settings().read_timeout_s:g} 秒）"
    )
