"""The frame of the app: `streamlit run frontend/app.py` from the repository root, once
the project is installed (`pip install -e .`, which `run.sh` does).

Page config, session defaults, the shared sidebar, the tab's uploads and the completion
notices of its tasks, then the page the user chose.
"""

from __future__ import annotations

import streamlit as st

from frontend.components.connection import (
    check_connection,
    render_sidebar_status,
    render_unusable_backend,
)
from frontend.components.notices import follow_started_tasks
from frontend.components.uploads import follow_uploads
from frontend.utils.backend import backend_vocabulary
from frontend.utils.session_state import AppSessionState

st.set_page_config(page_title="資料處理工作台", page_icon=":material/analytics:", layout="wide")

state = AppSessionState()
state.init_defaults()

# Pages live in app_pages/, not pages/: a pages/ folder triggers Streamlit's legacy
# auto-discovery, which conflicts with st.navigation.
settings_page = st.Page("app_pages/settings.py", title="設定", icon=":material/settings:")
page = st.navigation(
    [
        st.Page("app_pages/home.py", title="首頁", icon=":material/home:", default=True),
        st.Page("app_pages/file_upload.py", title="檔案上傳", icon=":material/upload_file:"),
        st.Page("app_pages/long_task.py", title="長時間任務", icon=":material/hourglass_top:"),
        st.Page("app_pages/task_management.py", title="任務管理", icon=":material/list_alt:"),
        settings_page,
    ]
)

check = check_connection()
render_sidebar_status(check)

_FLASH = {
    "success": (st.success, ":material/check_circle:"),
    "info": (st.info, ":material/info:"),
    "warning": (st.warning, ":material/warning:"),
    "error": (st.error, ":material/error:"),
}
for message in state.get_messages():
    show, icon = _FLASH.get(message["level"], _FLASH["info"])
    show(message["text"], icon=icon)

# The settings page must stay reachable: it is where a wrong URL or key gets fixed.
if not check.usable and page.url_path != settings_page.url_path:
    render_unusable_backend(check)
    st.stop()

if check.usable:
    follow_uploads(page.url_path)  # first: the files it sent become tasks to announce
    follow_started_tasks(backend_vocabulary(), page.url_path)
page.run()
