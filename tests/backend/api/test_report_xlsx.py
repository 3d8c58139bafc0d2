"""The Excel report (`GET /api/task/{id}/result?format=xlsx`), read back with openpyxl and
checked figure by figure against the JSON result of the same task."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient

from backend.api.report_xlsx import (
    MEDIA_TYPE,
    STATS_HEADERS,
    analysis_workbook,
    display_width,
    sheet_name,
)
from backend.vocabulary import (
    COLUMN_TYPE_LABELS,
    DELIMITER_LABELS,
    ENCODING_LABELS,
    FILE_FORMAT_LABELS,
    VALUE_FORMAT_LABELS,
)
from tests.backend.conftest import assert_problem, wait_for


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """The report does not depend on the store: the two local ones are enough (the memory
    store keeps the result as Python objects, sqlite as JSON text)."""
    return request.param


INJECTIONS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x","點我")']


def big5_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["日期", "客戶", "城市", "金額", "比率", "單價", "備註", "訂單編號"])
    cities = ["臺北市", "新竹市", "高雄市"]
    for i in range(40):
        writer.writerow([
            f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}", f"許功蓋{i % 4}", cities[i % 3],
            f"{1000 + i * 1237:,}" if i % 7 else "", f"{i % 50}%", f"{i * 0.125:.3f}",
            INJECTIONS[i % len(INJECTIONS)] if i < 10 else f"備註{i}", 10**17 + i,
        ])  # fmt: skip
    return buffer.getvalue().encode("cp950")


# Two sheet names of Excel's full 31 characters, alike in the first 28: with the preview
# prefix both are cut to the same name.
LONG_SHEETS = [("各區域銷售明細與毛利分析" * 3)[:28] + end for end in ("北區表", "南區表")]


def xlsx_file() -> bytes:
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = LONG_SHEETS[0]
    first.append(["品名", "數量", "單價", "到貨日", "含稅"])
    for i in range(12):
        first.append([f"品項{i % 3}", i * 1000, 12.5 + i, datetime(2024, 3, i + 1), i % 2 == 0])
    second = workbook.create_sheet(LONG_SHEETS[1])
    second.append(["客戶", "金額"])
    for i, text in enumerate(INJECTIONS):
        second.append([None, 1234.5 * i])
        cell = second.cell(row=i + 2, column=1)
        cell.value, cell.data_type = text, "s"  # typed as text ('=1+1 in Excel), not a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def analysed(client: TestClient, name: str, body: bytes) -> tuple[str, dict[str, Any]]:
    response = client.post("/api/upload/stream", content=body, headers={"X-Filename": quote(name)})
    assert response.status_code == 202, response.text
    task = wait_for(client, response.json()["task_id"])
    assert task["status"] == "completed", task
    return task["task_id"], task


def report(client: TestClient, task_id: str) -> tuple[openpyxl.Workbook, bytes, Any]:
    response = client.get(f"/api/task/{task_id}/result", params={"format": "xlsx"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    return openpyxl.load_workbook(io.BytesIO(response.content)), response.content, response


def expected_cell(value: Any, column: dict[str, Any]) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str) and column["type"] in ("date", "datetime"):
        return datetime.fromisoformat(value)
    if isinstance(value, int) and abs(value) > 2**53:
        return str(value)
    return value


def check_against_json(workbook: openpyxl.Workbook, task: dict[str, Any]) -> None:
    result = task["result"]
    tables = result["tables"]
    assert workbook.sheetnames[:2] == ["摘要", "欄位統計"]
    assert len(workbook.sheetnames) == 2 + len(tables)

    summary = {
        row[0].value: row[1].value for row in workbook["摘要"].iter_rows(min_row=3) if row[0].value
    }
    assert summary["檔案名稱"] == task["filename"]
    assert summary["檔案大小"] == task["size_bytes"]
    assert summary["檔案格式"] == FILE_FORMAT_LABELS[result["format"]]
    encoding = result["encoding"]
    assert summary["文字編碼"] == (ENCODING_LABELS[encoding] if encoding else "（不適用）")
    if result["delimiter"] is not None:
        assert summary["分隔符號"] == DELIMITER_LABELS[result["delimiter"]]
    assert summary["表格數"] == len(tables)
    lines = [(row[0].value, row[1].value) for row in workbook["摘要"].iter_rows(min_row=3)]
    for table in tables:
        at = lines.index(("表格", table["name"]))
        assert lines[at + 1 : at + 3] == [
            ("資料列數", table["rows"]),
            ("欄位數", len(table["columns"])),
        ]
    notes = [row[1].value for row in workbook["摘要"].iter_rows(min_row=3)]
    start = [row[0].value for row in workbook["摘要"].iter_rows(min_row=3)].index("說明")
    numbered = [f"{i}. {w}" for i, w in enumerate(result["warnings"], start=1)]
    assert notes[start:] == (numbered or ["（沒有需要說明的地方）"])

    stats = list(workbook["欄位統計"].iter_rows(values_only=True))
    assert list(stats[0]) == STATS_HEADERS
    expected_rows = [(table, column) for table in tables for column in table["columns"]]
    assert len(stats) - 1 == len(expected_rows)
    for row, (table, column) in zip(stats[1:], expected_rows, strict=True):
        figures = dict(zip(STATS_HEADERS, row, strict=True))
        assert figures["表格"] == table["name"] and figures["欄位"] == column["name"]
        assert figures["型別"] == COLUMN_TYPE_LABELS[column["type"]]
        assert figures["有值筆數"] == table["rows"] - column["nulls"]
        assert figures["空白筆數"] == column["nulls"]
        assert figures["空白比例"] == pytest.approx(column["nulls"] / table["rows"])
        for header, key in (("最小值", "min"), ("最大值", "max")):
            assert figures[header] == expected_cell(column[key], column), (header, column)
        # Excel keeps 15 significant digits (XlsxWriter writes 16): equal as Excel shows them
        for header, key in (("平均值", "mean"), ("標準差", "std")):
            expected = column[key]
            assert figures[header] == (expected and pytest.approx(expected, rel=1e-15, abs=0))
        assert figures["單位"] == column["unit"]
        formats = "、".join(VALUE_FORMAT_LABELS[f] for f in column["formats"]) or None
        assert figures["原本寫法"] == formats
        words = {"true": "是", "false": "否"} if column["type"] == "boolean" else {}
        top = "、".join(f"{words.get(v, v)}（{n:,}）" for v, n in column["top"] or []) or None
        assert figures["最常見的值（次數）"] == top

    for table, name in zip(tables, workbook.sheetnames[2:], strict=True):
        sheet = workbook[name]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == expected_title(table) and set(rows[0][1:]) <= {None}
        assert list(rows[1]) == [column["name"] for column in table["columns"]]
        assert len(rows) - 2 == len(table["preview"])
        for row, record in zip(rows[2:], table["preview"], strict=True):
            assert list(row) == [
                expected_cell(record[column["name"]], column) for column in table["columns"]
            ]
        assert sheet.freeze_panes == "A3"


def expected_title(table: dict[str, Any]) -> str:
    """A preview sheet's first cell: the table's full name and how many rows it shows."""
    rows, shown = table["rows"], len(table["preview"])
    counts = f"共 {rows:,} 列" + (f"，這裡列出前 {shown:,} 列" if shown < rows else "")
    return f"表格：{table['name']}（{counts}）"


def assert_no_formula(content: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for member in archive.namelist():
            if member.startswith("xl/worksheets/"):
                assert "<f>" not in archive.read(member).decode(), member


def test_big5_csv_report_matches_the_json(client: TestClient) -> None:
    task_id, task = analysed(client, "客戶名單.csv", big5_csv())
    assert task["result"]["encoding"] == "cp950"
    workbook, content, response = report(client, task_id)
    check_against_json(workbook, task)
    assert workbook.sheetnames == ["摘要", "欄位統計", "預覽 客戶名單"]

    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="result.xlsx"; ')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "客戶名單_分析報告.xlsx"

    # Text that looks like a formula stays text.
    assert_no_formula(content)
    preview = workbook["預覽 客戶名單"]
    notes = [row[6] for row in preview.iter_rows(min_row=3, max_row=12)]
    assert [cell.value for cell in notes] == [INJECTIONS[i % 5] for i in range(10)]
    assert {cell.data_type for cell in notes} == {"s"}

    # Numbers read well: thousands separators, a column's decimals, dates, % as a unit.
    row = next(preview.iter_rows(min_row=4, max_row=4))
    assert row[0].number_format == "yyyy-mm-dd"
    assert row[3].number_format == "#,##0"
    assert row[4].number_format == '#,##0"%"'
    assert row[5].number_format == "#,##0.000"
    assert preview.column_dimensions["B"].width >= display_width("許功蓋0")
    assert row[7].value == str(10**17 + 1)  # beyond a double's exact integers: every digit kept


@pytest.mark.slow
def test_xlsx_report_names_long_sheets_uniquely(client: TestClient) -> None:
    task_id, task = analysed(client, "報價.xlsx", xlsx_file())
    workbook, content, _ = report(client, task_id)
    check_against_json(workbook, task)
    previews = workbook.sheetnames[2:]
    assert len(previews) == 2 and len(set(previews)) == 2
    assert previews == ["預覽 " + LONG_SHEETS[0][:28], "預覽 " + LONG_SHEETS[0][:24] + " (2)"]
    assert_no_formula(content)
    south = workbook[previews[1]]
    assert [row[0] for row in south.iter_rows(min_row=3, values_only=True)] == INJECTIONS


def test_json_stays_the_default(client: TestClient) -> None:
    task_id, task = analysed(client, "客戶名單.csv", big5_csv())
    for params in ({}, {"format": "json"}):
        response = client.get(f"/api/task/{task_id}/result", params=params)
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == task["result"]
        assert unquote(response.headers["content-disposition"].split("UTF-8''")[1]) == (
            "客戶名單_分析結果.json"
        )


@pytest.mark.slow
def test_report_errors_are_problems(client: TestClient) -> None:
    xlsx = {"format": "xlsx"}
    assert_problem(client.get("/api/task/nope/result", params=xlsx), 404, "task_not_found")
    process = client.post("/api/process", json={"data": "x", "delay": 30}).json()["task_id"]
    body = assert_problem(client.get(f"/api/task/{process}/result", params=xlsx), 404, "not_found")
    assert body["detail"].startswith("「長時間處理」任務沒有 Excel 報告")
    assert_problem(client.get(f"/api/task/{process}/result"), 409, "task_not_finished")
    client.delete(f"/api/task/{process}/cancel")
    task_id, _ = analysed(client, "客戶名單.csv", big5_csv())
    body = assert_problem(
        client.get(f"/api/task/{task_id}/result", params={"format": "pdf"}), 422, "validation_error"
    )
    assert body["errors"][0]["field"] == "query.format"


@pytest.mark.slow
def test_report_times_are_in_the_asked_time_zone(client: TestClient) -> None:
    task_id, task = analysed(client, "客戶名單.csv", big5_csv())
    finished = datetime.fromisoformat(task["finished_at"])

    def finished_line(params: dict[str, str]) -> tuple[str, datetime]:
        response = client.get(f"/api/task/{task_id}/result", params={"format": "xlsx", **params})
        assert response.status_code == 200, response.text
        rows = openpyxl.load_workbook(io.BytesIO(response.content))["摘要"].iter_rows(min_row=3)
        return next((r[0].value, r[1].value) for r in rows if "完成時間" in str(r[0].value))

    label, utc = finished_line({})
    assert label == "分析完成時間（UTC）"
    assert utc == finished.astimezone(UTC).replace(tzinfo=None, microsecond=utc.microsecond)
    label, taipei = finished_line({"tz": "Asia/Taipei"})
    assert label == "分析完成時間（Asia/Taipei）" and taipei - utc == timedelta(hours=8)
    # Only names from the time zone database: never a path, a directory or a data file;
    # anything else gives UTC, and the report says so.
    for unknown in ("Mars/Olympus", "America", "../etc/passwd", "zone.tab", "a\x00b"):
        assert finished_line({"tz": unknown}) == ("分析完成時間（UTC）", utc), unknown


def test_unfinished_analysis_has_no_report_yet(client: TestClient) -> None:
    from backend.service import create_task

    app = client.app
    task = create_task(app.state.store, "analyze", {}, runner_id="elsewhere", filename="a.csv")
    response = client.get(f"/api/task/{task.task_id}/result", params={"format": "xlsx"})
    assert_problem(response, 409, "task_not_finished")


# -- the writer on its own ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("報價[2024]:Q1/Q2*?\\", "報價_2024__Q1_Q2___"),
        ("'引號'", "引號"),
        ("   ", "表格"),
        ("x" * 40, "x" * 31),
        ("😀" * 20, "😀" * 15),  # 31 UTF-16 units at most: an emoji takes two
    ],
)
def test_sheet_names_are_valid(name: str, expected: str) -> None:
    assert sheet_name(name, set()) == expected


def test_sheet_names_are_unique_ignoring_case() -> None:
    taken: set[str] = set()
    names = [sheet_name(n, taken) for n in ["Sales", "SALES", "sales", "y" * 40, "y" * 35]]
    assert names[:3] == ["Sales", "SALES (2)", "sales (3)"]
    assert names[3] == "y" * 31 and names[4] == "y" * 27 + " (2)"


def test_display_width_counts_cjk_twice() -> None:
    assert display_width("abc") == 3
    assert display_width("臺北市") == 6
    assert display_width("ＡＢ１") == 6  # fullwidth
    assert display_width("e\u0301") == 1  # a combining accent takes no room


def test_every_text_is_written_as_text_wherever_it_appears() -> None:
    evil = "=cmd|' /C calc'!A0"
    result = {
        "format": "csv", "encoding": "utf-8", "delimiter": ",", "text": None,
        "warnings": [evil],
        "tables": [{
            "name": evil, "rows": 1, "warnings": [],
            "columns": [{"name": evil, "type": "text", "nulls": 0, "min": None, "max": None,
                         "mean": None, "std": None, "top": [[evil, 1]], "histogram": None,
                         "unit": None, "formats": []}],
            "preview": [{evil: evil}],
        }],
    }  # fmt: skip
    content = analysis_workbook(result, filename=evil, size_bytes=1, finished_at=None)
    assert_no_formula(content)
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    cells = [
        cell
        for sheet in workbook
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and evil in cell.value
    ]
    # file name, table name (twice), warning, column name, top value, preview header and cell
    assert len(cells) >= 8 and {cell.data_type for cell in cells} == {"s"}
    assert sum(cell.value == evil for cell in cells) >= 5


@pytest.mark.slow
def test_a_table_wider_than_excel_is_cut_in_its_preview_and_said() -> None:
    width = 16_384 + 2
    columns = [
        {"name": f"c{i}", "type": "integer", "nulls": 0, "min": i, "max": i, "mean": float(i),
         "std": None, "top": None, "histogram": None, "unit": None, "formats": []}
        for i in range(width)
    ]  # fmt: skip
    table = {"name": "寬表", "rows": 1, "columns": columns, "warnings": [],
             "preview": [{f"c{i}": i for i in range(width)}]}  # fmt: skip
    result = {"format": "csv", "encoding": "utf-8", "delimiter": ",", "text": None,
              "tables": [table], "warnings": []}  # fmt: skip
    content = analysis_workbook(result, filename="寬表.csv", size_bytes=1, finished_at=None)
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    assert workbook["欄位統計"].max_row == width + 1  # every column's figures
    assert workbook["預覽 寬表"].max_column == 16_384
    notes = [row[1] for row in workbook["摘要"].iter_rows(values_only=True)]
    assert any("超過 Excel 每個工作表 16,384 欄的上限" in str(note) for note in notes)


# -- preview sheets whose names Excel would cut or refuse --------------------------------

SHARED_31 = "各區域銷售明細與毛利分析報表二〇二六年第一季度全部門彙整總表冊"  # 31 characters
CLASHING_TABLES = {
    SHARED_31 + "北區業務部明細表甲": "預覽 " + SHARED_31[:28],
    SHARED_31 + "南區業務部明細表乙": "預覽 " + SHARED_31[:24] + " (2)",
    SHARED_31 + "東區業務部明細表丙": "預覽 " + SHARED_31[:24] + " (3)",
    "Sales": "預覽 Sales",
    "SALES": "預覽 SALES (2)",
    "sales": "預覽 sales (3)",
    "報價[2024]:Q1/Q2*?\\": "預覽 報價_2024__Q1_Q2___",
    "報價_2024__Q1_Q2___": "預覽 報價_2024__Q1_Q2___ (2)",
}


def assert_valid_and_unique(sheetnames: list[str]) -> None:
    """What Excel requires of sheet names (its "specifications and limits")."""
    for name in sheetnames:
        assert 1 <= len(name.encode("utf-16-le")) // 2 <= 31, name
        assert not set(name) & set("[]:*?/\\"), name
        assert not name.startswith("'") and not name.endswith("'"), name
    assert len({name.casefold() for name in sheetnames}) == len(sheetnames), sheetnames


def test_clashing_table_names_get_unique_sheets_that_name_their_table(
    client: TestClient,
) -> None:
    assert len(SHARED_31) == 31
    assert all(len(name) == 40 for name in list(CLASHING_TABLES)[:3])
    doc = {name: [{"編號": i, "金額": 100 * i}] for i, name in enumerate(CLASHING_TABLES)}
    body = json.dumps(doc, ensure_ascii=False).encode()
    task_id, task = analysed(client, "分區報表.json", body)
    assert [table["name"] for table in task["result"]["tables"]] == list(CLASHING_TABLES)
    workbook, _, _ = report(client, task_id)
    check_against_json(workbook, task)  # A1 of each preview sheet names its table in full
    assert workbook.sheetnames[2:] == list(CLASHING_TABLES.values())
    assert_valid_and_unique(workbook.sheetnames)
    titles = {workbook[sheet]["A1"].value: sheet for sheet in workbook.sheetnames[2:]}
    assert titles == {f"表格：{name}（共 1 列）": s for name, s in CLASHING_TABLES.items()}
    for i, sheet in enumerate(CLASHING_TABLES.values()):
        assert [c.value for c in workbook[sheet][3]] == [i, 100 * i]  # its own table's row


def table_named(name: str, rows: int = 3) -> dict[str, Any]:
    column = {"name": "值", "type": "integer", "nulls": 0, "min": 1, "max": rows, "mean": 2.0,
              "std": 1.0, "top": None, "histogram": None, "unit": None, "formats": []}  # fmt: skip
    return {"name": name, "rows": rows, "columns": [column], "warnings": [],
            "preview": [{"值": i + 1} for i in range(min(rows, 2))]}  # fmt: skip


@pytest.mark.parametrize(
    "names",
    [
        ["x" * 40, "x" * 31 + "y" * 9, "x" * 35],  # alike in the first 31 characters
        ["Report" + "a" * 34, "REPORT" + "A" * 34, "report" + "b" * 34],  # and in case
        ["a/b", "a\\b", "a?b", "a*b", "a:b", "a[b", "a]b"],  # all a_b after replacement
        ["月報\u202e", "月報", "\u200b月報"],  # alike but for invisible characters
        ["ＳＡＬＥＳ", "sales", "Sales"],  # full-width forms
    ],
    ids=["long", "case", "forbidden", "invisible", "fullwidth"],
)
def test_preview_sheets_stay_apart(names: list[str]) -> None:
    result = {"format": "json", "encoding": "utf-8", "delimiter": None, "text": None,
              "tables": [table_named(name) for name in names], "warnings": []}  # fmt: skip
    content = analysis_workbook(result, filename="a.json", size_bytes=1, finished_at=None)
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    previews = workbook.sheetnames[2:]
    assert len(previews) == len(names)
    assert_valid_and_unique(workbook.sheetnames)
    assert all(sheet.startswith("預覽 ") for sheet in previews)
    expected = [f"表格：{name}（共 3 列，這裡列出前 2 列）" for name in names]
    assert [workbook[sheet]["A1"].value for sheet in previews] == expected
    assert [workbook[sheet]["A2"].value for sheet in previews] == ["值"] * len(names)
    assert all(workbook[sheet].freeze_panes == "A3" for sheet in previews)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("月\u202e報\u2066表\u2069", "月報表"),
        ("\u200b\ufeff", "表格"),
        ("'\u200b'", "表格"),
    ],
)
def test_sheet_names_drop_invisible_characters(name: str, expected: str) -> None:
    assert sheet_name(name, set()) == expected
