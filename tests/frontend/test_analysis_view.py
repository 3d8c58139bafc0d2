"""The analysis result view, fed what the real analyze job returns for small files of the
kinds users upload (Big5 with ROC dates and NT$ amounts, percentages, a report-style
workbook, prose), plus the odd and older shapes a stored result may have."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from backend.jobs.analyze import analyze_file
from backend.jobs.context import RecordingContext
from frontend.components.analysis.charts import histogram_chart
from frontend.components.analysis.labels import delimiter_label, encoding_label, format_label
from frontend.components.analysis.tables import column_table, histogram_frame
from frontend.components.analysis.values import format_number, format_statistic
from frontend.components.analysis.view import preview_frame
from frontend.components.analysis.warnings import file_warnings
from frontend.utils.formatting import markdown_text
from frontend.utils.vocabulary import Vocabulary, clear_missing_labels, missing_labels

CUSTOMERS = ["許功蓋", "陳志明", "林淑芬", "黃家豪"]
BIG5_ORDERS = "客戶,交易日期,金額,備註\r\n" + "".join(
    f'{CUSTOMERS[i % 4]},113/{i % 12 + 1:02d}/{i % 28 + 1:02d},"NT${300 + 97 * i:,}",'
    f"{'急件' if i % 5 == 0 else ''}\r\n"
    for i in range(40)
)
PERCENTS = "部門,達成率,人數\n" + "".join(
    f"業務{i % 3}部,{40 + 2.5 * i:.1f}%,{3 + i % 11}\n" for i in range(30)
)
EVERY_TYPE = (
    "編號,單價,日期,時間,已付款,城市\n"
    "1,1.5,2024-05-01,2024-05-01 13:45,TRUE,臺北市\n"
    "2,2.25,2024-05-03,2024-05-02 08:00,FALSE,高雄市\n"
    "3,,2024-06-01,2024-05-03 09:30:15,TRUE,\n"
)


def analyze(path: Path, filename: str) -> dict[str, Any]:
    """The real job's result, through JSON as the API delivers it."""
    return json.loads(json.dumps(analyze_file(RecordingContext(), str(path), filename)))


def analyze_text(tmp_path: Path, text: str, filename: str, encoding: str = "utf-8") -> dict:
    path = tmp_path / filename
    path.write_bytes(text.encode(encoding))
    return analyze(path, filename)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("analysis_view")
    workbook = openpyxl.Workbook()
    sales = workbook.active
    sales.title = "銷售報表"
    sales.append(["2024 年度銷售報表"])
    sales.append([])
    sales.append(["日期", "產品", "數量", "單價", "已出貨"])
    for i in range(30):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=3 * i)
        sales.append([day, f"產品{i % 4}", 10 + 7 * i, round(9.5 + 3.25 * i, 2), i % 3 != 0])
    rates = workbook.create_sheet("匯率")
    rates.append(["時間", "幣別", "匯率"])
    for i in range(12):
        rates.append([dt.datetime(2024, 5, 1, 9) + dt.timedelta(hours=5 * i), "USD", 32 + i / 10])
    workbook.create_sheet("空白")
    workbook.save(folder / "報表.xlsx")
    return {
        "big5": analyze_text(folder, BIG5_ORDERS, "訂單.csv", "cp950"),
        "percent": analyze_text(folder, PERCENTS, "達成率.csv"),
        "types": analyze_text(folder, EVERY_TYPE, "型別.csv"),
        "xlsx": analyze(folder / "報表.xlsx", "報表.xlsx"),
        "prose": analyze_text(
            folder,
            "會議紀錄：討論下一季的預算與人力安排。\n與會者為王經理、陳主任。\n結論是下週再議。\n",
            "會議.txt",
            "utf-8-sig",
        ),
        "shift_jis": analyze_text(
            folder,
            "商品名,価格\n" + "".join(f"りんごジュース{i},{100 + i}\n" for i in range(30)),
            "日本.csv",
            "cp932",
        ),
    }


def _render(vocabulary: Vocabulary, result: dict[str, Any]) -> AppTest:
    def script(vocabulary, result):
        from frontend.components.analysis.view import render_analysis

        render_analysis(vocabulary, result)

    at = AppTest.from_function(script, kwargs={"vocabulary": vocabulary, "result": result}).run()
    assert not at.exception, at.exception
    return at


