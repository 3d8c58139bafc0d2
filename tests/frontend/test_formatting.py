"""Remaining time, completion notice texts, the notices' session state and date ranges:
no page and no backend needed."""

from __future__ import annotations

import pytest

from frontend.components.analysis.tables import date_range_frame
from frontend.components.analysis.values import date_span
from frontend.components.notices import RESULT_PAGES, notice_text
from frontend.components.task_table import BRIEF_COLUMNS, FULL_COLUMNS, task_frame
from frontend.utils.formatting import format_eta
from frontend.utils.session_state import MAX_NOTICES, AppSessionState
from frontend.utils.tasks import ESTIMATING, eta_text
from frontend.utils.vocabulary import Vocabulary


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (130, "約剩 2 分 10 秒"),
        (134.9, "約剩 2 分 10 秒"),  # ten-second steps above a minute
        (45, "約剩 45 秒"),
        (47.6, "約剩 50 秒"),  # five-second steps below a minute
        (5, "約剩 5 秒"),
        (4.9, "即將完成"),
        (0, "即將完成"),
        (58, "約剩 1 分"),
        (120, "約剩 2 分"),
        (3599, "約剩 1 小時"),
        (3725, "約剩 1 小時 2 分"),  # whole minutes above an hour
        (90_000, "約剩 25 小時"),
    ],
)
def test_format_eta(seconds: float, text: str) -> None:
    assert format_eta(seconds) == text


@pytest.mark.parametrize("seconds", [None, -1, float("nan"), float("inf"), True])
def test_format_eta_without_a_usable_estimate(seconds: float | None) -> None:
    assert format_eta(seconds) == ""


def test_eta_text_only_while_processing() -> None:
    assert eta_text({"status": "processing", "eta_s": 130.4}) == "約剩 2 分 10 秒"
    assert eta_text({"status": "processing", "eta_s": None}) == ESTIMATING == "估算中"
    assert eta_text({"status": "processing"}) == "估算中"  # a backend without eta_s
    assert eta_text({"status": "pending", "eta_s": None}) == ""
    assert eta_text({"status": "completed", "eta_s": 3.0}) == ""


def test_task_table_has_a_remaining_time_column(vocabulary: Vocabulary) -> None:
    tasks = [
        {"task_id": "a", "kind": "analyze", "status": "processing", "progress": 40, "eta_s": 45},
        {"task_id": "b", "kind": "process", "status": "processing", "progress": 1, "eta_s": None},
        {"task_id": "c", "kind": "process", "status": "completed", "progress": 100, "eta_s": None},
    ]
    for columns in (BRIEF_COLUMNS, FULL_COLUMNS):
        frame = task_frame(vocabulary, tasks, columns)
        assert list(frame.columns).index("剩餘時間") == list(frame.columns).index("進度") + 1
        assert frame["剩餘時間"].tolist() == ["約剩 45 秒", "估算中", "—"]


@pytest.mark.parametrize(
    ("task", "text"),
    [
        (
            {"kind": "analyze", "status": "completed", "filename": "報價單.csv"},
            "「報價單.csv」分析完成",
        ),
        ({"kind": "analyze", "status": "failed", "filename": "壞.json"}, "「壞.json」分析失敗"),
        ({"kind": "analyze", "status": "cancelled", "filename": "a.csv"}, "「a.csv」的分析已取消"),
        ({"kind": "process", "status": "completed"}, "長時間任務處理完成"),
        ({"kind": "process", "status": "failed"}, "長時間任務失敗"),
        ({"kind": "process", "status": "cancelled"}, "長時間任務已取消"),
        (
            {"kind": "analyze", "status": "completed", "filename": "*粗體*.csv"},
            "「\\*粗體\\*.csv」分析完成",
        ),
    ],
)
def test_notice_text(task: dict, text: str, vocabulary: Vocabulary) -> None:
    assert notice_text(vocabulary, {"task_id": "t", **task}) == text


def test_notice_links_open_the_page_that_shows_the_result() -> None:
    assert RESULT_PAGES["analyze"].query_params("t1") == {"tasks": "t1", "open": "t1"}
    assert RESULT_PAGES["process"].query_params("t2") == {"task": "t2"}


def test_session_state_announces_each_task_once() -> None:
    state = AppSessionState({})
    state.init_defaults()
    state.announce_when_finished("t1")
    state.announce_when_finished("t2")
    state.announce_when_finished("t1")
    assert state.unannounced_tasks() == ["t1", "t2"]
    state.mark_announced("t1")
    assert state.unannounced_tasks() == ["t2"]
    state.announce_when_finished("t1")  # e.g. read back from a stale URL
    assert state.unannounced_tasks() == ["t2"]

    for i in range(MAX_NOTICES + 2):
        state.add_notice({"task_id": f"n{i}", "kind": "analyze", "status": "completed"})
    assert [n["task_id"] for n in state.notices()] == [
        f"n{i}" for i in reversed(range(2, MAX_NOTICES + 2))
    ]  # newest first, the oldest dropped
    state.dismiss_notice("n3")
    assert "n3" not in [n["task_id"] for n in state.notices()]
    state.forget_task("n4", gone=True)  # deleted: neither announced nor listed
    assert "n4" not in [n["task_id"] for n in state.notices()]
    state.forget_task("t2", gone=True)
    assert state.unannounced_tasks() == []
    state.clear_notices()
    assert state.notices() == []


@pytest.mark.parametrize(
    ("column", "span"),
    [
        ({"type": "date", "min": "2024-01-01", "max": "2024-12-31"}, "366 天"),
        ({"type": "date", "min": "2024-05-01", "max": "2024-05-01"}, "1 天"),
        ({"type": "datetime", "min": "2024-05-01T09:00:00", "max": "2024-05-03T16:00:00"}, "2 天 7 小時"),
        ({"type": "datetime", "min": "2024-05-01T09:00:00", "max": "2024-05-11T09:30:00"}, "10 天"),
        ({"type": "datetime", "min": "2024-05-01T09:00:00", "max": "2024-05-01T11:05:00"}, "2 小時 5 分"),
        ({"type": "datetime", "min": "2024-05-01", "max": "2024-05-01T00:00:45"}, "45 秒"),
        ({"type": "date", "min": "2024-05-02", "max": "2024-05-01"}, "—"),
        ({"type": "date", "min": "不是日期", "max": "2024-05-01"}, "—"),
        ({"type": "date", "min": None, "max": None}, "—"),
    ],
)  # fmt: skip
def test_date_span(column: dict, span: str) -> None:
    assert date_span(column) == span


def test_date_range_frame_lists_date_columns_only() -> None:
    columns = [
        {"name": "金額", "type": "integer", "min": 1, "max": 9},
        {"name": "日期", "type": "date", "min": "2024-01-01", "max": "2024-01-31"},
        {"name": "全空", "type": "date", "min": None, "max": None},
        {"name": "時間", "type": "datetime", "min": "2024-01-01", "max": "2024-01-01T10:00:00"},
    ]
    frame = date_range_frame(columns)
    assert frame is not None
    assert frame.to_dict("records") == [
        {"欄位": "日期", "最早": "2024-01-01", "最晚": "2024-01-31", "涵蓋期間": "31 天"},
        {"欄位": "時間", "最早": "2024-01-01 00:00:00", "最晚": "2024-01-01 10:00:00",
         "涵蓋期間": "10 小時 0 分"},
    ]  # fmt: skip
    assert date_range_frame(columns[:1]) is None
