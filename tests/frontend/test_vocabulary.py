"""The frontend's labels come from the backend's vocabulary, and no value the backend sends
lacks one: real analysis results of every kind of file, and task lists of every status,
rendered through the pages against the real backend, meet no value without a label."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from backend.jobs.analyze import analyze_file
from backend.jobs.context import RecordingContext
from frontend.utils.api_client import APIClient
from frontend.utils.errors import make_error
from frontend.utils.tasks import STATUSES
from frontend.utils.vocabulary import (
    Vocabulary,
    clear_missing_labels,
    label,
    missing_labels,
    term,
)
from tests.backend.analyze.test_spreadsheet_formats import FIXTURES, report_ods, report_xlsb
from tests.frontend.conftest import button, page_text, wait_task
from tests.servers import Server, start_backend

ROWS = 30
DELIMITED = "編號{d}數量{d}名稱\n" + "".join(f"{i}{{d}}{i * 3}{{d}}品項{i}\n" for i in range(ROWS))
JAPANESE = "商品名,価格\n" + "".join(f"りんごジュース{i},{100 + i}\n" for i in range(ROWS))
TEXT: dict[str, tuple[str, str]] = {
    # name: (text, encoding)
    "訂單.csv": (
        "客戶,交易日期,金額\r\n"
        + "".join(f'許功蓋,113/{i % 12 + 1:02d}/01,"NT${300 + 97 * i:,}"\r\n' for i in range(ROWS)),
        "cp950",
    ),
    "格式.csv": (
        "金額,比率,全形,日期\n"
        + "".join(f'"(1,{i:03d})",{i}.5%,１２{i % 10},2024年5月{i + 1}日\n' for i in range(ROWS)),
        "utf-8-sig",
    ),
    "混合日期.csv": (
        "日期\n" + "".join(f"113/05/{i + 1:02d}\n2024/06/{i + 1:02d}\n" for i in range(15)),
        "utf-8",
    ),
    "型別.csv": (
        (
            "編號,單價,日期,時間,已付款,城市\n"
            "1,1.5,2024-05-01,2024-05-01 13:45,TRUE,臺北市\n"
            "2,2.25,2024-05-03,2024-05-02 08:00,FALSE,高雄市\n"
        ),
        "utf-8",
    ),
    "時區.csv": (
        "上班,打卡\n"
        + "".join(f"0{i % 10}:{i:02d},2024-05-01T0{i % 10}:30:00+08:00\n" for i in range(ROWS)),
        "utf-8",
    ),
    "unicode.txt": (DELIMITED.replace("{d}", "\t"), "utf-16"),
    "無BOM小端.csv": (DELIMITED.replace("{d}", ","), "utf-16-le"),
    "無BOM大端.csv": (DELIMITED.replace("{d}", ","), "utf-16-be"),
    "utf32.csv": (DELIMITED.replace("{d}", ","), "utf-32"),
    "分號.csv": (DELIMITED.replace("{d}", ";"), "utf-8"),
    "直線.csv": (DELIMITED.replace("{d}", "|"), "utf-8"),
    "冒號.csv": (DELIMITED.replace("{d}", ":"), "utf-8"),
    "井字號.csv": (DELIMITED.replace("{d}", "#"), "utf-8"),
    "插入符號.csv": (DELIMITED.replace("{d}", "^"), "utf-8"),
    "波浪號.csv": (DELIMITED.replace("{d}", "~"), "utf-8"),
    "對齊.txt": (
        "編號   數量   名稱\n" + "".join(f"{i:<6} {i * 3:<6} 品項{i}\n" for i in range(ROWS)),
        "utf-8",
    ),
    "定位.tsv": (DELIMITED.replace("{d}", "\t"), "utf-8"),
    "會議.txt": ("會議紀錄：討論下一季的預算。\n與會者為王經理。\n結論是下週再議。\n", "utf-8"),
    "日本.csv": (JAPANESE, "cp932"),
    "简体.csv": ("名称,价格\n" + "".join(f"苹果汁{i},{i}\n" for i in range(40)), "gb18030"),
    "韓國.csv": ("이름,가격\n" + "".join(f"사과주스{i},{i}\n" for i in range(40)), "cp949"),
    "西歐.csv": ("name,price\n" + "".join(f"Café crème {i},{i}\n" for i in range(40)), "cp1252"),
    "中歐.csv": (
        "název,cena\n" + "".join(f"Příliš žluťoučký kůň {i},{i}\n" for i in range(40)),
        "cp1250",
    ),
    "斯拉夫.csv": (
        "имя,цена\n" + "".join(f"Съешь же ещё булок {i},{i}\n" for i in range(40)),
        "cp1251",
    ),
    "陣列.json": (json.dumps([{"a": i, "b": {"c": f"值{i}"}} for i in range(ROWS)]), "utf-8"),
    "逐行.json": ("\n".join(json.dumps({"n": i, "ok": i % 2 == 0}) for i in range(ROWS)), "utf-8"),
    "代碼.json": (json.dumps([{"zip": str(100 + i)} for i in range(ROWS)]), "utf-8"),
}
COMMON_ENCODINGS = {
    "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp950",
    "gb18030", "cp932", "cp949", "cp1252", "cp1250", "cp1251",
}  # fmt: skip
# The single-column marker is a delimiter the analysis uses, never one it reports.
NEVER_REPORTED = {("delimiters", "\x1f")}


def _workbook(path: Path) -> None:
    workbook = openpyxl.Workbook()
    sales = workbook.active
    sales.title = "銷售"
    sales.append(["2024 年度銷售報表"])
    sales.append(["日期", "時間", "數量", "單價", "已出貨"])
    for i in range(ROWS):
        sales.append(
            [
                dt.date(2024, 1, 1) + dt.timedelta(days=i),
                dt.datetime(2024, 5, 1, 9) + dt.timedelta(hours=5 * i),
                10 + i,
                9.5 + i / 4,
                i % 3 != 0,
            ]
        )
    workbook.create_sheet("空白")
    workbook.save(path)


@pytest.fixture(scope="module")
def analyses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """What the real analyze job returns for each file, through JSON as the API sends it."""
    folder = tmp_path_factory.mktemp("vocabulary")
    for name, (text, encoding) in TEXT.items():
        (folder / name).write_bytes(text.encode(encoding))
    _workbook(folder / "報表.xlsx")
    # The other workbook formats, from the backend tests' fixture and builders.
    shutil.copy(FIXTURES / "report.xls", folder / "舊版.xls")
    report_xlsb(folder / "二進位.xlsb")
    report_ods(folder / "開放文件.ods")
    return {
        path.name: json.loads(json.dumps(analyze_file(RecordingContext(), str(path), path.name)))
        for path in sorted(folder.iterdir())
    }


@pytest.fixture
def no_misses_yet() -> Iterator[None]:
    clear_missing_labels()
    yield
    clear_missing_labels()


def _reported(result: dict[str, Any]) -> set[tuple[str, str]]:
    values = {("file_formats", result["format"])}
    for name, key in (("encodings", "encoding"), ("delimiters", "delimiter")):
        if result.get(key):
            values.add((name, result[key]))
    for table in result["tables"]:
        for column in table["columns"]:
            values.add(("column_types", column["type"]))
            values.update(("value_formats", written) for written in column.get("formats") or [])
    return values


# --- The lookup ------------------------------------------------------------------------


def test_label_records_what_the_backend_did_not_label(no_misses_yet: None) -> None:
    vocabulary = {"statuses": {"pending": "等待中"}}
    assert label(vocabulary, "statuses", "pending") == "等待中"
    assert missing_labels() == set()
    assert label(vocabulary, "statuses", "paused") == "paused"
    assert label(vocabulary, "statuses", "paused", "（暫停）") == "（暫停）"
    assert missing_labels() == {("statuses", "paused")}
    assert label(vocabulary, "kinds", "analyze") == "analyze"  # a vocabulary it lacks
    assert missing_labels() == {("statuses", "paused"), ("kinds", "analyze")}
    # Without any vocabulary (the backend could not be asked) there is nothing to miss.
    clear_missing_labels()
    assert label({}, "statuses", "pending") == "pending"
    assert term({"errors": {"x": {"title": "甲"}}}, "errors", "x") == {"title": "甲"}
    assert missing_labels() == set()


# --- Real values against the real vocabulary -----------------------------------------------


@pytest.mark.slow
def test_the_files_cover_every_label_the_analysis_can_need(
    analyses: dict[str, dict[str, Any]], vocabulary: Vocabulary
) -> None:
    """So that the test below meets every value the backend can report: each file format,
    delimiter, column type and value format, and the encodings people send most."""
    reported = set().union(*map(_reported, analyses.values()))
    sections = ("file_formats", "delimiters", "column_types", "value_formats")
    labelled = {(name, value) for name in sections for value in vocabulary[name]}
    assert labelled - reported == NEVER_REPORTED
    assert {value for name, value in reported if name == "encodings"} == COMMON_ENCODINGS


@pytest.mark.slow
def test_every_analysis_result_meets_only_labelled_values(
    analyses: dict[str, dict[str, Any]], vocabulary: Vocabulary, no_misses_yet: None
) -> None:
    def script(vocabulary, result):
        from frontend.components.analysis.view import render_analysis

        render_analysis(vocabulary, result)

    for name, result in analyses.items():
        at = AppTest.from_function(script, kwargs={"vocabulary": vocabulary, "result": result})
        at.run()
        assert not at.exception, (name, at.exception)
        facts = {m.label: m.value for m in at.metric}
        assert facts["檔案格式"] == vocabulary["file_formats"][result["format"]], name
    assert missing_labels() == set()


@pytest.mark.slow
def test_task_lists_of_every_status_meet_only_labelled_values(
    make_app: Callable[..., AppTest], tmp_path: Path, no_misses_yet: None
) -> None:
    """Tasks of both kinds in every status, on the home page, 任務管理 (the table, the
    filters, a failed task's error, an analysis) and the two pages that watch tasks."""
    server = start_backend(tmp_path / "backend", max_concurrent_tasks=1)
    client = APIClient(server.url)
    try:
        analysed = client.upload_file("報價單.csv", "品項,數量\n筆,3\n紙,5\n".encode())
        wait_task(client, analysed["task_id"])
        wait_task(client, client.create_process_task("完成", 0)["task_id"])
        failed = client.upload_file("壞掉.json", b'[{"a": 1}, {"a": ')
        assert wait_task(client, failed["task_id"])["status"] == "failed"
        client.cancel_task(client.create_process_task("取消", 30)["task_id"])
        running = client.create_process_task("執行中", 30)
        client.create_process_task("排隊中", 30)  # one task at a time: this one waits
        # The slot frees within a second or so; the margin is for a loaded CI machine.
        deadline = time.monotonic() + 30
        while client.get_task(running["task_id"])["status"] != "processing":
            tasks = [(t["kind"], t["status"], t["message"]) for t in client.list_tasks()["items"]]
            assert time.monotonic() < deadline, f"the first long task never started: {tasks}"
            time.sleep(0.1)
        statuses = {task["status"] for task in client.list_tasks(limit=5)["items"]}
        assert statuses == {"pending", "processing", "completed", "failed", "cancelled"}

        at = make_app(server.url).run()
        assert not at.exception
        assert set(at.dataframe[0].value["狀態"]) == {
            "等待中",
            "處理中",
            "已完成",
            "失敗",
            "已取消",
        }

        at.switch_page("app_pages/task_management.py").run()
        assert set(at.dataframe[0].value["種類"]) == {"檔案分析", "長時間處理"}
        for task, shows in ((failed, "任務失敗"), (analysed, "欄位摘要")):
            at.selectbox(key="tasks_selected").set_value(task["task_id"]).run()
            button(at, "檢視結果").click().run()
            assert not at.exception
            assert shows in page_text(at)

        at.switch_page("app_pages/file_upload.py")
        at.query_params["tasks"] = f"{analysed['task_id']},{failed['task_id']}"
        at.run()
        at.switch_page("app_pages/long_task.py")
        at.query_params["task"] = running["task_id"]
        at.run()
        assert not at.exception
        assert "取消任務" in [b.label for b in at.button]
    finally:
        server.stop()  # its own backend: the running and waiting tasks go with it
    assert missing_labels() == set()


# --- No vocabulary: the pages still work, with the raw values ---------------------------------


@pytest.mark.slow
def test_pages_render_without_the_vocabulary(
    make_app: Callable[..., AppTest],
    backend: Server,
    client: APIClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backend that cannot give its vocabulary (an older version, a passing fault): every
    page renders, values are shown as the backend sends them, and the sidebar says why."""
    wait_task(client, client.create_process_task("沒有詞彙", 0)["task_id"])

    def unavailable(_client: APIClient) -> Vocabulary:
        raise make_error("service_unavailable")

    monkeypatch.setattr(APIClient, "vocabulary", unavailable)
    at = make_app(backend.url).run()
    assert not at.exception
    assert [metric.label for metric in at.metric] == list(STATUSES)
    assert "completed" in at.dataframe[0].value["狀態"].tolist()
    assert "無法取得後端的中文名稱對照表" in "\n".join(c.value for c in at.sidebar.caption)
    for path in ("app_pages/file_upload.py", "app_pages/long_task.py"):
        at.switch_page(path).run()
        assert not at.exception, path
    at.switch_page("app_pages/task_management.py").run()
    assert not at.exception
    assert "process" in at.dataframe[0].value["種類"].tolist()


def test_an_analysis_renders_without_the_vocabulary(analyses: dict[str, dict[str, Any]]) -> None:
    def script(result):
        from frontend.components.analysis.view import render_analysis

        render_analysis({}, result)

    at = AppTest.from_function(script, kwargs={"result": analyses["訂單.csv"]}).run()
    assert not at.exception
    facts = {m.label: m.value for m in at.metric}
    assert (facts["檔案格式"], facts["文字編碼"], facts["分隔符號"]) == ("CSV", "CP950", "「,」")
    assert "integer（currency、thousands）" in at.dataframe[0].value["型別"].tolist()
