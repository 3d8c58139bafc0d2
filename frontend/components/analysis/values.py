"""One value of an analysis result as text: numbers with their units and every digit Excel
keeps, ISO dates and times as people write them, the span a date column covers. Pure:
no Streamlit, no pandas."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from frontend.utils.formatting import format_duration

NUMERIC_TYPES = frozenset({"integer", "float"})
DATE_TYPES = frozenset({"date", "datetime", "time"})
UTC_SUFFIXES = ("+00:00", "Z")  # a date-time the backend converted to UTC
BOOLEAN_WORDS = {"true": "是", "false": "否"}
MISSING = "—"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def format_number(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1e15 or abs(value) < 1e-3 else f"{value:,.2f}"


def with_unit(text: str, unit: str | None) -> str:
    """A formatted number with its unit: "12.5 %", "NT$1,200", "-NT$300"."""
    if not unit or text == MISSING:
        return text
    if unit == "%":
        return f"{text} %"
    if text.startswith("-"):
        return f"-{unit}{text[1:]}"
    return f"{unit}{text}"


def format_amount(value: Any, unit: str | None = None) -> str:
    """A computed figure (mean, deviation), rounded, with its unit."""
    return with_unit(format_number(value), unit)


def format_statistic(value: Any, unit: str | None = None) -> str:
    """A mean or a standard deviation: always two decimals ("2.00", not "2" beside
    "1.50"), so the figures of one table line up; extreme magnitudes as format_number."""
    if is_number(value) and (value == 0 or 1e-3 <= abs(value) < 1e15):
        return with_unit(f"{value:,.2f}", unit)
    return format_amount(value, unit)


def format_exact(value: Any, unit: str | None = None, grouped: bool = True) -> str:
    """A value from the file (a minimum, a cell) with every digit Excel keeps (15)."""
    if not is_number(value):
        return format_amount(value, unit)
    return with_unit(format(value, ",.15g" if grouped else ".15g"), unit)


def format_date(value: Any, column_type: str | None = "date") -> str:
    """An ISO date, date-time or time as people write it: "2024-05-01", "2024-05-01
    13:45:00", "08:30:00"; a date-time in UTC (the backend converts those written with an
    offset) says so: "2024-05-01 00:30:00 UTC". In a date-time column a bare date is
    midnight (Excel may store it as a whole day)."""
    if value is None or value == "":
        return MISSING
    text = str(value).replace("T", " ")
    for suffix in UTC_SUFFIXES:
        if column_type == "datetime" and text.endswith(suffix):
            text = text.removesuffix(suffix) + " UTC"
    if column_type == "datetime" and len(text) == len("2024-05-01"):
        text += " 00:00:00"
    return text


def column_extreme(column: dict[str, Any], key: str) -> str:
    value = column.get(key)
    if column.get("type") in DATE_TYPES:
        return format_date(value, column.get("type"))
    if is_number(value):
        return format_exact(value, column.get("unit"))
    return MISSING if value is None else str(value)


def value_text(value: Any, column_type: str | None) -> str:
    if column_type == "boolean":
        return BOOLEAN_WORDS.get(str(value).lower(), str(value))
    return str(value)


def _parse_date(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=None)


def _parse_time(value: Any) -> dt.datetime | None:
    """An ISO time of day as that time on one fixed day, so two can be subtracted."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.time.fromisoformat(value)
    except ValueError:
        return None
    return dt.datetime.combine(dt.date(2000, 1, 1), moment.replace(tzinfo=None))


def date_span(column: dict[str, Any]) -> str:
    """How long the dates of a column cover: whole days for dates (both ends counted, as a
    calendar does), days and hours or a duration for date-times, a duration for times of
    day."""
    parse = _parse_time if column.get("type") == "time" else _parse_date
    earliest, latest = parse(column.get("min")), parse(column.get("max"))
    if earliest is None or latest is None or latest < earliest:
        return MISSING
    delta = latest - earliest
    if column.get("type") == "date":
        return f"{delta.days + 1:,} 天"
    if delta.days >= 1:
        hours = delta.seconds // 3600
        return f"{delta.days:,} 天" + (f" {hours} 小時" if hours else "")
    return format_duration(delta.total_seconds())
