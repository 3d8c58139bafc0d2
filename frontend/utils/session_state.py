"""Per-user state: connection settings, flash messages, uploaded files, watched tasks,
completion notices.

Everything here lives in `st.session_state`, which is per browser session; nothing is
shared between users. Keys used by one page only carry that page's prefix
(`upload_`, `long_`, `tasks_`, `settings_`).
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any, Literal, NoReturn

import streamlit as st

from frontend.utils.config import get_settings

MessageLevel = Literal["success", "info", "warning", "error"]

API_BASE_URL = "api_base_url"
API_KEY = "api_key"
POLL_INTERVAL = "poll_interval_s"
MAX_WAIT = "max_wait_s"
MESSAGES = "messages"
MESSAGES_ON_SCREEN = "messages_on_screen"
KEEP_MESSAGES = "keep_messages"
UPLOADED_FILES = "uploaded_files"
WATCHED_TASKS = "watched_tasks"
FINAL_TASKS = "final_tasks"
GONE_TASKS = "gone_tasks"
UNANNOUNCED_TASKS = "unannounced_tasks"
ANNOUNCED_TASKS = "announced_tasks"
NOTICES = "notices"
MAX_NOTICES = 5
HINT_PREFIX = "hint_"
HINT_S = 10.0

SETTING_KEYS = (API_BASE_URL, API_KEY, POLL_INTERVAL, MAX_WAIT)


def setting_defaults() -> dict[str, Any]:
    settings = get_settings()
    return {
        API_BASE_URL: settings.api_base_url,
        API_KEY: settings.api_key,
        POLL_INTERVAL: settings.poll_interval_s,
        MAX_WAIT: settings.max_wait_s,
    }


class AppSessionState:
    """Typed access to `st.session_state` (or any mapping, for tests)."""

    def __init__(self, state: MutableMapping[str, Any] | None = None) -> None:
        self._state = st.session_state if state is None else state

    def init_defaults(self) -> None:
        defaults: dict[str, Any] = {
            **setting_defaults(),
            MESSAGES: [],
            UPLOADED_FILES: [],
            # scope ("upload" / "long") -> task ids, oldest first
            WATCHED_TASKS: {},
            # task id -> the task as last seen in a final status
            FINAL_TASKS: {},
            # ids the backend no longer knows (deleted or expired)
            GONE_TASKS: set(),
            # tasks this tab started whose finish is still to be announced, oldest first
            UNANNOUNCED_TASKS: [],
            # ... and those whose finish was announced (or seen on their own page)
            ANNOUNCED_TASKS: set(),
            # finishes announced, newest first: {"task_id", "kind", "status", "text"}
            NOTICES: [],
        }
        for key, value in defaults.items():
            if key not in self._state:
                self._state[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        return self._state.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._state[key] = value

    def update(self, **values: Any) -> None:
        for key, value in values.items():
            self._state[key] = value

    def reset_settings(self) -> None:
        self.update(**setting_defaults())

    # --- connection ----------------------------------------------------------------

    @property
    def api_base_url(self) -> str:
        return self._state[API_BASE_URL]

    @property
    def api_key(self) -> str:
        return self._state[API_KEY]

    @property
    def poll_interval_s(self) -> float:
        return float(self._state[POLL_INTERVAL])

    @property
    def max_wait_s(self) -> int:
        return int(self._state[MAX_WAIT])

    # --- flash messages: shown on the next run, and kept through the app's own reruns --
    # An action's outcome is often followed at once by a rerun the app asks for itself
    # (a task reached its final status, a completion notice is due); a message shown for
    # that one run would flash by unread. The user's next interaction clears it.

    def add_message(self, text: str, level: MessageLevel = "info") -> None:
        """Queue `text` to be shown at the top of the next run."""
        self._state[MESSAGES].append({"text": text, "level": level})

    def keep_messages(self) -> None:
        """Show this run's messages again in the next run; call just before `st.rerun()`."""
        self._state[KEEP_MESSAGES] = True

    def get_messages(self) -> list[dict[str, str]]:
        """The messages to show in this run, as `{"text", "level"}` dicts, oldest first.

        Those queued since the last call, preceded by the last call's if `keep_messages`
        was called in between; a text appears once, with its newest level.
        """
        kept = self._state.get(MESSAGES_ON_SCREEN, []) if self._state.get(KEEP_MESSAGES) else []
        by_text = {m["text"]: m for m in [*kept, *self._state[MESSAGES]]}
        shown = list(by_text.values())
        self._state[MESSAGES] = []
        self._state[MESSAGES_ON_SCREEN] = shown
        self._state[KEEP_MESSAGES] = False
        return shown

    # --- hints: a line a page shows for a few seconds, whatever reruns meanwhile ------

    def set_hint(self, scope: str, text: str, seconds: float = HINT_S) -> None:
        self._state[f"{HINT_PREFIX}{scope}"] = (text, time.monotonic() + seconds)

    def clear_hint(self, scope: str) -> None:
        self._state.pop(f"{HINT_PREFIX}{scope}", None)

    def hint(self, scope: str) -> str | None:
        text, until = self._state.get(f"{HINT_PREFIX}{scope}", ("", 0.0))
        return text if time.monotonic() < until else None

    # --- files uploaded in this session ---------------------------------------------

    def add_uploaded_file(self, name: str, size_bytes: int, task_id: str) -> None:
        self._state[UPLOADED_FILES].append(
            {"name": name, "size_bytes": size_bytes, "task_id": task_id, "uploaded_at": time.time()}
        )

    def get_uploaded_files(self) -> list[dict[str, Any]]:
        return list(self._state[UPLOADED_FILES])

    # --- watched tasks ----------------------------------------------------------------

    def watched_tasks(self, scope: str) -> list[str]:
        return list(self._state[WATCHED_TASKS].get(scope, []))

    def watch_task(self, scope: str, task_id: str) -> None:
        ids = self._state[WATCHED_TASKS].setdefault(scope, [])
        if task_id not in ids:
            ids.append(task_id)

    def unwatch_task(self, scope: str, task_id: str) -> None:
        ids = self._state[WATCHED_TASKS].get(scope, [])
        if task_id in ids:
            ids.remove(task_id)

    def clear_watched(self, scope: str) -> None:
        self._state[WATCHED_TASKS][scope] = []

    def remember_final(self, task: dict[str, Any]) -> None:
        self._state[FINAL_TASKS][task["task_id"]] = task

    def final_task(self, task_id: str) -> dict[str, Any] | None:
        return self._state[FINAL_TASKS].get(task_id)

    def forget_task(self, task_id: str, *, gone: bool = False) -> None:
        if gone:
            self._state[GONE_TASKS].add(task_id)
        self._state[FINAL_TASKS].pop(task_id, None)
        for ids in self._state[WATCHED_TASKS].values():
            if task_id in ids:
                ids.remove(task_id)
        self.mark_announced(task_id)
        self.dismiss_notice(task_id)

    def is_gone(self, task_id: str) -> bool:
        return task_id in self._state[GONE_TASKS]

    # --- completion notices -------------------------------------------------------------

    def announce_when_finished(self, task_id: str) -> None:
        ids = self._state[UNANNOUNCED_TASKS]
        if task_id not in ids and task_id not in self._state[ANNOUNCED_TASKS]:
            ids.append(task_id)

    def unannounced_tasks(self) -> list[str]:
        return list(self._state[UNANNOUNCED_TASKS])

    def mark_announced(self, task_id: str) -> None:
        if task_id in self._state[UNANNOUNCED_TASKS]:
            self._state[UNANNOUNCED_TASKS].remove(task_id)
            self._state[ANNOUNCED_TASKS].add(task_id)

    def add_notice(self, notice: dict[str, Any]) -> None:
        self.dismiss_notice(notice["task_id"])
        self._state[NOTICES] = [notice, *self._state[NOTICES]][:MAX_NOTICES]

    def notices(self) -> list[dict[str, Any]]:
        return list(self._state[NOTICES])

    def dismiss_notice(self, task_id: str) -> None:
        self._state[NOTICES] = [n for n in self._state[NOTICES] if n["task_id"] != task_id]

    def clear_notices(self) -> None:
        self._state[NOTICES] = []


def rerun() -> NoReturn:
    """`st.rerun()` for reruns the app asks for itself: the messages on screen stay."""
    AppSessionState().keep_messages()
    st.rerun()
