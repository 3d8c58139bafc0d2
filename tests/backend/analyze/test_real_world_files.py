"""The kinds of files that reach a Taiwanese office, each with its right value asserted.

Each test covers a kind (several variants), not one file: quoted line breaks, Excel's
``sep=`` line, thousands separators, ROC dates, Big5 造字, report-style workbooks, ...
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import statistics
from pathlib import Path

import openpyxl
import pytest

from backend.jobs.analyze import analyze_file
from backend.jobs.context import JobError, RecordingContext


def analyze(tmp_path: Path, data: bytes | str, filename: str, encoding: str = "utf-8") -> dict:
    """The analysis of ``data``; a job alone (two threads) and a job that shares the machine
    (one thread) must give the same result."""
    path = tmp_path / "upload.bin"
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    result = analyze_file(RecordingContext(threads=2), str(path), filename)
    assert analyze_file(RecordingContext(threads=1), str(path), filename) == result
    json.dumps(result, allow_nan=False)
    return result


def columns(result: dict, table: int = 0) -> dict[str, dict]:
    return {c["name"]: c for c in result["tables"][table]["columns"]}


# --- delimited text: structure ---------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("where", ["header", "data", "both"])
def test_line_breaks_inside_quoted_cells(tmp_path: Path, newline: str, where: str) -> None:
    header = f'id,"金額{newline}(元)",備註' if where != "data" else "id,金額,備註"
    note = f'"第一行{newline}第二行"' if where != "header" else "x"
    rows = [f"1,100,{note}", "2,200,y", "3,300,z"]
    result = analyze(tmp_path, newline.join([header, *rows]) + newline, "a.csv")
    table = result["tables"][0]
    names = [c["name"] for c in table["columns"]]
    assert len(names) == 3 and table["rows"] == 3
    amount = table["columns"][1]
    assert amount["type"] == "integer" and amount["mean"] == 200
    if where != "data":
        assert names[1] == f"金額{newline}(元)".replace("\r\n", "\r\n")


@pytest.mark.parametrize(
    ("delimiter", "rows"),
    [(";", ["名稱;數量", "甲;1", "乙;2"]), ("\t", ["a\tb\tc", "1\t2\t3"]), ("|", ["x|y", "1,5|2"])],
)
def test_excel_sep_line_decides_the_delimiter(
    tmp_path: Path, delimiter: str, rows: list[str]
) -> None:
    result = analyze(tmp_path, f"sep={delimiter}\n" + "\n".join(rows) + "\n", "hint.csv")
    table = result["tables"][0]
    assert result["delimiter"] == delimiter
    assert [c["name"] for c in table["columns"]] == rows[0].split(delimiter)
    assert table["rows"] == len(rows) - 1
    assert any("sep=" in w for w in result["warnings"])


def test_sep_line_case_values(tmp_path: Path) -> None:
    result = analyze(tmp_path, "sep=;\n名稱;數量\n甲;1\n乙;2\n", "sep-hint.csv")
    cols = columns(result)
    assert list(cols) == ["名稱", "數量"] and result["tables"][0]["rows"] == 2
    assert cols["數量"]["type"] == "integer" and cols["數量"]["mean"] == 1.5


def test_trailing_delimiter_on_data_rows(tmp_path: Path) -> None:
    result = analyze(tmp_path, "a;b;c\n1;2;3;\n4;5;6;\n7;8;9;\n", "t.csv")
    table = result["tables"][0]
    assert [c["name"] for c in table["columns"]] == ["a", "b", "c"] and table["rows"] == 3
    assert columns(result)["c"]["mean"] == 6
    assert any("結尾" in w for w in result["warnings"])


@pytest.mark.parametrize(
    "lines",
    [
        ["意見", "很好，價格太高; 希望降價", "服務不錯, 會再來", "還可以", "不錯; 好"],
        ["意見", "好, 不錯", "差, 很差, 非常差", "普通, 可以", "可以"],
    ],
)
def test_one_column_of_free_text_with_commas(tmp_path: Path, lines: list[str]) -> None:
    result = analyze(tmp_path, "\n".join(lines) + "\n", "comments.csv")
    table = result["tables"][0]
    assert [c["name"] for c in table["columns"]] == ["意見"]
    assert table["rows"] == len(lines) - 1


def test_title_lines_above_the_header_are_skipped_and_said(tmp_path: Path) -> None:
    for data in (
        "銷售報表\n列印日期：2024/5/1\n\n品名,數量,金額\n甲,1,100\n乙,2,200\n丙,3,300\n",
        "銷售報表,,\n,,\n品名,數量,金額\n甲,1,100\n乙,2,200\n丙,3,300\n",
    ):
        result = analyze(tmp_path, data, "report.csv")
        cols = columns(result)
        assert list(cols) == ["品名", "數量", "金額"] and result["tables"][0]["rows"] == 3
        assert cols["金額"]["mean"] == 200
        assert any("略過" in w and "標題" in w for w in result["warnings"])


def test_utf16_unicode_text_with_multiline_cells(tmp_path: Path) -> None:
    text = '姓名\t備註\t金額\r\n王小明\t"第一行\r\n第二行"\t100\r\n林華\t短\t200\r\n'
    result = analyze(tmp_path, text.encode("utf-16"), "匯出.txt")
    table = result["tables"][0]
    assert result["delimiter"] == "\t" and table["rows"] == 2
    assert columns(result)["金額"]["mean"] == 150


def test_duplicate_header_names_are_made_distinct(tmp_path: Path) -> None:
    result = analyze(tmp_path, "金額,金額,金額,備註\n1,2,3,x\n4,5,6,y\n", "d.csv")
    assert list(columns(result)) == ["金額", "金額.1", "金額.2", "備註"]
    assert columns(result)["金額.2"]["mean"] == 4.5


def test_rows_that_do_not_fit_are_kept_and_counted(tmp_path: Path) -> None:
    data = "a,b,c\n1,2,3\n4,5\n6,7,8,99\n10,11,12\n"
    result = analyze(tmp_path, data, "r.csv")
    table = result["tables"][0]
    assert table["rows"] == 4
    cols = columns(result)
    assert cols["a"]["mean"] == 5.25 and cols["c"]["nulls"] == 1
    [warning] = [w for w in result["warnings"] if "欄位數" in w]
    assert "第 3、4 行" in warning and "「99」" in warning


@pytest.mark.parametrize(
    ("header", "empty_at"),
    [(",日期,數量,金額", 1), ("日期,,數量,金額", 2), ("日期,數量,,金額", 3)],
)
def test_a_stray_delimiter_in_the_header_is_dropped(
    tmp_path: Path, header: str, empty_at: int
) -> None:
    """A header one field longer than every data row, with an empty name: the empty name is a
    stray delimiter, and without it the names line up with the data."""
    rows = "".join(f"2024-05-0{i},{i},{i * 100}\n" for i in range(1, 6))
    result = analyze(tmp_path, header + "\n" + rows, "h.csv")
    cols = columns(result)
    assert list(cols) == ["日期", "數量", "金額"]
    assert cols["日期"]["type"] == "date" and cols["金額"]["max"] == 500
    assert any(f"第 {empty_at} 欄的欄名是空白" in w for w in result["warnings"])


def test_header_names_without_data_are_kept_empty_and_said(tmp_path: Path) -> None:
    result = analyze(tmp_path, "a,b,c,備註\n1,2,3\n4,5,6\n", "h.csv")
    cols = columns(result)
    assert list(cols) == ["a", "b", "c", "備註"] and cols["備註"]["nulls"] == 2
    assert any("「備註」沒有對應的資料" in w for w in result["warnings"])


@pytest.mark.parametrize("rows_after", [1, 2, 3000])
def test_a_stray_quote_does_not_swallow_the_next_line(tmp_path: Path, rows_after: int) -> None:
    """A quote left in an empty cell at a line's end opens a field that the next quoted cell
    closes, joining two lines into a row that does not fit the table. Each line fits on its
    own, so the lines are read one by one (and said)."""
    head = "id,name,note,\n1,Boots,a,\n2,Socks,b,\n3,Cap,c,\n"
    stray = '4,Fly Rod 8\'9" length,x,"\n'
    tail = "".join(f'{5 + i},Vest {i},"ok, fine",\n' for i in range(rows_after))
    result = analyze(tmp_path, head + stray + tail, "s.csv")
    table = result["tables"][0]
    assert table["rows"] == 4 + rows_after
    cols = columns(result)
    assert cols["id"]["type"] == "integer" and cols["id"]["max"] == 4 + rows_after
    assert cols["name"]["nulls"] == 0 and cols["note"]["nulls"] == 0
    [warning] = [w for w in result["warnings"] if "引號" in w]
    assert "第 5 行" in warning and "逐行讀取" in warning


@pytest.mark.parametrize(
    "data",
    ["1,2024/5/1,100\n2,2024/5/2,200\n3,2024/5/3,300\n", "10;3.5\n20;4.5\n30;5.5\n"],
)
def test_a_file_without_header_row(tmp_path: Path, data: str) -> None:
    result = analyze(tmp_path, data, "n.csv")
    table = result["tables"][0]
    assert table["rows"] == 3
    assert table["columns"][0]["name"] == "欄位 1"
    assert table["columns"][0]["mean"] == (2 if data.startswith("1,") else 20)
    assert any("沒有標題列" in w for w in result["warnings"])


@pytest.mark.parametrize("delimiter", ["|", ":", "#"])
def test_other_delimiters(tmp_path: Path, delimiter: str) -> None:
    rows = ["代號,名稱,數量".replace(",", delimiter)] + [
        f"{i}{delimiter}品項{i}{delimiter}{i * 10}" for i in range(1, 6)
    ]
    result = analyze(tmp_path, "\n".join(rows) + "\n", "x.txt")
    assert result["delimiter"] == delimiter
    assert columns(result)["數量"]["mean"] == 30


@pytest.mark.parametrize(
    ("template", "note"),
    [
        ('{n}, "{name}, 台北", {v}', "後面接著空白"),
        ("{n};'{name}; 台北';{v}", None),  # CleverCSV finds this one itself
        ("{n}, '{name}, O'Neil', {v}", "單引號"),
    ],
)
def test_quoting_that_the_detector_misses(tmp_path: Path, template: str, note: str | None) -> None:
    """Spaces after the delimiter before a quoted field, and single quotes: the quoted
    delimiters stay inside their cells."""
    delimiter = template[3]
    header = delimiter.join(["編號", "名稱", "金額"])
    rows = [template.format(n=i, name=f"店{i}", v=i * 10) for i in range(1, 31)]
    result = analyze(tmp_path, header + "\n" + "\n".join(rows) + "\n", "q.csv")
    table = result["tables"][0]
    assert table["rows"] == 30 and [c["name"] for c in table["columns"]] == ["編號", "名稱", "金額"]
    cols = columns(result)
    assert cols["金額"]["type"] == "integer" and cols["金額"]["max"] == 300
    assert cols["名稱"]["top"][0][0].startswith("店")
    assert note is None or any(note in w for w in result["warnings"])


def test_space_aligned_columns(tmp_path: Path) -> None:
    data = "id   name     amount\n1    apple      100\n2    banana    2000\n3    kiwi        30\n"
    result = analyze(tmp_path, data, "aligned.txt")
    cols = columns(result)
    assert list(cols) == ["id", "name", "amount"] and result["tables"][0]["rows"] == 3
    assert cols["amount"]["max"] == 2000


# --- numbers as displayed --------------------------------------------------------------


def test_thousands_separators_case_values(tmp_path: Path) -> None:
    result = analyze(tmp_path, '品名,金額\n甲,"1,234"\n乙,"12,500"\n丙,800\n', "thousands.csv")
    amount = columns(result)["金額"]
    assert amount["type"] == "integer" and amount["min"] == 800 and amount["max"] == 12500
    assert amount["mean"] == pytest.approx(4844.6666667)
    assert amount["std"] == pytest.approx(statistics.stdev([1234, 12500, 800]))
    assert "thousands" in amount["formats"] and any("千分位" in w for w in result["warnings"])


@pytest.mark.parametrize(
    ("cells", "kind", "values", "unit", "fmt"),
    [
        (['"12,500.50"', '"1,000"', "3"], "float", [12500.5, 1000, 3], None, "thousands"),
        (["12.5%", "50%", "0.5%"], "float", [12.5, 50, 0.5], "%", "percent"),
        (['"NT$1,200"', "$300", "NT$5"], "integer", [1200, 300, 5], "NT$", "currency"),
        (["￥500", "￥1000"], "integer", [500, 1000], "¥", "currency"),
        (["１２３", "４５６"], "integer", [123, 456], None, "fullwidth"),
        (['"(1,234)"', "500", "(20)"], "integer", [-1234, 500, -20], None, "accounting"),
    ],
)
def test_numbers_as_excel_displays_them(
    tmp_path: Path, cells: list[str], kind: str, values: list[float], unit: str | None, fmt: str
) -> None:
    result = analyze(
        tmp_path, "名稱,值\n" + "".join(f"列{i},{c}\n" for i, c in enumerate(cells)), "n.csv"
    )
    column = columns(result)["值"]
    assert column["type"] == kind and column["unit"] == unit and fmt in column["formats"]
    assert column["mean"] == pytest.approx(statistics.mean(values))
    assert column["min"] == min(values) and column["max"] == max(values)
    assert any("已轉為數值" in w and "值" in w for w in result["warnings"])


@pytest.mark.parametrize(
    "cells",
    [
        ["0912345678", "0223456789"],
        ["04595257", "12345678"],
        ["007", "100"],
        ["-007", "12"],
        ["+01", "5"],
        ["0x1F", "16"],
        ["1.5", "01.5"],
    ],
)
def test_identifiers_with_leading_zeros_stay_text(tmp_path: Path, cells: list[str]) -> None:
    result = analyze(
        tmp_path, "名稱,編號\n" + "".join(f"x{i},{c}\n" for i, c in enumerate(cells)), "i.csv"
    )
    column = columns(result)["編號"]
    assert column["type"] == "text"
    assert sorted(value for value, _ in column["top"]) == sorted(cells)


@pytest.mark.slow
@pytest.mark.parametrize("cut", [False, True])
def test_a_bare_dollar_beside_nt_dollars_is_nt_dollars_and_said(tmp_path: Path, cut: bool) -> None:
    """Excel shows NT$ amounts as "$": one batch or two (the "$" cells all in the file's
    first pieces, the "NT$" ones after), the column is NT$ and the warning says so."""
    rows = 30_000 if cut else 2  # 30,000 rows of "$" fill more than the first piece
    cells = [f"$1{i % 10}0" for i in range(rows)] + [f'"NT$2,{i % 10}00"' for i in range(rows)]
    result = analyze(
        tmp_path, "名稱,值\n" + "".join(f"列{i},{c}\n" for i, c in enumerate(cells)), "d.csv"
    )
    column = columns(result)["值"]
    assert column["type"] == "integer" and column["unit"] == "NT$"
    assert result["tables"][0]["rows"] == 2 * rows
    assert column["min"] == 100 and column["max"] == 2000 + 100 * (min(rows, 10) - 1)
    assert any("沒有註明幣別的「$」視為 NT$" in w for w in result["warnings"]), result["warnings"]


@pytest.mark.parametrize(
    "cells", [["$300", "€20"], ["NT$300", "US$20"], ["$300", "NT$20", "US$5"], ["£1", "¥2"]]
)
def test_two_currencies_in_one_column_stay_text(tmp_path: Path, cells: list[str]) -> None:
    result = analyze(
        tmp_path, "名稱,值\n" + "".join(f"列{i},{c}\n" for i, c in enumerate(cells)), "c.csv"
    )
    assert columns(result)["值"]["type"] == "text"


@pytest.mark.parametrize(
    ("cells", "says"),
    [
        # Decimal commas (a European Excel's sep=; export): not read as numbers, but said.
        (["12,5", "3,75", "100", "1.234,5"], "看起來是以逗號作小數點的數字（例如「"),
        (["-0,5", "7"] * 10, "看起來是以逗號作小數點的數字（例如「"),
        # Dates in mixed or day-first formats: not guessed, but said.
        (["2024/01/05", "01/03/2024", "2024-02-01"], "看起來是日期（例如「"),
        (["31.01.2024", "2024.02.01 13:05"], "看起來是日期（例如「"),
    ],
)
def test_text_that_looks_like_numbers_or_dates_is_said(
    tmp_path: Path, cells: list[str], says: str
) -> None:
    data = "sep=;\n名稱;值\n" + "".join(f"列{i};{c}\n" for i, c in enumerate(cells))
    result = analyze(tmp_path, data, "looks.csv")
    assert columns(result)["值"]["type"] == "text"
    notes = [w for w in result["warnings"] if "欄位「值」" in w]
    assert len(notes) == 1 and says in notes[0], result["warnings"]


@pytest.mark.parametrize(
    "cells",
    [
        ["1.2.3", "2.0.1", "10.4.12"],  # version numbers
        ["0912345678", "0223456789"],  # phone numbers
        ["甲班", "乙班", "12,5"],  # mostly words
        ["12,5", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
    ],
)
def test_text_that_is_text_gets_no_such_note(tmp_path: Path, cells: list[str]) -> None:
    data = "sep=;\n名稱;值\n" + "".join(f"列{i};{c}\n" for i, c in enumerate(cells))
    result = analyze(tmp_path, data, "text.csv")
    assert columns(result)["值"]["type"] == "text"
    assert not [w for w in result["warnings"] if "看起來是" in w], result["warnings"]


def test_mixed_percent_and_plain_stays_text(tmp_path: Path) -> None:
    result = analyze(tmp_path, "a,b\n1,12%\n2,0.5\n", "m.csv")
    assert columns(result)["b"]["type"] == "text"


# --- dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "low", "high", "roc"),
    [
        (["2024-05-01", "2024-05-03", "2024-04-30"], "2024-04-30", "2024-05-03", False),
        (["2024/05/01", "2024/5/2"], "2024-05-01", "2024-05-02", False),
        (["113/05/01", "113/5/2", "112/12/31"], "2023-12-31", "2024-05-02", True),
        (["民國113年5月1日", "民國99年1月2日"], "2010-01-02", "2024-05-01", True),
    ],
)
def test_dates_and_roc_dates(
    tmp_path: Path, cells: list[str], low: str, high: str, roc: bool
) -> None:
    result = analyze(
        tmp_path, "日期,值\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)), "d.csv"
    )
    column = columns(result)["日期"]
    assert column["type"] == "date" and column["min"] == low and column["max"] == high
    assert ("roc" in column["formats"]) is roc
    assert any("民國" in w for w in result["warnings"]) is roc


def test_datetimes_with_zh_tw_am_pm(tmp_path: Path) -> None:
    data = "時間,值\n2024/5/1 下午 03:04:05,1\n2024/5/1 上午 09:00:00,2\n"
    column = columns(analyze(tmp_path, data, "t.csv"))["時間"]
    assert column["type"] == "datetime"
    assert column["min"] == "2024-05-01T09:00:00" and column["max"] == "2024-05-01T15:04:05"


def test_an_impossible_date_keeps_the_column_text(tmp_path: Path) -> None:
    column = columns(analyze(tmp_path, "日期\n2024/02/30\n2024/03/01\n", "d.csv"))["日期"]
    assert column["type"] == "text"


# --- encodings ----------------------------------------------------------------------------


@pytest.mark.parametrize("pair", [b"\xfa\x40", b"\xfe\xfe", b"\x8e\x40"])
def test_big5_user_defined_characters(tmp_path: Path, pair: bytes) -> None:
    data = (
        "姓名,金額\n王小明,100\n".encode("cp950")
        + b"\xaa\x4c"
        + pair
        + "華,200\n許功蓋,300\n".encode("cp950")
    )
    result = analyze(tmp_path, data, "big5.csv")
    table = result["tables"][0]
    assert result["encoding"] == "cp950" and table["rows"] == 3
    assert columns(result)["金額"]["mean"] == 200
    names = [value for value, _ in columns(result)["姓名"]["top"]]
    assert any(0xE000 <= ord(ch) <= 0xF8FF for name in names for ch in name)
    assert any("造字" in w and "第 3 行" in w for w in result["warnings"])


# Big5 that charset-normalizer's guess used to misread (Windows-1252, Thai, Shift-JIS,
# Cyrillic, Korean...): short files, second bytes of 0x5C (許功蓋餐), a few Chinese words in
# ASCII rows, cells with = " and commas. (text, column names, a column, its top values, rows)
BIG5_FILES = [
    ("品名,數量,備註\n許功蓋,3,測試\n餐點,4,功夫\n", ["品名", "數量", "備註"], "品名", ["許功蓋", "餐點"], 2),
    ("項目,說明\n許功蓋,測試\n", ["項目", "說明"], "項目", ["許功蓋"], 1),
    ("姓名,電話\n許功蓋,02-1234\n", ["姓名", "電話"], "姓名", ["許功蓋"], 1),
    ("代號,名稱\n1,許\n2,功\n3,蓋\n", ["代號", "名稱"], "名稱", ["功", "蓋", "許"], 3),
    ("產品,顏色\n外套,黑\n褲子,藍\n", ["產品", "顏色"], "顏色", ["藍", "黑"], 2),
    ("說明,備註\n測試,成功\n", ["說明", "備註"], "備註", ["成功"], 1),
    ("name,qty\nwidget,3\nsprocket,5\n螺絲,7\n", ["name", "qty"], "name", ["sprocket", "widget", "螺絲"], 3),
    ("id,attended\nA01,○\nA02,×\nA03,○\n", ["id", "attended"], "attended", ["×", "○"], 3),
    (
        "id,name,url,note\n"
        + "".join(f'{i},Item {i},"=HYPERLINK(""http://example.com/{i}"",""link"")",ok\n' for i in range(50))
        + "99,x,y,備註\n",
        ["id", "name", "url", "note"],
        "note",
        ["ok", "備註"],
        51,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "names", "name", "top", "rows"), BIG5_FILES)
def test_big5_is_read_as_big5_however_little_chinese(
    tmp_path: Path, text: str, names: list[str], name: str, top: list[str], rows: int
) -> None:
    result = analyze(tmp_path, text, "big5.csv", "cp950")
    table = result["tables"][0]
    assert result["encoding"] == "cp950" and result["warnings"] == []
    assert [c["name"] for c in table["columns"]] == names and table["rows"] == rows
    assert sorted(value for value, _ in columns(result)[name]["top"]) == sorted(top)


@pytest.mark.parametrize(
    "link",
    [
        '=HYPERLINK("https://shop.example.tw/a","查看")',  # as typed, not quoted: 5 fields
        '"=HYPERLINK(""https://shop.example.tw/a"",""查看"")"',  # as Excel quotes it
    ],
)
def test_big5_formula_cells_with_commas_and_quotes(tmp_path: Path, link: str) -> None:
    text = f"品名,數量,連結,備註\n蘋果,3,{link},新鮮\n香蕉,5,無,好吃\n芭樂,2,無,便宜\n"
    result = analyze(tmp_path, text, "links.csv", "cp950")
    table = result["tables"][0]
    assert result["encoding"] == "cp950"
    assert [c["name"] for c in table["columns"]] == ["品名", "數量", "連結", "備註"]
    assert table["rows"] == 3 and columns(result)["數量"]["mean"] == pytest.approx(10 / 3)
    assert [row["品名"] for row in table["preview"]] == ["蘋果", "香蕉", "芭樂"]
    if link.startswith('"'):
        assert table["preview"][0]["連結"] == '=HYPERLINK("https://shop.example.tw/a","查看")'
        assert result["warnings"] == []
    else:  # the comma split the formula: the row is kept, its extra field said
        assert table["preview"][0]["連結"] == '=HYPERLINK("https://shop.example.tw/a"'
        assert any("1 列欄位較多" in w and "新鮮" in w for w in result["warnings"])


def test_big5_ragged_rows_of_ascii_and_of_chinese(tmp_path: Path) -> None:
    rows = "".join(f"{i},品項{i},{i * 10}\n" for i in range(3000))
    text = "編號,名稱,金額\n" + rows + "3000,x\n3001,許功蓋,5,多出來\n"
    result = analyze(tmp_path, text, "ragged.csv", "cp950")
    table = result["tables"][0]
    assert result["encoding"] == "cp950" and table["rows"] == 3002
    assert columns(result)["金額"]["nulls"] == 1 and columns(result)["金額"]["max"] == 29990
    assert any(
        "1 列欄位較少" in w and "1 列欄位較多" in w and "多出來" in w for w in result["warnings"]
    )


def test_big5_with_many_user_defined_characters_or_a_stray_bad_byte(tmp_path: Path) -> None:
    names = "姓名,金額\n" + "".join(f"王{i % 7}明,{i}\n" for i in range(30))
    many = names.encode("cp950").replace("明".encode("cp950"), b"\xfa\x40")  # 造字 in every row
    result = analyze(tmp_path, many, "names.csv")
    assert result["encoding"] == "cp950" and result["tables"][0]["rows"] == 30
    assert columns(result)["姓名"]["top"][0] == ["王0\ue000", 5]
    assert not any("推測" in w for w in result["warnings"])
    assert any("Big5 造字" in w and "第 2 行" in w for w in result["warnings"])

    stray = "品名,數量,備註\n蘋果,3,新鮮好吃\n香蕉,5,產地直送".encode("cp950") + b"\x80"
    result = analyze(tmp_path, stray + "\n芭樂,2,便宜\n".encode("cp950"), "stray.csv")
    assert result["encoding"] == "cp950" and result["tables"][0]["rows"] == 3
    assert "產地直送\ufffd" in [value for value, _ in columns(result)["備註"]["top"]]
    assert any("1 個 Big5 造字或無法辨識的字元" in w and "第 3 行" in w for w in result["warnings"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "codec"),
    [
        # Their characters fall on Big5's: no low second byte, or where EUC text is.
        ("상품명,수량,비고\n사과,3,신선함\n바나나,5,맛있음\n" * 8000, "cp949"),
        ("이름,도시\n김철수,서울\n", "cp949"),
        ("姓名,城市,金额\n张三,北京市,100\n李四,上海市,250\n" * 8000, "gbk"),
        ("名前,備考,金額\n山田太郎,ありがとう,100\n佐藤花子,よろしく,250\n" * 8000, "euc_jp"),
        # Latin letters and signs that pair with the next ASCII letter into Big5 常用字.
        ("temp,note\n25°C,ok\n77°F,ok\n", "cp1252"),
        ("name,city\nÅsa,Älmhult\nÆbel,Oslo\n", "cp1252"),
    ],
)
def test_text_that_also_decodes_as_big5_is_not_taken_for_it(
    tmp_path: Path, text: str, codec: str
) -> None:
    result = analyze(tmp_path, text, "supplier.csv", codec)
    table = result["tables"][0]
    first, second = text.splitlines()[:2]
    assert result["encoding"] != "cp950"
    assert [c["name"] for c in table["columns"]] == first.split(",")
    assert second.split(",")[0] in [value for value, _ in table["columns"][0]["top"]]
    assert any("推測" in w for w in result["warnings"])


@pytest.mark.parametrize(
    ("text", "codec", "label"),
    [
        ("姓名,城市,金额\n张三,北京市,100\n李四,上海市,250\n王五,广州市,300\n", "gbk", "GB18030"),
        ("名前,都市,金額\n山田太郎,東京都,100\n佐藤花子,大阪府,250\n", "shift_jis", "Shift-JIS"),
        (
            "名前,備考,金額\n山田太郎,ありがとう,100\n佐藤花子,よろしく,250\n" * 3,
            "euc_jp",
            "EUC-JP",
        ),
        (
            "name,city,amount\nJosé,São Paulo,100\nRené,Zürich,250\nFrançois,Besançon,3\n",
            "cp1252",
            "1252",
        ),
        ("имя,город,сумма\nИван,Москва,100\nПётр,Санкт-Петербург,250\n", "cp1251", "1251"),
        # Beyond the common guesses: still read, never refused (the guess is said).
        ("όνομα,πόλη,ποσό\nΓιώργος,Αθήνα,100\nΜαρία,Θεσσαλονίκη,250\n" * 3, "cp1253", "希臘"),
        ("имя,город,сумма\nИван,Москва,100\nПётр,Казань,250\n" * 3, "koi8_r", "KOI8-R"),
        ("الاسم,المدينة,المبلغ\nأحمد,القاهرة,100\nمحمد,دبي,250\n" * 3, "cp1256", "阿拉伯"),
        ("ชื่อ,เมือง,จำนวน\nสมชาย,กรุงเทพ,100\nสมหญิง,เชียงใหม่,250\n" * 3, "cp874", "泰文"),
    ],
)
def test_legacy_encodings_are_guessed_and_said(
    tmp_path: Path, text: str, codec: str, label: str
) -> None:
    result = analyze(tmp_path, text.encode(codec), "supplier.csv")
    table = result["tables"][0]
    first = text.splitlines()[0].split(",")
    assert [c["name"] for c in table["columns"]] == first
    assert any(label in w for w in result["warnings"])


def test_a_few_nul_bytes_are_removed_wherever_they_sit(tmp_path: Path) -> None:
    rows = "".join(f"{i},品項{i}\n" for i in range(5000))
    for at in (10, len(rows) // 2):
        data = ("id,名稱\n" + rows[:at] + "\x00" + rows[at:]).encode()
        result = analyze(tmp_path, data, "nul.csv")
        assert result["tables"][0]["rows"] == 5000
        assert any("NUL" in w for w in result["warnings"])


def test_binary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JobError) as caught:
        analyze(tmp_path, bytes(range(256)) * 50, "junk.csv")
    assert caught.value.code == "invalid_file_format"


# --- Excel ------------------------------------------------------------------------------


def workbook(tmp_path: Path, fill) -> Path:
    book = openpyxl.Workbook()
    fill(book)
    path = tmp_path / "book.xlsx"
    book.save(path)
    return path


def test_formulas_without_stored_values_are_reported(tmp_path: Path) -> None:
    def fill(book: openpyxl.Workbook) -> None:
        sheet = book.active
        sheet.title = "報價"
        sheet.append(["品名", "單價", "數量", "小計"])
        for i, (name, price, qty) in enumerate([("甲", 100, 2), ("乙", 250, 4), ("丙", 80, 10)], 2):
            sheet.append([name, price, qty, f"=B{i}*C{i}"])

    result = analyze_file(RecordingContext(), str(workbook(tmp_path, fill)), "q.xlsx")
    assert result["tables"][0]["rows"] == 3
    assert any("小計" in w and "3 個公式" in w for w in result["warnings"])


def test_a_stray_far_cell_neither_crashes_nor_allocates_by_range(tmp_path: Path) -> None:
    def fill(book: openpyxl.Workbook) -> None:
        sheet = book.active
        sheet.title = "資料"
        for row in (["名稱", "數量"], ["甲", 1], ["乙", 2]):
            sheet.append(row)
        sheet["XFD1048576"] = " "

    result = analyze_file(RecordingContext(), str(workbook(tmp_path, fill)), "s.xlsx")
    table = result["tables"][0]
    assert table["rows"] == 2 and columns(result)["數量"]["mean"] == 1.5
    assert any("XFD1048576" in w for w in result["warnings"])


def test_report_workbook_title_rows_hidden_and_empty_sheets(tmp_path: Path) -> None:
    def fill(book: openpyxl.Workbook) -> None:
        sheet = book.active
        sheet.title = "月報"
        sheet.append(["113年5月銷售月報"])
        sheet.merge_cells("A1:C1")
        sheet.append([])
        sheet.append(["品名", "數量", "日期"])
        sheet.append(["甲", 1, dt.date(2024, 5, 1)])
        sheet.append(["乙", 3, dt.date(2024, 5, 9)])
        hidden = book.create_sheet("備用")
        hidden.append(["x", "代碼"])
        hidden.append([1, "123"])  # a number stored as text, as Excel exports often do
        hidden.append([2, "456"])
        hidden.sheet_state = "hidden"
        book.create_sheet("空白")

    result = analyze_file(RecordingContext(), str(workbook(tmp_path, fill)), "r.xlsx")
    report = result["tables"][0]
    cols = {c["name"]: c for c in report["columns"]}
    assert list(cols) == ["品名", "數量", "日期"] and report["rows"] == 2
    assert cols["數量"]["mean"] == 2
    assert cols["日期"]["type"] in ("date", "datetime") and cols["日期"]["min"].startswith(
        "2024-05-01"
    )
    warnings = " ".join(result["warnings"])
    assert "標題" in warnings and "隱藏" in warnings and "空白" in warnings
    # Every sheet's notes name the sheet.
    assert any(w.startswith("工作表「月報」") and "標題" in w for w in report["warnings"])
    spare = {c["name"]: c for c in result["tables"][1]["columns"]}
    assert spare["代碼"]["type"] == "integer" and "stored_as_text" in spare["代碼"]["formats"]
    assert any("代碼" in w and "以文字儲存的數字" in w for w in result["warnings"])


# --- JSON -------------------------------------------------------------------------------


def test_json_wrapper_object_and_nested_records(tmp_path: Path) -> None:
    data = {"data": [{"id": 1, "客戶": {"名稱": "甲", "地址": {"城市": "臺北市"}}},
                     {"id": 2, "客戶": {"名稱": "乙", "地址": {"城市": "高雄市"}}}]}  # fmt: skip
    result = analyze(tmp_path, json.dumps(data, ensure_ascii=False), "api.json")
    assert list(columns(result)) == ["id", "客戶.名稱", "客戶.地址.城市"]
    assert result["tables"][0]["rows"] == 2
    warnings = result["tables"][0]["warnings"]
    assert any("「data」欄位的陣列" in w for w in warnings)
    assert any("攤平" in w and "客戶.名稱" in w for w in warnings)


def test_json_numbers_in_quotes_are_numbers_and_said(tmp_path: Path) -> None:
    data = [{"zip": "100", "n": 1}, {"zip": "400", "n": 2}]
    result = analyze(tmp_path, json.dumps(data), "z.json")
    cols = columns(result)
    assert cols["zip"]["type"] == "integer" and "stored_as_text" in cols["zip"]["formats"]
    assert "stored_as_text" not in cols["n"]["formats"]  # a JSON number is just a number
    assert [w for w in result["warnings"] if "以文字儲存的數字" in w] == [
        w for w in result["warnings"] if "「zip」" in w
    ]


def test_json_nan_and_infinity_are_empty_cells_with_a_warning(tmp_path: Path) -> None:
    result = analyze(tmp_path, '[{"x": 1}, {"x": NaN}, {"x": Infinity}, {"x": 3}]', "n.json")
    column = columns(result)["x"]
    assert column["nulls"] == 2 and column["mean"] == 2
    assert any("NaN" in w and "2 個" in w for w in result["warnings"])


# --- the result ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        [i % 97 for i in range(3000)],
        [1200, 3200, 12500],
        [-7, 3, 1_000_003],
        [i * 0.37 - 50 for i in range(1000)],
        [0.001 * i for i in range(21)],
        list(range(100, 130)),
        list(range(-3, 60, 3)),
    ],
)
def test_numeric_columns_have_an_exact_histogram(tmp_path: Path, values: list[float]) -> None:
    result = analyze(tmp_path, "v\n" + "".join(f"{v}\n" for v in values), "h.csv")
    histogram = columns(result)["v"]["histogram"]
    assert 2 <= len(histogram["counts"]) <= 20 and sum(histogram["counts"]) == len(values)
    edges = histogram["edges"]
    if all(isinstance(v, int) for v in values):  # whole units: no comb of 1, 2, 1, 2 ...
        widths = {high - low for low, high in itertools.pairwise(edges)}
        assert len(widths) == 1 and float(widths.pop()).is_integer()
        assert all(float(edge).is_integer() for edge in edges)
    for low, high, count in zip(edges, edges[1:], histogram["counts"], strict=False):
        assert count == sum(1 for v in values if low <= v < high)


def test_a_short_note_in_a_txt_file_is_prose_not_a_table(tmp_path: Path) -> None:
    result = analyze(tmp_path, "第一行文字\n第二行 Python 3\n", "note.txt")
    assert result["tables"] == [] and result["text"]["lines"] == 2


def test_excel_preview_cells_are_as_the_column_types_say(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["數量", "時間", "備註"])
    sheet.append([229, dt.datetime(2024, 5, 1, 9, 30), "a"])
    sheet.append([3, dt.datetime(2024, 5, 2), None])
    path = tmp_path / "p.xlsx"
    workbook.save(path)
    result = analyze(tmp_path, path.read_bytes(), "p.xlsx")
    preview = result["tables"][0]["preview"]
    assert preview[0]["數量"] == 229 and isinstance(preview[0]["數量"], int)
    assert preview[1]["時間"] == "2024-05-02T00:00:00"
    assert preview[1]["備註"] is None
