"""The analyze job: what is in an uploaded file, table by table, column by column.

``analyze_file(ctx, path, filename)`` streams the file (memory stays bounded whatever its
size), reports progress that follows the bytes or rows really processed, and returns::

    {"format": "csv", "encoding": "utf-8", "delimiter": ",", "text": None,
     "tables": [{"name", "rows", "columns": [{"name", "type", "nulls", "min", "max",
                 "mean", "std", "top"}], "preview": [...]}],
     "warnings": ["...zh-TW..."]}

Bad input raises ``JobError("invalid_file_format" | "empty_file", zh-TW message)``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from backend.jobs.analyze_csv import analyze_delimited, read_sample, sniff_layout
from backend.jobs.analyze_json import analyze_json
from backend.jobs.analyze_stats import Progress
from backend.jobs.analyze_text import analyze_prose
from backend.jobs.analyze_xlsx import analyze_xlsx
from backend.jobs.context import JobContext, JobError
from backend.jobs.encoding import EMPTY_FILE_MESSAGE, DecodedText, Encoding, detect_encoding

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "txt", ".json": "json", ".xlsx": "xlsx"}
KIND_LABELS = {"csv": "CSV 檔", "tsv": "TSV 檔", "txt": "文字檔", "json": "JSON 檔"}
DEFAULT_DELIMITERS = {"csv": ",", "tsv": "\t", "txt": None}


def analyze_file(ctx: JobContext, path: str, filename: str) -> dict:
    """Analyze the stored upload ``path``; its format comes from ``filename``'s extension."""
    file_format = file_format_of(filename)
    table_name = Path(filename).stem or filename
    ctx.report(0, "開始分析檔案")
    progress = Progress(ctx, 1, 99)
    try:
        if file_format == "xlsx":
            result = _result(file_format, None)
            result["tables"], result["warnings"] = analyze_xlsx(ctx, path, progress)
        else:
            result = _analyze_text_file(ctx, path, file_format, table_name, progress)
    except RecursionError:
        raise JobError("invalid_file_format", "資料的巢狀層數過深，無法分析。") from None
    except pa.ArrowMemoryError:
        raise JobError("invalid_file_format", "檔案內容超出可處理的範圍，無法分析。") from None
    ctx.report(100, "分析完成")
    return result


def file_format_of(filename: str) -> str:
    extension = Path(filename).suffix.lower()
    if extension not in FORMATS:
        supported = "、".join(FORMATS)
        raise JobError(
            "invalid_file_format",
            f"不支援的檔案類型「{extension or '（無副檔名）'}」，支援的類型：{supported}。",
        )
    return FORMATS[extension]


def _result(file_format: str, encoding: Encoding | None) -> dict:
    return {
        "format": file_format,
        "encoding": encoding.name if encoding else None,
        "delimiter": None,
        "text": None,
        "tables": [],
        "warnings": [],
    }


def _analyze_text_file(
    ctx: JobContext, path: str, file_format: str, table_name: str, progress: Progress
) -> dict:
    encoding = detect_encoding(path, KIND_LABELS[file_format])
    result = _result(file_format, encoding)
    progress.at(0.01, f"偵測到文字編碼：{encoding.name}", force=True)
    if file_format == "json":
        result["tables"], result["warnings"] = analyze_json(
            DecodedText(path, encoding, chunk_size=256 * 1024), table_name, progress
        )
        return result
    sample, complete = read_sample(path, encoding)
    if not sample.strip():
        raise JobError("empty_file", EMPTY_FILE_MESSAGE)
    layout = sniff_layout(sample, complete, DEFAULT_DELIMITERS[file_format], encoding)
    if layout is None:
        result["text"] = analyze_prose(DecodedText(path, encoding), progress)
        return result
    result["delimiter"] = layout.delimiter
    table, result["warnings"] = analyze_delimited(
        ctx, path, table_name, encoding, layout, progress, sample
    )
    result["tables"] = [table]
    return result
