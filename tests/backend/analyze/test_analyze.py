"""The analyze job on real files generated in tmp_path: encodings, layouts, formats, bad input."""

from __future__ import annotations

import itertools
import json
import math
import shutil
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from backend.jobs.analyze import analyze_file
from backend.jobs.analyze import encoding as encoding_module
from backend.jobs.analyze import stats as analyze_stats
from backend.jobs.analyze.big5 import read_big5
from backend.jobs.context import JobCancelled, JobError, RecordingContext
from tests.backend.filegen import write_big_csv, write_sample_csv

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


# --- encodings --------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    ("data", "common", "low", "plausible", "euc_like", "latin_like"),
    [
        # 許功蓋: second bytes 0x5C; 裏: CP950's ETEN extension; a run of high trail bytes
        ("許功蓋,裏\n中文".encode("cp950"), 6, 3, True, False, False),
        ("說明,備註\n測試,成功\n".encode("cp950"), 8, 1, True, False, False),
        ("新,1\n".encode("cp950"), 1, 1, True, False, False),  # 新 is B7 73: "·s" after ","
        ("한국,서울\n김철수\n".encode("cp949"), 6, 0, True, True, False),  # 한: C7D1, kana
        ("苹果,北京,上海,广州\n".encode("gbk"), 5, 0, False, True, False),  # 3 次常用字
        ("25°C,77°F\n".encode("cp1252"), 2, 2, True, False, True),
        ("Привет,мир\n".encode("cp1251"), 0, 0, False, False, False),
        (b"a\xa4\x40b\xa4", 1, 1, True, False, False),  # a lead byte at the very end
    ],
)
def test_what_bytes_hold_when_read_as_big5(
    data: bytes, common: int, low: int, plausible: bool, euc_like: bool, latin_like: bool
) -> None:
    reading = read_big5(data)
    assert reading.common == common and reading.distinct_low_trail == low
    assert reading.plausible is plausible
    assert reading.euc_like is euc_like and reading.latin_like is latin_like


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


# --- delimited layouts ------------------------------------------------------------------


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


def test_quoted_newlines_delimiters_and_quotes(tmp_path: Path) -> None:
    data = 'id,備註,金額\n1,"第一行\n第二行",10\n2,"含逗號, 與 ""引號""",20\n3,一般,30\n'
    result = analyze(stored(tmp_path, data.encode()), "quoted.csv")
    table = result["tables"][0]
    assert table["rows"] == 3 and result["warnings"] == []
    assert table["preview"][0]["備註"] == "第一行\n第二行"
    assert table["preview"][1]["備註"] == '含逗號, 與 "引號"'
    assert column(table, "金額")["mean"] == 20.0


def test_ragged_rows_are_kept_padded_and_reported_with_their_line_numbers(
    tmp_path: Path,
) -> None:
    data = "a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n13,14,15\n"
    result = analyze(stored(tmp_path, data.encode()), "ragged.csv")
    table = result["tables"][0]
    assert table["rows"] == 5
    assert column(table, "a")["max"] == 13 and column(table, "a")["mean"] == pytest.approx(6.6)
    assert column(table, "c")["nulls"] == 1  # the short row, padded
    assert column(table, "c")["max"] == 15 and column(table, "c")["min"] == 3
    [warning] = result["warnings"]
    assert "2 列" in warning and "第 3、5 行" in warning
    assert "1 列欄位較少" in warning and "1 列欄位較多" in warning and "「12」" in warning


def test_an_unclosed_quote_at_the_end_is_reported(tmp_path: Path) -> None:
    data = 'a,b\n1,x\n2,"never closed\n3,y\n4,z\n'
    result = analyze(stored(tmp_path, data.encode()), "quote.csv")
    assert any("引號" in warning for warning in result["warnings"])


def test_an_unclosed_quote_in_a_big_file_fails_without_buffering_it(tmp_path: Path) -> None:
    rows = "".join(f"{i},值{i}\n" for i in range(400_000))
    data = ('a,b\n1,"open\n' + rows).encode()
    assert len(data) > 3_000_000
    error = refused(stored(tmp_path, data), "quote.csv")
    assert error.code == "invalid_file_format" and "引號" in error.message


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


