"""Checks made in the browser session before a file or a form is sent; the limits come
from the backend (`GET /api/config`), which checks again.

Number fields are checked here rather than with `st.number_input(min_value=, max_value=)`:
Streamlit's own range check answers in English and leaves the submit button doing nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from frontend.utils.errors import FileError, ValidationError
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


def validate_range(label: str, value: float, low: float, high: float, unit: str) -> None:
    """Raise ValidationError (`invalid_input`) unless ``low <= value <= high``; ``label``
    is the field's zh-TW label, ``unit`` its unit ("秒")."""
    if not low <= value <= high:
        raise ValidationError(
            "invalid_input",
            f"「{label}」必須介於 {low:g} 到 {high:g} {unit}之間，目前填的是 {value:g}。",
            details={"field": label, "value": value, "min": low, "max": high},
        )
