"""analyze_file as a whole: what it refuses, its progress, cancellation, file handles."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from backend.jobs.analyze import analyze_file
from backend.jobs.context import JobCancelled, RecordingContext
from tests.backend.analyze.helpers import (
    analyze,
    refused,
    stored,
    write_workbook,
)
from tests.backend.filegen import write_big_csv, write_sample_csv

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


@pytest.mark.slow
def test_progress_follows_the_bytes_and_is_frequent(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_csv(path, 40)
    ctx = RecordingContext()
    analyze_file(ctx, str(path), "big.csv")
    progress = [value for value, _ in ctx.reports]
    assert progress == sorted(progress) and progress[0] == 0 and progress[-1] == 100
    assert max(b - a for a, b in itertools.pairwise(progress)) <= 2.5
    assert len(progress) >= 40


@pytest.mark.slow
def test_cancellation_stops_the_job(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_big_csv(path, 20)
    with pytest.raises(JobCancelled):
        analyze_file(RecordingContext(cancel_after=3), str(path), "big.csv")


def test_copies_do_not_leak_file_handles(tmp_path: Path) -> None:
    path = tmp_path / "upload.bin"
    write_sample_csv(path, 1000)
    analyze(path, "a.csv")
    moved = tmp_path / "moved.bin"
    shutil.move(path, moved)  # would fail on Windows with an open handle; cheap check here
    assert moved.exists()