def test_types_and_empty_columns(tmp_path: Path) -> None:
    data = "i,f,t,e,mixed\n1,1.5,x,,1\n2,2,y,,2\n3,NaN,x,,三\n,N/A,,,\n"
    table = analyze(stored(tmp_path, data.encode()), "types.csv")["tables"][0]
    types = {c["name"]: c["type"] for c in table["columns"]}
    assert types == {"i": "integer", "f": "float", "t": "text", "e": "text", "mixed": "text"}
    f = column(table, "f")
    assert f["nulls"] == 2 and f["mean"] == 1.75 and f["top"] is None
    assert column(table, "e") == {
        "name": "e", "type": "text", "nulls": 4, "min": None, "max": None,
        "mean": None, "std": None, "top": None, "histogram": None, "unit": None, "formats": [],
    }  # fmt: skip
    assert column(table, "t")["top"] == [["x", 2], ["y", 1]]
    assert column(table, "mixed")["top"] == [["1", 1], ["2", 1], ["三", 1]]  # ties by value
    assert column(table, "i")["std"] == 1.0


def test_hexadecimal_stays_text(tmp_path: Path) -> None:
    table = analyze(stored(tmp_path, b"code\n0x1F\n0x20\n"), "hex.csv")["tables"][0]
    assert column(table, "code")["type"] == "text"


def test_a_column_numeric_at_first_and_text_later_is_text_with_exact_counts(
    tmp_path: Path,
) -> None:
    rows = "".join(f"{i % 7},{i}\n" for i in range(300_000))
    data = "code,n\n" + rows + "A-1,1\n"
    result = analyze(stored(tmp_path, data.encode()), "late_text.csv")
    code = column(result["tables"][0], "code")
    assert code["type"] == "text" and code["mean"] is None
    expected = pd.read_csv(stored(tmp_path, data.encode(), "x.csv"), dtype=str)["code"]
    counts = expected.value_counts()
    assert code["top"] == [[value, int(counts[value])] for value in ["0", "1", "2", "3", "4"]]


def test_distinct_values_past_the_cap_are_approximate_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analyze_stats, "DISTINCT_BUDGET", 30_000)  # 10,000 per column here
    monkeypatch.setattr(analyze_stats, "MIN_DISTINCT_PER_COLUMN", 10_000)
    rows = "".join(f"名稱{i},{'常見' if i % 3 == 0 else f'罕見{i}'}\n" for i in range(300_000))
    data = ("id,類別\n" + rows).encode()
    result = analyze(stored(tmp_path, data), "distinct.csv")
    category = column(result["tables"][0], "類別")
    assert category["top"][0] == ["常見", 100_000]  # frequent values survive the pruning
    assert any("近似值" in warning for warning in result["warnings"])


# --- plain text -------------------------------------------------------------------------


def test_prose_txt_reports_text_statistics(tmp_path: Path) -> None:
    prose = "今天天氣很好。\nThe quick brown fox, jumps!\n\n我愛 Python 3\n"
    result = analyze(stored(tmp_path, prose.encode("cp950", errors="strict")), "note.txt")
    assert result["tables"] == [] and result["encoding"] == "cp950"
    # words: 6 CJK chars (。 is not a word) + 5 English tokens + 2 CJK + "Python" + "3"
    assert result["text"] == {"lines": 4, "characters": len(prose) - 4, "words": 15}


# --- json -------------------------------------------------------------------------------


def test_json_array_of_records(tmp_path: Path) -> None:
    records = [
        {"名稱": "甲", "數量": 1, "標籤": ["a", "b"], "有效": True},
        {"名稱": "乙", "數量": 2.5, "其他": {"x": 1}},
        {"名稱": "甲", "數量": None},
    ]
    data = json.dumps(records, ensure_ascii=False, indent=2).encode()
    result = analyze(stored(tmp_path, data), "records.json")
    table = result["tables"][0]
    assert result["format"] == "json" and table["rows"] == 3
    names = [c["name"] for c in table["columns"]]
    assert names == ["名稱", "數量", "標籤", "有效", "其他.x"]  # nested objects flatten
    assert column(table, "名稱")["top"] == [["甲", 2], ["乙", 1]]
    quantity = column(table, "數量")
    assert quantity["type"] == "float" and quantity["nulls"] == 1 and quantity["mean"] == 1.75
    assert column(table, "其他.x")["nulls"] == 2
    assert table["preview"][0]["標籤"] == '["a", "b"]'


def test_json_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": i, "城市": "臺南" if i % 2 else "嘉義"}, ensure_ascii=False)
        for i in range(10)
    ]
    result = analyze(stored(tmp_path, ("\n".join(lines) + "\n").encode()), "lines.json")
    table = result["tables"][0]
    assert table["rows"] == 10 and column(table, "id")["max"] == 9
    assert column(table, "城市")["top"] == [["嘉義", 5], ["臺南", 5]]


