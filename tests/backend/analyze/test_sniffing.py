"""How delimited text is laid out, for the kinds that used to come out silently wrong:
cells longer than the sample, short files, very wide files, trailing empty columns,
numbers as column names (and headerless number tables), space-aligned text.

Right values are computed here from the data the test writes (plain Python, pandas,
openpyxl), never taken from the analysis.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import statistics
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tests.backend.analyze.test_real_world_files import analyze, columns

CASES = Path(__file__).parent / "fixtures" / "round3"  # copies of shared/cases/round3
csv.field_size_limit(1 << 30)  # the expected values are read with no field limit


def names(result: dict) -> list[str]:
    return [c["name"] for c in result["tables"][0]["columns"]]


# --- cells of any length -----------------------------------------------------------------


def test_long_cell_case_file(tmp_path: Path) -> None:
    data = (CASES / "long-cell.csv").read_bytes()
    expected = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    result = analyze(tmp_path, data, "long-cell.csv")
    cols = columns(result)
    assert list(cols) == list(expected.columns) == ["合約編號", "條款", "金額"]
    assert result["tables"][0]["rows"] == len(expected) == 4
    assert not any("只有標題列" in w for w in result["warnings"])
    amounts = [int(v) for v in expected["金額"]]
    assert cols["金額"]["type"] == "integer"
    assert (
        (cols["金額"]["min"], cols["金額"]["max"]) == (min(amounts), max(amounts)) == (1500, 4500)
    )
    assert cols["金額"]["mean"] == statistics.mean(amounts) == 3000
    assert cols["條款"]["type"] == "text"
    assert cols["條款"]["nulls"] == sum(1 for v in expected["條款"] if not v) == 1
    longest = max(expected["條款"], key=len)
    assert len(longest) > 150_000 and longest in [value for value, _ in cols["條款"]["top"]]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("chars", [150_000, 600_000])  # > 256 KiB, > 1 MiB in Big5 too
@pytest.mark.parametrize("encoding", ["utf-8", "cp950"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_cell_longer_than_the_sample_loses_no_row(
    tmp_path: Path, where: str, chars: int, encoding: str, newline: str
) -> None:
    count = 40
    long = ("甲方應於每月五日前支付，" * (chars // 12 + 1))[:chars]
    amounts = [random.Random(i).randint(100, 9999) for i in range(count)]
    notes = ["一般"] * count
    notes[{"first": 0, "middle": count // 2, "last": count - 1}[where]] = long
    rows = [f'A{i:03d},"{notes[i]}",{amounts[i]}' for i in range(count)]
    text = newline.join(["編號,條款,金額", *rows]) + newline
    assert len(text.encode(encoding)) > 256 * 1024
    result = analyze(tmp_path, text, "long.csv", encoding)
    cols = columns(result)
    assert list(cols) == ["編號", "條款", "金額"] and result["tables"][0]["rows"] == count
    assert cols["金額"]["mean"] == pytest.approx(statistics.mean(amounts))
    assert (cols["金額"]["min"], cols["金額"]["max"]) == (min(amounts), max(amounts))
    top = dict(cols["條款"]["top"])
    assert top == {"一般": count - 1, long: 1}
    assert not any("只有標題列" in w for w in result["warnings"])


@pytest.mark.slow
def test_a_long_unquoted_row_in_the_middle_of_a_big_file(tmp_path: Path) -> None:
    """Past the sample, in the quote-free part the file is split into pieces: a row longer
    than a piece (and than pyarrow's block) still parses."""
    lines = [f"{i},{i % 7}" for i in range(60_000)]
    lines[30_000] = "30000," + "9" * 3_000_000  # a 3 MB digit string: an identifier
    result = analyze(tmp_path, "\n".join(["id,v", *lines]) + "\n", "wide-row.csv")
    cols = columns(result)
    assert result["tables"][0]["rows"] == 60_000
    assert cols["id"]["mean"] == statistics.mean(range(60_000))
    assert cols["v"]["type"] == "text"  # the 3 MB identifier made it text, not a float


# --- short files -------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize(
    ("header_tail", "data"),
    [
        ("", [["1", "2", "3"]]),
        ("", [["1", "2", "3"], ["4", "5", "6"]]),
        ("D", [["1", "2", "3"]]),  # D: one more trailing delimiter on the header
        ("D", [["1", "2", "3"], ["4", "5", "6"]]),
        ("", [["甲", "2", "3.5"]]),
    ],
)
def test_short_files_get_their_delimiter(
    tmp_path: Path, delimiter: str, header_tail: str, data: list[list[str]]
) -> None:
    header = delimiter.join(["名稱", "數量", "金額"]) + (delimiter if header_tail else "")
    text = "\n".join([header, *(delimiter.join(row) for row in data)]) + "\n"
    result = analyze(tmp_path, text, "short.csv")
    assert result["delimiter"] == delimiter
    assert names(result) == ["名稱", "數量", "金額"]
    assert result["tables"][0]["rows"] == len(data)
    assert columns(result)["數量"]["mean"] == statistics.mean(int(row[1]) for row in data)


