"""Error classes, validation, retries, session state and task formatting: no backend needed."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from frontend.utils.config import get_settings
from frontend.utils.error_handler import (
    ERROR_MESSAGES,
    APIError,
    AuthError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConflictError,
    FileError,
    NotFoundError,
    ValidationError,
    format_size,
    get_error_message,
    make_error,
    validate_file_extension,
    validate_file_size,
    with_retry,
)
from frontend.utils.session_state import AppSessionState
from frontend.utils.tasks import (
    FAST_INTERVAL_S,
    format_duration,
    format_time,
    is_final,
    poll_interval,
    status_label,
)

EXTENSIONS = [".csv", ".xlsx", ".txt", ".json"]


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("invalid_api_key", AuthError),
        ("task_not_found", NotFoundError),
        ("not_found", NotFoundError),
        ("task_not_cancellable", ConflictError),
        ("task_not_finished", ConflictError),
        ("validation_error", ValidationError),
        ("file_too_large", FileError),
        ("upload_incomplete", FileError),
        ("connection_error", BackendUnavailableError),
        ("service_unavailable", BackendUnavailableError),
        ("timeout_error", BackendTimeoutError),
        ("internal_error", APIError),
        ("job_failed", APIError),
    ],
)
def test_make_error_picks_the_subclass(code: str, cls: type) -> None:
    error = make_error(code)
    assert type(error) is cls
    assert error.error_code == code
    assert error.message == get_error_message(code) == ERROR_MESSAGES[code].message
    assert error.title == ERROR_MESSAGES[code].title


def test_unknown_code_falls_back_to_zh_text() -> None:
    error = make_error("something_new", "後端的說明。")
    assert error.error_code == "unknown_error"
    assert error.message == "後端的說明。"
    assert get_error_message("something_new") == ERROR_MESSAGES["unknown_error"].message


def test_validate_file_extension() -> None:
    assert validate_file_extension("報價單.CSV", EXTENSIONS) == ".csv"
    with pytest.raises(FileError) as caught:
        validate_file_extension("圖片.png", EXTENSIONS)
    assert caught.value.error_code == "unsupported_file_type"
    assert "圖片.png" in caught.value.message and ".csv" in caught.value.message
    with pytest.raises(FileError, match="無副檔名"):
        validate_file_extension("README", EXTENSIONS)


def test_validate_file_size() -> None:
    validate_file_size("a.csv", 1024, 1024)
    with pytest.raises(FileError) as caught:
        validate_file_size("a.csv", 1025, 1024)
    assert caught.value.error_code == "file_too_large"
    assert caught.value.details["max_bytes"] == 1024
    with pytest.raises(FileError) as caught:
        validate_file_size("a.csv", 0, 1024)
    assert caught.value.error_code == "empty_file"


def test_format_size() -> None:
    assert format_size(512) == "512 B"
    assert format_size(1536) == "1.5 KB"
    assert format_size(3 * 1024 * 1024) == "3.0 MB"


def test_with_retry_retries_only_transient_errors() -> None:
    calls: list[int] = []

    @with_retry(attempts=3, delay_s=0)
    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise make_error("connection_error")
        return "好"

    assert flaky() == "好"
    assert len(calls) == 3

    @with_retry(attempts=3, delay_s=0)
    def refused() -> None:
        calls.append(1)
        raise make_error("invalid_api_key")

    calls.clear()
    with pytest.raises(AuthError):
        refused()
    assert len(calls) == 1


def test_handle_errors_and_display_error_never_show_a_traceback() -> None:
    def script() -> None:
        from frontend.utils.error_handler import handle_errors, make_error

        @handle_errors("儲存失敗")
        def known() -> None:
            raise make_error(
                "validation_error",
                details={"errors": [{"field": "data", "message": "此欄位為必填"}]},
            )

        @handle_errors()
        def unexpected() -> None:
            raise RuntimeError("boom")

        known()
        unexpected()

    at = AppTest.from_function(script).run()
    assert not at.exception
    assert len(at.error) == 2
    assert "儲存失敗：輸入內容有誤" in at.error[0].value
    assert "發生未預期的錯誤" in at.error[1].value
    assert "boom" not in at.error[1].value
    assert at.expander[0].label == "錯誤詳細資訊"


def test_session_state_defaults_come_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_BASE_URL", "http://backend.example:8000")
    monkeypatch.setenv("POLL_INTERVAL_S", "2.5")
    get_settings.cache_clear()
    store: dict[str, Any] = {}
    state = AppSessionState(store)
    state.init_defaults()
    assert state.api_base_url == "http://backend.example:8000"
    assert state.poll_interval_s == 2.5
    state.set("api_base_url", "http://other:1")
    state.init_defaults()  # never overwrites what the user chose
    assert state.api_base_url == "http://other:1"
    state.reset_settings()
    assert state.api_base_url == "http://backend.example:8000"


def test_session_state_messages_files_and_watched_tasks() -> None:
    state = AppSessionState({})
    state.init_defaults()
    state.add_message("已儲存。", "success")
    assert state.get_messages() == [{"text": "已儲存。", "level": "success"}]
    assert state.get_messages() == []

    state.add_uploaded_file("報價單.csv", 10, "t1")
    assert [f["name"] for f in state.get_uploaded_files()] == ["報價單.csv"]

    state.watch_task("upload", "t1")
    state.watch_task("upload", "t1")
    state.watch_task("upload", "t2")
    assert state.watched_tasks("upload") == ["t1", "t2"]
    assert state.watched_tasks("long") == []
    state.remember_final({"task_id": "t1", "status": "completed"})
    assert state.final_task("t1")["status"] == "completed"
    state.forget_task("t1", gone=True)
    assert state.watched_tasks("upload") == ["t2"]
    assert state.final_task("t1") is None
    assert state.is_gone("t1")
    state.clear_watched("upload")
    assert state.watched_tasks("upload") == []


def test_poll_interval_is_fast_first_then_the_users_then_slower() -> None:
    assert poll_interval(0, 1.5) == FAST_INTERVAL_S
    assert poll_interval(10, 1.5) == 1.5
    assert poll_interval(120, 1.5) == 3.0
    assert poll_interval(120, 8) == 10.0
    assert poll_interval(10, 0.1) == FAST_INTERVAL_S


def test_task_formatting() -> None:
    assert format_time("2026-11-28T06:00:00.000Z", "Asia/Taipei") == "2026-11-28 14:00:00"
    assert format_time("2026-11-28T06:00:00.000Z", "Not/AZone") == "2026-11-28 14:00:00"
    assert format_time(None) == "—"
    assert format_duration(5) == "5 秒"
    assert format_duration(125) == "2 分 5 秒"
    assert format_duration(3700) == "1 小時 1 分"
    assert status_label("cancelled") == "已取消"
    assert is_final({"status": "failed"}) and not is_final({"status": "pending"})