def test_json_object_with_arrays_and_flat_object(tmp_path: Path) -> None:
    data = {"status": "ok", "data": [{"a": 1}, {"a": 2}], "tags": ["x", "y", "x"]}
    result = analyze(stored(tmp_path, json.dumps(data).encode()), "api.json")
    assert [t["name"] for t in result["tables"]] == ["data", "tags"]
    assert column(result["tables"][1], "值")["top"] == [["x", 2], ["y", 1]]
    assert any("status" in warning for warning in result["warnings"])
    flat = analyze(stored(tmp_path, b'{"a": 1, "b": "x"}'), "one.json")["tables"][0]
    assert flat["rows"] == 1 and flat["preview"] == [{"a": 1, "b": "x"}]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'[{"a": 1}, {"a": 2]', "invalid_file_format"),
        (b'{"a": 1,,}', "invalid_file_format"),
        (b"42", "invalid_file_format"),
        (b"[1, 2] trailing", "invalid_file_format"),
        (b"[]", "empty_file"),
        (b"   \n ", "empty_file"),
    ],
)
def test_bad_json(tmp_path: Path, data: bytes, code: str) -> None:
    assert refused(stored(tmp_path, data), "bad.json").code == code


def test_deeply_nested_json(tmp_path: Path) -> None:
    depth = 100_000
    for data in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        error = refused(stored(tmp_path, data.encode()), "deep.json")
        assert error.code == "invalid_file_format"


# --- xlsx -------------------------------------------------------------------------------


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


