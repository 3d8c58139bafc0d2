"""Error classes, validation, session state and task formatting: no page needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from frontend.utils.config import get_settings
from frontend.utils.errors import (
    CLIENT_ERRORS,
    APIError,
    AuthError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConflictError,
    FileError,
    NotFoundError,
    ValidationError,
    backend_error,
)
from frontend.utils.formatting import format_duration, format_size, format_time
from frontend.utils.session_state import AppSessionState
from frontend.utils.tasks import FAST_INTERVAL_S, is_final, poll_interval, status_label
from frontend.utils.validation import validate_file_extension, validate_file_size
from frontend.utils.vocabulary import Vocabulary, clear_missing_labels, missing_labels

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
def test_make_error_picks_the_subclass(code: str, cls: type, vocabulary: Vocabulary) -> None:
    """Backend codes in the backend's words, the frontend's own codes in its words."""
    error = backend_error(vocabulary, code)
    assert type(error) is cls
    assert error.code == code
    backend_text = vocabulary["errors"].get(code)
    if backend_text is None:
        assert error.message == CLIENT_ERRORS[code]["detail"]
        assert error.title == CLIENT_ERRORS[code]["title"]
    else:
        assert error.message == backend_text["detail"]
        assert error.title == backend_text["title"]


def test_unknown_code_falls_back_to_zh_text(vocabulary: Vocabulary) -> None:
    clear_missing_labels()
    error = backend_error(vocabulary, "something_new", "後端的說明。")
    assert error.code == "unknown_error"
    assert error.message == "後端的說明。"
    assert (
        backend_error(vocabulary, "something_new").message
        == (CLIENT_ERRORS["unknown_error"]["detail"])
    )
    assert missing_labels() == {("errors", "something_new")}
    clear_missing_labels()


def test_validate_file_extension() -> None:
    assert validate_file_extension("報價單.CSV", EXTENSIONS) == ".csv"
    with pytest.raises(FileError) as caught:
        validate_file_extension("圖片.png", EXTENSIONS)
    assert caught.value.code == "unsupported_file_type"
    assert "圖片.png" in caught.value.message and ".csv" in caught.value.message
    with pytest.raises(FileError, match="無副檔名"):
        validate_file_extension("README", EXTENSIONS)


def test_validate_file_size() -> None:
    validate_file_size("a.csv", 1024, 1024)
    with pytest.raises(FileError) as caught:
        validate_file_size("a.csv", 1025, 1024)
    assert caught.value.code == "file_too_large"
    assert caught.value.details["max_bytes"] == 1024
    with pytest.raises(FileError) as caught:
        validate_file_size("a.csv", 0, 1024)
    assert caught.value.code == "empty_file"


def test_format_size() -> None:
    assert format_size(512) == "512 B"
    assert format_size(1536) == "1.5 KB"
    assert format_size(3 * 1024 * 1024) == "3.0 MB"


def test_display_error_never_shows_a_traceback() -> None:
    def script() -> None:
        from frontend.components.errors import display_error
        from frontend.utils.errors import make_error

        display_error(
            make_error(
                "invalid_input",
                details={"errors": [{"field": "data", "message": "此欄位為必填"}]},
            ),
            context="儲存失敗",
        )
        display_error(make_error("unknown_error"))

    at = AppTest.from_function(script).run()
    assert not at.exception
    assert len(at.error) == 2
    assert "儲存失敗：輸入內容有誤" in at.error[0].value
    assert "發生未預期的錯誤" in at.error[1].value
    assert at.expander[0].label == "錯誤詳細資訊"
    assert "此欄位為必填" in at.expander[0].markdown[1].value


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
    saved = [{"text": "已儲存。", "level": "success"}]
    assert state.get_messages() == saved
    # A rerun the app asks for right after the action shows it again ...
    state.keep_messages()
    state.add_message("已重新檢查後端連線。", "info")
    assert state.get_messages() == [*saved, {"text": "已重新檢查後端連線。", "level": "info"}]
    # ... the user's next interaction does not.
    assert state.get_messages() == []
    state.keep_messages()
    assert state.get_messages() == []
    # The same outcome twice is one message.
    state.add_message("已儲存。", "success")
    state.add_message("已儲存。", "success")
    assert state.get_messages() == saved

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


def test_task_formatting(vocabulary: Vocabulary) -> None:
    assert format_time("2026-11-28T06:00:00.000Z", "Asia/Taipei") == "2026-11-28 14:00:00"
    assert format_time("2026-11-28T06:00:00.000Z", "Not/AZone") == "2026-11-28 14:00:00"
    assert format_time(None) == "—"
    # Tables leave out this year (in the browser's zone: 2026-12-31 16:00Z is 2027 there).
    now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert format_time("2026-11-28T06:00:00Z", "Asia/Taipei", brief=True, now=now) == (
        "11-28 14:00:00"
    )
    assert format_time("2025-11-28T06:00:00Z", "Asia/Taipei", brief=True, now=now) == (
        "2025-11-28 14:00:00"
    )
    new_year = datetime(2027, 1, 1, 1, 0, tzinfo=UTC)
    assert format_time("2026-12-31T16:30:00Z", "Asia/Taipei", brief=True, now=new_year) == (
        "01-01 00:30:00"
    )
    assert format_duration(5) == "5 秒"
    assert format_duration(125) == "2 分 5 秒"
    assert format_duration(3700) == "1 小時 1 分"
    assert status_label(vocabulary, "cancelled") == "已取消"
    assert status_label({}, "cancelled") == "cancelled"  # no vocabulary: the raw value
    assert is_final({"status": "failed"}) and not is_final({"status": "pending"})