# --- very wide files ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("width", [900, 1500])
def test_very_wide_files_get_their_delimiter_and_every_column(
    tmp_path: Path, delimiter: str, width: int
) -> None:
    rng = random.Random(width)
    header = [f"第 {i} 欄 Column name (long note): 12:30" for i in range(width)]
    rows = [
        [f"2024/01/{i % 28 + 1} 12:{i % 60:02d}" if i % 3 else str(rng.randint(1, 999))
         for i in range(width)]
        for _ in range(5)
    ]  # fmt: skip
    text = "\n".join(delimiter.join(row) for row in [header, *rows]) + "\n"
    assert len(text.splitlines()[0]) > 32 * 1024  # the detection sample holds no whole line
    result = analyze(tmp_path, text, "wide.csv")
    assert result["delimiter"] == delimiter
    assert names(result) == header and result["tables"][0]["rows"] == len(rows)
    first = columns(result)[header[0]]
    assert first["type"] == "integer" and first["mean"] == statistics.mean(int(r[0]) for r in rows)


# --- trailing empty columns --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("rows", [3, 30_000])  # the whole file in the sample, or not
def test_a_trailing_column_without_name_or_value_is_dropped_and_said(
    tmp_path: Path, delimiter: str, rows: int
) -> None:
    data = [[str(i), str(i * 2), str(i % 5)] for i in range(rows)]
    text = "".join(delimiter.join(row) + delimiter + "\n" for row in [["a", "b", "c"], *data])
    result = analyze(tmp_path, text, "trailing.csv")
    assert names(result) == ["a", "b", "c"] and result["tables"][0]["rows"] == rows
    assert columns(result)["b"]["mean"] == statistics.mean(int(row[1]) for row in data)
    assert any("沒有欄名" in w and "略過" in w for w in result["warnings"])


@pytest.mark.slow
@pytest.mark.parametrize("header_ends_in_delimiter", [True, False])
@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize("at", [5, 25_000])  # inside the sample, or far past it
def test_a_value_in_that_column_is_never_lost(
    tmp_path: Path, header_ends_in_delimiter: bool, quoted: bool, at: int
) -> None:
    rows = [[str(i), f'"x{i}"' if quoted else f"x{i}", ""] for i in range(40_000)]
    rows[at][2] = "遲到的值"
    header = "a,b," if header_ends_in_delimiter else "a,b"
    text = "\n".join([header, *(",".join(row) for row in rows)]) + "\n"
    result = analyze(tmp_path, text, "late.csv")
    cols = columns(result)
    assert result["tables"][0]["rows"] == len(rows)
    assert list(cols) == ["a", "b", "欄位 3"]
    assert cols["欄位 3"]["top"] == [["遲到的值", 1]] and cols["欄位 3"]["nulls"] == len(rows) - 1
    assert not any("略過" in w and "欄" in w and "沒有欄名" in w for w in result["warnings"])


# --- numbers as column names, and headerless number tables -------------------------------


def test_year_header_case_file(tmp_path: Path) -> None:
    data = (CASES / "year-header.csv").read_bytes()
    expected = pd.read_csv(io.BytesIO(data))  # pandas takes the first row as the header
    result = analyze(tmp_path, data, "year-header.csv")
    cols = columns(result)
    assert list(cols) == list(expected.columns) == ["項目", "2022", "2023", "2024"]
    assert result["tables"][0]["rows"] == len(expected) == 3
    assert cols["項目"]["type"] == "text" and cols["2022"]["type"] == "integer"
    assert cols["2022"]["mean"] == pytest.approx(expected["2022"].mean()) == pytest.approx(2012 / 3)
    assert (cols["2022"]["min"], cols["2022"]["max"]) == (12, 1200)
    assert any("2022" in w and "標題列" in w for w in result["warnings"])


MONEY = [[1200, 1350, 1500, 1620], [800, 900, 950, 1010], [3050, 2980, 3300, 3400]]