def replace_member(source: Path, target: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != member:
                new.writestr(info, old.read(info))
        new.writestr(member, data)


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


# --- files that are not what they claim -------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.mark.parametrize("filename", ["photo.csv", "photo.txt", "photo.json", "photo.tsv"])
def test_png_renamed(tmp_path: Path, filename: str) -> None:
    error = refused(stored(tmp_path, PNG + bytes(range(256)) * 20), filename)
    assert error.code == "invalid_file_format" and "PNG" in error.message


def test_binary_junk(tmp_path: Path) -> None:
    junk = bytes((i * 7919 + 13) % 256 for i in range(50_000))
    assert refused(stored(tmp_path, junk), "junk.csv").code == "invalid_file_format"


def test_xlsx_renamed_csv(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_workbook(path)
    error = refused(path, "table.csv")
    assert error.code == "invalid_file_format" and "Excel" in error.message


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n  \r\n"])
def test_empty_files(tmp_path: Path, data: bytes) -> None:
    for filename in ("empty.csv", "empty.txt"):
        assert refused(stored(tmp_path, data), filename).code == "empty_file"


@pytest.mark.parametrize(
    "filename", ["data.numbers", "data.parquet", "noextension", "data.csv.exe"]
)
def test_unknown_extension(tmp_path: Path, filename: str) -> None:
    assert refused(stored(tmp_path, b"a,b\n1,2\n"), filename).code == "invalid_file_format"


# --- exactness, progress, cancellation --------------------------------------------------


def test_300k_rows_match_pandas(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_sample_csv(path, 300_000, seed=7)
    result = analyze(path, "sample.csv")
    table = result["tables"][0]
    frame = pd.read_csv(path)
    assert [c["name"] for c in table["columns"]] == list(frame.columns)
    assert_matches_pandas(table, frame)
    for stats in table["columns"]:
        if stats["type"] in ("integer", "float"):
            assert stats["top"] is None
    assert column(table, "id")["type"] == "integer" and isinstance(column(table, "id")["max"], int)
    assert column(table, "數量")["type"] == "integer"  # ints with empty cells stay integers
    assert column(table, "金額")["type"] == "float"


def test_progress_follows_the_bytes_and_is_frequent(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_csv(path, 40)
    ctx = RecordingContext()
    analyze_file(ctx, str(path), "big.csv")
    progress = [value for value, _ in ctx.reports]
    assert progress == sorted(progress) and progress[0] == 0 and progress[-1] == 100
    assert max(b - a for a, b in itertools.pairwise(progress)) <= 2.5
    assert len(progress) >= 40


def test_cancellation_stops_the_job(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_csv(path, 20)
    with pytest.raises(JobCancelled):
        analyze_file(RecordingContext(cancel_after=3), str(path), "big.csv")


class CancelAt(RecordingContext):
    """A context the user cancels ``seconds`` after it is created, whatever the job reports."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self._deadline = time.monotonic() + seconds

    def is_cancelled(self) -> bool:
        return time.monotonic() >= self._deadline

    def check_cancelled(self) -> None:
        if self.is_cancelled():
            raise JobCancelled()


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


def test_xlsx_progress_is_weighed_by_sheet_size(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_workbook(path, 60_000)
    ctx = RecordingContext()
    result = analyze_file(ctx, str(path), "big.xlsx")
    assert result["tables"][0]["rows"] == 60_000
    assert column(result["tables"][0], "欄位 2")["max"] == 30_000.5
    rows_reports = [value for value, message in ctx.reports if "列）" in (message or "")]
    assert len(rows_reports) >= 10 and rows_reports[-1] > 90  # the big sheet is most of the work


def test_cancellation_while_calamine_loads_a_sheet(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_workbook(path, 600_000)
    started = time.monotonic()
    with pytest.raises(JobCancelled):
        analyze_file(CancelAt(0.1), str(path), "big.xlsx")
    assert time.monotonic() - started < 1.0  # loading alone takes longer than that


def test_cancellation_stops_the_csv_reader_thread(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_csv(path, 30)
    started = time.monotonic()
    with pytest.raises(JobCancelled):
        analyze_file(CancelAt(0.15), str(path), "big.csv")
    assert time.monotonic() - started < 1.0
    assert not any(thread.name == "csv-reader" for thread in threading.enumerate())


def test_no_nan_or_infinity_in_results(tmp_path: Path) -> None:
    data = b"x,y\ninf,1\n-inf,2\n1,inf\n"
    table = analyze(stored(tmp_path, data), "inf.csv")["tables"][0]
    for stats in table["columns"]:
        assert all(
            v is None or math.isfinite(v)
            for v in (stats["min"], stats["max"], stats["mean"], stats["std"])
        )


def test_copies_do_not_leak_file_handles(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_sample_csv(path, 1000)
    analyze(path, "a.csv")
    moved = tmp_path / "moved.bin"
    shutil.move(path, moved)  # would fail on Windows with an open handle; cheap check here
    assert moved.exists()


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


@pytest.mark.parametrize(
    ("late", "expected_type"),
    [("1.5", "float"), ("NA", "integer"), ("0x1F", "text"), (" 7 ", "integer"), ("七", "text")],
)
def test_a_numeric_column_that_changes_after_the_sample_matches_pandas(
    tmp_path: Path, late: str, expected_type: str
) -> None:
    """Numeric columns are typed from the first 256 KB; a later cell that does not fit makes
    the file be read again, and the figures must be those of the whole file."""
    rows = "".join(f"{i % 1000},{i * 0.25},名{i % 13}\n" for i in range(150_000))
    data = ("a,b,c\n" + rows + f"{late},1.5,名1\n" + rows).encode()
    result = analyze(stored(tmp_path, data), "late.csv")
    table = result["tables"][0]
    assert column(table, "a")["type"] == expected_type
    assert column(table, "b")["type"] == "float"
    frame = pd.read_csv(
        stored(tmp_path, data, "x.csv"), dtype={"a": str} if expected_type == "text" else None
    )
    assert_matches_pandas(table, frame)


def test_hexadecimal_anywhere_does_not_change_numeric_figures(tmp_path: Path) -> None:
    rows = "".join(f"{i},{'10x20 cm' if i == 250_000 else '一般'}\n" for i in range(300_000))
    data = ("n,size\n" + rows).encode()
    table = analyze(stored(tmp_path, data), "hex_text.csv")["tables"][0]
    assert column(table, "n")["type"] == "integer" and column(table, "n")["max"] == 299_999
    assert_matches_pandas(table, pd.read_csv(stored(tmp_path, data, "x.csv")))


def big_rows(count: int, start: int = 0) -> str:
    return "".join(f"{i},名{i % 13},{i * 0.5}\n" for i in range(start, start + count))


def test_quotes_far_into_a_big_file_are_read_like_at_the_start(tmp_path: Path) -> None:
    """The quote-free start is parsed in parallel pieces, the rest from the first quote on
    by the streaming reader: rows on both sides, quoted newlines and ragged rows count."""
    quoted = '7,"第一行\n第二行, ""引號""",1.5\n'
    start, middle, end = big_rows(100_000), big_rows(100_000, 100_000), big_rows(100_000, 200_000)
    data = ("n,名稱,值\n" + start + "1,2\n" + middle + quoted + "1,2,3,4\n" + end).encode()
    result = analyze(stored(tmp_path, data), "late_quotes.csv")
    padded = ("n,名稱,值\n" + start + "1,2,\n" + middle + quoted + "1,2,3\n" + end).encode()
    assert_matches_pandas(result["tables"][0], pd.read_csv(stored(tmp_path, padded)))
    [ragged] = result["warnings"]
    assert "2 列" in ragged and "第 100002、200005 行" in ragged


def test_cp950_big_file_is_split_safely(tmp_path: Path) -> None:
    rows = "".join(f"{i},許功蓋{i % 7},{i % 100}\n" for i in range(200_000))
    data = ("n,名稱,值\n" + rows).encode("cp950")
    table = analyze(stored(tmp_path, data), "big950.csv")["tables"][0]
    assert_matches_pandas(table, pd.read_csv(stored(tmp_path, data, "x.csv"), encoding="cp950"))


def test_an_unclosed_quote_far_into_a_big_file_fails_without_buffering_it(
    tmp_path: Path,
) -> None:
    data = ("a,b,c\n" + big_rows(100_000) + '1,"open,2\n' + big_rows(100_000)).encode()
    error = refused(stored(tmp_path, data), "quote.csv")
    assert error.code == "invalid_file_format" and "引號" in error.message


def test_a_row_longer_than_a_piece_is_read(tmp_path: Path) -> None:
    long_text = "長" * 300_000  # 900 KB, longer than a 512 KB piece
    data = ("a,b\n" + big_rows(1000).replace(",名", "-名") + f"1,{long_text}\n2,x\n").encode()
    table = analyze(stored(tmp_path, data), "long.csv")["tables"][0]
    assert table["rows"] == 1002


# --- one thread or several ---------------------------------------------------------------


def _variant_file(tmp_path: Path, variant: str) -> Path:
    """About 8 MB of sample rows, changed so that each reading path is taken."""
    base = tmp_path / "base.csv"
    write_big_csv(base, 8)
    lines = base.read_bytes().decode("utf-8").splitlines(keepends=True)
    middle = len(lines) // 2
    if variant == "quoted_tail":  # the splitter hands over to the streaming reader
        lines[middle:middle] = ['999999,"陳,志明","臺北市\n信義區",1,2.5,0.5,"他說""好"""\n']
    elif variant == "ragged":  # rows that do not fit, on both sides of the hand-over
        lines[1000:1000] = ["1,2\n", "1,2,3,4,5,6,7,8,9\n"]
    path = tmp_path / "upload.bin"
    path.write_bytes("".join(lines).encode("cp950" if variant == "big5" else "utf-8"))
    return path


@pytest.mark.parametrize("variant", ["plain", "quoted_tail", "ragged", "big5"])
def test_one_thread_gives_the_result_of_two(tmp_path: Path, variant: str) -> None:
    """A job that shares the machine works on one thread (backend.execution.job_share): no pool, no
    producer thread. Its figures, warnings and progress must be those of a job alone."""
    path = _variant_file(tmp_path, variant)
    results, reports = [], []
    for threads in (2, 1):
        ctx = RecordingContext(threads=threads)
        results.append(analyze_file(ctx, str(path), "big.csv"))
        progress = [value for value, _ in ctx.reports]
        assert progress == sorted(progress) and progress[-1] == 100
        reports.append(len(progress))
    assert results[0] == results[1]
    table = results[0]["tables"][0]
    assert table["rows"] > 100_000
    if variant == "big5":
        assert results[0]["encoding"] in {"big5", "cp950"}
    if variant == "ragged":
        assert results[0]["warnings"]
    assert abs(reports[0] - reports[1]) <= 5  # progress as frequent either way


def test_cancellation_stops_a_one_thread_job(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_csv(path, 20)
    with pytest.raises(JobCancelled):
        analyze_file(RecordingContext(cancel_after=3, threads=1), str(path), "big.csv")


@pytest.mark.parametrize("late_at", [2_000, 4_500, 8_999])
def test_json_keys_that_first_appear_late(tmp_path: Path, late_at: int) -> None:
    """A key first met thousands of records in (after batches were read ahead) is a column
    empty in the records before it."""
    records = [{"a": i} for i in range(9_000)]
    for record in records[late_at:]:
        record["z"] = record["a"] * 2
    path = stored(tmp_path, json.dumps(records).encode())
    table = analyze(path, "late.json")["tables"][0]
    z = column(table, "z")
    values = [r["z"] for r in records if "z" in r]
    assert table["rows"] == 9_000
    assert z["nulls"] == late_at and z["min"] == min(values) and z["max"] == max(values)
    assert z["mean"] == pytest.approx(sum(values) / len(values))
