"""The analysis result view, fed results of the documented shape (several sheets, prose
text, odd values), which the live upload test cannot all produce on demand."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from frontend.components.analysis import (
    column_table,
    encoding_label,
    format_number,
    numeric_summary_chart,
    preview_frame,
)

COLUMNS: list[dict[str, Any]] = [
    {"name": "數量", "type": "integer", "nulls": 2, "min": -5, "max": 500, "mean": 230.7,
     "std": 134.5, "top": None},
    {"name": "單價", "type": "float", "nulls": 0, "min": 0.5, "max": 1936.13, "mean": 1075.05,
     "std": None, "top": None},
    {"name": "城市", "type": "text", "nulls": 1, "min": None, "max": None, "mean": None,
     "std": None, "top": [["臺北市", 40], ["新北市", 33]]},
    {"name": "空白欄", "type": "empty", "nulls": 3, "min": None, "max": None, "mean": None,
     "std": None, "top": None},
]  # fmt: skip
XLSX_RESULT = {
    "format": "xlsx",
    "encoding": None,
    "warnings": ["工作表「二月」有合併儲存格，已拆開。"],
    "tables": [
        {
            "name": "一月",
            "rows": 1200,
            "columns": COLUMNS,
            "preview": [
                {"數量": 1, "單價": 2.5, "城市": "臺北市", "空白欄": None},
                {"數量": None, "單價": 3, "城市": 12, "空白欄": None},
            ],
        },
        {"name": "二月", "rows": 0, "columns": [], "preview": []},
    ],
}
TEXT_RESULT = {
    "format": "txt",
    "encoding": "utf-8-sig",
    "warnings": [],
    "tables": [],
    "text": {"lines": 12, "characters": 340, "words": 80},
}


def _render(result: dict[str, Any]) -> AppTest:
    def script(result):
        from frontend.components.analysis import render_analysis

        render_analysis(result)

    return AppTest.from_function(script, kwargs={"result": result}).run()


def test_several_sheets_become_tabs() -> None:
    at = _render(XLSX_RESULT)
    assert not at.exception
    assert [tab.label for tab in at.tabs] == ["一月", "二月"]
    metrics = {m.label: m.value for m in at.tabs[0].metric}
    assert metrics == {"資料列數": "1,200", "欄位數": "4", "數值欄位": "2", "空值總數": "6"}
    assert at.metric[0].value == "Excel（.xlsx）"
    assert at.warning[0].value == "工作表「二月」有合併儲存格，已拆開。"
    assert len(at.tabs[0].get("vega_lite_chart")) == 3  # 2 numeric columns + 1 top-values
    assert at.tabs[0].expander[0].label == "文字欄位最常見的值（1 個欄位）"
    assert "沒有可預覽的資料列。" in [c.value for c in at.tabs[1].caption]


def test_prose_text_shows_text_statistics() -> None:
    at = _render(TEXT_RESULT)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["行數"] == "12"
    assert metrics["字元數"] == "340"
    assert metrics["文字編碼"] == "UTF-8（含 BOM）"
    assert "資料表數" not in metrics


def test_column_table_is_text_with_zh_headers() -> None:
    table = column_table(COLUMNS)
    assert list(table.columns) == [
        "欄位", "型別", "空值數", "最小值", "最大值", "平均值", "標準差", "最常見的值（次數）",
    ]  # fmt: skip
    assert table["型別"].tolist() == ["整數", "小數", "文字", "空白"]
    assert table.loc[0, "平均值"] == "230.70"
    assert table.loc[2, "最常見的值（次數）"] == "臺北市（40）、新北市（33）"
    assert all(isinstance(value, str) for value in table.to_numpy().ravel())


def test_preview_keeps_values_as_in_the_file() -> None:
    frame, config = preview_frame(XLSX_RESULT["tables"][0]["preview"], COLUMNS)
    assert frame["數量"].tolist() == ["1", ""]
    assert frame["城市"].tolist() == ["臺北市", "12"]
    assert set(config) == {"數量", "單價"}


def test_chart_only_when_statistics_exist() -> None:
    assert numeric_summary_chart(COLUMNS[0]) is not None
    assert numeric_summary_chart(COLUMNS[1]) is not None  # std missing: drawn without band
    assert numeric_summary_chart(COLUMNS[2]) is None


def test_labels() -> None:
    assert encoding_label("cp950") == "Big5（cp950）"
    assert encoding_label(None) == "—"
    assert format_number(1234567) == "1,234,567"
    assert format_number(0.000123) == "0.000123"
    assert format_number(float("nan")) == "—"
