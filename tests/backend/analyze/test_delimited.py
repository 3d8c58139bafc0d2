"""backend.jobs.analyze.delimited: reading delimited text (quotes, ragged rows, the reader thread)."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest

from backend.jobs.analyze import analyze_file
from backend.jobs.context import JobCancelled, RecordingContext
from tests.backend.analyze.helpers import (
    analyze,
    assert_matches_pandas,
    column,
    refused,
    stored,
)
from tests.backend.filegen import write_big_csv, write_sample_csv


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


@pytest.mark.slow
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


def _reading() -> bool:
    return any(thread.name == "csv-reader" for thread in threading.enumerate())


class _CancelWhileReading(RecordingContext):
    """The user cancels at the first report made while the csv-reader thread runs."""

    saw_reader = False

    def report(self, progress: float, message: str | None = None) -> None:
        if not self._cancelled and _reading():
            self.saw_reader = self._cancelled = True
        super().report(progress, message)


@pytest.mark.slow
def test_cancellation_stops_the_csv_reader_thread(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_csv(path, 30)
    # A quote in the first data row: the streaming reader (not the splitter) reads the file.
    data = path.read_bytes()
    header_end = data.index(b"\n") + 1
    path.write_bytes(data[:header_end] + b'"' + data[header_end:].replace(b",", b'",', 1))
    ctx = _CancelWhileReading()
    with pytest.raises(JobCancelled):
        analyze_file(ctx, str(path), "big.csv")
    assert ctx.saw_reader, "the csv-reader thread never ran: nothing was cancelled under it"
    assert not _reading()


@pytest.mark.slow
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
