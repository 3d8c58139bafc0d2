"""Helpers shared by the analyze tests: run the job on a file, read a column, build workbooks."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from backend.jobs.analyze import analyze_file
from backend.jobs.context import JobError, RecordingContext

SMALL_ROWS = "姓名,城市,金額\n許功蓋,臺北市,100\n裏見,高雄市,250.5\n許功蓋,臺北市,\n"


def analyze(path: Path, filename: str | None = None) -> dict:
    ctx = RecordingContext()
    result = analyze_file(ctx, str(path), filename or path.name)
    json.dumps(result, allow_nan=False)  # serialisable, no NaN/inf
    progress = [value for value, _ in ctx.reports]
    assert progress == sorted(progress) and progress[-1] == 100
    assert all(0 <= value <= 100 for value in progress)
    assert all(isinstance(message, str) and message for _, message in ctx.reports)
    return result


def stored(tmp_path: Path, data: bytes, name: str = "upload.bin") -> Path:
    """Uploads are stored under a generated name: the extension only comes with filename."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path: Path, filename: str) -> JobError:
    with pytest.raises(JobError) as caught:
        analyze_file(RecordingContext(), str(path), filename)
    assert caught.value.message and not caught.value.message.isascii()  # zh-TW for users
    return caught.value


def column(table: dict, name: str) -> dict:
    return next(c for c in table["columns"] if c["name"] == name)


def write_workbook(path: Path) -> None:
    workbook = openpyxl.Workbook()
    sales = workbook.active
    sales.title = "銷售"
    sales.append(["日期", "品名", "數量", "單價"])
    for i in range(30):
        sales.append(
            [f"2024-01-{i % 28 + 1:02d}", ["茶", "咖啡"][i % 2], i, i * 1.25 if i % 5 else None]
        )
    staff = workbook.create_sheet("員工")
    staff.append(["姓名", "年資"])
    staff.append(["許功", 3])
    staff.append(["裏見", 5])
    workbook.create_sheet("空白")
    workbook.save(path)


def replace_member(source: Path, target: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != member:
                new.writestr(info, old.read(info))
        new.writestr(member, data)


def write_big_workbook(path: Path, rows: int) -> None:
    """A workbook whose first sheet has ``rows`` numeric rows, written as raw XML (fast)."""
    base = path.with_suffix(".base")
    write_workbook(base)
    cells = "".join(
        f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><v>{i * 0.5}</v></c></row>'
        for i in range(2, rows + 2)
    )
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>n</t></is></c></row>'
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main"><sheetData>{header}{cells}</sheetData></worksheet>'
    )
    replace_member(base, path, "xl/worksheets/sheet1.xml", sheet.encode())


def assert_matches_pandas(table: dict, frame: pd.DataFrame) -> None:
    assert table["rows"] == len(frame)
    for stats in table["columns"]:
        series = frame[stats["name"]]
        assert stats["nulls"] == int(series.isna().sum()), stats["name"]
        if stats["type"] in ("integer", "float"):
            described = series.describe()
            assert stats["min"] == described["min"] and stats["max"] == described["max"]
            assert stats["mean"] == pytest.approx(described["mean"], rel=1e-9)
            assert stats["std"] == pytest.approx(described["std"], rel=1e-9)
        else:
            counts = series.value_counts()
            assert [count for _, count in stats["top"]] == list(counts.iloc[:5])
            assert all(counts[value] == count for value, count in stats["top"])


def big_rows(count: int, start: int = 0) -> str:
    return "".join(f"{i},名{i % 13},{i * 0.5}\n" for i in range(start, start + count))
