"""Invisible format characters in file names: removed from the stored name of an upload and
from every download name, with a zh-TW note, so that `報價單\u202excs.csv` (shown as
報價單vsc.scx) cannot pose as another file, and every extension check sees the real one."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote, unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient

from backend.api.receiving import check_filename
from backend.api.report_xlsx import analysis_workbook
from backend.errors import AppError
from backend.files import clean_filename
from backend.service import create_task
from tests.backend.api.test_uploads import (
    CSV,
    assert_nothing_left,
    multipart,
    multipart_with,
    stream,
)
from tests.backend.conftest import assert_problem, wait_for

ALLOWED = [".csv", ".xlsx", ".txt", ".json"]

# Every character the rule is about, with the zh-TW name the note gives it (None: the note
# names it by its code point only). All are Unicode general category Cf.
INVISIBLE = {
    "\u202a": "由左至右嵌入",
    "\u202b": "由右至左嵌入",
    "\u202c": "結束方向格式",
    "\u202d": "由左至右覆寫",
    "\u202e": "由右至左覆寫",
    "\u2066": "由左至右隔離",
    "\u2067": "由右至左隔離",
    "\u2068": "第一強字元隔離",
    "\u2069": "結束方向隔離",
    "\u200b": "零寬空格",
    "\u200c": "零寬不連字",
    "\u200d": "零寬連字",
    "\u200e": "由左至右標記",
    "\u200f": "由右至左標記",
    "\u2060": "字連接符",
    "\u2061": "隱形函數符號",
    "\u2062": "隱形乘號",
    "\u2063": "隱形分隔號",
    "\u2064": "隱形加號",
    "\ufeff": "零寬不換行空格（BOM）",
    "\u061c": "阿拉伯字母標記",
    "\u00ad": "軟連字號",
    "\u180e": None,  # Mongolian vowel separator
    "\u206a": None,  # inhibit symmetric swapping (deprecated)
    "\U000e0041": None,  # tag latin capital letter A
}


def code(char: str) -> str:
    return f"U+{ord(char):04X}"


@pytest.mark.parametrize("char", list(INVISIBLE), ids=[code(c) for c in INVISIBLE])
def test_each_invisible_character_is_removed_and_named(char: str) -> None:
    checked = check_filename(f"報價單{char}xcs.csv", ALLOWED)
    assert checked.name == "報價單xcs.csv" and checked.extension == ".csv"
    label = INVISIBLE[char]
    named = f"{code(char)}（{label}）" if label else code(char)
    note = (
        f"檔名含有看不見的格式字元 {named}，可能讓檔名顯示得與實際不同（例如副檔名被倒過來"
        "顯示），已移除；檔案以「報價單xcs.csv」儲存與下載。"
    )
    assert checked.notes == (note,)


def test_several_in_one_name_are_all_removed_each_named_once() -> None:
    raw = "\u202e報\u200b價\u200b單\u2066(2024)\u2069.c\u00adsv\ufeff"
    checked = check_filename(raw, ALLOWED)
    assert checked.name == "報價單(2024).csv" and checked.extension == ".csv"
    (note,) = checked.notes
    codes = ["U+202E", "U+200B", "U+2066", "U+2069", "U+00AD", "U+FEFF"]
    assert [note.count(c) for c in codes] == [1] * len(codes)
    assert [note.index(c) for c in codes] == sorted(note.index(c) for c in codes)


@pytest.mark.parametrize(
    "name",
    [
        "報價單.csv",
        "Sales 2026 (final).xlsx",
        "👩💻 清單.txt",  # emojis side by side, no joiner
        "café crème.csv",
        "ＡＢＣ全形.json",
        "עברית.csv",  # right-to-left letters are letters, not controls
        "دفتر.csv",
    ],
)
def test_visible_names_are_kept_as_they_are(name: str) -> None:
    assert clean_filename(name) == (name, [])
    checked = check_filename(name, ALLOWED)
    assert checked.name == name and checked.notes == ()


def test_an_emoji_sequence_loses_only_its_joiner() -> None:
    assert clean_filename("👩\u200d💻.csv") == ("👩💻.csv", ["U+200D"])


@pytest.mark.parametrize(
    ("raw", "shown_extension"),
    [
        ("invoice\u202efdp.exe", ".exe"),  # shows as invoiceexe.pdf
        ("報價單\u202evsc.xlsx.zip", ".zip"),
        ("\u202ecsv.exe", ".exe"),
        ("data.cs\u200bv.pdf", ".pdf"),
    ],
)
def test_the_extension_check_sees_the_real_extension(raw: str, shown_extension: str) -> None:
    with pytest.raises(AppError) as caught:
        check_filename(raw, ALLOWED)
    assert caught.value.code == "unsupported_file_type"
    assert f"不支援 {shown_extension} 檔案" in caught.value.detail


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("報價單\u202eslx.csv", "報價單slx.csv"),  # shows as 報價單vsc.xls: still a .csv file
        ("data.c\u200bsv", "data.csv"),
        ("data.csv\u202c", "data.csv"),
        ("DATA.\u2066CSV\u2069", "DATA.CSV"),
    ],
)
def test_a_real_extension_inside_invisible_characters_is_accepted(raw: str, cleaned: str) -> None:
    checked = check_filename(raw, ALLOWED)
    assert (checked.name, checked.extension) == (cleaned, ".csv")
    assert len(checked.notes) == 1


EMPTY_AFTER_CLEANING = [
    ("\u202e", "只有看不見的格式字元 U+202E（由右至左覆寫），沒有可用的檔名"),
    ("\u200b\u200b\ufeff", "只有看不見的格式字元 U+200B（零寬空格）、U+FEFF（零寬不換行空格（BOM）），沒有可用的檔名"),
    ("\u2066 \u2069", "只有看不見的格式字元 U+2066（由左至右隔離）、U+2069（結束方向隔離），沒有可用的檔名"),
    ("\u202e.csv", "去掉看不見的格式字元 U+202E（由右至左覆寫）後只剩副檔名「.csv」"),
    ("\u200b \u200f.xlsx", "去掉看不見的格式字元 U+200B（零寬空格）、U+200F（由右至左標記）後只剩副檔名「 .xlsx」"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "reason"), EMPTY_AFTER_CLEANING)
def test_a_name_that_becomes_empty_is_refused(raw: str, reason: str) -> None:
    with pytest.raises(AppError) as caught:
        check_filename(raw, ALLOWED)
    assert caught.value.code == "invalid_filename"
    assert caught.value.detail == f"檔名不合法：{reason}。"


# -- through the API ---------------------------------------------------------------------


def rlo_multipart(client: TestClient, name: str, body: bytes):
    """The RFC 8187 extended parameter, percent-encoded UTF-8 (as curl or requests send)."""
    return multipart_with(client, f"filename*=UTF-8''{quote(name)}", body)


@pytest.mark.parametrize("store_kind", ["memory"])
@pytest.mark.parametrize(("raw", "reason"), EMPTY_AFTER_CLEANING)
@pytest.mark.parametrize("send", [stream, multipart, rlo_multipart])
def test_the_api_refuses_a_name_that_becomes_empty(
    client: TestClient, upload_dir: Path, send, raw: str, reason: str
) -> None:
    body = assert_problem(send(client, raw, CSV), 400, "invalid_filename")
    assert body["detail"] == f"檔名不合法：{reason}。"
    assert_nothing_left(client, upload_dir)


@pytest.mark.parametrize("store_kind", ["memory"])
@pytest.mark.parametrize("send", [stream, multipart, rlo_multipart])
def test_the_api_refuses_a_disguised_extension(client: TestClient, upload_dir: Path, send) -> None:
    body = assert_problem(send(client, "invoice\u202efdp.exe", CSV), 415, "unsupported_file_type")
    assert "不支援 .exe 檔案" in body["detail"]
    assert_nothing_left(client, upload_dir)


def download_name(response) -> str:
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition.isascii()
    return unquote(disposition.split("filename*=UTF-8''")[1])


@pytest.mark.parametrize("send", [stream, multipart, rlo_multipart])
def test_a_cleaned_upload_is_stored_listed_analysed_and_downloaded_clean(
    client: TestClient, upload_dir: Path, send
) -> None:
    response = send(client, "報價單\u202excs.csv", CSV)
    assert response.status_code == 202, response.text
    task_id = response.json()["task_id"]
    assert response.json()["filename"] == "報價單xcs.csv"
    assert [p.name for p in upload_dir.iterdir()] == [f"{task_id}.csv"]

    task = wait_for(client, task_id)
    assert task["status"] == "completed" and task["filename"] == "報價單xcs.csv"
    note = (
        "檔名含有看不見的格式字元 U+202E（由右至左覆寫），可能讓檔名顯示得與實際不同"
        "（例如副檔名被倒過來顯示），已移除；檔案以「報價單xcs.csv」儲存與下載。"
    )
    assert task["result"]["warnings"][0] == note  # first: it is about the file itself
    assert [
        t["task_id"] for t in client.get("/api/tasks", params={"q": "xcs"}).json()["items"]
    ] == [task_id]

    result = client.get(f"/api/task/{task_id}/result")
    assert download_name(result) == "報價單xcs_分析結果.json"
    assert result.json()["warnings"][0] == note
    report = client.get(f"/api/task/{task_id}/result", params={"format": "xlsx"})
    assert download_name(report) == "報價單xcs_分析報告.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(report.content))
    summary = [(row[0].value, row[1].value) for row in workbook["摘要"].iter_rows()]
    assert ("檔案名稱", "報價單xcs.csv") in summary
    assert [value for _, value in summary].count(f"1. {note}") == 1
    assert workbook.sheetnames[2:] == ["預覽 報價單xcs"]


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_a_name_without_invisible_characters_gets_no_note(client: TestClient) -> None:
    task_id = stream(client, "報價單.csv", CSV).json()["task_id"]
    task = wait_for(client, task_id)
    assert not any("格式字元" in warning for warning in task["result"]["warnings"])


@pytest.mark.parametrize("store_kind", ["memory"])
def test_a_task_stored_before_the_rule_still_downloads_clean_names(client: TestClient) -> None:
    store = client.app.state.store
    result = {"format": "csv", "encoding": "utf-8", "delimiter": ",", "text": None,
              "tables": [], "warnings": []}  # fmt: skip
    expected = {
        "舊\u202e檔\u200b.csv": ("舊檔_分析結果.json", "舊檔_分析報告.xlsx"),
        # nothing left of the name: the task's kind names the download
        "\u2067\u2069.csv": ("檔案分析_結果.json", "檔案分析_結果.xlsx"),
        "\u202e": ("檔案分析_結果.json", "檔案分析_結果.xlsx"),
    }
    for stored, (json_name, xlsx_name) in expected.items():
        task = create_task(store, "analyze", {}, runner_id="elsewhere", filename=stored)
        assert store.finish(task.task_id, "completed", message="完成", result=result)
        url = f"/api/task/{task.task_id}/result"
        assert download_name(client.get(url)) == json_name
        assert download_name(client.get(url, params={"format": "xlsx"})) == xlsx_name


def test_the_report_names_the_file_without_invisible_characters() -> None:
    result = {"format": "csv", "encoding": "utf-8", "delimiter": ",", "text": None,
              "tables": [], "warnings": []}  # fmt: skip
    content = analysis_workbook(result, filename="報\u202e價\u2066單.csv", size_bytes=1,
                                finished_at=None)  # fmt: skip
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    summary = {row[0].value: row[1].value for row in workbook["摘要"].iter_rows()}
    assert summary["檔案名稱"] == "報價單.csv"
