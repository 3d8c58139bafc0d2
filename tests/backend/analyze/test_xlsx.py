"""backend.jobs.analyze.xlsx: Excel workbooks, their bombs and their progress."""

from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

from backend.jobs.analyze import analyze_file
from backend.jobs.analyze import xlsx as xlsx_module
from backend.jobs.context import JobCancelled, RecordingContext
from tests.backend.analyze.helpers import (
    column,
    refused,
    replace_member,
    stored,
    write_big_workbook,
    write_workbook,
)


def test_xlsx_one_table_per_sheet(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_workbook(path)
    ctx = RecordingContext()
    result = analyze_file(ctx, str(path), "報表.xlsx")
    json.dumps(result, allow_nan=False)
    assert result["format"] == "xlsx"
    assert [t["name"] for t in result["tables"]] == ["銷售", "員工"]
    sales, staff = result["tables"]
    assert sales["rows"] == 30 and len(sales["preview"]) == 20
    quantity = column(sales, "數量")
    assert quantity["type"] == "integer" and (quantity["min"], quantity["max"]) == (0, 29)
    assert column(sales, "單價")["nulls"] == 6
    assert column(sales, "品名")["top"] == [["咖啡", 15], ["茶", 15]]
    assert column(staff, "年資")["mean"] == 4.0
    assert any("空白" in warning for warning in result["warnings"])
    assert any("銷售" in (message or "") for _, message in ctx.reports)


@pytest.mark.parametrize("member", ["xl/sharedStrings.xml", "xl/worksheets/data.bin"])
def test_xlsx_entity_bomb_is_refused(tmp_path: Path, member: str) -> None:
    good = tmp_path / "good.xlsx"
    write_workbook(good)
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">' + lol + "]>"
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
    )
    bad = tmp_path / "bad.bin"
    replace_member(good, bad, member, bomb.encode())
    error = refused(bad, "bomb.xlsx")
    assert error.code == "invalid_file_format" and "DTD" in error.message


@pytest.mark.slow
def test_xlsx_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    write_workbook(good)
    bad = tmp_path / "bad.bin"
    with zipfile.ZipFile(good) as old, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info, old.read(info))
        with new.open("xl/worksheets/sheet9.xml", "w") as huge:
            block = b" " * (1 << 20)
            for _ in range(200):
                huge.write(block)
    assert bad.stat().st_size < 1_000_000
    error = refused(bad, "bomb.xlsx")
    assert error.code == "invalid_file_format" and "壓縮" in error.message


@pytest.mark.parametrize(
    "data",
    [b"not a zip at all", b"PK\x03\x04" + b"\x00" * 200, b"a,b\n1,2\n"],
)
def test_corrupt_or_fake_xlsx(tmp_path: Path, data: bytes) -> None:
    assert refused(stored(tmp_path, data), "fake.xlsx").code == "invalid_file_format"


def test_truncated_xlsx(tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    write_workbook(good)
    data = good.read_bytes()
    assert (
        refused(stored(tmp_path, data[: len(data) // 2]), "cut.xlsx").code == "invalid_file_format"
    )


@pytest.mark.slow
def test_xlsx_progress_is_weighed_by_sheet_size(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_workbook(path, 60_000)
    ctx = RecordingContext()
    result = analyze_file(ctx, str(path), "big.xlsx")
    assert result["tables"][0]["rows"] == 60_000
    assert column(result["tables"][0], "欄位 2")["max"] == 30_000.5
    rows_reports = [value for value, message in ctx.reports if "列）" in (message or "")]
    assert len(rows_reports) >= 10 and rows_reports[-1] > 90  # the big sheet is most of the work


class _HeldWorkbook:
    """A calamine workbook whose sheet loading waits for ``release``: a load that lasts as
    long as the test wants, whatever the machine's speed."""

    def __init__(self, workbook: Any, release: threading.Event) -> None:
        self._workbook = workbook
        self._release = release
        self.loading = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._workbook, name)

    def get_sheet_by_name(self, name: str) -> Any:
        self.loading.set()
        self._release.wait(timeout=60)
        return self._workbook.get_sheet_by_name(name)


class _CancelWhenLoading(RecordingContext):
    """The user cancels when the job says it loads a sheet; the report itself returns, so
    the cancel is noticed inside the load (``xlsx._in_thread``)."""

    def report(self, progress: float, message: str | None = None) -> None:
        self.reports.append((progress, message))
        if "正在載入工作表" in (message or ""):
            self._cancelled = True
        elif self._cancelled:
            raise AssertionError(f"reported after the cancel: {message}")


def test_cancellation_while_calamine_loads_a_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "upload.bin"
    write_big_workbook(path, 1_000)
    release = threading.Event()
    held: list[_HeldWorkbook] = []
    real_open = xlsx_module._open_workbook

    def open_held(*args: Any) -> _HeldWorkbook:
        held.append(_HeldWorkbook(real_open(*args), release))
        return held[-1]

    monkeypatch.setattr(xlsx_module, "_open_workbook", open_held)
    try:
        with pytest.raises(JobCancelled):
            analyze_file(_CancelWhenLoading(), str(path), "big.xlsx")
        # The job gave up while the load was still running (it is held until released).
        assert held and held[0].loading.is_set() and not release.is_set()
        assert any(thread.name == "xlsx-loader" for thread in threading.enumerate())
    finally:
        release.set()
