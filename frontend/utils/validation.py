"""Checks made in the browser session before a file is sent; the limits come from the
backend (`GET /api/config`), which checks again."""

from __future__ import annotations

import os
from collections.abc import Iterable

from frontend.utils.errors import FileError
from frontend.utils.formatting import format_size


def validate_file_extension(filename: str, allowed_extensions: Iterable[str]) -> str:
    allowed = [ext.lower() for ext in allowed_extensions]
    extension = os.path.splitext(filename)[1].lower()
    if extension not in allowed:
        shown = extension or "（無副檔名）"
        raise FileError(
            "unsupported_file_type",
            f"「{filename}」是 {shown} 檔案，只能上傳 {'、'.join(allowed)}。",
            details={"filename": filename},
        )
    return extension


def validate_file_size(filename: str, size_bytes: int, max_bytes: int) -> None:
    if size_bytes <= 0:
        raise FileError("empty_file", f"「{filename}」是空的檔案。", details={"filename": filename})
    if size_bytes > max_bytes:
        raise FileError(
            "file_too_large",
            f"「{filename}」有 {format_size(size_bytes)}，超過上限 {format_size(max_bytes)}。",
            details={"filename": filename, "size_bytes": size_bytes, "max_bytes": max_bytes},
        )
