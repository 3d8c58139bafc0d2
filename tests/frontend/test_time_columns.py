"""Time-of-day columns and date-times converted to UTC, as the analysis view shows them:
the real job's result for a file of such columns, rendered against the real backend's
labels, and the formatting helpers on their own."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from backend.jobs.analyze import analyze_file
from backend.jobs.context import RecordingContext
from frontend.components.analysis.tables import column_table, date_range_frame
from frontend.components.analysis.values import date_span, format_date
from frontend.utils.vocabulary import Vocabulary, clear_missing_labels, missing_labels

CLOCKS = ["08:30", "下午 5:45", "23:15:30", "上午 7:05"]
AWARE = [
    "2024-05-01T08:30:00+08:00",
    "2024-05-01T20:00:00-05:00",
    "2024-05-02T00:00:00Z",
    "2024-05-01T00:10:00+08:00",
]
CLOCK_TIMES = [dt.time(8, 30), dt.time(17, 45), dt.time(23, 15, 30), dt.time(7, 5)]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("times") / "打卡.csv"
    rows = "".join(f"{i},{c},{a}\n" for i, (c, a) in enumerate(zip(CLOCKS, AWARE, strict=True)))
    path.write_text("編號,上班,打卡時間\n" + rows, encoding="utf-8")
    return json.loads(json.dumps(analyze_file(RecordingContext(), str(path), path.name)))


def test_time_and_utc_columns_rendered(result: dict[str, Any], vocabulary: Vocabulary) -> None:
    clear_missing_labels()

    def script(vocabulary, result):
        from frontend.components.analysis.view import render_analysis

        render_analysis(vocabulary, result)

    at = AppTest.from_function(script, kwargs={"vocabulary": vocabulary, "result": result}).run()
    assert not at.exception, at.exception
    assert missing_labels() == set()

    summary = {row["欄位"]: row for row in at.dataframe[0].value.to_dict("records")}
    assert summary["上班"]["型別"] == "時間"
    assert (summary["上班"]["最小值"], summary["上班"]["最大值"]) == (
        min(CLOCK_TIMES).isoformat(),
        max(CLOCK_TIMES).isoformat(),
    )
    utc = sorted(dt.datetime.fromisoformat(cell).astimezone(dt.UTC) for cell in AWARE)
    punch = summary["打卡時間"]
    assert punch["型別"] == "日期時間（時區已換算為 UTC）"
    assert punch["最小值"] == utc[0].strftime("%Y-%m-%d %H:%M:%S") + " UTC"
    assert punch["最大值"] == utc[-1].strftime("%Y-%m-%d %H:%M:%S") + " UTC"

    assert "##### 日期與時間範圍" in [m.value for m in at.markdown]
    ranges = {row["欄位"]: row for row in at.dataframe[1].value.to_dict("records")}
    day = dt.date(2000, 1, 1)
    length = dt.datetime.combine(day, max(CLOCK_TIMES)) - dt.datetime.combine(day, min(CLOCK_TIMES))
    hours, minutes = divmod(round(length.total_seconds()) // 60, 60)
    assert ranges["上班"]["涵蓋期間"] == f"{hours} 小時 {minutes} 分"
    assert set(ranges) == {"上班", "打卡時間"}

    warnings = " ".join(w.value for w in at.warning)
    assert "已統一換算為 UTC" in warnings


@pytest.mark.parametrize(
    ("value", "column_type", "shown"),
    [
        ("2024-05-01T00:30:00+00:00", "datetime", "2024-05-01 00:30:00 UTC"),
        ("2024-05-01T00:30:00.500000+00:00", "datetime", "2024-05-01 00:30:00.500000 UTC"),
        ("2024-05-01T00:30:00Z", "datetime", "2024-05-01 00:30:00 UTC"),
        ("2024-05-01T00:30:00", "datetime", "2024-05-01 00:30:00"),
        ("08:30:00", "time", "08:30:00"),
        ("2024-05-01", "date", "2024-05-01"),
        (None, "time", "—"),
    ],
)
def test_format_date(value: str | None, column_type: str, shown: str) -> None:
    assert format_date(value, column_type) == shown


@pytest.mark.parametrize(
    ("column", "span"),
    [
        ({"type": "time", "min": "08:30:00", "max": "17:45:00"}, "9 小時 15 分"),
        ({"type": "time", "min": "00:00:00", "max": "00:00:40"}, "40 秒"),
        ({"type": "time", "min": "09:00:00", "max": "08:00:00"}, "—"),
        ({"type": "time", "min": "不是時間", "max": "08:00:00"}, "—"),
        (
            {"type": "datetime", "min": "2024-05-01T00:30:00+00:00",
             "max": "2024-05-02T02:30:00+00:00"},
            "1 天 2 小時",
        ),
    ],
)  # fmt: skip
def test_date_span_of_times(column: dict, span: str) -> None:
    assert date_span(column) == span


def test_summary_and_ranges_of_a_time_column() -> None:
    columns = [
        {"name": "上班", "type": "time", "nulls": 0, "min": "07:05:00", "max": "23:15:30"},
        {"name": "金額", "type": "integer", "nulls": 0, "min": 1, "max": 9},
    ]
    vocabulary = {"column_types": {"time": "時間", "integer": "整數"}}
    table = column_table(vocabulary, columns, rows=4).to_dict("records")
    assert table[0]["型別"] == "時間"
    assert (table[0]["最小值"], table[0]["最大值"]) == ("07:05:00", "23:15:30")
    frame = date_range_frame(columns)
    assert frame is not None
    assert frame.to_dict("records") == [
        {"欄位": "上班", "最早": "07:05:00", "最晚": "23:15:30", "涵蓋期間": "16 小時 10 分"}
    ]