def _by_name(table: Any) -> dict[str, dict[str, str]]:
    return {row["欄位"]: row for row in table.to_dict("records")}


def _outside_tabs(at: AppTest, kind: str) -> list[Any]:
    """The elements of one kind placed directly on the page, not inside a tab or column."""
    return [node for node in at.main.children.values() if node.type == kind]


def _specs(block: Any) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in block.get("vega_lite_chart")]


# --- Whole results, rendered -------------------------------------------------------------


@pytest.mark.slow
def test_big5_csv_with_roc_dates_and_nt_dollars(
    results: dict[str, dict], vocabulary: Vocabulary
) -> None:
    result = results["big5"]
    at = _render(vocabulary, result)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["檔案格式"] == "CSV"
    assert metrics["文字編碼"] == "Big5（CP950）"
    assert metrics["分隔符號"] == "逗號（,）"
    assert "資料表數" not in metrics  # one table, named after the file
    assert metrics["資料列數"] == "40"

    columns = _by_name(at.dataframe[0].value)
    assert columns["交易日期"]["型別"] == "日期（民國年）"
    assert (columns["交易日期"]["最小值"], columns["交易日期"]["最大值"]) == (
        "2024-01-01",
        "2024-12-24",
    )
    assert columns["交易日期"]["平均值"] == "—"
    amount = columns["金額"]
    assert amount["型別"] == "整數（貨幣、千分位）"
    assert (amount["最小值"], amount["最大值"]) == ("NT$300", "NT$4,083")
    assert amount["平均值"] == "NT$2,191.50"
    assert amount["標準差"].startswith("NT$1,")
    assert columns["備註"]["空值數"] == "32（80%）"
    assert columns["客戶"]["最常見的值（次數）"] == "林淑芬（10）、許功蓋（10）"

    ranges = at.dataframe[1].value.to_dict("records")
    assert ranges == [
        {"欄位": "交易日期", "最早": "2024-01-01", "最晚": "2024-12-24", "涵蓋期間": "359 天"}
    ]
    assert "##### 日期範圍" in [m.value for m in at.markdown]

    preview = at.dataframe[-1].value
    assert preview["金額"].tolist()[:2] == ["NT$300", "NT$397"]
    assert preview["交易日期"].tolist()[0] == "2024-01-01"

    # The table's two warnings (ROC dates, NT$ amounts) once, as a list in one box; no
    # file-level box repeats them.
    table_warnings = result["tables"][0]["warnings"]
    assert len(table_warnings) == 2 and result["warnings"] == table_warnings
    assert [w.value for w in at.warning] == [
        "\n".join(f"- {markdown_text(w)}" for w in table_warnings)
    ]
    assert "「交易日期」" in at.warning[0].value and "「金額」" in at.warning[0].value
    assert not re.search(r"(?<!\\)\$", at.warning[0].value)  # every "$" literal, no formula


def test_histogram_per_numeric_column_with_zh_axis_titles(
    results: dict[str, dict], vocabulary: Vocabulary
) -> None:
    at = _render(vocabulary, results["percent"])
    specs = _specs(at)
    histograms = [s for s in specs if s["encoding"].get("x2")]
    assert len(histograms) == 2  # 達成率, 人數
    titles = {(s["encoding"]["x"]["title"], s["encoding"]["y"]["title"]) for s in histograms}
    assert titles == {("數值範圍（%）", "列數"), ("數值範圍", "列數")}
    captions = [c.value for c in at.caption]
    assert "最小 40 %　·　最大 112.5 %  \n平均 76.25 %　·　標準差 22.01 %" in captions

    columns = _by_name(at.dataframe[0].value)
    assert columns["達成率"]["型別"] == "小數（百分比）"
    assert (columns["達成率"]["最小值"], columns["達成率"]["最大值"]) == ("40 %", "112.5 %")
    assert columns["達成率"]["平均值"] == "76.25 %"
    assert columns["人數"]["最小值"] == "3"
    assert at.dataframe[1].value["達成率"].tolist()[:2] == ["40 %", "42.5 %"]


