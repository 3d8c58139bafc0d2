"""backend.jobs.analyze.dialect: delimiter, title lines and header row of delimited text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backend.analyze.helpers import (
    analyze,
    column,
    stored,
)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = ["代碼,名稱,數量", "A01,蘋果,3", "A02,香蕉,", "A03,芭樂,7"]
    data = "\n".join(row.replace(",", delimiter) for row in rows) + "\n"
    result = analyze(stored(tmp_path, data.encode()), "items.csv")
    assert result["delimiter"] == delimiter
    quantity = column(result["tables"][0], "數量")
    assert quantity["type"] == "integer" and quantity["nulls"] == 1
    assert (quantity["min"], quantity["max"], quantity["mean"]) == (3, 7, 5.0)
    assert isinstance(quantity["min"], int)


def test_tsv_extension(tmp_path: Path) -> None:
    result = analyze(stored(tmp_path, b"a\tb\n1\tx\n2\ty\n"), "data.tsv")
    assert result["format"] == "tsv" and result["delimiter"] == "\t"
    assert result["tables"][0]["rows"] == 2


def test_title_lines_above_the_header_are_skipped(tmp_path: Path) -> None:
    data = "113年度銷售報表\n\n品名,數量\n茶葉蛋,3\n飯糰,5\n"
    result = analyze(stored(tmp_path, data.encode("cp950")), "report.csv")
    table = result["tables"][0]
    assert [c["name"] for c in table["columns"]] == ["品名", "數量"] and table["rows"] == 2
    assert any("說明文字" in warning for warning in result["warnings"])


def test_blank_and_duplicate_header_names(tmp_path: Path) -> None:
    result = analyze(stored(tmp_path, b"a,,a\n1,2,3\n"), "names.csv")
    assert [c["name"] for c in result["tables"][0]["columns"]] == ["a", "欄位 2", "a.1"]


def test_header_only_csv(tmp_path: Path) -> None:
    for data in (b"a,b,c\n", b"a,b,c"):
        result = analyze(stored(tmp_path, data), "header.csv")
        table = result["tables"][0]
        assert table["rows"] == 0 and table["preview"] == []
        assert [c["type"] for c in table["columns"]] == ["text"] * 3
        assert any("標題列" in warning for warning in result["warnings"])
