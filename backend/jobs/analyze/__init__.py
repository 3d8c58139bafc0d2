"""The analyze job: what is in an uploaded file, table by table, column by column.

``analyze_file(ctx, path, filename)`` streams the file (memory stays bounded whatever its
size), reports progress that follows the bytes or rows really processed, and returns::

    {"format": "csv", "encoding": "utf-8", "delimiter": ",", "text": None,
     "tables": [{"name", "rows", "columns": [{"name", "type", "nulls", "min", "max",
                 "mean", "std", "top", "histogram", "unit", "formats"}],
                 "preview": [...], "warnings": ["...zh-TW..."]}],
     "warnings": ["...zh-TW...", every decision made on the user's behalf]}

``type`` is one of integer, float, date, datetime, time, boolean, text; date, date-time
and time-of-day columns give ISO 8601 ``min``/``max`` ("2024-05-01", "2024-05-01T13:45:00",
"08:30:00"); a date-time column in which a cell had a UTC offset ("+08:00", "Z") is converted
to UTC and its ``min``/``max`` say so ("2024-05-01T00:30:00+00:00"), with a zh-TW warning
naming the offsets met; numeric columns give a ``histogram`` ``{"edges", "counts"}``.

The pieces: a reader per format (``delimited``, ``xlsx`` for every workbook, ``json_file``) turns the file
into tables of batches (``source``); ``dialect`` decides how delimited text is laid out;
``types`` what a cell means; ``stats`` the figures. Bad input raises
``JobError("invalid_file_format" | "empty_file", zh-TW message)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa

from backend.jobs.analyze.delimited import NeedsTranscoding, read_delimited
from backend.jobs.analyze.encoding import detect_encoding, encoding_warnings
from backend.jobs.analyze.json_file import read_json
from backend.jobs.analyze.progress import Progress
from backend.jobs.analyze.source import Reader, Source, TableFeed
from backend.jobs.analyze.split import map_in_order
from backend.jobs.analyze.stats import TableStats
from backend.jobs.analyze.xlsx import WORKBOOK_FORMATS, read_workbook
from backend.jobs.context import JobContext, JobError
from backend.vocabulary import ENCODING_LABELS

TYPED_FORMATS = ("json", *WORKBOOK_FORMATS)  # readers that type cells themselves
FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".txt": "txt", ".json": "json",
    ".xlsx": "xlsx", ".xlsb": "xlsb", ".xls": "xls", ".ods": "ods",
}  # fmt: skip
KIND_LABELS = {"csv": "CSV 檔", "tsv": "TSV 檔", "txt": "文字檔", "json": "JSON 檔"}
READERS: dict[str, Reader] = {
    "csv": read_delimited,
    "tsv": read_delimited,
    "txt": read_delimited,
    "json": read_json,
    # Workbooks: the content decides which of the four it is (the result's ``format``).
    **dict.fromkeys(WORKBOOK_FORMATS, read_workbook),
}
FIRST_PASS = 0.99  # share of the progress for reading; the rest for a second pass, if any


def analyze_file(ctx: JobContext, path: str, filename: str, notes: list[str] | None = None) -> dict:
    """Analyze the stored upload ``path``; its format comes from ``filename``'s extension,
    except for workbooks, whose content decides among .xlsx, .xlsb, .ods and .xls (the
    result's ``format`` is the one read, and a note says when it differs). ``notes``: zh-TW
    sentences from the upload (e.g. its name was cleaned), put first in ``warnings``."""
    file_format = file_format_of(filename)
    ctx.report(0, "開始分析檔案")
    source = Source(ctx, path, filename, file_format, os.path.getsize(path), Progress(ctx, 1, 99))
    try:
        if file_format not in WORKBOOK_FORMATS:
            source.encoding = detect_encoding(path, KIND_LABELS[file_format])
            source.progress.at(
                0.0,
                f"偵測到文字編碼：{ENCODING_LABELS.get(source.encoding.name, source.encoding.label())}",
                force=True,
            )
            source.notes += encoding_warnings(source.encoding, 0, None)
        tables = [analyze_table(source, feed) for feed in READERS[file_format](source)]
    except RecursionError:
        raise JobError("invalid_file_format", "資料的巢狀層數過深，無法分析。") from None
    except pa.ArrowMemoryError:
        raise JobError("invalid_file_format", "檔案內容超出可處理的範圍，無法分析。") from None
    warnings = [*(notes or []), *source.notes]
    warnings += [note for table in tables for note in table["warnings"]]
    ctx.report(100, "分析完成")
    return {
        "format": source.format,
        "encoding": source.encoding.name if source.encoding else None,
        "delimiter": source.delimiter,
        "text": source.text,
        "tables": tables,
        "warnings": warnings,
    }


def file_format_of(filename: str) -> str:
    extension = Path(filename).suffix.lower()
    if extension not in FORMATS:
        supported = "、".join(FORMATS)
        raise JobError(
            "invalid_file_format",
            f"不支援的檔案類型「{extension or '（無副檔名）'}」，支援的類型：{supported}。",
        )
    return FORMATS[extension]


def analyze_table(source: Source, feed: TableFeed) -> dict:
    """Statistics of one table: a pass over every column, then a second pass over the
    columns that turned text after typed cells (to count their values)."""
    first_pass = source.progress.sub(0.0, FIRST_PASS)
    try:
        stats = _first_pass(source, feed, first_pass)
    except NeedsTranscoding:
        first_pass.at(0.0, "部分資料列的欄位數不一致，正在以另一種方式重新讀取", force=True)
        stats = _first_pass(source, feed, first_pass)
    first_pass.at(1.0, "資料讀取完成", force=True)
    rescan = stats.columns_to_rescan()
    if rescan:
        columns = stats.start_rescan()
        second_pass = source.progress.sub(FIRST_PASS, 1.0)
        excluded = stats.excluded_rows()
        row = 0
        for batch in feed.batches(rescan, None):
            values_of = batch.columns
            height = len(values_of[0]) if values_of else 0
            if excluded and any(row <= index < row + height for index in excluded):
                keep = pa.array([row + i not in excluded for i in range(height)])
                values_of = [values.filter(keep) for values in values_of]
            row += height
            for column, values in zip(columns, values_of, strict=True):
                column.add_text_only(values)
            second_pass.at(batch.fraction, "部分欄位後段出現文字，正在重新統計文字值")
    _locate_excluded(stats, feed)  # may reword the reader's notes on ragged rows
    stats.notes = [*feed.notes, *stats.notes]  # the reader's, then the statistics' own
    return stats.result()


def _locate_excluded(stats: TableStats, feed: TableFeed) -> None:
    """Lines of the excluded rows whose batches did not carry them."""
    missing = [row for row in stats.excluded if row.line is None]
    if missing and feed.locate is not None:
        lines = feed.locate([(row.row, row.cells) for row in missing])
        for row, line in zip(missing, lines, strict=True):
            row.line = line


def _first_pass(source: Source, feed: TableFeed, progress: Progress) -> TableStats:
    stats = TableStats(
        feed.name, feed.names, typed_source=source.format in TYPED_FORMATS, unit=feed.unit
    )
    if feed.preview is not None:
        stats.set_preview(feed.preview)
    # Parsing cells and counting text values release the GIL: done for the next batches on
    # a thread pool while this thread merges the figures of the current one.
    # Readers that parse on worker threads run it there, right after parsing.
    ahead = map_in_order(
        source.ctx,
        feed.batches(None, stats.prepare),
        lambda b: b.prepared if b.prepared is not None else stats.prepare(b.columns),
        in_flight=2,
    )
    for batch, prepared in ahead:
        while len(stats.columns) < len(feed.names):  # JSON keys may appear late
            stats.add_column(feed.names[len(stats.columns)])
        stats.add_batch(batch.columns, prepared, batch.lines)
        progress.at(batch.fraction, _reading_message(source.size, batch.fraction, stats.rows))
    while len(stats.columns) < len(feed.names):
        stats.add_column(feed.names[len(stats.columns)])
    stats.finish()
    return stats


def _reading_message(size: int, fraction: float, rows: int) -> str:
    return f"正在讀取資料（{size * fraction / 1e6:,.1f} / {size / 1e6:,.1f} MB，{rows:,} 列）"