def test_histogram_bins_follow_the_backend_counts(results: dict[str, dict]) -> None:
    column = next(c for c in results["percent"]["tables"][0]["columns"] if c["name"] == "達成率")
    frame = histogram_frame(column)
    assert frame is not None
    assert len(frame) == len(column["histogram"]["counts"])
    assert frame["列數"].sum() == results["percent"]["tables"][0]["rows"]
    assert frame["起"].tolist() == column["histogram"]["edges"][:-1]
    assert frame["範圍"].iloc[-1].endswith("%（含）")  # the last bin holds the maximum
    assert frame["範圍"].iloc[0].endswith("%（不含）")


@pytest.mark.parametrize(
    "histogram",
    [
        None,
        {},
        {"edges": [1, 2], "counts": [1, 2]},
        {"edges": [0, None], "counts": [1]},
        {"edges": [0, 1], "counts": [None]},
    ],
)
def test_no_chart_without_a_usable_histogram(histogram: Any) -> None:
    column = {"name": "x", "type": "float", "histogram": histogram}
    assert histogram_frame(column) is None
    assert histogram_chart(column) is None


def test_every_type_has_a_zh_label(results: dict[str, dict], vocabulary: Vocabulary) -> None:
    table = results["types"]["tables"][0]
    labels = column_table(vocabulary, table["columns"], table["rows"])
    assert labels["型別"].tolist() == ["整數", "小數", "日期", "日期時間", "是/否（布林）", "文字"]
    by_name = _by_name(labels)
    assert by_name["時間"]["最小值"] == "2024-05-01 13:45:00"
    assert by_name["單價"]["平均值"] == "1.88"
    assert by_name["已付款"]["平均值"] == "—"
    assert by_name["已付款"]["最常見的值（次數）"] == "是（2）、否（1）"
    assert all(isinstance(value, str) for value in labels.to_numpy().ravel())
    frame, config = preview_frame(table["preview"], table["columns"])
    assert frame["已付款"].tolist() == ["是", "否", "是"]
    assert frame["單價"].tolist()[2] == ""  # an empty cell, not "None"
    assert set(config) == {"編號", "單價"}


