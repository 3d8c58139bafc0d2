"""backend.jobs.analyze.split: the quote-free start of a big file parsed in pieces."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backend.jobs.analyze import analyze_file
from backend.jobs.context import JobCancelled, RecordingContext
from tests.backend.analyze.helpers import (
    analyze,
    assert_matches_pandas,
    big_rows,
    refused,
    stored,
)
from tests.backend.filegen import write_big_csv


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_cancellation_stops_a_one_thread_job(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_csv(path, 20)
    with pytest.raises(JobCancelled):
        analyze_file(RecordingContext(cancel_after=3, threads=1), str(path), "big.csv")