@pytest.mark.parametrize(
    "names_row",
    [
        ["2022", "2023", "2024"],
        ["2024", "2023", "2022"],
        ["2019", "2021", "2023"],  # distinct years, not consecutive
        ["111", "112", "113"],  # ROC years
        ["113", "112", "111"],
        ["1", "2", "3", "4"],  # months above amounts
        ["1001", "1002", "1003"],  # codes
        ["1月", "2月", "3月"],
        ["Q1", "Q2", "Q3", "Q4"],
    ],
)
@pytest.mark.parametrize("label_column", [True, False])
def test_numbers_above_other_values_are_column_names(
    tmp_path: Path, names_row: list[str], label_column: bool
) -> None:
    labels = ["營收", "成本", "費用"]
    data = [row[: len(names_row)] for row in MONEY]
    lines = [(["項目"] if label_column else []) + names_row]
    lines += [
        ([labels[i]] if label_column else []) + [str(v) for v in row] for i, row in enumerate(data)
    ]
    result = analyze(tmp_path, "\n".join(",".join(line) for line in lines) + "\n", "report.csv")
    assert names(result) == lines[0] and result["tables"][0]["rows"] == len(data)
    first = columns(result)[names_row[0]]
    assert first["type"] == "integer" and first["mean"] == statistics.mean(r[0] for r in data)
    if names_row[0].isdigit():
        assert any("標題列" in w and names_row[0] in w for w in result["warnings"])


def test_months_above_amounts_with_all_twelve(tmp_path: Path) -> None:
    rng = random.Random(12)
    data = [[rng.randint(100, 99_999) for _ in range(12)] for _ in range(6)]
    text = "\n".join(
        [",".join(["科目", *(str(m) for m in range(1, 13))])]
        + [",".join([f"科目{i}", *map(str, row)]) for i, row in enumerate(data)]
    )
    result = analyze(tmp_path, text + "\n", "months.csv")
    assert names(result) == ["科目", *(str(m) for m in range(1, 13))]
    assert columns(result)["12"]["mean"] == pytest.approx(statistics.mean(r[11] for r in data))


def test_split_evidence_keeps_the_header_and_says_so(tmp_path: Path) -> None:
    # Months 1..12 above counts, a few of which fall within 1..12.
    rng = random.Random(5)
    data = [[rng.choice([3, 40, 55, 70, 90, 120]) for _ in range(12)] for _ in range(8)]
    text = "\n".join(
        [",".join(str(m) for m in range(1, 13))] + [",".join(map(str, row)) for row in data]
    )
    inside = sum(1 for row in data for v in row if 1 <= v <= 12)
    assert 0 < inside <= 0.25 * 12 * len(data)
    result = analyze(tmp_path, text + "\n", "counts.csv")
    assert names(result) == [str(m) for m in range(1, 13)] and result["tables"][0]["rows"] == 8
    assert any("也可能是資料" in w for w in result["warnings"])


@pytest.mark.parametrize(
    "rows",
    [
        [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
        [[1, 2, 3], [2, 4, 6], [3, 6, 9]],
        [[10, 20, 30], [11, 19, 33], [12, 25, 31]],
        [[2021, 2022, 2023], [2024, 2025, 2026], [2027, 2028, 2029]],
        [[1.5, 2.25, 3.1], [4.2, 5.5, 6.0], [7.7, 8.1, 9.9]],
        [[3, 1], [5, 2], [8, 9], [1, 4]],
        [[5, 6, 7], [8, 9, 10], [11, 12, 13], [14, 15, 16]],
        [[0.5, 1, 2], [3, 4, 5]],
    ],
)
def test_headerless_number_tables_stay_headerless(tmp_path: Path, rows: list[list]) -> None:
    text = "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"
    result = analyze(tmp_path, text, "numbers.csv")
    assert names(result) == [f"欄位 {i + 1}" for i in range(len(rows[0]))]
    assert result["tables"][0]["rows"] == len(rows)  # the first row is data
    first = columns(result)["欄位 1"]
    assert first["min"] == min(r[0] for r in rows) and first["mean"] == pytest.approx(
        statistics.mean(r[0] for r in rows)
    )
    assert any("沒有標題列" in w for w in result["warnings"])


@pytest.mark.parametrize("years", [[2022, 2023, 2024], [113, 112, 111]])
def test_year_header_in_an_excel_sheet(tmp_path: Path, years: list[int]) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["項目", *years])  # numbers, as Excel stores typed years
    for row in [["營收", *MONEY[0][:3]], ["成本", *MONEY[1][:3]], ["人數", 12, 14, 15]]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = analyze(tmp_path, buffer.getvalue(), "report.xlsx")
    expected = pd.read_excel(io.BytesIO(buffer.getvalue()), engine="openpyxl")
    assert names(result) == [str(c) for c in expected.columns] == ["項目", *map(str, years)]
    assert result["tables"][0]["rows"] == len(expected) == 3
    column = columns(result)[str(years[0])]
    assert column["mean"] == pytest.approx(expected[years[0]].mean())


