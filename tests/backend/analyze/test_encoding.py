"""backend.jobs.analyze.encoding: which encoding a text file is in."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.jobs.analyze import encoding as encoding_module
from tests.backend.analyze.helpers import (
    SMALL_ROWS,
    analyze,
    column,
    refused,
    stored,
)


@pytest.mark.parametrize(
    ("codec", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp950", "cp950")],
)
def test_encodings_users_send(tmp_path: Path, codec: str, expected: str) -> None:
    result = analyze(stored(tmp_path, SMALL_ROWS.encode(codec)), "客戶.csv")
    assert result["format"] == "csv" and result["encoding"] == expected
    table = result["tables"][0]
    assert table["name"] == "客戶" and table["rows"] == 3
    assert [c["name"] for c in table["columns"]] == ["姓名", "城市", "金額"]  # no BOM in 姓名
    # 許 and 功 have 0x5C (a backslash) as second byte in Big5; 裏 exists only in CP950
    assert column(table, "姓名")["top"] == [["許功蓋", 2], ["裏見", 1]]
    amount = column(table, "金額")
    assert amount["type"] == "float" and amount["nulls"] == 1
    assert amount["min"] == 100 and amount["max"] == 250.5 and amount["mean"] == 175.25
    assert table["preview"][0] == {"姓名": "許功蓋", "城市": "臺北市", "金額": 100.0}


def test_excel_unicode_text_is_utf16_tab_separated(tmp_path: Path) -> None:
    text = SMALL_ROWS.replace(",", "\t").replace("\n", "\r\n")
    result = analyze(stored(tmp_path, text.encode("utf-16")), "匯出.txt")
    assert result["encoding"] == "utf-16" and result["delimiter"] == "\t"
    table = result["tables"][0]
    assert [c["name"] for c in table["columns"]] == ["姓名", "城市", "金額"]
    assert column(table, "城市")["top"] == [["臺北市", 2], ["高雄市", 1]]


def test_chinese_after_the_first_megabytes_still_decides_the_encoding(tmp_path: Path) -> None:
    ascii_rows = "".join(f"{i},abc,{i * 1.5}\n" for i in range(120_000))  # > 1 MB
    assert len(ascii_rows) > 2_000_000
    data = ("id,name,value\n" + ascii_rows + "999999,許功裏,1\n").encode("cp950")
    result = analyze(stored(tmp_path, data), "late.csv")
    assert result["encoding"] == "cp950"
    table = result["tables"][0]
    assert table["rows"] == 120_001
    assert column(table, "name")["top"] == [["abc", 120_000], ["許功裏", 1]]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("名稱,數量\n" + "許功蓋餐廳,3\n" * 30_000, "cp950"),
        ("상품명,수량\n" + "사과,3\n바나나,5\n" * 30_000, "cp949"),
        ("名称,数量\n" + "苹果,3\n香蕉,5\n" * 30_000, "gb18030"),
        ("名前,備考\n" + "山田,ありがとう\n" * 30_000, "euc_jp"),
    ],
)
def test_big_legacy_files_are_told_apart(tmp_path: Path, text: str, codec: str) -> None:
    """Past the 256 KB charset-normalizer sees, the sample ends at a line break, not in the
    middle of a character (for which it used to find no encoding at all)."""
    data = text.encode(codec)
    assert len(data) > 256 << 10
    result = analyze(stored(tmp_path, data), "big.csv")
    assert result["encoding"] == codec
    table = result["tables"][0]
    assert [c["name"] for c in table["columns"]] == text.splitlines()[0].split(",")
    assert table["rows"] == len(text.splitlines()) - 1


def test_utf8_with_a_bad_byte_past_the_checked_part_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encoding_module, "SCAN_CHUNK", 4 << 10)
    monkeypatch.setattr(encoding_module, "NON_ASCII_EVIDENCE", 16 << 10)
    rows = "".join(f"{i},品項{i}\n" for i in range(3000))
    data = ("編號,名稱\n" + rows).encode() + "3000,許功蓋\n".encode("cp950") + b"3001,ok\n"
    result = analyze(stored(tmp_path, data), "mixed.csv")
    table = result["tables"][0]
    assert result["encoding"] == "utf-8" and table["rows"] == 3002
    assert column(table, "編號")["max"] == 3001
    assert any("UTF-8" in w and "第 3,002 行" in w for w in result["warnings"])


def test_undecodable_text_is_refused(tmp_path: Path) -> None:
    data = b"a,b\n1," + bytes([0x81, 0x30, 0xFF, 0xFE, 0x81, 0x20]) * 50 + b"\n"
    assert refused(stored(tmp_path, data), "bad.csv").code == "invalid_file_format"