def test_workbook_sheets_as_tabs_with_their_own_warnings(
    results: dict[str, dict], vocabulary: Vocabulary
) -> None:
    result = results["xlsx"]
    at = _render(vocabulary, result)
    assert [tab.label for tab in at.tabs] == ["銷售報表", "匯率"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["檔案格式"] == "Excel（.xlsx）"
    assert metrics["資料表數"] == "2"
    assert "文字編碼" not in metrics

    # The skipped empty sheet concerns no table: once, above the tabs; the title row skipped
    # on the first sheet, in that sheet's tab.
    skipped_sheet = [w for w in result["warnings"] if "「空白」" in w]
    assert len(skipped_sheet) == 1 and file_warnings(result) == skipped_sheet
    assert [w.value for w in _outside_tabs(at, "warning")] == [markdown_text(skipped_sheet[0])]
    sales_warnings = result["tables"][0]["warnings"]
    assert sales_warnings and all(w not in sales_warnings for w in skipped_sheet)
    assert [w.value for w in at.tabs[0].warning] == [
        "\n".join(f"- {markdown_text(w)}" for w in sales_warnings)
        if len(sales_warnings) > 1
        else markdown_text(sales_warnings[0])
    ]
    assert not at.tabs[1].warning
    assert len(at.warning) == 2

    sales = _by_name(at.tabs[0].dataframe[0].value)
    assert sales["日期"]["型別"] == "日期"
    assert sales["已出貨"]["型別"] == "是/否（布林）"
    assert sales["數量"]["最大值"] == "213"
    assert at.tabs[0].dataframe[-1].value["數量"].tolist()[:2] == ["10", "17"]  # not "10.0"
    rates = _by_name(at.tabs[1].dataframe[0].value)
    assert rates["時間"]["型別"] == "日期時間"
    assert rates["時間"]["最小值"] == "2024-05-01 09:00:00"
    # Midnight comes from the workbook as a bare date; in a date-time column it is shown whole.
    assert at.tabs[1].dataframe[-1].value["時間"].tolist()[3] == "2024-05-02 00:00:00"
    assert at.tabs[0].dataframe[1].value.to_dict("records") == [
        {"欄位": "日期", "最早": "2024-01-01", "最晚": "2024-03-28", "涵蓋期間": "88 天"}
    ]
    assert at.tabs[1].dataframe[1].value.to_dict("records") == [
        {
            "欄位": "時間",
            "最早": "2024-05-01 09:00:00",
            "最晚": "2024-05-03 16:00:00",
            "涵蓋期間": "2 天 7 小時",
        }
    ]
    assert len(_specs(at.tabs[0])) == 2 + 2  # 2 histograms + 2 top-value charts


def test_file_level_warnings_are_not_repeated(
    results: dict[str, dict], vocabulary: Vocabulary
) -> None:
    result = results["shift_jis"]
    assert file_warnings(result) == result["warnings"]  # the guessed encoding
    at = _render(vocabulary, result)
    assert [w.value for w in at.warning] == [markdown_text(result["warnings"][0])]
    assert {m.label: m.value for m in at.metric}["文字編碼"] == "日文 Shift-JIS（CP932）"

    assert file_warnings(results["big5"]) == []
    repeated = {"warnings": ["甲", "甲", "乙"], "tables": [{"warnings": ["甲"]}]}
    assert file_warnings(repeated) == ["甲", "乙"]


def test_prose_text_shows_text_statistics(results: dict[str, dict], vocabulary: Vocabulary) -> None:
    at = _render(vocabulary, results["prose"])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["文字編碼"] == "UTF-8（含 BOM）"
    assert metrics["行數"] == "3"
    assert "資料表數" not in metrics


@pytest.mark.slow
def test_a_result_stored_before_histograms_and_table_warnings(vocabulary: Vocabulary) -> None:
    """Older results: an "empty" type, no histogram/unit/formats, warnings only top-level."""
    result = {
        "format": "csv",
        "encoding": "cp037",
        "warnings": ["有 2 列的欄位數與標題列不符，已略過。"],
        "tables": [
            {
                "name": "舊結果",
                "rows": 2,
                "columns": [
                    {
                        "name": "數量",
                        "type": "integer",
                        "nulls": 0,
                        "min": 1,
                        "max": 2,
                        "mean": 1.5,
                        "std": 0.7,
                        "top": None,
                    },
                    {"name": "空白欄", "type": "empty", "nulls": 2},
                ],
                "preview": [{"數量": 1, "空白欄": None}, {"數量": 2}],
            }
        ],
    }
    at = _render(vocabulary, result)
    assert [w.value for w in at.warning] == [markdown_text(result["warnings"][0])]
    assert {m.label: m.value for m in at.metric}["文字編碼"] == "CP037"
    assert _by_name(at.dataframe[0].value)["空白欄"]["型別"] == "空白"
    assert not _specs(at)  # nothing to draw without a histogram


# --- Labels and values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("utf-8", "UTF-8"),
        ("utf-8-sig", "UTF-8（含 BOM）"),
        ("utf-16", "UTF-16（Unicode 文字）"),
        ("utf-32", "UTF-32"),
        ("cp950", "Big5（CP950）"),
        ("cp932", "日文 Shift-JIS（CP932）"),
        ("euc_jp", "日文 EUC-JP"),
        ("cp949", "韓文 CP949"),
        ("UTF8", "UTF-8"),  # an alias Python knows
        ("ms950", "Big5（CP950）"),
        ("cp037", "CP037"),  # known to Python, not labelled: its own name
        ("x-made-up", "X-MADE-UP"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_encoding_labels(code: str | None, label: str, vocabulary: Vocabulary) -> None:
    assert encoding_label(vocabulary, code) == label


@pytest.mark.parametrize(
    ("code", "key"),
    [
        # The backend's words now; the frontend's own table said "UTF-16 LE", "UTF-16 BE",
        # "簡體中文 GB18030", "西歐 Windows-1252", "中歐 Windows-1250" and
        # "西里爾字母 Windows-1251".
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("gb18030", "gb18030"),
        ("cp1252", "cp1252"),
        ("cp1250", "cp1250"),
        ("cp1251", "cp1251"),
        ("euc-jp", "euc_jp"),  # spelled either way
        ("koi8-r", "koi8_r"),
        ("UTF-16-LE", "utf-16-le"),
    ],
)
def test_encoding_labels_are_the_backends(code: str, key: str, vocabulary: Vocabulary) -> None:
    assert encoding_label(vocabulary, code) == vocabulary["encodings"][key]


@pytest.mark.parametrize(
    ("code", "shown"),
    [("big5", "BIG5"), ("shift_jis", "SHIFT-JIS"), ("ascii", "ASCII")],
)
def test_encodings_the_backend_never_reports_are_shown_by_name_and_noted(
    code: str, shown: str, vocabulary: Vocabulary
) -> None:
    """The analysis reports these as cp950, cp932 or utf-8, so the backend has no label."""
    clear_missing_labels()
    assert encoding_label(vocabulary, code) == shown
    assert missing_labels() == {("encodings", code)}
    clear_missing_labels()


def test_delimiters_are_named_with_the_character_when_it_shows(vocabulary: Vocabulary) -> None:
    delimiters = vocabulary["delimiters"]
    assert delimiter_label(vocabulary, ",") == delimiters[","] == "逗號（,）"  # said once
    assert delimiter_label(vocabulary, ";") == "分號（;）"
    assert delimiter_label(vocabulary, "|") == delimiters["|"] == "直線（|）"  # said once
    assert delimiter_label(vocabulary, "\t") == delimiters["\t"]
    assert delimiter_label(vocabulary, " ") == delimiters[" "]
    assert delimiter_label(vocabulary, "\x1f") == delimiters["\x1f"]
    assert delimiter_label({}, ",") == "「,」"  # no vocabulary: the character alone
    named_only = {"delimiters": {",": "逗號"}}
    assert delimiter_label(named_only, ",") == "逗號（,）"  # a name without the character
    assert delimiter_label(vocabulary, None) == "—"


def test_long_top_values_are_shortened(vocabulary: Vocabulary) -> None:
    column = {
        "name": "地址",
        "type": "text",
        "top": [["臺北市中正區重慶南路一段122號", 3], ["x", 1]],
    }
    assert (
        column_table(vocabulary, [column])["最常見的值（次數）"][0]
        == "臺北市中正區重慶南路一…（3）、x（1）"
    )


def test_format_labels_and_numbers(vocabulary: Vocabulary) -> None:
    formats = ["csv", "tsv", "txt", "json", "xlsx", ".XLSX", "parquet"]
    assert [format_label(vocabulary, f) for f in formats] == [
        "CSV", "TSV（Tab 分隔）", "文字檔", "JSON", "Excel（.xlsx）", "Excel（.xlsx）", "PARQUET",
    ]  # fmt: skip
    assert format_number(1234567) == "1,234,567"
    assert format_number(1234567.891) == "1,234,567.89"
    assert format_number(0.000123) == "0.000123"
    assert format_number(float("nan")) == "—"
    # Means and deviations always carry two decimals, so a table's figures line up.
    assert [format_statistic(v) for v in (2.0, 1.5, 0, 29.25, -3)] == [
        "2.00", "1.50", "0.00", "29.25", "-3.00",
    ]  # fmt: skip
    assert format_statistic(2.0, "NT$") == "NT$2.00" and format_statistic(None) == "—"
    assert format_statistic(0.000123) == "0.000123" and format_statistic(float("inf")) == "—"


def test_markdown_from_the_file_stays_literal() -> None:
    assert markdown_text("NT$1,200 與 NT$300") == "NT\\$1,200 與 NT\\$300"
    assert markdown_text("a_b*c") == "a\\_b\\*c"
    assert markdown_text("金額\n(元)") == "金額 (元)"
    assert markdown_text("- 負數") == "\\- 負數"
    assert markdown_text("1. 第一項") == "1\\. 第一項"
    assert markdown_text("12.5% 與 UTF-8") == "12.5% 與 UTF-8"


@pytest.mark.parametrize(
    ("filename", "unit"), [("report.csv", "行"), ("report.json", "行"), ("report.xlsx", "列")]
)
def test_rows_left_out_are_said_under_the_figures(
    tmp_path: Path, vocabulary: Vocabulary, filename: str, unit: str
) -> None:
    """A real analysis of a report with a 合計 row and a note line: the page says which
    rows were left out, by reason and line."""
    data = "門市,數量,金額\n台北,1,100\n台中,2,200\n高雄,3,300\n合計,6,600\n備註：含稅\n"
    result = analyze_text(tmp_path, data, "report.csv")
    result["format"] = filename.rsplit(".", 1)[1]  # the wording depends on the format only
    at = _render(vocabulary, result)
    captions = [caption.value for caption in at.caption]
    expected = f"另有 2 列未列入統計：合計 1 列（第 5 {unit}）、備註 1 列（第 6 {unit}）。"
    assert expected in captions
    rows = next(metric for metric in at.metric if metric.label == "資料列數")
    assert rows.value == "3"
