"""Long identifiers stay text exactly as written (CSV, xlsx, JSON), and codes that Excel
rounded into E-notation are called out with how many may have collapsed.

Right values are computed here from the data the test writes, never taken from the analysis.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path

import openpyxl
import pytest

from tests.backend.analyze.test_real_world_files import analyze, columns

CASES = Path(__file__).parent / "fixtures" / "round3"  # copies of shared/cases/round3


def top_values(column: dict) -> set[str]:
    return {value for value, _ in column["top"]}


def test_long_ids_case_file(tmp_path: Path) -> None:
    data = (CASES / "long-ids.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    result = analyze(tmp_path, data, "long-ids.csv")
    cols = columns(result)
    ids = [row["交易序號"] for row in rows]
    assert ids == ["10000000000000000001", "10000000000000000002", "98765432109876543210123"]
    assert cols["交易序號"]["type"] == "text" and top_values(cols["交易序號"]) == set(ids)
    assert len(set(ids)) == 3
    amounts = [int(row["金額"]) for row in rows]
    assert cols["金額"]["type"] == "integer" and cols["金額"]["mean"] == statistics.mean(amounts)


@pytest.mark.parametrize("digits", [16, 18, 19, 20, 23, 40])
@pytest.mark.parametrize("beside", ["", "1.5", "NT$1,200"])
def test_digit_strings_longer_than_15_digits_are_text_exactly(
    tmp_path: Path, digits: int, beside: str
) -> None:
    ids = [str(10 ** (digits - 1) + k) for k in (1, 2, 7)] + ([beside] if beside else [])
    text = "編號,數量\n" + "".join(f'"{v}",{i}\n' for i, v in enumerate(ids))
    result = analyze(tmp_path, text, "ids.csv")
    column = columns(result)["編號"]
    assert column["type"] == "text" and column["mean"] is None
    assert top_values(column) == set(ids)


def test_ordinary_numbers_are_still_numbers(tmp_path: Path) -> None:
    values = [123456789012345, -5, 42, 999999999999999]  # 15 digits at most
    text = "n,x\n" + "".join(f"{v},{v}.5\n" for v in values)
    cols = columns(analyze(tmp_path, text, "n.csv"))
    assert cols["n"]["type"] == "integer" and cols["n"]["max"] == max(values)
    assert cols["x"]["type"] == "float" and cols["x"]["min"] == min(float(f"{v}.5") for v in values)


def test_long_ids_stored_as_text_in_excel_stay_text(tmp_path: Path) -> None:
    ids = ["10000000000000000001", "4710000000000000012345", "1234567890123456"]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["交易序號", "金額"])
    for i, value in enumerate(ids):
        sheet.append([value, (i + 1) * 40])  # a text cell, as Excel keeps long IDs
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = analyze(tmp_path, buffer.getvalue(), "ids.xlsx")
    cols = columns(result)
    assert cols["交易序號"]["type"] == "text" and top_values(cols["交易序號"]) == set(ids)
    assert cols["金額"]["mean"] == statistics.mean((i + 1) * 40 for i in range(len(ids)))
    assert not any("以文字儲存的數字" in w for w in result["warnings"])


@pytest.mark.parametrize(
    "ids",
    [
        [10000000000000000001, 10000000000000000002, 98765432109876543210123],  # > int64
        [1234567890123456, 9007199254740993, 123456789012345678],  # 16-18 digits, in int64
        [5, 10000000000000000001, 77],  # beside short integers
        [1.5, 12345678901234567, 2],  # beside a float: would be rounded as a float
    ],
)
def test_json_integers_of_more_than_15_digits_are_text_exactly(tmp_path: Path, ids: list) -> None:
    rows = [{"交易序號": v, "金額": (i + 1) * 40} for i, v in enumerate(ids)]
    result = analyze(tmp_path, json.dumps(rows), "ids.json")
    cols = columns(result)
    expected = {json.dumps(v) for v in ids}  # as the file writes them
    assert cols["交易序號"]["type"] == "text" and top_values(cols["交易序號"]) == expected
    assert any("識別碼" in w and "交易序號" in w for w in result["warnings"])
    assert not any("以文字儲存的數字" in w for w in result["warnings"])
    assert cols["金額"]["mean"] == statistics.mean(r["金額"] for r in rows)


def test_json_long_integers_across_batches(tmp_path: Path) -> None:
    rows = [{"id": i, "v": i % 3} for i in range(5000)]
    rows[4500]["id"] = 123456789012345678901  # in a later batch of 2,000 rows
    result = analyze(tmp_path, json.dumps(rows), "ids.json")
    column = columns(result)["id"]
    assert column["type"] == "text" and column["nulls"] == 0
    assert column["top"] == [[v, 1] for v in sorted(str(r["id"]) for r in rows)[:5]]
    assert any("識別碼" in w for w in result["warnings"])


@pytest.mark.parametrize(
    "cells",
    [
        ["4.71009E+12", "4.71009E+12", "4.71012E+12", "4.71009E+12"],
        ["4.7101E+12", "4.71009E+12", "4.71008E+12"],  # nothing collapsed in view
        ["8.86E+15", "8.86E+15", "8.87E+15", "8.86E+15", "8.87E+15", "9.1E+15"],
        ["1.23457E+11", "1.23457E+11"],
    ],
)
def test_codes_excel_rounded_into_e_notation_are_called_out(
    tmp_path: Path, cells: list[str]
) -> None:
    text = "條碼,數量\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells))
    result = analyze(tmp_path, text, "codes.csv")
    collapsed = len(cells) - len({float(c) for c in cells})
    notes = [w for w in result["warnings"] if "條碼" in w and "科學記號" in w]
    assert len(notes) == 1 and "重新匯出" in notes[0] and "文字" in notes[0]
    if collapsed:
        assert f"可能有 {collapsed:,} 個不同的代碼" in notes[0]
    else:
        assert "各不相同" in notes[0]


@pytest.mark.parametrize(
    "cells",
    [
        ["6.02214E+23", "1.5", "2.75"],  # not all in E-notation
        ["1.5E+3", "2.5E+3"],  # small numbers
        ["4.710091234567E+12", "4.71009E+12"],  # many significant digits: not Excel's view
        ["4710090000000", "4710120000000"],  # written out
    ],
)
def test_ordinary_floats_are_not_called_rounded_codes(tmp_path: Path, cells: list[str]) -> None:
    text = "x\n" + "".join(f"{c}\n" for c in cells)
    result = analyze(tmp_path, text, "x.csv")
    assert not any("科學記號" in w for w in result["warnings"])
