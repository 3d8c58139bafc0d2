"""The tables of an analysis result as pandas frames of text: the per-column summary, the
preview rows, the date ranges, a numeric column's histogram bins; and how wide a cell's
text is. Pure: no Streamlit."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

import pandas as pd

from frontend.components.analysis.labels import type_label, written_as_label
from frontend.components.analysis.values import (
    DATE_TYPES,
    MISSING,
    NUMERIC_TYPES,
    column_extreme,
    date_span,
    format_amount,
    format_date,
    format_exact,
    format_number,
    format_statistic,
    is_number,
    value_text,
)
from frontend.utils.vocabulary import Vocabulary

COLUMN_HEADERS = {
    "name": "欄位",
    "type": "型別",
    "nulls": "空值數",
    "min": "最小值",
    "max": "最大值",
    "mean": "平均值",
    "std": "標準差",
    "top": "最常見的值（次數）",
}
TOP_VALUES_SHOWN = 2
TOP_VALUE_CHARS = 12
NARROW_CHARS = frozenset(" ,.:;-'|()[]!iljft")


def _shortened(text: str, limit: int = TOP_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _top_values(column: dict[str, Any]) -> str:
    """The two most frequent values, kept short so the summary fits a laptop screen; the
    charts below show more."""
    top = column.get("top") or []
    if not top:
        return MISSING
    shown = [
        f"{_shortened(value_text(value, column.get('type')))}（{count:,}）"
        for value, count in top[:TOP_VALUES_SHOWN]
    ]
    return "、".join(shown)


def _type_cell(vocabulary: Vocabulary, column: dict[str, Any]) -> str:
    """The type, and how the file wrote the values when they were converted."""
    written_as = written_as_label(vocabulary, column.get("formats"))
    name = type_label(vocabulary, column.get("type"))
    return name if written_as == MISSING else f"{name}（{written_as}）"


def _nulls_text(nulls: Any, rows: int | None) -> str:
    text = format_number(nulls)
    if not rows or not is_number(nulls) or nulls <= 0:
        return text
    share = nulls / rows
    return f"{text}（{'<1%' if share < 0.01 else f'{share:.0%}'}）"


def column_table(
    vocabulary: Vocabulary, columns: list[dict[str, Any]], rows: int | None = None
) -> pd.DataFrame:
    """The per-column statistics with zh-TW headers; every cell is text so that numbers,
    dates and words can share a column."""
    records = []
    for column in columns:
        numeric = column.get("type") in NUMERIC_TYPES
        unit = column.get("unit")
        cells = {
            "name": str(column.get("name", "")),
            "type": _type_cell(vocabulary, column),
            "nulls": _nulls_text(column.get("nulls"), rows),
            "min": column_extreme(column, "min"),
            "max": column_extreme(column, "max"),
            "mean": format_statistic(column.get("mean"), unit) if numeric else MISSING,
            "std": format_statistic(column.get("std"), unit) if numeric else MISSING,
            "top": _top_values(column),
        }
        records.append({COLUMN_HEADERS[key]: text for key, text in cells.items()})
    return pd.DataFrame(records, columns=list(COLUMN_HEADERS.values()))


def _char_width(char: str) -> float:
    if unicodedata.east_asian_width(char) in "WF":
        return 14.0
    if char in NARROW_CHARS:
        return 4.0
    return 8.5 if char.isupper() else 7.0


def cell_width(text: str) -> int:
    """Pixels a cell needs at the grid's 14 px font, with the cell's padding."""
    return round(sum(map(_char_width, text))) + 20


def _preview_number(value: float, column: dict[str, Any]) -> str:
    """Grouped (and with its unit) as the file wrote it."""
    grouped = bool({"thousands", "currency"} & set(column.get("formats") or []))
    return format_exact(value, column.get("unit"), grouped)


def _cell_text(value: Any, column: dict[str, Any] | None) -> str:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return ""  # an empty cell, as in Excel (Streamlit would print "None")
    if isinstance(value, bool):
        return "是" if value else "否"
    column_type = column.get("type") if column else None
    if column_type in NUMERIC_TYPES and is_number(value):
        return _preview_number(value, column or {})
    if column_type in DATE_TYPES and isinstance(value, str):
        return format_date(value, column_type)
    return str(value)


def preview_table(preview: list[dict[str, Any]], columns: list[dict[str, Any]]) -> pd.DataFrame:
    """The preview rows as text, numbers with their units, numbered from 1. Text cells also
    keep mixed types out of Arrow."""
    by_name = {str(column.get("name", "")): column for column in columns}
    names = list(by_name)
    for row in preview:
        names.extend(name for name in row if name not in names)
    return pd.DataFrame(
        [[_cell_text(row.get(name), by_name.get(name)) for name in names] for row in preview],
        columns=names,
        index=pd.RangeIndex(1, len(preview) + 1, name="列"),
    )


def numeric_columns(columns: list[dict[str, Any]]) -> list[str]:
    """The names of the integer and decimal columns (their cells are aligned right)."""
    return [
        str(column.get("name", "")) for column in columns if column.get("type") in NUMERIC_TYPES
    ]


def histogram_frame(column: dict[str, Any]) -> pd.DataFrame | None:
    """One row per bin of the backend's histogram {"edges": [n + 1], "counts": [n]}."""
    histogram = column.get("histogram") or {}
    edges, counts = histogram.get("edges") or [], histogram.get("counts") or []
    if not counts or len(edges) != len(counts) + 1:
        return None
    if not all(map(is_number, [*edges, *counts])):
        return None
    unit = column.get("unit")
    last = len(counts) - 1
    return pd.DataFrame(
        [
            {
                "起": edges[i],
                "迄": edges[i + 1],
                "列數": int(count),
                "範圍": f"{format_amount(edges[i], unit)} ～ {format_amount(edges[i + 1], unit)}"
                + ("（含）" if i == last else "（不含）"),
            }
            for i, count in enumerate(counts)
        ]
    )


def date_range_frame(columns: list[dict[str, Any]]) -> pd.DataFrame | None:
    """One row per date, date-time or time column with a known range: its earliest and
    latest value."""
    rows = [
        {
            "欄位": str(column.get("name", "")),
            "最早": column_extreme(column, "min"),
            "最晚": column_extreme(column, "max"),
            "涵蓋期間": date_span(column),
        }
        for column in columns
        if column.get("type") in DATE_TYPES and column.get("min") and column.get("max")
    ]
    return pd.DataFrame(rows) if rows else None