# --- space-aligned and single-space text -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name    qty  price\napple     3   10.5\nbanana   12    3.2\ncherry    7   20.0\n",
            [["apple", "3", "10.5"], ["banana", "12", "3.2"], ["cherry", "7", "20.0"]],
        ),
        (
            "  id  name     amount\n   1  王小明      100\n   2  林華        200\n  10  陳大文     3000\n",
            [["1", "王小明", "100"], ["2", "林華", "200"], ["10", "陳大文", "3000"]],
        ),
        (
            (
                "品名          數量   單價\napple pie       3   10.5\n紅豆 餅        12    3.2\n"
                "cherry          7   20.0\n"
            ),
            [["apple pie", "3", "10.5"], ["紅豆 餅", "12", "3.2"], ["cherry", "7", "20.0"]],
        ),
        ("a b c\n1 2 3\n4 5 6\n", [["1", "2", "3"], ["4", "5", "6"]]),
        ("a b c\n1 2 3\n", [["1", "2", "3"]]),
    ],
)
@pytest.mark.parametrize("extension", [".txt", ".csv"])
def test_space_aligned_and_single_space_tables(
    tmp_path: Path, text: str, expected: list[list[str]], extension: str
) -> None:
    result = analyze(tmp_path, text, "table" + extension)
    assert result["delimiter"] == " " and result["tables"][0]["rows"] == len(expected)
    preview = result["tables"][0]["preview"]
    assert [[str(v) for v in row.values()] for row in preview] == expected


@pytest.mark.parametrize(
    "text",
    [
        "今天天氣很好，我們去公園散步。\n晚上在家看書，十點就睡了。\n隔天早上六點起床。\n",
        (
            "This is a line of prose text that goes on.\nAnother line, with a comma here.\n"
            "And a third one to make it proper prose.\n"
        ),
        "Dear all,\n\nThe meeting is moved to 3 pm.\nPlease bring your notes.\n\nThanks\n",
    ],
)
def test_prose_txt_stays_prose(tmp_path: Path, text: str) -> None:
    result = analyze(tmp_path, text, "notes.txt")
    assert result["tables"] == [] and result["text"]["lines"] == len(text.splitlines())


@pytest.mark.parametrize(
    "cells",
    [["08:30", "09:45", "下午 2:15"], ["08:30:15", "09:45:00", "23:59:59"], ["7:05", "12:00"]],
)
def test_a_single_column_of_times_is_not_split_at_its_colons(
    tmp_path: Path, cells: list[str]
) -> None:
    """A colon inside every time of day is no delimiter: one column of type time."""
    result = analyze(tmp_path, "時刻\n" + "\n".join(cells) + "\n", "times.csv")
    table = result["tables"][0]
    assert [c["name"] for c in table["columns"]] == ["時刻"] and table["rows"] == len(cells)
    assert result["delimiter"] is None
    column = table["columns"][0]
    assert column["type"] == "time"
    clock = [
        dt.datetime.strptime(c.replace("下午 ", ""), "%H:%M" if c.count(":") == 1 else "%H:%M:%S")
        + (dt.timedelta(hours=12) if c.startswith("下午") else dt.timedelta())
        for c in cells
    ]
    assert column["min"] == min(clock).time().isoformat()
    assert column["max"] == max(clock).time().isoformat()


@pytest.mark.parametrize(
    "text",
    [
        "部門,1,2,3,4,5,6\n業務,5,5,5,5,6,6\n行政,3,3,3,3,3,3\n",
        "課程,1,2,3\n國文,80,81,82\n英文,70,71,72\n",
        "部門,"
        + ",".join(map(str, range(1, 13)))
        + "\n業務,"
        + ",".join(map(str, range(100, 112)))
        + "\n行政,"
        + ",".join(["3"] * 12)
        + "\n",
        "項目,2022,2023,2024\n人數,2021,2022,2023\n年度,2020,2021,2022\n",
    ],
)
def test_months_or_years_beside_a_label_column_are_names(tmp_path: Path, text: str) -> None:
    """A text cell above a text column beside month numbers or years: a header, even when
    the figures below share the names' range (the note says the evidence is split)."""
    lines = text.strip().split("\n")
    table = analyze(tmp_path, text, "monthly.csv")["tables"][0]
    assert [c["name"] for c in table["columns"]] == lines[0].split(",")
    assert table["rows"] == len(lines) - 1
    first = [int(line.split(",")[1]) for line in lines[1:]]
    assert table["columns"][1]["mean"] == pytest.approx(statistics.mean(first))


def test_a_headerless_table_with_a_text_column_and_runs_stays_headerless(tmp_path: Path) -> None:
    text = "國文,80,81,82\n英文,70,71,72\n數學,60,61,62\n"
    table = analyze(tmp_path, text, "scores.csv")["tables"][0]
    assert table["rows"] == 3 and table["columns"][0]["name"] == "欄位 1"
