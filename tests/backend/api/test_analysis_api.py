"""Uploads all the way through the runner and a job process: results, failures, cleanup."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from fastapi.testclient import TestClient

from tests.backend.conftest import assert_problem, wait_for


def upload(client: TestClient, name: str, body: bytes) -> str:
    response = client.post("/api/upload/stream", content=body, headers={"X-Filename": quote(name)})
    assert response.status_code == 202, response.text
    return response.json()["task_id"]


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "報價"
    sheet.append(["品名", "數量"])
    for i in range(10):
        sheet.append([f"品項{i % 3}", i])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_member(xlsx: bytes, member: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as old,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            if info.filename != member:
                new.writestr(info, old.read(info))
        new.writestr(member, data)
    return out.getvalue()


def test_big5_csv_from_excel_is_analysed(client: TestClient, upload_dir: Path) -> None:
    body = "客戶,城市,金額\n許功蓋,臺北市,100\n裏見,新竹市,\n許功蓋,臺北市,250.5\n".encode("cp950")
    task_id = upload(client, "客戶.csv", body)
    task = wait_for(client, task_id)
    assert task["status"] == "completed", task
    result = task["result"]
    assert result["encoding"] == "cp950" and result["format"] == "csv"
    [table] = result["tables"]
    assert table["rows"] == 3
    columns = {c["name"]: c for c in table["columns"]}
    assert columns["客戶"]["top"][0] == ["許功蓋", 2]
    assert columns["金額"]["nulls"] == 1 and columns["金額"]["max"] == 250.5
    assert (upload_dir / f"{task_id}.csv").exists()  # kept until the task is deleted
    download = client.get(f"/api/task/{task_id}/result")
    assert download.json() == result
    assert client.delete(f"/api/task/{task_id}").status_code == 204
    assert list(upload_dir.iterdir()) == []


def test_xlsx_is_analysed(client: TestClient) -> None:
    task = wait_for(client, upload(client, "報價.xlsx", xlsx_bytes()))
    assert task["status"] == "completed", task
    assert task["result"]["tables"][0]["name"] == "報價"
    assert task["result"]["tables"][0]["rows"] == 10


def _assert_failed_and_cleaned(
    client: TestClient, upload_dir: Path, task_id: str, code: str
) -> dict:
    task = wait_for(client, task_id)
    assert task["status"] == "failed", task
    assert task["error"]["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in task["error"]["message"])
    assert "Traceback" not in str(task)
    assert list(upload_dir.iterdir()) == []  # a failed upload leaves no file behind
    assert client.get("/").json()["status"] == "ok"
    return task


@pytest.mark.slow
def test_xlsx_zip_bomb(client: TestClient, upload_dir: Path) -> None:
    zeros = b"\x00" * (1 << 20)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx_bytes())) as old,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new,
    ):
        for info in old.infolist():
            new.writestr(info, old.read(info))
        with new.open("xl/worksheets/sheet2.xml", "w") as huge:
            for _ in range(600):
                huge.write(zeros)
    bomb = out.getvalue()
    assert len(bomb) < 2 * 1024 * 1024
    _assert_failed_and_cleaned(
        client, upload_dir, upload(client, "bomb.xlsx", bomb), "invalid_file_format"
    )


def test_xml_entity_bomb(client: TestClient, upload_dir: Path) -> None:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e0 "ha">{entities}]>'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&e9;</t></si></sst>')  # fmt: skip
    body = with_member(xlsx_bytes(), "xl/sharedStrings.xml", bomb.encode())
    _assert_failed_and_cleaned(
        client, upload_dir, upload(client, "bomb.xlsx", body), "invalid_file_format"
    )


def test_deeply_nested_json(client: TestClient, upload_dir: Path) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    _assert_failed_and_cleaned(
        client, upload_dir, upload(client, "deep.json", body), "invalid_file_format"
    )


def test_invalid_json(client: TestClient, upload_dir: Path) -> None:
    _assert_failed_and_cleaned(
        client, upload_dir, upload(client, "bad.json", b'[{"a": 1,'), "invalid_file_format"
    )


def test_whitespace_only_file(client: TestClient, upload_dir: Path) -> None:
    _assert_failed_and_cleaned(
        client, upload_dir, upload(client, "blank.csv", b"\n \r\n  \n"), "empty_file"
    )


def test_ragged_rows_are_reported_not_fatal(client: TestClient) -> None:
    body = b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n"
    task = wait_for(client, upload(client, "ragged.csv", body))
    assert task["status"] == "completed", task
    assert task["result"]["tables"][0]["rows"] == 4  # ragged rows are kept
    assert any("欄位數" in warning for warning in task["result"]["warnings"])


def test_unbalanced_quotes_do_not_crash(client: TestClient, upload_dir: Path) -> None:
    body = b'a,b\n1,"never closed\n2,3\n4,5\n'
    task = wait_for(client, upload(client, "quotes.csv", body))
    if task["status"] == "failed":
        assert task["error"]["code"] == "invalid_file_format"
        assert list(upload_dir.iterdir()) == []
    else:
        assert task["status"] == "completed"
        assert any("引號" in warning for warning in task["result"]["warnings"]), task["result"][
            "warnings"
        ]


def test_cancel_an_analysis_removes_its_file(client: TestClient, upload_dir: Path) -> None:
    body = b"id,value,name\n" + b"".join(
        b"%d,%d.25,name%d\n" % (i, i, i % 97) for i in range(400_000)
    )
    task_id = upload(client, "big.csv", body)
    wait_for(client, task_id, {"processing", "completed"})
    response = client.delete(f"/api/task/{task_id}/cancel")
    if response.status_code == 409:  # finished first on a fast machine: nothing to test
        assert_problem(response, 409, "task_not_cancellable")
        return
    assert response.json()["status"] == "cancelled"
    assert wait_for(client, task_id)["status"] == "cancelled"
    # The store says cancelled at once; the runner removes the file once the worker stopped.
    deadline = time.monotonic() + 5
    while list(upload_dir.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(upload_dir.iterdir()) == []
